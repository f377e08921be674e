//! The reactive task board: a [`Board`] mirrored into fine-grained signals.

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;

use crate::board::{Board, TaskApplied};
use crate::protocol::{Task, TaskStatus};

/// The live task board of a [`use_task_stream`](crate::use_task_stream), keyed by task id.
///
/// Fine-grained: every task lives in its own signal, and every status column's id list in
/// another, so one task's update re-renders that task's card only; a status change touches the
/// two columns involved. `Copy`, so it can be passed around freely.
///
/// Events are applied to the board at once (the `*_untracked` accessors are always current),
/// while the signals are brought up to date at most once per animation frame: a burst of
/// thousands of updates to one task re-renders its card once, and a firehose cannot turn into
/// one long main-thread task per event.
///
/// ```no_run
/// use leptos::prelude::*;
/// use leptos_task_stream::{protocol::TaskStatus, TaskStore};
///
/// #[component]
/// fn RunningCount(tasks: TaskStore) -> impl IntoView {
///     view! { <span>{move || tasks.count(TaskStatus::Running)}</span> }
/// }
/// ```
#[derive(Clone, Copy)]
pub struct TaskStore {
    board: StoredValue<Board>,
    cells: StoredValue<HashMap<String, ArcRwSignal<Task>>>,
    columns: [RwSignal<Vec<String>>; 5],
    len: RwSignal<usize>,
    /// Ids whose cell must be brought in line with the board at the next flush.
    dirty: StoredValue<HashSet<String>>,
    /// The board's columns changed (a move, an insert, a removal, a snapshot).
    columns_dirty: StoredValue<bool>,
    flush_scheduled: StoredValue<bool>,
}

fn col(status: TaskStatus) -> usize {
    TaskStatus::ALL
        .iter()
        .position(|s| *s == status)
        .unwrap_or(0)
}

impl TaskStore {
    /// An empty store, owned by the current reactive owner.
    pub fn new() -> Self {
        Self {
            board: StoredValue::new(Board::default()),
            cells: StoredValue::new(HashMap::new()),
            columns: std::array::from_fn(|_| RwSignal::new(Vec::new())),
            len: RwSignal::new(0),
            dirty: StoredValue::new(HashSet::new()),
            columns_dirty: StoredValue::new(false),
            flush_scheduled: StoredValue::new(false),
        }
    }

    /// Ids of the tasks in a column, in arrival order (reactive).
    pub fn column(&self, status: TaskStatus) -> Signal<Vec<String>> {
        self.columns[col(status)].into()
    }

    /// Number of tasks in a column (reactive).
    pub fn count(&self, status: TaskStatus) -> usize {
        self.columns[col(status)].with(Vec::len)
    }

    /// Number of tasks on the board (reactive).
    pub fn len(&self) -> usize {
        self.len.get()
    }

    /// `true` when the board is empty (reactive).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The signal of one task, for a card that re-renders only when that task changes. `None`
    /// when the id is not on the board. The lookup itself is not tracked.
    pub fn task(&self, id: &str) -> Option<ArcReadSignal<Task>> {
        self.cells
            .try_with_value(|cells| cells.get(id).map(|c| c.read_only()))
            .flatten()
    }

    /// A copy of one task, untracked.
    pub fn get_untracked(&self, id: &str) -> Option<Task> {
        self.board.try_with_value(|b| b.get(id).cloned()).flatten()
    }

    /// A copy of every task, sorted by id, untracked (for comparisons and exports).
    pub fn snapshot_untracked(&self) -> Vec<Task> {
        self.board
            .try_with_value(|b| b.sorted_tasks().into_iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Applies a `task` upsert; returns `false` when it was stale (version ≤ the one held).
    pub fn apply_task(&self, task: Task) -> bool {
        let id = task.id.clone();
        let Some(applied) = self.board.try_update_value(|b| b.apply_task(task)) else {
            return false;
        };
        match applied {
            TaskApplied::Stale { .. } => false,
            TaskApplied::Inserted(_) => {
                self.mark(id, true);
                true
            }
            TaskApplied::Updated { from, to } => {
                self.mark(id, from != to);
                true
            }
        }
    }

    /// Applies `task_removed`; returns whether a task was removed.
    pub fn remove(&self, id: &str) -> bool {
        let removed = matches!(self.board.try_update_value(|b| b.remove(id)), Some(Some(_)));
        if removed {
            self.mark(id.to_owned(), true);
        }
        removed
    }

    /// Applies a `snapshot`: the board becomes exactly these tasks. Tasks present before and
    /// after keep their signal (their cards update in place); the others are dropped.
    pub fn replace(&self, tasks: Vec<Task>) {
        let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
        let Some(dropped) = self.board.try_update_value(|b| b.replace(tasks)) else {
            return;
        };
        self.dirty
            .update_value(|d| d.extend(ids.into_iter().chain(dropped)));
        self.columns_dirty.set_value(true);
        self.schedule_flush();
    }

    /// Brings every signal in line with the board now, instead of at the next animation frame
    /// (for tests and for code that must read the signals right after an update).
    pub fn flush(&self) {
        self.flush_scheduled.try_set_value(false);
        let Some(dirty) = self.dirty.try_update_value(std::mem::take) else {
            return;
        };
        let columns_dirty = self
            .columns_dirty
            .try_update_value(std::mem::take)
            .unwrap_or(false);
        self.board.with_value(|board| {
            self.cells.update_value(|cells| {
                for id in &dirty {
                    match (board.get(id), cells.get(id)) {
                        (Some(task), Some(cell)) => {
                            if cell.with_untracked(|held| held != task) {
                                cell.set(task.clone());
                            }
                        }
                        (Some(task), None) => {
                            cells.insert(id.clone(), ArcRwSignal::new(task.clone()));
                        }
                        (None, _) => {
                            cells.remove(id);
                        }
                    }
                }
            });
            if columns_dirty {
                for status in TaskStatus::ALL {
                    let ids = board.column(status);
                    let column = self.columns[col(status)];
                    if column.with_untracked(|v| v.as_slice() != ids) {
                        column.set(ids.to_vec());
                    }
                }
                if self.len.get_untracked() != board.len() {
                    self.len.set(board.len());
                }
            }
        });
    }

    fn mark(&self, id: String, columns: bool) {
        self.dirty.update_value(|d| {
            d.insert(id);
        });
        if columns {
            self.columns_dirty.set_value(true);
        }
        self.schedule_flush();
    }

    fn schedule_flush(&self) {
        if self.flush_scheduled.try_get_value() != Some(false) {
            return;
        }
        self.flush_scheduled.set_value(true);
        let store = *self;
        crate::frame::on_next_frame(move || store.flush());
    }
}

impl Default for TaskStore {
    fn default() -> Self {
        Self::new()
    }
}
