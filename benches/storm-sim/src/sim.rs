//! The event-queue simulation: one virtual clock in whole milliseconds (the resolution of the
//! crate's [`Timestamp`]), one pending event per client, no sleeps.
//!
//! Clients do not interact (the outage has a fixed length whatever the load), so the queue only
//! orders time; it is still one global queue so that every figure is read off one timeline.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use leptos_task_stream::{
    Backoff, Command, ConnectionMachine, ConnectionStatus, Input, JitterRng, MachineConfig,
    OfflineReason, Timestamp,
};

/// Milliseconds per second, for the 1-second buckets.
pub const MS_PER_S: u64 = 1_000;

/// What happens to the server and how long the simulation may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Clients, all connected until the server drops them at t = 0.
    pub clients: u32,
    /// The server is down during `[0, outage_ms)`: an attempt started then fails.
    pub outage_ms: u64,
    /// Time from opening a transport to learning its fate (`TransportFailed` / `TransportOpened`).
    pub attempt_ms: u64,
    /// Client `i`'s jitter generator is `JitterRng::from_seed(seed ^ i)`.
    pub seed: u64,
    /// Simulated time limit; events later than this are not processed.
    pub max_ms: u64,
    /// Keep every attempt's `(time, client)` (tests only: naive makes millions).
    pub trace: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            clients: 10_000,
            outage_ms: 120_000,
            attempt_ms: 50,
            seed: 2026,
            max_ms: 400_000,
            trace: false,
        }
    }
}

/// A reconnect policy under test.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    /// The crate's real [`ConnectionMachine`] with this backoff policy.
    Machine(Backoff),
    /// Reopen the moment an attempt fails.
    Naive,
    /// Wait a fixed interval after each error. With `error_limit: Some(l)` the client gives up at
    /// its `l`-th error, counted from the drop and never reset by a successful open: leptos-use's
    /// `ReconnectLimit::Limited(l)` (`times >= limit`, counter reset only by a manual `open()`).
    Fixed {
        /// Wait after each error, in milliseconds.
        interval_ms: u64,
        /// Give up at this error; `None` retries forever (the browser's own `EventSource`).
        error_limit: Option<u32>,
    },
}

/// Everything measured in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Attempts started in each second `[s, s+1)`.
    pub attempts_per_s: Vec<u64>,
    /// Successful opens in each second.
    pub connects_per_s: Vec<u64>,
    /// For each client that got connected again: connect time minus the outage end, sorted.
    pub recovery_ms: Vec<u64>,
    /// Clients that gave up (never recover without a manual reconnect).
    pub gave_up: u32,
    /// Clients neither connected nor given up when `max_ms` was reached.
    pub stranded: u32,
    /// Every attempt started.
    pub total_attempts: u64,
    /// Time of the last processed event.
    pub end_ms: u64,
    /// Every attempt's `(time_ms, client)`, in time order, when [`Scenario::trace`] is set.
    pub trace: Vec<(u64, u32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// The attempt on transport `conn` resolves: opened when `ok`, failed otherwise.
    Resolve { conn: u64, ok: bool },
    /// The retry timer `timer` fires.
    Timer { timer: u64 },
}

/// `(time_ms, client, event)`, earliest first.
type Queue = BinaryHeap<Reverse<(u64, u32, Event)>>;

struct Recorder<'a> {
    scn: &'a Scenario,
    queue: Queue,
    out: Outcome,
}

impl<'a> Recorder<'a> {
    fn new(scn: &'a Scenario) -> Self {
        let buckets = (scn.max_ms / MS_PER_S + 1) as usize;
        Self {
            scn,
            queue: BinaryHeap::with_capacity(scn.clients as usize),
            out: Outcome {
                attempts_per_s: vec![0; buckets],
                connects_per_s: vec![0; buckets],
                recovery_ms: Vec::new(),
                gave_up: 0,
                stranded: 0,
                total_attempts: 0,
                end_ms: 0,
                trace: Vec::new(),
            },
        }
    }

    /// Client `client` opens transport `conn` at `now`; the server's state then decides.
    fn attempt(&mut self, now: u64, client: u32, conn: u64) {
        self.out.attempts_per_s[(now / MS_PER_S) as usize] += 1;
        self.out.total_attempts += 1;
        if self.scn.trace {
            self.out.trace.push((now, client));
        }
        let ok = now >= self.scn.outage_ms;
        self.queue.push(Reverse((
            now + self.scn.attempt_ms,
            client,
            Event::Resolve { conn, ok },
        )));
    }

    fn timer(&mut self, at: u64, client: u32, timer: u64) {
        self.queue
            .push(Reverse((at, client, Event::Timer { timer })));
    }

    fn connected(&mut self, now: u64) {
        self.out.connects_per_s[(now / MS_PER_S) as usize] += 1;
        self.out.recovery_ms.push(now - self.scn.outage_ms);
    }

    /// The next event, unless the queue is empty or the time limit is reached.
    fn next(&mut self) -> Option<(u64, u32, Event)> {
        match self.queue.peek() {
            Some(Reverse((t, _, _))) if *t <= self.scn.max_ms => {
                let Reverse(ev) = self.queue.pop().expect("peeked");
                self.out.end_ms = ev.0;
                Some(ev)
            }
            _ => None,
        }
    }

    fn finish(mut self) -> Outcome {
        self.out.recovery_ms.sort_unstable();
        let done = self.out.recovery_ms.len() as u32 + self.out.gave_up;
        self.out.stranded = self.scn.clients - done;
        self.out
    }
}

/// Runs one policy through the scenario.
pub fn run(scn: &Scenario, policy: &Policy) -> Outcome {
    match policy {
        Policy::Machine(backoff) => run_machine(scn, backoff),
        Policy::Naive => run_direct(scn, None),
        Policy::Fixed {
            interval_ms,
            error_limit,
        } => run_direct(scn, Some((*interval_ms, *error_limit))),
    }
}

/// Drives one real [`ConnectionMachine`] per client.
fn run_machine(scn: &Scenario, backoff: &Backoff) -> Outcome {
    let mut rec = Recorder::new(scn);
    let t0 = Timestamp::from_millis(0);
    let mut machines = Vec::with_capacity(scn.clients as usize);
    for client in 0..scn.clients {
        let mut m = ConnectionMachine::new(
            MachineConfig::new(backoff.clone()),
            JitterRng::from_seed(scn.seed ^ u64::from(client)),
        )
        .expect("the simulated policies are valid");
        // Connected before the incident (this connection is not counted as an attempt)…
        let conn = open_of(&m.handle(t0, Input::Open)).expect("Open opens a transport");
        m.handle(t0, Input::TransportOpened { conn });
        // …and dropped by the server at t = 0.
        let cmds = m.handle(t0, Input::TransportFailed { conn });
        execute(&mut rec, &m, 0, client, &cmds);
        machines.push(m);
    }
    while let Some((now, client, event)) = rec.next() {
        let m = &mut machines[client as usize];
        let ts = Timestamp::from_millis(now);
        let cmds = match event {
            Event::Resolve { conn, ok: true } => {
                let cmds = m.handle(ts, Input::TransportOpened { conn });
                assert!(m.status().is_connected(), "client {client} did not connect");
                rec.connected(now);
                cmds
            }
            Event::Resolve { conn, ok: false } => {
                let cmds = m.handle(ts, Input::TransportFailed { conn });
                if matches!(
                    m.status(),
                    ConnectionStatus::Offline {
                        reason: OfflineReason::GaveUp { .. }
                    }
                ) {
                    rec.out.gave_up += 1;
                }
                cmds
            }
            Event::Timer { timer } => m.handle(ts, Input::RetryTimerFired { timer }),
        };
        execute(&mut rec, m, now, client, &cmds);
    }
    rec.finish()
}

fn open_of(cmds: &[Command]) -> Option<u64> {
    cmds.iter().find_map(|c| match c {
        Command::OpenTransport { conn, .. } => Some(*conn),
        _ => None,
    })
}

/// Does what the machine asked: open a transport, start a retry timer. Nothing else matters
/// here (no stale timers are configured; status and error reports are not simulated).
fn execute(rec: &mut Recorder<'_>, m: &ConnectionMachine, now: u64, client: u32, cmds: &[Command]) {
    for cmd in cmds {
        match cmd {
            Command::OpenTransport { conn, .. } => rec.attempt(now, client, *conn),
            Command::StartRetryTimer { timer, delay } => {
                // The same arithmetic as the machine's `retry_at`: the timer fires exactly when
                // the status says it will.
                let at = (Timestamp::from_millis(now) + *delay).as_millis();
                assert!(
                    matches!(m.status(), ConnectionStatus::Reconnecting { retry_at, .. }
                        if retry_at.as_millis() == at),
                    "client {client}: timer at {at} ms disagrees with the published status"
                );
                rec.timer(at, client, *timer);
            }
            _ => {}
        }
    }
}

/// The baselines, modelled directly: `None` is naive, `Some((interval, limit))` is fixed.
fn run_direct(scn: &Scenario, fixed: Option<(u64, Option<u32>)>) -> Outcome {
    let mut rec = Recorder::new(scn);
    let mut errors = vec![0u32; scn.clients as usize];
    // Transport ids only matter to the machine; the baselines never look at them.
    let mut on_error = |rec: &mut Recorder<'_>, now: u64, client: u32| {
        let e = &mut errors[client as usize];
        *e += 1;
        match fixed {
            None => rec.attempt(now, client, 0),
            Some((_, Some(limit))) if *e >= limit => rec.out.gave_up += 1,
            Some((interval, _)) => rec.timer(now + interval, client, 0),
        }
    };
    for client in 0..scn.clients {
        on_error(&mut rec, 0, client);
    }
    while let Some((now, client, event)) = rec.next() {
        match event {
            Event::Resolve { ok: true, .. } => rec.connected(now),
            Event::Resolve { ok: false, .. } => on_error(&mut rec, now, client),
            Event::Timer { .. } => rec.attempt(now, client, 0),
        }
    }
    rec.finish()
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// Mean of [`Jitter::Decorrelated`](leptos_task_stream::Jitter::Decorrelated) delays once the
/// chain `d' ~ U[initial, min(cap, 3·d)]` is stationary, from that definition alone (not from the
/// crate's code): the density on a 1 ms grid is pushed through the transition until it settles.
pub fn decorrelated_stationary_mean(initial_ms: u64, cap_ms: u64) -> f64 {
    let cells = (cap_ms - initial_ms + 1) as usize;
    // Cell k holds delays of initial + k ms; start at `previous = initial`.
    let mut p = vec![0.0f64; cells];
    p[0] = 1.0;
    let mut mean = initial_ms as f64;
    for _ in 0..1_000 {
        let mut diff = vec![0.0f64; cells + 1];
        for (k, &mass) in p.iter().enumerate() {
            if mass == 0.0 {
                continue;
            }
            let hi = (3 * (initial_ms + k as u64)).min(cap_ms);
            let width = (hi - initial_ms + 1) as usize;
            diff[0] += mass / width as f64;
            diff[width] -= mass / width as f64;
        }
        let mut acc = 0.0;
        for (k, cell) in p.iter_mut().enumerate() {
            acc += diff[k];
            *cell = acc;
        }
        let next: f64 = p
            .iter()
            .enumerate()
            .map(|(k, m)| m * (initial_ms + k as u64) as f64)
            .sum();
        let settled = (next - mean).abs() < 1e-9;
        mean = next;
        if settled {
            break;
        }
    }
    mean
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos_task_stream::Jitter;

    fn small() -> Scenario {
        Scenario {
            clients: 100,
            outage_ms: 20_000,
            max_ms: 120_000,
            ..Scenario::default()
        }
    }

    fn fixed3(limit: Option<u32>) -> Policy {
        Policy::Fixed {
            interval_ms: 3_000,
            error_limit: limit,
        }
    }

    #[test]
    fn naive_makes_far_more_attempts_than_ours() {
        // The storm itself: reconnecting at once multiplies the load by orders of magnitude.
        let scn = small();
        let naive = run(&scn, &Policy::Naive);
        let ours = run(&scn, &Policy::Machine(Backoff::default()));
        assert_eq!(naive.total_attempts, 100 * (20_000 / 50 + 1));
        assert!(naive.total_attempts > 50 * ours.total_attempts);
        assert_eq!(naive.recovery_ms.len(), 100);
    }

    #[test]
    fn fixed_interval_retries_in_lockstep() {
        // Clients dropped together and waiting a fixed 3 s stay synchronised: every attempt of
        // the run happens in one of a few instants, each shared by all clients.
        let scn = Scenario {
            trace: true,
            ..small()
        };
        let out = run(&scn, &fixed3(None));
        let mut instants: Vec<u64> = out.trace.iter().map(|(t, _)| *t).collect();
        instants.dedup();
        assert_eq!(instants.len() as u64 * 100, out.total_attempts);
        assert!(out.attempts_per_s.iter().all(|&n| n == 0 || n == 100));
        assert_eq!(instants[..3], [3_000, 6_050, 9_100]);
    }

    #[test]
    fn every_client_of_ours_recovers_within_the_cap() {
        // After the outage no client waits longer than one capped delay plus the attempt.
        let scn = small();
        for jitter in Jitter::ALL {
            let out = run(&scn, &Policy::Machine(Backoff::default().jitter(jitter)));
            assert_eq!(out.recovery_ms.len(), 100, "{jitter}");
            assert_eq!(out.gave_up + out.stranded, 0, "{jitter}");
            let max = *out.recovery_ms.last().unwrap();
            assert!(max <= 30_000 + 2 * 50, "{jitter}: {max} ms");
        }
    }

    #[test]
    fn time_is_exact_milliseconds() {
        // The clock is integer milliseconds, as the machine's: without jitter the schedule is
        // exactly the documented one plus 50 ms per failed attempt, with no drift.
        let scn = Scenario {
            clients: 3,
            trace: true,
            ..small()
        };
        let out = run(
            &scn,
            &Policy::Machine(Backoff::default().jitter(Jitter::None)),
        );
        let client0: Vec<u64> = out
            .trace
            .iter()
            .filter(|(_, c)| *c == 0)
            .map(|(t, _)| *t)
            .collect();
        // Delays 1, 2, 4, 8, 16 s; each failure is learnt 50 ms after its attempt.
        assert_eq!(client0, [1_000, 3_050, 7_100, 15_150, 31_200]);
        assert_eq!(out.recovery_ms, [11_250; 3]);
        assert_eq!(out.end_ms, 31_250);
    }

    #[test]
    fn leptos_use_defaults_give_up_during_a_long_outage() {
        // Limited(3) gives up at the third error (the drop plus two failed retries).
        let out = run(&small(), &fixed3(Some(3)));
        assert_eq!((out.gave_up, out.total_attempts), (100, 200));
        assert!(out.recovery_ms.is_empty());
        // A 5 s outage is ridden out by the second retry (at 6.05 s).
        let short = Scenario {
            outage_ms: 5_000,
            ..small()
        };
        let out = run(&short, &fixed3(Some(3)));
        assert_eq!(out.gave_up, 0);
        assert_eq!(out.recovery_ms, [1_100; 100]);
    }

    #[test]
    fn seeded_runs_repeat() {
        // Same seed, same run; another seed, another run.
        let policy = Policy::Machine(Backoff::default());
        let a = run(&small(), &policy);
        assert_eq!(a, run(&small(), &policy));
        let other = Scenario { seed: 7, ..small() };
        assert_ne!(a.recovery_ms, run(&other, &policy).recovery_ms);
    }

    #[test]
    fn decorrelated_mean_is_between_its_bounds() {
        // With prev ≥ 10 s the draw is U[1, 30] (mean 15.5 s); smaller prev pulls it lower.
        let mean = decorrelated_stationary_mean(1_000, 30_000);
        assert!((10_000.0..15_500.0).contains(&mean), "{mean}");
        // Without a cap above 3·initial the chain is U[initial, cap] from the first draw.
        let flat = decorrelated_stationary_mean(1_000, 3_000);
        assert!((flat - 2_000.0).abs() < 1.0, "{flat}");
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        // p50 of 1..=100 is 50, p99 is 99, and an empty set has none.
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&v, 1.0), Some(100));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
