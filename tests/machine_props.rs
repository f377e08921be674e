//! Property tests: random input sequences, seeds and policies never break the machine's
//! invariants (checked by the fake driver after every step) nor the delay bounds.
#![cfg(not(target_arch = "wasm32"))] // Native tests; tests/browser.rs is the wasm suite.

mod support;

use std::time::Duration;

use leptos_task_stream::{
    Backoff, ConnId, ConnectionStatus, Input, Jitter, JitterRng, MachineConfig,
};
use proptest::prelude::*;
use support::Harness;

#[derive(Debug, Clone)]
enum Step {
    Advance(u64),
    FireTimers,
    Opened,
    Event(Option<u16>),
    /// Bytes of an unfinished event (fetch transport).
    Progress,
    Fail,
    End,
    StaleConnInput(u8),
    StaleTimerInput(u8),
    Offline,
    Online,
    Hidden,
    Visible,
    Reconnect,
    Close,
    Open,
    /// A non-stream HTTP answer (fetch transport), with a `Retry-After` in seconds.
    Http(u16, Option<u64>),
    NotAStream,
    Refused,
    RetryHint(u64),
    /// The pending credential refresh finishes (or a stale one, if none is pending).
    Refreshed(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u64..70_000).prop_map(Step::Advance),
        3 => Just(Step::FireTimers),
        4 => Just(Step::Opened),
        3 => proptest::option::of(0u16..500).prop_map(Step::Event),
        4 => Just(Step::Fail),
        1 => Just(Step::End),
        2 => any::<u8>().prop_map(Step::StaleConnInput),
        2 => any::<u8>().prop_map(Step::StaleTimerInput),
        1 => Just(Step::Offline),
        1 => Just(Step::Online),
        1 => Just(Step::Hidden),
        1 => Just(Step::Visible),
        1 => Just(Step::Reconnect),
        1 => Just(Step::Close),
        1 => Just(Step::Open),
    ]
}

/// [`step`] plus everything the fetch transport adds.
fn step_http() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => step(),
        2 => (prop_oneof![
            Just(204u16), Just(401), Just(403), Just(404), Just(407), Just(408), Just(429),
            Just(500), Just(502), Just(503), Just(504), 100u16..700
        ], proptest::option::of(0u64..100_000)).prop_map(|(s, r)| Step::Http(s, r)),
        1 => Just(Step::NotAStream),
        1 => Just(Step::Refused),
        1 => (0u64..1_000_000).prop_map(Step::RetryHint),
        2 => Just(Step::Progress),
        1 => any::<bool>().prop_map(Step::Refreshed),
    ]
}

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        Just(Jitter::Decorrelated)
    ]
}

fn backoff() -> impl Strategy<Value = Backoff> {
    (
        1u64..5_000,
        1.0f64..4.0,
        0u64..120_000,
        jitter(),
        proptest::option::of(1u32..10),
        0u64..60_000,
        proptest::option::of(0u64..20_000),
    )
        .prop_map(|(initial, factor, extra_cap, jitter, max, reset, spread)| {
            Backoff::default()
                .initial(Duration::from_millis(initial))
                .factor(factor)
                .max_delay(Duration::from_millis(initial + extra_cap))
                .jitter(jitter)
                .max_attempts(max)
                .reset_after(Duration::from_millis(reset))
                .first_retry_spread(spread.map(Duration::from_millis))
        })
}

/// Feeds the input `input` builds for the open transport, if one is open.
fn on_open(h: &mut Harness, input: impl FnOnce(ConnId) -> Input) {
    if let Some(conn) = h.open {
        h.feed(input(conn));
    }
}

fn run(h: &mut Harness, steps: &[Step]) {
    for s in steps {
        match s {
            Step::Advance(ms) => h.advance(Duration::from_millis(*ms)),
            Step::FireTimers => {
                if let Some((_, due)) = h.retry_timer {
                    h.advance(due.saturating_duration_since(h.now));
                }
            }
            Step::Opened => on_open(h, |conn| Input::TransportOpened { conn }),
            Step::Event(id) => on_open(h, |conn| Input::Event {
                conn,
                id: id.map(|i| i.to_string()),
            }),
            Step::Progress => on_open(h, |conn| Input::Progress { conn }),
            Step::Fail => on_open(h, |conn| Input::TransportFailed { conn }),
            Step::End => on_open(h, |conn| Input::ServerEnded {
                conn,
                reason: "done".into(),
            }),
            Step::StaleConnInput(i) => {
                // An input from a transport that is no longer current must change nothing.
                let old: Vec<_> = h
                    .all_conns
                    .iter()
                    .copied()
                    .filter(|c| Some(*c) != h.open)
                    .collect();
                if !old.is_empty() {
                    let conn = old[*i as usize % old.len()];
                    let before = h.status();
                    let cmds = h.feed(Input::TransportFailed { conn });
                    assert!(cmds.is_empty());
                    let cmds = h.feed(Input::Event {
                        conn,
                        id: Some("x".into()),
                    });
                    assert!(cmds.is_empty());
                    assert!(h.feed(Input::Progress { conn }).is_empty());
                    assert_eq!(h.status(), before);
                }
            }
            Step::StaleTimerInput(i) => {
                let pending = [h.retry_timer.map(|t| t.0), h.stale_timer.map(|t| t.0)];
                let old: Vec<_> = h
                    .all_timers
                    .iter()
                    .copied()
                    .filter(|t| !pending.contains(&Some(*t)))
                    .collect();
                if !old.is_empty() {
                    let timer = old[*i as usize % old.len()];
                    let before = h.status();
                    assert!(h.feed(Input::RetryTimerFired { timer }).is_empty());
                    assert!(h.feed(Input::StaleTimerFired { timer }).is_empty());
                    assert_eq!(h.status(), before);
                }
            }
            Step::Offline => {
                h.feed(Input::WentOffline);
            }
            Step::Online => {
                h.feed(Input::WentOnline);
            }
            Step::Hidden => {
                h.feed(Input::Hidden);
            }
            Step::Visible => {
                h.feed(Input::Visible);
            }
            Step::Reconnect => {
                h.feed(Input::Reconnect);
            }
            Step::Close => {
                h.feed(Input::Close);
            }
            Step::Open => {
                h.feed(Input::Open);
            }
            Step::Http(status, retry_after) => on_open(h, |conn| Input::HttpStatus {
                conn,
                status: *status,
                retry_after: retry_after.map(Duration::from_secs),
            }),
            Step::Refused => on_open(h, |conn| Input::TransportRefused {
                conn,
                message: "invalid header value".into(),
            }),
            Step::NotAStream => on_open(h, |conn| Input::NotAStream {
                conn,
                content_type: "text/html".into(),
            }),
            Step::RetryHint(ms) => on_open(h, |conn| Input::RetryHint {
                conn,
                delay: Duration::from_millis(*ms),
            }),
            Step::Refreshed(ok) => {
                let refresh =
                    h.m.pending_refresh()
                        .or(h.refreshes.first().copied())
                        .unwrap_or(u64::MAX);
                h.feed(Input::CredentialsRefreshed { refresh, ok: *ok });
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Pins every invariant the fake driver checks (≤ 1 transport, ≤ 1 retry timer, nothing
    /// pending while offline/closed, stale ids ignored) over random sequences and policies, and
    /// that every failure-driven delay lies in the policy's documented range.
    #[test]
    fn invariants_hold_for_any_input_sequence(
        backoff in backoff(),
        stale in proptest::option::of(1u64..60_000),
        seed in any::<u64>(),
        steps in proptest::collection::vec(step(), 1..120),
    ) {
        let cfg = MachineConfig::new(backoff.clone()).stale_after(stale.map(Duration::from_millis));
        let mut h = Harness::new(cfg, seed);
        h.feed(Input::Open);
        run(&mut h, &steps);
        let cap = backoff.cap();
        for (attempt, delay) in &h.waits {
            prop_assert!(*delay <= cap);
            if backoff.jitter_mode() == Jitter::None && !(*attempt == 1 && backoff.first_spread().is_some()) {
                prop_assert_eq!(*delay, backoff.base_delay(*attempt));
            }
        }
        for o in &h.opens {
            if let Some(limit) = backoff.attempt_limit() {
                prop_assert!(o.attempt <= limit);
            }
        }
    }

    /// Pins the same invariants with the fetch transport's inputs mixed in (HTTP statuses,
    /// `Retry-After`, wrong content types, `retry:` hints, credential refreshes), and that a
    /// server-imposed wait never exceeds the configured cap plus its tenth of spread.
    #[test]
    fn invariants_hold_with_http_inputs(
        backoff in backoff(),
        stale in proptest::option::of(1u64..60_000),
        max_retry_after in 1u64..600_000,
        refresh in any::<bool>(),
        seed in any::<u64>(),
        steps in proptest::collection::vec(step_http(), 1..120),
    ) {
        let cfg = MachineConfig::new(backoff.clone())
            .stale_after(stale.map(Duration::from_millis))
            .max_retry_after(Duration::from_millis(max_retry_after))
            .refresh_credentials(refresh);
        let mut h = Harness::new(cfg, seed);
        h.feed(Input::Open);
        run(&mut h, &steps);
        let cap = backoff.cap().max(Duration::from_millis(max_retry_after * 11 / 10 + 1));
        for (_, delay) in &h.waits {
            prop_assert!(*delay <= cap);
        }
        if !refresh {
            prop_assert!(h.refreshes.is_empty());
        }
    }

    /// Pins "no storm after a refusal": once a 4xx (other than 408/429) or a wrong content type
    /// stops the stream, no automatic input or amount of time opens another transport.
    #[test]
    fn nothing_reconnects_after_a_refusal(
        status in prop_oneof![Just(400u16), Just(401), Just(403), Just(404), Just(410), Just(422), Just(451)],
        not_a_stream in any::<bool>(),
        seed in any::<u64>(),
        steps in proptest::collection::vec(step_http(), 1..80),
    ) {
        let mut h = Harness::new(MachineConfig::new(Backoff::default()), seed);
        h.feed(Input::Open);
        if not_a_stream {
            let conn = h.conn();
            h.feed(Input::NotAStream { conn, content_type: "text/html".into() });
        } else {
            h.http(status, None);
        }
        let opens = h.opens.len();
        let automatic: Vec<Step> = steps
            .into_iter()
            .filter(|s| !matches!(s, Step::Reconnect))
            .collect();
        run(&mut h, &automatic);
        prop_assert_eq!(h.opens.len(), opens);
    }

    /// Pins: after `end`, no sequence of automatic inputs or time opens another transport.
    #[test]
    fn nothing_reconnects_after_end(
        backoff in backoff(),
        seed in any::<u64>(),
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        let mut h = Harness::new(MachineConfig::new(backoff), seed);
        let conn = h.open_and_connect();
        h.feed(Input::ServerEnded { conn, reason: "complete".into() });
        let opens = h.opens.len();
        let automatic: Vec<Step> = steps
            .into_iter()
            .filter(|s| !matches!(s, Step::Reconnect))
            .collect();
        run(&mut h, &automatic);
        prop_assert_eq!(h.opens.len(), opens);
        let closed = matches!(h.status(), ConnectionStatus::Closed { .. });
        prop_assert!(closed);
    }

    /// Pins: after close(), nothing but reconnect() opens a transport.
    #[test]
    fn close_is_final_until_reconnect(
        seed in any::<u64>(),
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        let mut h = Harness::new(MachineConfig::new(Backoff::default()), seed);
        h.open_and_connect();
        h.feed(Input::Close);
        let opens = h.opens.len();
        let automatic: Vec<Step> = steps
            .into_iter()
            .filter(|s| !matches!(s, Step::Reconnect))
            .collect();
        run(&mut h, &automatic);
        prop_assert_eq!(h.opens.len(), opens);
    }

    /// Pins the retry schedule: with a server that is always down, consecutive opens are
    /// separated by at least the policy's lower bound and at most its upper bound, and the
    /// attempt count never skips.
    #[test]
    fn attempts_never_come_earlier_than_the_policy_allows(
        backoff in backoff(),
        seed in any::<u64>(),
    ) {
        let mut h = Harness::new(MachineConfig::new(backoff.clone()), seed);
        h.feed(Input::Open);
        for _ in 0..30 {
            if h.open.is_none() { break; }
            h.fail_current();
            if h.retry_timer.is_none() { break; }
            h.fire_retry();
        }
        for (i, pair) in h.opens.windows(2).enumerate() {
            let gap = pair[1].at.saturating_duration_since(pair[0].at);
            let (attempt, delay) = h.waits[i];
            prop_assert_eq!(pair[1].attempt, attempt);
            prop_assert_eq!(gap.as_millis(), delay.as_millis());
            let prev = if i == 0 { None } else { Some(h.waits[i - 1].1) };
            if !(attempt == 1 && backoff.first_spread().is_some()) {
                let (lo, hi) = backoff.bounds(attempt, prev);
                prop_assert!(lo <= delay && delay <= hi);
            }
        }
    }

    /// Pins the backoff policy alone: any valid policy, attempt (up to u32::MAX) and previous
    /// delay gives a delay inside `bounds`, never above the cap.
    #[test]
    fn delays_are_bounded_for_any_attempt(
        backoff in backoff(),
        // Half the cases among the first attempts, where the exact base is checked below
        // (drawn from all of u32 alone, that check ran about once in 200 million cases).
        attempt in prop_oneof![1u32..20, any::<u32>()],
        prev in proptest::option::of(0u64..200_000),
        seed in any::<u64>(),
    ) {
        prop_assert!(backoff.validate().is_ok());
        let prev = prev.map(Duration::from_millis);
        let mut rng = JitterRng::from_seed(seed);
        let d = backoff.delay(attempt, prev, &mut rng);
        let (lo, hi) = backoff.bounds(attempt, prev);
        prop_assert!(lo <= d && d <= hi && hi <= backoff.cap());
        let base = backoff.base_delay(attempt);
        prop_assert!(base <= backoff.cap());
        if (1..20).contains(&attempt) {
            let exact = backoff.initial_delay().as_secs_f64() * backoff.growth_factor().powi(attempt as i32 - 1);
            let want = exact.min(backoff.cap().as_secs_f64());
            prop_assert!((base.as_secs_f64() - want).abs() < 1e-6);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The delays the machine really schedules, against the documented formulas written out here
// (not through `Backoff::bounds`/`base_delay`, which the tests above trust): the `Jitter` docs
// (src/backoff.rs), `Backoff::first_retry_spread`, `Input::RetryHint` / `MIN_SERVER_RETRY`
// and `MachineConfig::max_retry_after` (src/machine.rs).
// ---------------------------------------------------------------------------------------------

/// Slack for comparing a `Duration` with a bound computed in `f64` seconds: the library
/// computes the base in `f64` too and rounds to whole nanoseconds, and draws jitter at
/// microsecond resolution, so an honest delay is never more than a few nanoseconds outside the
/// exact range. A microsecond is far below any real mistake (the smallest policy here is 1 ms).
const EPS: f64 = 1e-6;

/// `MIN_SERVER_RETRY` as documented ("500 ms: `retry: 0` cannot cause a tight loop"), written
/// out so that a change of the constant is noticed.
const DOC_MIN_SERVER_RETRY: Duration = Duration::from_millis(500);

/// The documented un-jittered delay of retry `n` (1-based), in seconds:
/// `base = min(max_delay, initial · factor^(n-1))`. `powf` overflows to infinity for huge `n`,
/// and the minimum is then the cap, as the docs promise ("attempt u32::MAX gives the cap").
fn doc_base(b: &Backoff, n: u32) -> f64 {
    let raw = b.initial_delay().as_secs_f64() * b.growth_factor().powf(f64::from(n - 1));
    raw.min(b.cap().as_secs_f64())
}

/// The documented range `[lo, hi]` (seconds) a policy delay of retry `n` is drawn from, given
/// the previous actual delay of the streak (`None`: none yet, "previous starts at initial").
///
/// | mode | range |
/// |---|---|
/// | `None` | exactly `base` |
/// | `Full` | `[0, base]` |
/// | `Equal` | `[base/2, base]` |
/// | `Decorrelated` | `[initial, min(max_delay, 3 · previous)]` |
///
/// For `Decorrelated` with a previous delay below `initial` the documented range is empty or
/// narrower than `[initial, …]` makes sense of; that happens only after a `first_retry_spread`
/// draw, where the docs promise nothing but "never above the cap" and the `initial` lower
/// bound, so the range is then `[initial, max_delay]`.
fn doc_range(b: &Backoff, n: u32, previous: Option<f64>) -> (f64, f64) {
    let base = doc_base(b, n);
    let initial = b.initial_delay().as_secs_f64();
    let cap = b.cap().as_secs_f64();
    match b.jitter_mode() {
        Jitter::None => (base, base),
        Jitter::Full => (0.0, base),
        Jitter::Equal => (base / 2.0, base),
        Jitter::Decorrelated => match previous.unwrap_or(initial) {
            prev if prev < initial => (initial, cap),
            prev => (initial, (3.0 * prev).min(cap)),
        },
    }
}

/// `true` when retry `n` is clearly capped by the documented formula (not within float noise
/// of the cap), so that the delay must be exactly `max_delay` without jitter.
fn clearly_capped(b: &Backoff, n: u32) -> bool {
    let raw = b.initial_delay().as_secs_f64() * b.growth_factor().powf(f64::from(n - 1));
    raw >= b.cap().as_secs_f64() * (1.0 + 1e-9)
}

/// Policies for the formula checks: a third with factor 1 (flat), the rest growing fast
/// enough (≥ 1.5) that [`FORMULA_ATTEMPTS`] retries always reach the cap (1.5^29 > 120 001).
fn formula_backoff() -> impl Strategy<Value = Backoff> {
    (
        1u64..5_000,
        prop_oneof![1 => Just(1.0f64), 2 => 1.5f64..4.0],
        0u64..120_000,
        jitter(),
    )
        .prop_map(|(initial, factor, extra_cap, jitter)| {
            Backoff::default()
                .initial(Duration::from_millis(initial))
                .factor(factor)
                .max_delay(Duration::from_millis(initial + extra_cap))
                .jitter(jitter)
                .max_attempts(None)
        })
}

/// Retries per run of the formula checks: enough for any [`formula_backoff`] to reach its cap.
const FORMULA_ATTEMPTS: u32 = 40;

/// Asserts `delay` (seconds) lies in `[lo, hi]` up to [`EPS`].
fn assert_in(delay: Duration, (lo, hi): (f64, f64), what: &str) -> Result<(), TestCaseError> {
    let d = delay.as_secs_f64();
    prop_assert!(
        d >= lo - EPS && d <= hi + EPS,
        "{}: delay {:?} outside the documented [{} s, {} s]",
        what,
        delay,
        lo,
        hi
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Pins the schedule the state machine really produces for a server that stays down
    /// (40 consecutive failures, so every growing policy reaches its cap) against the `Jitter`
    /// docs written out independently: retry `n` waits `base = min(max_delay, initial ·
    /// factor^(n-1))` without jitter (exactly `max_delay` once capped), in `[0, base]` (full),
    /// `[base/2, base]` (equal) or `[initial, min(max_delay, 3 · previous delay)]`
    /// (decorrelated, previous starting at `initial`), and never above `max_delay`. Fails if
    /// the exponent is off by one, the cap is not applied, a jitter range is widened or
    /// shifted, or decorrelated jitter stops growing from the previous actual delay.
    #[test]
    fn machine_delays_follow_the_documented_formulas(
        backoff in formula_backoff(),
        seed in any::<u64>(),
    ) {
        let mut h = Harness::new(MachineConfig::new(backoff.clone()), seed);
        h.feed(Input::Open);
        for _ in 0..FORMULA_ATTEMPTS {
            h.fail_current();
            h.fire_retry();
        }
        prop_assert_eq!(h.waits.len(), FORMULA_ATTEMPTS as usize);
        let mut previous: Option<f64> = None;
        let mut capped = 0;
        for (i, &(attempt, delay)) in h.waits.iter().enumerate() {
            prop_assert_eq!(attempt, i as u32 + 1, "attempts count up one by one");
            prop_assert!(delay <= backoff.cap(), "{:?} above the cap", delay);
            let range = doc_range(&backoff, attempt, previous);
            assert_in(delay, range, &format!("attempt {attempt}"))?;
            if clearly_capped(&backoff, attempt) {
                capped += 1;
                if backoff.jitter_mode() == Jitter::None {
                    prop_assert_eq!(delay, backoff.cap(), "attempt {} is capped", attempt);
                }
            }
            previous = Some(delay.as_secs_f64());
        }
        // The strategy's promise, so that the cap really is exercised: every growing policy
        // reaches it within the run.
        if backoff.growth_factor() >= 1.5 {
            prop_assert!(capped > 0, "no capped attempt for {:?}", backoff);
        }
    }

    /// Pins the two documented departures from the plain schedule, on the delays the machine
    /// schedules after a healthy connection (up for `reset_after`) drops:
    /// - `first_retry_spread`: the first retry after that drop waits in
    ///   `[0, min(spread, max_delay)]` instead of the attempt-1 delay, and later retries
    ///   follow the policy again (attempt 2, 3, ...: the counter was reset by the healthy
    ///   window);
    /// - the server's `retry:` floor `F = clamp(retry, 500 ms, max_retry_after)` raises every
    ///   later delay to at least `F`, and a delay raised by it exceeds `F` by at most a tenth
    ///   (`max_retry_after` docs), so each delay lies in
    ///   `[max(lo, F), max(hi, F + F/10)]` where `[lo, hi]` is the policy's documented range.
    ///
    /// For decorrelated jitter the "previous delay" is taken as the previous actual (floored)
    /// delay, as the `Jitter::Decorrelated` docs say; that upper bound also holds if the
    /// policy grows from its own un-floored draw (which is never longer).
    #[test]
    fn spread_and_server_retry_floor_follow_the_documented_rules(
        backoff in formula_backoff(),
        spread in proptest::option::of(0u64..20_000),
        retry_hint in proptest::option::of(0u64..20_000),
        max_retry_after in 1_000u64..600_000,
        reset_after in 0u64..60_000,
        failures_before in 0u32..5,
        retries in 1u32..FORMULA_ATTEMPTS,
        seed in any::<u64>(),
    ) {
        let backoff = backoff
            .first_retry_spread(spread.map(Duration::from_millis))
            .reset_after(Duration::from_millis(reset_after));
        let max_retry_after = Duration::from_millis(max_retry_after);
        let cfg = MachineConfig::new(backoff.clone()).max_retry_after(max_retry_after);
        let mut h = Harness::new(cfg, seed);
        h.feed(Input::Open);
        // An earlier failing streak, which the healthy connection below must wipe out.
        for _ in 0..failures_before {
            h.fail_current();
            h.fire_retry();
        }
        let conn = h.conn();
        h.feed(Input::TransportOpened { conn });
        if let Some(ms) = retry_hint {
            h.feed(Input::RetryHint { conn, delay: Duration::from_millis(ms) });
        }
        h.advance(Duration::from_millis(reset_after));
        let skip = h.waits.len();
        h.fail_current();
        for _ in 1..retries {
            h.fire_retry();
            h.fail_current();
        }
        let waits = &h.waits[skip..];
        prop_assert_eq!(waits.len(), retries as usize);

        let floor = retry_hint
            .map(|ms| Duration::from_millis(ms).clamp(DOC_MIN_SERVER_RETRY, max_retry_after));
        prop_assert_eq!(h.m.server_retry_floor(), floor);
        let floor_s = floor.map(|f| f.as_secs_f64());
        let cap = backoff.cap().as_secs_f64();
        let mut previous: Option<f64> = None;
        for (i, &(attempt, delay)) in waits.iter().enumerate() {
            prop_assert_eq!(attempt, i as u32 + 1, "the healthy window reset the count");
            let policy = match spread {
                Some(s) if i == 0 => (0.0, (s as f64 / 1000.0).min(cap)),
                _ => doc_range(&backoff, attempt, previous),
            };
            let range = match floor_s {
                Some(f) => (policy.0.max(f), policy.1.max(f + f / 10.0)),
                None => policy,
            };
            assert_in(delay, range, &format!("attempt {attempt} (floor {floor:?})"))?;
            if floor.is_none() {
                prop_assert!(delay <= backoff.cap());
            }
            previous = Some(delay.as_secs_f64());
        }
    }

    /// Pins `Backoff::delay` alone against the same written-out formulas at any attempt,
    /// including attempt 10,000 and `u32::MAX`, where `factor^(n-1)` overflows and the
    /// documented result is the cap: never above it, never an overflow or a panic.
    #[test]
    fn backoff_delay_follows_the_documented_formulas_at_any_attempt(
        backoff in formula_backoff(),
        attempt in prop_oneof![1u32..64, Just(10_000u32), Just(u32::MAX), 1u32..=u32::MAX],
        extra_prev in proptest::option::of(0u64..200_000),
        seed in any::<u64>(),
    ) {
        // A previous delay of a real streak is never below `initial` (every draw is ≥ it).
        let prev = extra_prev.map(|ms| backoff.initial_delay() + Duration::from_millis(ms));
        let mut rng = JitterRng::from_seed(seed);
        let delay = backoff.delay(attempt, prev, &mut rng);
        prop_assert!(delay <= backoff.cap());
        let range = doc_range(&backoff, attempt, prev.map(|p| p.as_secs_f64()));
        assert_in(delay, range, &format!("attempt {attempt}"))?;
        let base = doc_base(&backoff, attempt);
        prop_assert!((backoff.base_delay(attempt).as_secs_f64() - base).abs() <= EPS);
        if clearly_capped(&backoff, attempt) {
            prop_assert_eq!(backoff.base_delay(attempt), backoff.cap());
        }
    }
}
