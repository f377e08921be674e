//! The reactive task board: a [`Board`] mirrored into fine-grained signals.

use leptos::prelude::*;

use crate::board::{Board, TaskApplied};
use crate::hash::{FxMap, FxSet};
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
    inner: StoredValue<Inner>,
}

/// The whole store behind one arena slot. (Every `StoredValue` and `RwSignal` is a slot of its
/// own, and each one created costs code in every app: the signals here are `Arc` ones.)
struct Inner {
    board: Board,
    cells: FxMap<String, ArcRwSignal<Task>>,
    columns: [ArcRwSignal<Vec<String>>; 5],
    len: ArcRwSignal<usize>,
    /// Ids whose cell must be brought in line with the board at the next flush.
    dirty: FxSet<String>,
    /// The board's columns changed (a move, an insert, a removal, a snapshot).
    columns_dirty: bool,
    flush_scheduled: bool,
    /// Signals of tasks removed by a flush, kept until the next frame. A card keyed by the id
    /// may still hold one: if the task comes back before the view has caught up (two flushes
    /// in one go), the id list looks unchanged, the card stays, and it must keep a live signal.
    dropped: FxMap<String, ArcRwSignal<Task>>,
}

impl Inner {
    /// Marks `id` for the next flush; `true` when a flush must be scheduled.
    fn mark(&mut self, id: String, columns: bool) -> bool {
        self.dirty.insert(id);
        self.columns_dirty |= columns;
        !std::mem::replace(&mut self.flush_scheduled, true)
    }
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
            inner: StoredValue::new(Inner {
                board: Board::default(),
                cells: FxMap::default(),
                columns: std::array::from_fn(|_| ArcRwSignal::new(Vec::new())),
                len: ArcRwSignal::new(0),
                dirty: FxSet::default(),
                columns_dirty: false,
                flush_scheduled: false,
                dropped: FxMap::default(),
            }),
        }
    }

    /// Ids of the tasks in a column, in arrival order, as a signal. An `Arc` signal, like
    /// [`task`](Self::task): it takes no slot in the reactive arena, so calling this inside a
    /// reactive closure allocates nothing that outlives the call. For a `Copy` handle, convert
    /// it once where the component is set up: `let ids: Signal<_> = tasks.column(s).into();`.
    /// After the store's owner is disposed, an empty list.
    pub fn column(&self, status: TaskStatus) -> ArcReadSignal<Vec<String>> {
        self.inner
            .try_with_value(|i| i.columns[col(status)].read_only())
            .unwrap_or_else(|| ArcRwSignal::new(Vec::new()).read_only())
    }

    /// Number of tasks in a column (reactive; 0 after the store's owner is disposed).
    pub fn count(&self, status: TaskStatus) -> usize {
        self.inner
            .try_with_value(|i| i.columns[col(status)].clone())
            .map_or(0, |c| c.with(Vec::len))
    }

    /// Number of tasks on the board (reactive; 0 after the store's owner is disposed).
    pub fn len(&self) -> usize {
        self.inner
            .try_with_value(|i| i.len.clone())
            .map_or(0, |len| len.get())
    }

    /// `true` when the board is empty (reactive).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The signal of one task, for a card that re-renders only when that task changes. `None`
    /// when the id is not on the board. The lookup itself is not tracked.
    pub fn task(&self, id: &str) -> Option<ArcReadSignal<Task>> {
        self.inner
            .try_with_value(|i| i.cells.get(id).map(|c| c.read_only()))
            .flatten()
    }

    /// A copy of one task, untracked.
    pub fn get_untracked(&self, id: &str) -> Option<Task> {
        self.inner
            .try_with_value(|i| i.board.get(id).cloned())
            .flatten()
    }

    /// A copy of every task, sorted by id, untracked (for comparisons and exports).
    pub fn snapshot_untracked(&self) -> Vec<Task> {
        self.inner
            .try_with_value(|i| i.board.sorted_tasks().into_iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Applies a `task` upsert; returns `false` when it was stale (version ≤ the one held).
    pub fn apply_task(&self, task: Task) -> bool {
        let applied = self.inner.try_update_value(|i| {
            let id = task.id.clone();
            match i.board.apply_task(task) {
                TaskApplied::Stale { .. } => None,
                TaskApplied::Inserted(_) => Some(i.mark(id, true)),
                TaskApplied::Updated { from, to } => Some(i.mark(id, from != to)),
            }
        });
        match applied.flatten() {
            Some(schedule) => {
                self.schedule_flush(schedule);
                true
            }
            None => false,
        }
    }

    /// Applies `task_removed`; returns whether a task was removed.
    pub fn remove(&self, id: &str) -> bool {
        let removed = self
            .inner
            .try_update_value(|i| i.board.remove(id).map(|_| i.mark(id.to_owned(), true)));
        match removed.flatten() {
            Some(schedule) => {
                self.schedule_flush(schedule);
                true
            }
            None => false,
        }
    }

    /// Applies a `snapshot`: the board becomes exactly these tasks. Tasks present before and
    /// after keep their signal (their cards update in place); the others are dropped.
    pub fn replace(&self, tasks: Vec<Task>) {
        let schedule = self.inner.try_update_value(|i| {
            let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
            let dropped = i.board.replace(tasks);
            i.dirty.extend(ids.into_iter().chain(dropped));
            i.columns_dirty = true;
            !std::mem::replace(&mut i.flush_scheduled, true)
        });
        self.schedule_flush(schedule == Some(true));
    }

    /// Brings every signal in line with the board now, instead of at the next animation frame
    /// (for tests and for code that must read the signals right after an update).
    pub fn flush(&self) {
        let dropped_some = self.inner.try_update_value(|i| {
            i.flush_scheduled = false;
            let dirty = std::mem::take(&mut i.dirty);
            let columns_dirty = std::mem::take(&mut i.columns_dirty);
            let had_dropped = !i.dropped.is_empty();
            let Inner {
                board,
                cells,
                columns,
                len,
                dropped,
                ..
            } = i;
            for id in &dirty {
                match (board.get(id), cells.get(id)) {
                    (Some(task), Some(cell)) => {
                        if cell.with_untracked(|held| held != task) {
                            cell.set(task.clone());
                        }
                    }
                    (Some(task), None) => {
                        let cell = match dropped.remove(id) {
                            Some(cell) => {
                                cell.set(task.clone());
                                cell
                            }
                            None => ArcRwSignal::new(task.clone()),
                        };
                        cells.insert(id.clone(), cell);
                    }
                    (None, _) => {
                        if let Some(cell) = cells.remove(id) {
                            dropped.insert(id.clone(), cell);
                        }
                    }
                }
            }
            if columns_dirty {
                for status in TaskStatus::ALL {
                    let ids = board.column(status);
                    let column = &columns[col(status)];
                    if column.with_untracked(|v| v.as_slice() != ids) {
                        column.set(ids.to_vec());
                    }
                }
                if len.get_untracked() != board.len() {
                    len.set(board.len());
                }
            }
            !had_dropped && !dropped.is_empty()
        });
        if dropped_some == Some(true) {
            // By the next frame the views have caught up with this flush.
            let inner = self.inner;
            crate::frame::on_next_frame(move || {
                inner.try_update_value(|i| i.dropped.clear());
            });
        }
    }

    /// Asks for a flush before the next frame, when `needed` (none is pending yet).
    fn schedule_flush(&self, needed: bool) {
        if needed {
            let store = *self;
            crate::frame::on_next_frame(move || store.flush());
        }
    }
}

impl Default for TaskStore {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, status: TaskStatus, version: u64) -> Task {
        Task {
            id: id.into(),
            title: id.into(),
            status,
            agent: "a".into(),
            progress: None,
            version,
            updated_at: String::new(),
        }
    }

    #[test]
    fn columns_counts_and_reads_after_the_owner_is_gone() {
        let owner = Owner::new();
        let store = owner.with(TaskStore::new);
        // Outside the browser a flush runs at once.
        store.apply_task(task("t1", TaskStatus::Running, 1));
        store.apply_task(task("t2", TaskStatus::Queued, 1));
        store.apply_task(task("t1", TaskStatus::Done, 2));
        assert_eq!(store.column(TaskStatus::Done).get_untracked(), ["t1"]);
        assert_eq!(store.column(TaskStatus::Queued).get_untracked(), ["t2"]);
        assert_eq!(store.count(TaskStatus::Running), 0);
        assert_eq!(store.len(), 2);
        assert_eq!(store.task("t1").map(|t| t.get_untracked().version), Some(2));

        // A handle kept past the owner (an event handler, a late callback) reads as empty
        // and does not panic.
        owner.cleanup();
        assert!(store.column(TaskStatus::Done).get_untracked().is_empty());
        assert_eq!(store.count(TaskStatus::Done), 0);
        assert_eq!(store.len(), 0);
        assert!(store.is_empty());
        assert!(store.task("t1").is_none());
        assert!(!store.apply_task(task("t3", TaskStatus::Queued, 1)));
        assert!(!store.remove("t1"));
        store.replace(vec![task("t4", TaskStatus::Queued, 1)]);
        store.flush();
        assert!(store.snapshot_untracked().is_empty());
    }
}
