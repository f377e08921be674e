//! The reactive task board: a [`Board`] mirrored into fine-grained signals.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::board::{Board, TaskApplied};
use crate::protocol::{Task, TaskStatus};

/// The live task board of a [`use_task_stream`](crate::use_task_stream), keyed by task id.
///
/// Fine-grained: every task lives in its own signal, and every status column's id list in
/// another, so one task's update re-renders that task's card only; a status change touches the
/// two columns involved. `Copy`, so it can be passed around freely.
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
        let Some(applied) = self.board.try_update_value(|b| b.apply_task(task.clone())) else {
            return false;
        };
        match applied {
            TaskApplied::Stale { .. } => false,
            TaskApplied::Inserted(status) => {
                self.cells.update_value(|c| {
                    c.insert(id.clone(), ArcRwSignal::new(task));
                });
                self.columns[col(status)].update(|v| v.push(id));
                self.len.update(|n| *n += 1);
                true
            }
            TaskApplied::Updated { from, to } => {
                if let Some(cell) = self.cells.with_value(|c| c.get(&id).cloned()) {
                    cell.set(task);
                }
                if from != to {
                    self.columns[col(from)].update(|v| v.retain(|x| *x != id));
                    self.columns[col(to)].update(|v| v.push(id));
                }
                true
            }
        }
    }

    /// Applies `task_removed`; returns whether a task was removed.
    pub fn remove(&self, id: &str) -> bool {
        let Some(Some(task)) = self.board.try_update_value(|b| b.remove(id)) else {
            return false;
        };
        self.cells.update_value(|c| {
            c.remove(id);
        });
        self.columns[col(task.status)].update(|v| v.retain(|x| x != id));
        self.len.update(|n| *n = n.saturating_sub(1));
        true
    }

    /// Applies a `snapshot`: the board becomes exactly these tasks. Tasks present before and
    /// after keep their signal (their cards update in place); the others are dropped.
    pub fn replace(&self, tasks: Vec<Task>) {
        let Some(dropped) = self.board.try_update_value(|b| b.replace(tasks)) else {
            return;
        };
        let board = self.board.get_value();
        self.cells.update_value(|cells| {
            for id in &dropped {
                cells.remove(id);
            }
            for task in board.sorted_tasks() {
                match cells.get(&task.id) {
                    Some(cell) => {
                        if cell.with_untracked(|held| held != task) {
                            cell.set(task.clone());
                        }
                    }
                    None => {
                        cells.insert(task.id.clone(), ArcRwSignal::new(task.clone()));
                    }
                }
            }
        });
        for status in TaskStatus::ALL {
            let ids = board.column(status);
            let column = self.columns[col(status)];
            if column.with_untracked(|v| v.as_slice() != ids) {
                column.set(ids.to_vec());
            }
        }
        self.len.set(board.len());
    }
}

impl Default for TaskStore {
    fn default() -> Self {
        Self::new()
    }
}
