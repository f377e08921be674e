//! The authoritative board: tasks, missions, the bounded event log, and the seeded simulator
//! that moves tasks along. Everything lives behind one mutex so that "append to the log" and
//! "publish to live streams" are a single atomic step, which is what makes resume exact.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use task_stream_protocol::{Activity, Level, Snapshot, Task, TaskEvent, TaskRemoved, TaskStatus};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::clock::{now_rfc3339, unix_ms};
use crate::sse::event_frame;

/// How many events a live stream may fall behind before it is ended (it then resumes from the
/// log). Large enough that a stall of several seconds at the default tick never trips it.
pub(crate) const BROADCAST_CAPACITY: usize = 8192;
/// Tasks of one mission that may be `running` at once; keeps a 10-task mission at 10–30 s.
const MISSION_CONCURRENCY: usize = 2;
/// Mission records kept after their tasks are removed, so late mission streams still get `end`.
const MAX_MISSION_RECORDS: usize = 1000;

const AGENTS: [&str; 4] = ["scout", "builder", "reviewer", "tester"];
const VERBS: [&str; 8] = [
    "Index",
    "Refactor",
    "Test",
    "Document",
    "Review",
    "Benchmark",
    "Migrate",
    "Audit",
];
const OBJECTS: [&str; 8] = [
    "repository",
    "auth module",
    "billing API",
    "search index",
    "CLI parser",
    "build scripts",
    "database schema",
    "error handling",
];
const PROGRESS_NOTES: [&str; 6] = [
    "reading files",
    "running tests",
    "drafting changes",
    "checking the diff",
    "compiling",
    "summarising findings",
];
const BLOCKERS: [&str; 4] = [
    "waiting for review",
    "rate limited by upstream API",
    "flaky test, retrying later",
    "needs a missing credential",
];
const FAILURES: [&str; 3] = [
    "tests failed after 3 attempts",
    "could not resolve merge conflict",
    "tool call timed out",
];

/// A small deterministic PRNG (SplitMix64): enough for a simulator, and its output depends only
/// on the seed, not on a library version.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// One element of a non-empty slice.
    pub fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        let i = (self.next_u64() % items.len().max(1) as u64) as usize;
        items.get(i).copied().unwrap_or("")
    }
}

/// One event of the global log, pre-encoded once so that every stream shares the bytes.
#[derive(Debug)]
pub struct LogEntry {
    /// Global sequence number (the SSE `id:`).
    pub id: u64,
    /// Mission of the task the event concerns, for mission-stream filtering.
    pub mission: Option<Arc<str>>,
    /// `true` if this event completed its mission (mission streams send `end` after it).
    pub completes_mission: bool,
    /// The encoded SSE frame.
    pub frame: Bytes,
}

/// What a new stream starts with.
#[derive(Debug)]
pub enum Start {
    /// The resume id was not usable: a full (or mission-scoped) snapshot, with `id:` = head.
    Snapshot {
        /// The encoded `snapshot` frame.
        frame: Bytes,
        /// The head sequence it reflects.
        head: u64,
    },
    /// The resume id was inside the log: exactly the (filtered) events after it.
    Replay {
        /// Encoded events in order.
        frames: Vec<Bytes>,
        /// Live events with an id ≤ this were already covered and must be skipped.
        last: u64,
    },
}

/// A new stream's starting point plus its live feed, taken atomically.
#[derive(Debug)]
pub struct Connection {
    /// Snapshot or replay.
    pub start: Start,
    /// Live events published after `start` was computed.
    pub live: broadcast::Receiver<Arc<LogEntry>>,
    /// For mission streams: the mission was already complete at connect time.
    pub mission_complete: bool,
}

#[derive(Debug)]
struct Mission {
    task_ids: Vec<String>,
    finished: usize,
    completed_at: Option<Instant>,
    removed: bool,
    ambient: bool,
}

impl Mission {
    fn is_complete(&self) -> bool {
        self.finished >= self.task_ids.len()
    }
}

/// The board, its missions and the event log.
#[derive(Debug)]
pub struct World {
    rng: Rng,
    tasks: BTreeMap<String, Task>,
    task_mission: HashMap<String, Arc<str>>,
    missions: HashMap<Arc<str>, Mission>,
    mission_order: VecDeque<Arc<str>>,
    next_mission: u64,
    next_activity: u64,
    log: VecDeque<Arc<LogEntry>>,
    capacity: usize,
    head: u64,
    tx: broadcast::Sender<Arc<LogEntry>>,
    ambient: bool,
    ambient_next_at: Option<Instant>,
    retain: Duration,
}

impl World {
    /// A new, empty world. The sequence starts at `unix_ms * 1000` so that after a restart every
    /// id a client still holds is below the new log and gets a fresh snapshot instead of a
    /// wrong replay (the old process would have had to emit 1000 events per millisecond of its
    /// life to overtake the new base).
    pub fn new(seed: u64, capacity: usize, ambient: bool, retain: Duration) -> Self {
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        World {
            rng: Rng::new(seed),
            tasks: BTreeMap::new(),
            task_mission: HashMap::new(),
            missions: HashMap::new(),
            mission_order: VecDeque::new(),
            next_mission: 1,
            // Like the event ids: a restarted server does not reuse the old process's ids.
            next_activity: unix_ms().saturating_mul(1000),
            log: VecDeque::new(),
            capacity: capacity.max(1),
            head: unix_ms().saturating_mul(1000),
            tx,
            ambient,
            ambient_next_at: Some(Instant::now()),
            retain,
        }
    }

    /// The id of the last event appended (the start value if there is none yet).
    pub fn head(&self) -> u64 {
        self.head
    }

    /// Every task, sorted by id (byte order).
    pub fn tasks(&self) -> Vec<Task> {
        self.tasks.values().cloned().collect()
    }

    /// `true` if the mission exists (completed and removed missions are remembered for a while).
    pub fn has_mission(&self, id: &str) -> bool {
        self.missions.contains_key(id)
    }

    /// Decides snapshot vs replay for `resume`, and subscribes to live events under the same
    /// lock, so that nothing published in between can be lost or duplicated.
    pub fn connect(&self, resume: Option<u64>, mission: Option<&str>) -> Connection {
        let live = self.tx.subscribe();
        let mission_complete = mission
            .and_then(|m| self.missions.get(m))
            .is_some_and(Mission::is_complete);
        // The oldest resumable id: a client holding `floor` needs exactly the whole log.
        let floor = self.log.front().map_or(self.head, |e| e.id - 1);
        let start = match resume {
            Some(n) if n >= floor && n <= self.head => {
                // Ids in the log are contiguous, so the first entry after `n` is at `n - floor`.
                let skip = usize::try_from(n - floor).unwrap_or(usize::MAX);
                let frames = self
                    .log
                    .iter()
                    .skip(skip)
                    .filter(|e| mission.is_none() || e.mission.as_deref() == mission)
                    .map(|e| e.frame.clone())
                    .collect();
                Start::Replay {
                    frames,
                    last: self.head,
                }
            }
            _ => {
                let tasks = match mission.and_then(|m| self.missions.get(m)) {
                    Some(m) => m
                        .task_ids
                        .iter()
                        .filter_map(|id| self.tasks.get(id).cloned())
                        .collect(),
                    None => self.tasks(),
                };
                let ev = TaskEvent::Snapshot(Snapshot { tasks });
                Start::Snapshot {
                    frame: event_frame(&ev, Some(self.head)),
                    head: self.head,
                }
            }
        };
        Connection {
            start,
            live,
            mission_complete,
        }
    }

    fn publish(&mut self, ev: &TaskEvent, mission: Option<Arc<str>>, completes_mission: bool) {
        self.head += 1;
        let entry = Arc::new(LogEntry {
            id: self.head,
            mission,
            completes_mission,
            frame: event_frame(ev, Some(self.head)),
        });
        self.log.push_back(entry.clone());
        while self.log.len() > self.capacity {
            self.log.pop_front();
        }
        // No receivers is normal (nobody connected): the log still has the event.
        let _ = self.tx.send(entry);
    }

    fn activity(&mut self, task_id: Option<&str>, agent: &str, level: Level, message: String) {
        let mission = task_id.and_then(|t| self.task_mission.get(t).cloned());
        self.activity_in(mission, task_id, agent, level, message);
    }

    /// An activity line, shown on `mission`'s stream (if any) as well as the global one.
    fn activity_in(
        &mut self,
        mission: Option<Arc<str>>,
        task_id: Option<&str>,
        agent: &str,
        level: Level,
        message: String,
    ) {
        self.next_activity += 1;
        let id = format!("a{}", self.next_activity);
        let ev = TaskEvent::Activity(Activity {
            id,
            task_id: task_id.map(str::to_owned),
            agent: agent.to_owned(),
            level,
            message,
            at: now_rfc3339(),
        });
        self.publish(&ev, mission, false);
    }

    /// Applies `change` to a task, bumps its version and timestamp, and publishes it.
    fn update_task(&mut self, id: &str, now: Instant, change: impl FnOnce(&mut Task)) {
        let Some(task) = self.tasks.get_mut(id) else {
            return;
        };
        let was_finished = task.status.is_finished();
        change(task);
        task.version += 1;
        task.updated_at = now_rfc3339();
        let task = task.clone();
        let mission = self.task_mission.get(id).cloned();
        let mut completes = false;
        if let Some(m) = mission.as_ref().and_then(|m| self.missions.get_mut(m)) {
            if !was_finished && task.status.is_finished() {
                m.finished += 1;
                if m.is_complete() {
                    m.completed_at = Some(now);
                    completes = true;
                }
            }
        }
        self.publish(&TaskEvent::Task(task), mission, completes);
    }

    /// Creates a mission of `n` queued tasks and publishes them. Returns its id and task ids.
    pub fn create_mission(&mut self, n: usize, ambient: bool) -> (String, Vec<String>) {
        let mission_id = format!("m{}", self.next_mission);
        self.next_mission += 1;
        let key: Arc<str> = Arc::from(mission_id.as_str());
        let task_ids: Vec<String> = (1..=n).map(|i| format!("{mission_id}-t{i}")).collect();
        self.missions.insert(
            key.clone(),
            Mission {
                task_ids: task_ids.clone(),
                finished: 0,
                completed_at: None,
                removed: false,
                ambient,
            },
        );
        self.mission_order.push_back(key.clone());
        self.activity_in(
            Some(key.clone()),
            None,
            "planner",
            Level::Info,
            format!("mission {mission_id} planned with {n} tasks"),
        );
        for id in &task_ids {
            let title = format!("{} {}", self.rng.pick(&VERBS), self.rng.pick(&OBJECTS));
            let task = Task {
                id: id.clone(),
                title,
                status: TaskStatus::Queued,
                agent: self.rng.pick(&AGENTS).to_owned(),
                progress: None,
                version: 1,
                updated_at: now_rfc3339(),
            };
            self.tasks.insert(id.clone(), task.clone());
            self.task_mission.insert(id.clone(), key.clone());
            self.publish(&TaskEvent::Task(task), Some(key.clone()), false);
        }
        self.trim_missions();
        (mission_id, task_ids)
    }

    /// One simulator tick: moves every open mission's tasks, starts ambient work, and removes
    /// tasks of missions that finished more than `retain` ago.
    pub fn step(&mut self, now: Instant) {
        let open: Vec<Arc<str>> = self
            .mission_order
            .iter()
            .filter(|m| self.missions.get(*m).is_some_and(|m| !m.is_complete()))
            .cloned()
            .collect();
        for m in open {
            self.step_mission(&m, now);
        }
        self.start_ambient(now);
        self.remove_expired(now);
    }

    fn step_mission(&mut self, mission: &str, now: Instant) {
        let Some(ids) = self.missions.get(mission).map(|m| m.task_ids.clone()) else {
            return;
        };
        let mut running = ids
            .iter()
            .filter(|id| {
                self.tasks
                    .get(*id)
                    .is_some_and(|t| t.status == TaskStatus::Running)
            })
            .count();
        for id in &ids {
            let Some(task) = self.tasks.get(id) else {
                continue;
            };
            let (status, agent, title, progress) = (
                task.status,
                task.agent.clone(),
                task.title.clone(),
                task.progress.unwrap_or(0.0),
            );
            match status {
                TaskStatus::Queued => {
                    if running < MISSION_CONCURRENCY && self.rng.unit() < 0.6 {
                        running += 1;
                        self.activity(
                            Some(id),
                            &agent,
                            Level::Info,
                            format!("picked up \"{title}\""),
                        );
                        self.update_task(id, now, |t| {
                            t.status = TaskStatus::Running;
                            t.progress = Some(0.0);
                        });
                    }
                }
                TaskStatus::Running => {
                    if self.rng.unit() < 0.04 {
                        running = running.saturating_sub(1);
                        let why = self.rng.pick(&BLOCKERS);
                        self.activity(Some(id), &agent, Level::Warn, format!("blocked: {why}"));
                        self.update_task(id, now, |t| t.status = TaskStatus::Blocked);
                        continue;
                    }
                    let next = progress + self.rng.range(0.07, 0.22);
                    if next >= 1.0 {
                        running = running.saturating_sub(1);
                        if self.rng.unit() < 0.1 {
                            let why = self.rng.pick(&FAILURES);
                            self.activity(Some(id), &agent, Level::Error, format!("failed: {why}"));
                            self.update_task(id, now, |t| t.status = TaskStatus::Failed);
                        } else {
                            self.activity(
                                Some(id),
                                &agent,
                                Level::Info,
                                format!("finished \"{title}\""),
                            );
                            self.update_task(id, now, |t| {
                                t.status = TaskStatus::Done;
                                t.progress = Some(1.0);
                            });
                        }
                    } else {
                        let next = (next * 100.0).round() / 100.0;
                        if self.rng.unit() < 0.3 {
                            let note = self.rng.pick(&PROGRESS_NOTES);
                            let pct = (next * 100.0).round();
                            self.activity(
                                Some(id),
                                &agent,
                                Level::Info,
                                format!("{note} ({pct}%)"),
                            );
                        }
                        self.update_task(id, now, |t| t.progress = Some(next));
                    }
                }
                TaskStatus::Blocked => {
                    if running < MISSION_CONCURRENCY && self.rng.unit() < 0.35 {
                        running += 1;
                        self.activity(Some(id), &agent, Level::Info, "unblocked, resuming".into());
                        self.update_task(id, now, |t| t.status = TaskStatus::Running);
                    }
                }
                TaskStatus::Done | TaskStatus::Failed => {}
            }
        }
    }

    /// Keeps one ambient mission going (after a short pause) so a bare server shows live work.
    fn start_ambient(&mut self, now: Instant) {
        if !self.ambient {
            return;
        }
        let busy = self
            .missions
            .values()
            .any(|m| m.ambient && !m.is_complete());
        if busy {
            self.ambient_next_at = None;
            return;
        }
        match self.ambient_next_at {
            None => {
                let pause = Duration::from_secs_f64(self.rng.range(2.0, 5.0));
                self.ambient_next_at = Some(now + pause);
            }
            Some(at) if now >= at => {
                let n = 3 + (self.rng.next_u64() % 6) as usize;
                self.create_mission(n, true);
                self.ambient_next_at = None;
            }
            Some(_) => {}
        }
    }

    /// Removes (with `task_removed`) the tasks of missions completed more than `retain` ago, so
    /// a long-running server's board stays bounded.
    fn remove_expired(&mut self, now: Instant) {
        let expired: Vec<Arc<str>> = self
            .missions
            .iter()
            .filter(|(_, m)| !m.removed && m.completed_at.is_some_and(|at| now >= at + self.retain))
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            let ids = match self.missions.get_mut(&key) {
                Some(m) => {
                    m.removed = true;
                    m.task_ids.clone()
                }
                None => continue,
            };
            for id in ids {
                if self.tasks.remove(&id).is_some() {
                    self.task_mission.remove(&id);
                    let ev = TaskEvent::TaskRemoved(TaskRemoved { id });
                    self.publish(&ev, Some(key.clone()), false);
                }
            }
        }
        self.trim_missions();
    }

    /// Forgets the oldest removed missions beyond [`MAX_MISSION_RECORDS`].
    fn trim_missions(&mut self) {
        while self.mission_order.len() > MAX_MISSION_RECORDS {
            let removable = self
                .mission_order
                .front()
                .and_then(|k| self.missions.get(k))
                .is_some_and(|m| m.removed);
            if !removable {
                break;
            }
            if let Some(k) = self.mission_order.pop_front() {
                self.missions.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World::new(7, 100, false, Duration::from_secs(3600))
    }

    #[test]
    fn resume_inside_log_replays_exactly_the_rest() {
        let mut w = world();
        let start = w.head();
        w.create_mission(5, false);
        let c = w.connect(Some(start + 2), None);
        match c.start {
            Start::Replay { frames, last } => {
                assert_eq!(last, w.head());
                assert_eq!(frames.len() as u64, w.head() - start - 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn old_future_and_missing_ids_get_snapshots() {
        let mut w = World::new(7, 3, false, Duration::from_secs(3600));
        let start = w.head();
        w.create_mission(5, false);
        for resume in [Some(start), Some(w.head() + 1), None] {
            assert!(matches!(
                w.connect(resume, None).start,
                Start::Snapshot { .. }
            ));
        }
        // The oldest resumable id is one below the first entry still held.
        assert!(matches!(
            w.connect(Some(w.head() - 3), None).start,
            Start::Replay { .. }
        ));
    }

    /// The activity ids in a world's log.
    fn activity_ids(w: &World) -> Vec<String> {
        w.log
            .iter()
            .filter_map(|e| {
                let frame = std::str::from_utf8(&e.frame).ok()?;
                let data = frame.lines().find_map(|l| l.strip_prefix("data: "))?;
                match serde_json::from_str::<serde_json::Value>(data)
                    .ok()?
                    .get("id")?
                {
                    serde_json::Value::String(id) if frame.contains("event: activity") => {
                        Some(id.clone())
                    }
                    _ => None,
                }
            })
            .collect()
    }

    #[test]
    fn a_restarted_world_does_not_reuse_activity_ids() {
        let mut before = world();
        before.create_mission(3, false);
        let old = activity_ids(&before);
        assert!(!old.is_empty());
        std::thread::sleep(Duration::from_millis(2));
        let mut after = world();
        after.create_mission(3, false);
        let new = activity_ids(&after);
        assert!(!new.is_empty());
        assert!(new.iter().all(|id| !old.contains(id)), "{old:?} {new:?}");
    }

    #[test]
    fn a_mission_finishes_and_flags_its_last_event() {
        let mut w = world();
        let (m, _) = w.create_mission(10, false);
        let mut rx = w.tx.subscribe();
        let mut now = Instant::now();
        for _ in 0..2000 {
            now += Duration::from_millis(300);
            w.step(now);
            if w.missions.get(m.as_str()).is_some_and(Mission::is_complete) {
                break;
            }
        }
        let mut flagged = 0;
        while let Ok(e) = rx.try_recv() {
            flagged += usize::from(e.completes_mission);
        }
        assert_eq!(flagged, 1);
    }

    #[test]
    fn ten_task_missions_take_10_to_30_seconds_at_the_default_tick() {
        // Pins the pacing promised in the docs, over many seeds.
        for seed in 0..30 {
            let mut w = World::new(seed, 10_000, false, Duration::from_secs(3600));
            let (m, _) = w.create_mission(10, false);
            let mut now = Instant::now();
            let mut ticks = 0u32;
            while !w.missions.get(m.as_str()).is_some_and(Mission::is_complete) {
                now += Duration::from_millis(300);
                w.step(now);
                ticks += 1;
                assert!(ticks < 1000, "seed {seed} never finished");
            }
            let secs = f64::from(ticks) * 0.3;
            assert!((10.0..=30.0).contains(&secs), "seed {seed}: {secs} s");
        }
    }
}
