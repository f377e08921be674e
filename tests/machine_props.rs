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
        attempt in any::<u32>(),
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
