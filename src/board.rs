//! The task board and activity log as plain data: how protocol events are applied.
//!
//! Pure and order-safe, so a resume, a replay or a duplicate never corrupts the board:
//!
//! * a `task` whose `version` is ≤ the one held is ignored;
//! * a `snapshot` replaces the board (tasks missing from it are gone: after a server restart the
//!   client must not keep ghosts);
//! * `task_removed` removes, and a late update no newer than the removed task does not bring it
//!   back (the last [`REMOVED_KEPT`] removals are remembered until the next snapshot); removing
//!   an unknown id is a no-op;
//! * an activity line seen recently with the same id and content (a replay) is dropped, a
//!   reused id with new content is a new line, and the lines are bounded in number.
//!
//! The reactive [`TaskStore`](crate::TaskStore) mirrors a [`Board`] into fine-grained signals.

use std::collections::VecDeque;

use crate::hash::{FxMap, FxSet};

use crate::protocol::{Activity, Task, TaskStatus};

/// What applying one `task` upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskApplied {
    /// A new task, placed at the end of its column.
    Inserted(TaskStatus),
    /// An existing task got a newer version; `from` ≠ `to` when it changed column.
    Updated {
        /// Column before.
        from: TaskStatus,
        /// Column after.
        to: TaskStatus,
    },
    /// The held version was the same or newer: nothing changed.
    Stale {
        /// The version held.
        held: u64,
    },
}

/// Tasks keyed by id, with each status column's order.
///
/// ```
/// use leptos_task_stream::board::{Board, TaskApplied};
/// use leptos_task_stream::protocol::{Task, TaskStatus};
///
/// let t = |version, status| Task {
///     id: "t1".into(), title: "Build".into(), status, agent: "builder".into(),
///     progress: None, version, updated_at: "2026-11-25T14:00:00Z".into(),
/// };
/// let mut board = Board::default();
/// board.apply_task(t(2, TaskStatus::Running));
/// // A late, older update (a replay) is ignored.
/// assert_eq!(board.apply_task(t(1, TaskStatus::Queued)), TaskApplied::Stale { held: 2 });
/// assert_eq!(board.column(TaskStatus::Running), ["t1".to_string()]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Board {
    tasks: FxMap<String, Task>,
    columns: [Vec<String>; 5],
    /// Recently removed tasks as they were last held, oldest first. (Whole tasks in a `Vec`: the
    /// types the board already uses, so the guard adds little code to every app.)
    removed: Vec<Task>,
}

/// How many removals a [`Board`] remembers, so that a duplicated or reordered update older than
/// a removal cannot resurrect the task. A snapshot forgets them (the server may have restarted
/// and reused ids).
pub const REMOVED_KEPT: usize = 256;

fn col(status: TaskStatus) -> usize {
    match status {
        TaskStatus::Queued => 0,
        TaskStatus::Running => 1,
        TaskStatus::Blocked => 2,
        TaskStatus::Done => 3,
        TaskStatus::Failed => 4,
    }
}

impl Board {
    /// Applies a `task` upsert.
    pub fn apply_task(&mut self, task: Task) -> TaskApplied {
        match self.tasks.get_mut(&task.id) {
            Some(held) if task.version <= held.version => TaskApplied::Stale { held: held.version },
            Some(held) => {
                let from = held.status;
                let to = task.status;
                if from != to {
                    let id = task.id.clone();
                    self.columns[col(from)].retain(|x| *x != id);
                    self.columns[col(to)].push(id);
                }
                *held = task;
                TaskApplied::Updated { from, to }
            }
            None => {
                // Scanned only for tasks not on the board, and only after removals.
                if let Some(i) = self.removed.iter().position(|r| r.id == task.id) {
                    let held = self.removed[i].version;
                    if task.version <= held {
                        return TaskApplied::Stale { held };
                    }
                    self.removed.remove(i);
                }
                let status = task.status;
                self.columns[col(status)].push(task.id.clone());
                self.tasks.insert(task.id.clone(), task);
                TaskApplied::Inserted(status)
            }
        }
    }

    /// Applies `task_removed`; returns the removed task. An update no newer than it, arriving
    /// later, is [`Stale`](TaskApplied::Stale).
    ///
    /// ```
    /// use leptos_task_stream::board::{Board, TaskApplied};
    /// use leptos_task_stream::protocol::{Task, TaskStatus};
    ///
    /// let t = |version| Task {
    ///     id: "t1".into(), title: "Build".into(), status: TaskStatus::Running,
    ///     agent: "builder".into(), progress: None, version,
    ///     updated_at: "2026-11-25T14:00:00Z".into(),
    /// };
    /// let mut board = Board::default();
    /// board.apply_task(t(3));
    /// board.remove("t1");
    /// // A duplicate of an earlier update, delivered late, does not resurrect it…
    /// assert_eq!(board.apply_task(t(2)), TaskApplied::Stale { held: 3 });
    /// assert!(board.get("t1").is_none());
    /// // …a newer version of the task does.
    /// assert_eq!(board.apply_task(t(4)), TaskApplied::Inserted(TaskStatus::Running));
    /// ```
    pub fn remove(&mut self, id: &str) -> Option<Task> {
        let task = self.tasks.remove(id)?;
        self.columns[col(task.status)].retain(|x| x != id);
        if self.removed.len() == REMOVED_KEPT {
            self.removed.remove(0);
        }
        self.removed.push(task.clone());
        Some(task)
    }

    /// Applies a `snapshot`: the board becomes exactly these tasks. Duplicate ids in the
    /// snapshot keep the highest version. Returns the ids that were dropped.
    pub fn replace(&mut self, tasks: Vec<Task>) -> Vec<String> {
        let old = std::mem::take(self);
        for task in tasks {
            self.apply_task(task);
        }
        old.tasks
            .into_keys()
            .filter(|id| !self.tasks.contains_key(id))
            .collect()
    }

    /// The task with this id.
    pub fn get(&self, id: &str) -> Option<&Task> {
        self.tasks.get(id)
    }

    /// Ids in a column, in arrival order.
    pub fn column(&self, status: TaskStatus) -> &[String] {
        &self.columns[col(status)]
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// `true` when there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// All tasks, sorted by id (for comparisons with the server's state).
    pub fn sorted_tasks(&self) -> Vec<&Task> {
        let mut v: Vec<&Task> = self.tasks.values().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }
}

/// The most recent activity lines, de-duplicated, oldest first.
///
/// A line whose id was seen recently **with the same content** is a replay (a resume after a
/// reconnect, a duplicate delivery) and is dropped. A known id with different content is a new
/// line: a server that restarted may count its ids from the start again, and its new lines
/// must not vanish as "duplicates". Lines are numbered as they arrive
/// ([`numbered`](Self::numbered)), which gives keyed lists a unique key even then.
///
/// ```
/// use leptos_task_stream::board::ActivityLog;
/// use leptos_task_stream::protocol::{Activity, Level};
///
/// let line = |id: &str, message: &str| Activity {
///     id: id.into(), task_id: None, agent: "scout".into(), level: Level::Info,
///     message: message.into(), at: "2026-11-25T14:00:00Z".into(),
/// };
/// let mut log = ActivityLog::new(2);
/// assert!(log.push(line("a1", "hello")));
/// assert!(!log.push(line("a1", "hello")), "replays are dropped");
/// assert!(log.push(line("a1", "after a restart")), "a reused id with new content is kept");
/// log.push(line("a2", "more"));
/// assert_eq!(log.iter().map(|a| a.message.as_str()).collect::<Vec<_>>(), ["after a restart", "more"]);
/// assert_eq!(log.numbered().map(|(n, _)| n).collect::<Vec<_>>(), [2, 3]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityLog {
    capacity: usize,
    /// Lines with their arrival number.
    lines: VecDeque<(u64, Activity)>,
    next: u64,
    /// Fingerprints (id and content) of the lines seen recently, including some already
    /// evicted from `lines`, so that a replay of an evicted line is still recognised. Bounded
    /// at `4 × capacity`.
    seen: FxSet<u64>,
    seen_order: VecDeque<u64>,
}

impl Default for ActivityLog {
    fn default() -> Self {
        Self::new(DEFAULT_ACTIVITY_CAPACITY)
    }
}

/// Default number of activity lines kept.
pub const DEFAULT_ACTIVITY_CAPACITY: usize = 200;

/// A line's identity: its id and its content, so that a replay matches and a new line under a
/// reused id does not. (64 bits among at most `4 × capacity` remembered lines: a collision,
/// which would drop one line, has odds far below one in a billion.)
fn fingerprint(line: &Activity) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = crate::hash::Fx.build_hasher();
    line.id.hash(&mut h);
    line.task_id.hash(&mut h);
    line.agent.hash(&mut h);
    line.level.as_str().hash(&mut h);
    line.message.hash(&mut h);
    line.at.hash(&mut h);
    h.finish()
}

impl ActivityLog {
    /// An empty log keeping at most `capacity` lines (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            lines: VecDeque::new(),
            next: 0,
            seen: FxSet::default(),
            seen_order: VecDeque::new(),
        }
    }

    /// Appends a line unless it is a replay of one seen recently (same id, same content);
    /// returns whether it was added.
    pub fn push(&mut self, line: Activity) -> bool {
        let print = fingerprint(&line);
        if !self.seen.insert(print) {
            return false;
        }
        self.seen_order.push_back(print);
        while self.seen_order.len() > self.capacity.saturating_mul(4) {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        self.next += 1;
        self.lines.push_back((self.next, line));
        while self.lines.len() > self.capacity {
            self.lines.pop_front();
        }
        true
    }

    /// Lines, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Activity> + ExactSizeIterator {
        self.lines.iter().map(|(_, line)| line)
    }

    /// Lines, oldest first, each with its arrival number: 1 for the first line this log took,
    /// then one more per line. Unique within the log, even when a server reuses ids, so it is
    /// the key for a keyed list (`<For>`).
    pub fn numbered(
        &self,
    ) -> impl DoubleEndedIterator<Item = (u64, &Activity)> + ExactSizeIterator {
        self.lines.iter().map(|(n, line)| (*n, line))
    }

    /// The line with arrival number `number` (see [`numbered`](Self::numbered)), while it is
    /// held. Constant time: a keyed list can carry only the numbers and look lines up.
    ///
    /// ```
    /// use leptos_task_stream::board::ActivityLog;
    /// use leptos_task_stream::protocol::{Activity, Level};
    ///
    /// let line = |id: &str| Activity {
    ///     id: id.into(), task_id: None, agent: "scout".into(), level: Level::Info,
    ///     message: format!("line {id}"), at: "2026-11-25T14:00:00Z".into(),
    /// };
    /// let mut log = ActivityLog::new(2);
    /// for id in ["a1", "a2", "a3"] {
    ///     log.push(line(id));
    /// }
    /// assert_eq!(log.get(1), None, "evicted");
    /// assert_eq!(log.get(3).map(|a| a.id.as_str()), Some("a3"));
    /// assert_eq!(log.get(4), None, "not arrived yet");
    /// ```
    pub fn get(&self, number: u64) -> Option<&Activity> {
        // Numbers are consecutive: the held lines are `first ..= next`.
        let first = self.lines.front()?.0;
        let index = usize::try_from(number.checked_sub(first)?).ok()?;
        self.lines.get(index).map(|(_, line)| line)
    }

    /// Number of lines held.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// `true` when no line is held.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The maximum number of lines held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The newest line.
    pub fn last(&self) -> Option<&Activity> {
        self.lines.back().map(|(_, line)| line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Level;

    fn task(id: &str, version: u64, status: TaskStatus) -> Task {
        Task {
            id: id.into(),
            title: format!("task {id}"),
            status,
            agent: "a".into(),
            progress: None,
            version,
            updated_at: "2026-11-25T14:00:00Z".into(),
        }
    }

    fn activity(id: &str) -> Activity {
        Activity {
            id: id.into(),
            task_id: None,
            agent: "a".into(),
            level: Level::Info,
            message: "m".into(),
            at: "2026-11-25T14:00:00Z".into(),
        }
    }

    #[test]
    fn updates_move_columns_and_stale_versions_are_ignored() {
        let mut b = Board::default();
        assert_eq!(
            b.apply_task(task("t1", 1, TaskStatus::Queued)),
            TaskApplied::Inserted(TaskStatus::Queued)
        );
        b.apply_task(task("t2", 1, TaskStatus::Queued));
        assert_eq!(
            b.apply_task(task("t1", 2, TaskStatus::Running)),
            TaskApplied::Updated {
                from: TaskStatus::Queued,
                to: TaskStatus::Running
            }
        );
        assert_eq!(b.column(TaskStatus::Queued), ["t2"]);
        assert_eq!(b.column(TaskStatus::Running), ["t1"]);
        // Same version again (duplicate) and older version (reordering) change nothing.
        assert_eq!(
            b.apply_task(task("t1", 2, TaskStatus::Failed)),
            TaskApplied::Stale { held: 2 }
        );
        assert_eq!(
            b.apply_task(task("t1", 1, TaskStatus::Queued)),
            TaskApplied::Stale { held: 2 }
        );
        assert_eq!(b.get("t1").unwrap().status, TaskStatus::Running);
        // In-place update keeps the column position.
        b.apply_task(task("t3", 1, TaskStatus::Running));
        b.apply_task(task("t1", 3, TaskStatus::Running));
        assert_eq!(b.column(TaskStatus::Running), ["t1", "t3"]);
    }

    #[test]
    fn snapshot_replaces_everything_including_ghosts() {
        let mut b = Board::default();
        b.apply_task(task("ghost", 50, TaskStatus::Running));
        b.apply_task(task("t1", 50, TaskStatus::Done));
        // After a server restart versions start again lower: the snapshot still wins.
        let dropped = b.replace(vec![
            task("t1", 1, TaskStatus::Queued),
            task("t2", 1, TaskStatus::Queued),
        ]);
        assert_eq!(dropped, vec!["ghost".to_string()]);
        assert_eq!(b.len(), 2);
        assert_eq!(b.get("t1").unwrap().version, 1);
        assert_eq!(b.column(TaskStatus::Queued), ["t1", "t2"]);
        assert!(b.column(TaskStatus::Running).is_empty());
    }

    #[test]
    fn snapshot_with_duplicate_ids_keeps_the_newest() {
        let mut b = Board::default();
        b.replace(vec![
            task("t1", 3, TaskStatus::Done),
            task("t1", 2, TaskStatus::Queued),
        ]);
        assert_eq!(b.len(), 1);
        assert_eq!(b.get("t1").unwrap().status, TaskStatus::Done);
        assert_eq!(b.column(TaskStatus::Done), ["t1"]);
    }

    #[test]
    fn removal_is_idempotent() {
        let mut b = Board::default();
        b.apply_task(task("t1", 1, TaskStatus::Blocked));
        assert!(b.remove("t1").is_some());
        assert!(b.remove("t1").is_none());
        assert!(b.is_empty());
        assert!(b.column(TaskStatus::Blocked).is_empty());
    }

    #[test]
    fn a_late_update_does_not_resurrect_a_removed_task() {
        let mut b = Board::default();
        b.apply_task(task("t1", 3, TaskStatus::Running));
        b.remove("t1");
        for v in [1, 2, 3] {
            assert_eq!(
                b.apply_task(task("t1", v, TaskStatus::Queued)),
                TaskApplied::Stale { held: 3 }
            );
        }
        assert!(b.is_empty() && b.column(TaskStatus::Queued).is_empty());
        // A newer version is a real update: the task is back, and the removal is forgotten.
        assert_eq!(
            b.apply_task(task("t1", 4, TaskStatus::Done)),
            TaskApplied::Inserted(TaskStatus::Done)
        );
        assert!(b.removed.is_empty());
        // Removed again, then a snapshot (the server may have restarted and reused the id at a
        // lower version): the snapshot is the truth, and later updates apply.
        b.remove("t1");
        b.replace(vec![]);
        assert_eq!(
            b.apply_task(task("t1", 1, TaskStatus::Queued)),
            TaskApplied::Inserted(TaskStatus::Queued)
        );
    }

    #[test]
    fn removals_are_remembered_within_a_bound() {
        let mut b = Board::default();
        let n = REMOVED_KEPT + 10;
        for i in 0..n {
            let id = format!("t{i}");
            b.apply_task(task(&id, 5, TaskStatus::Done));
            b.remove(&id);
        }
        assert_eq!(b.removed.len(), REMOVED_KEPT);
        // The newest removals still guard; the oldest are forgotten.
        let newest = format!("t{}", n - 1);
        assert_eq!(
            b.apply_task(task(&newest, 5, TaskStatus::Done)),
            TaskApplied::Stale { held: 5 }
        );
        assert_eq!(
            b.apply_task(task("t0", 5, TaskStatus::Done)),
            TaskApplied::Inserted(TaskStatus::Done)
        );
    }

    #[test]
    fn applying_any_permutation_with_duplicates_converges() {
        // The final board depends only on the highest version of each task, not on the order
        // or repetition of the events.
        let events: Vec<Task> = (1..=5u64)
            .flat_map(|v| {
                let status = TaskStatus::ALL[(v as usize) % 5];
                vec![task("a", v, status), task("b", 6 - v, status)]
            })
            .collect();
        let mut reference = Board::default();
        let mut sorted = events.clone();
        sorted.sort_by_key(|t| t.version);
        for t in sorted {
            reference.apply_task(t);
        }
        let mut seed = 12345u64;
        for _ in 0..200 {
            let mut shuffled = events.clone();
            shuffled.extend(events.iter().take(4).cloned());
            for i in (1..shuffled.len()).rev() {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                shuffled.swap(i, (seed >> 33) as usize % (i + 1));
            }
            let mut b = Board::default();
            for t in shuffled {
                b.apply_task(t);
            }
            assert_eq!(b.sorted_tasks(), reference.sorted_tasks());
            for s in TaskStatus::ALL {
                assert_eq!(b.column(s).len(), reference.column(s).len());
            }
        }
    }

    #[test]
    fn activity_is_bounded_and_deduplicated_even_after_eviction() {
        let mut log = ActivityLog::new(3);
        for i in 0..10 {
            assert!(log.push(activity(&format!("a{i}"))));
        }
        assert_eq!(log.len(), 3);
        assert_eq!(log.last().unwrap().id, "a9");
        // a8 is held, a7 was evicted but is still remembered: neither is added again.
        assert!(!log.push(activity("a8")));
        assert!(!log.push(activity("a7")));
        assert_eq!(log.len(), 3);
        assert_eq!(ActivityLog::new(0).capacity(), 1);
    }

    #[test]
    fn get_finds_every_held_line_by_number_and_nothing_else() {
        // Through evictions and dropped replays, `get` agrees with `numbered` on every number
        // held and answers `None` around them (also for numbers far out of range).
        let mut log = ActivityLog::new(4);
        assert_eq!(log.get(0), None);
        assert_eq!(log.get(1), None);
        for i in 0..11 {
            log.push(activity(&format!("a{i}")));
            log.push(activity(&format!("a{i}"))); // a replay: dropped, takes no number
            let held: Vec<(u64, &Activity)> = log.numbered().collect();
            for &(n, line) in &held {
                assert_eq!(log.get(n), Some(line));
            }
            let (first, last) = (held[0].0, held[held.len() - 1].0);
            assert_eq!(last, i + 1);
            assert_eq!(log.get(first - 1), None);
            assert_eq!(log.get(last + 1), None);
            assert_eq!(log.get(u64::MAX), None);
        }
    }

    #[test]
    fn a_restarted_server_reusing_activity_ids_loses_no_line() {
        // A server that restarts may count its ids from a1 again. Its new lines differ (a later
        // `at`, another message): they are kept, and the replays of either run are not.
        let mut log = ActivityLog::new(200);
        let run = |at: &str| -> Vec<Activity> {
            (1..=50)
                .map(|i| Activity {
                    at: at.into(),
                    ..activity(&format!("a{i}"))
                })
                .collect()
        };
        for line in run("2026-11-25T14:00:00Z") {
            assert!(log.push(line));
        }
        for line in run("2026-11-25T15:00:00Z") {
            assert!(
                log.push(line),
                "a line after the restart was taken for a replay"
            );
        }
        assert_eq!(log.len(), 100);
        for line in run("2026-11-25T15:00:00Z") {
            assert!(!log.push(line), "a replay was taken for a new line");
        }
        assert_eq!(log.len(), 100);
        // The arrival numbers stay unique though the ids repeat.
        let numbers: std::collections::BTreeSet<u64> = log.numbered().map(|(n, _)| n).collect();
        assert_eq!(numbers.len(), 100);
        // A change of level, agent, task or message alone is a different line, too.
        let base = activity("b1");
        assert!(log.push(base.clone()));
        assert!(log.push(Activity {
            level: Level::Warn,
            ..base.clone()
        }));
        assert!(log.push(Activity {
            agent: "b".into(),
            ..base.clone()
        }));
        assert!(log.push(Activity {
            task_id: Some("t".into()),
            ..base.clone()
        }));
        assert!(log.push(Activity {
            message: "n".into(),
            ..base
        }));
    }
}
