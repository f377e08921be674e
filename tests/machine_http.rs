//! The status-aware policy of the fetch transport, on a virtual clock: what the machine does
//! with HTTP status codes, `Retry-After`, wrong content types, `retry:` hints and credential
//! refreshes.
#![cfg(not(target_arch = "wasm32"))] // Native tests; tests/fetch.rs is the browser suite.

mod support;

use std::time::Duration;

use leptos_task_stream::{
    Backoff, CloseReason, Command, ConnectionError, ConnectionStatus, Input, Jitter, MachineConfig,
    OfflineReason, DEFAULT_STALE_AFTER, MIN_SERVER_RETRY,
};
use support::Harness;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn exact() -> Backoff {
    Backoff::default().jitter(Jitter::None)
}

fn harness(config: MachineConfig) -> Harness {
    Harness::new(config, 7)
}

fn reconnect_delay(h: &Harness) -> (u32, Duration) {
    match h.status() {
        ConnectionStatus::Reconnecting { attempt, delay, .. } => (attempt, delay),
        s => panic!("expected Reconnecting, got {s:?}"),
    }
}

fn rejected_message(h: &Harness) -> String {
    match h.status() {
        ConnectionStatus::Offline {
            reason: OfflineReason::Rejected { error },
        } => {
            // The status and `last_error` carry the same typed refusal.
            assert_eq!(h.errors.last(), Some(&error));
            error.summary()
        }
        s => panic!("expected Offline(Rejected), got {s:?}"),
    }
}

#[test]
fn no_content_closes_for_good() {
    // Pins the SSE spec's stop signal: 204 closes, no timer, no reopen however long we wait.
    let mut h = harness(MachineConfig::new(exact()));
    h.feed(Input::Open);
    h.http(204, None);
    match h.status() {
        ConnectionStatus::Closed {
            reason: CloseReason::Ended { reason },
        } => assert_eq!(reason, "HTTP 204 No Content (do not reconnect)"),
        s => panic!("expected Closed(Ended), got {s:?}"),
    }
    h.advance(secs(3600));
    h.feed(Input::WentOffline);
    h.feed(Input::WentOnline);
    assert_eq!(h.opens.len(), 1);
    // Only the application can reopen.
    h.feed(Input::Reconnect);
    assert_eq!(h.opens.len(), 2);
}

#[test]
fn retry_after_sets_the_minimum_wait_with_a_small_spread() {
    // Pins: 429/503 + Retry-After waits at least that long (not the 1 s the policy says), at
    // most a tenth longer, and the error says what the server said.
    for status in [429u16, 503] {
        let mut h = harness(MachineConfig::new(exact()));
        h.feed(Input::Open);
        h.http(status, Some(20));
        let (attempt, delay) = reconnect_delay(&h);
        assert_eq!(attempt, 1);
        assert!(
            delay >= secs(20) && delay <= secs(22),
            "{status}: delay {delay:?}"
        );
        assert_eq!(
            h.errors,
            vec![ConnectionError::Http {
                status,
                retry_after: Some(secs(20)),
                next_attempt: 1,
                delay,
            }]
        );
        let text = h.errors[0].to_string();
        assert!(
            text.starts_with(&format!("server answered HTTP {status} ")),
            "{text}"
        );
        assert!(text.contains("(Retry-After 20 s)"), "{text}");
        // Nothing opens before the server's time.
        h.advance(secs(20) - ms(1));
        assert_eq!(h.opens.len(), 1);
        h.advance(delay - secs(20) + ms(1));
        assert_eq!(h.opens.len(), 2);
    }
}

#[test]
fn a_fleet_told_the_same_retry_after_does_not_return_in_lockstep() {
    // Pins the spread: 1,000 clients told "Retry-After: 20" come back over 2 s, not in one
    // millisecond.
    let mut delays = Vec::new();
    for seed in 0..1_000 {
        let mut h = Harness::new(MachineConfig::new(exact()), seed);
        h.feed(Input::Open);
        h.http(503, Some(20));
        delays.push(reconnect_delay(&h).1);
    }
    let min = delays.iter().min().unwrap();
    let max = delays.iter().max().unwrap();
    assert!(*min >= secs(20) && *max <= secs(22));
    assert!(*max - *min >= ms(1_800), "spread only {:?}", *max - *min);
    let mut distinct = delays.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() > 500, "{} distinct delays", distinct.len());
}

#[test]
fn retry_after_shorter_than_the_policy_does_not_shorten_it() {
    // Pins "at least": a Retry-After below the backoff delay leaves the backoff delay.
    let mut h = harness(MachineConfig::new(exact()));
    h.feed(Input::Open);
    for (attempt, want) in [(1u32, 1u64), (2, 2), (3, 4), (4, 8)] {
        h.http(503, Some(0));
        assert_eq!(reconnect_delay(&h), (attempt, secs(want)));
        h.fire_retry();
    }
}

#[test]
fn retry_after_is_capped_by_the_configured_maximum() {
    // Pins: a server saying "come back in a year" gets max_retry_after (+ ≤ 10 % spread).
    let mut h = harness(MachineConfig::new(exact()).max_retry_after(secs(60)));
    h.feed(Input::Open);
    h.http(429, Some(365 * 24 * 3600));
    let (_, delay) = reconnect_delay(&h);
    assert!(delay >= secs(60) && delay <= secs(66), "{delay:?}");
    // The error still reports what the server asked for.
    assert!(matches!(
        h.errors[0],
        ConnectionError::Http { retry_after: Some(d), .. } if d == secs(365 * 24 * 3600)
    ));
}

#[test]
fn throttling_without_retry_after_and_other_5xx_back_off_normally() {
    // Pins: 503 without Retry-After, 500, 502, 504, 408 and 425 follow the policy (1, 2, 4 s…)
    // and report the status.
    for status in [503u16, 500, 502, 504, 408, 425, 599] {
        let mut h = harness(MachineConfig::new(exact()));
        h.feed(Input::Open);
        for (attempt, want) in [(1u32, 1u64), (2, 2), (3, 4)] {
            h.http(status, None);
            assert_eq!(reconnect_delay(&h), (attempt, secs(want)), "{status}");
            h.fire_retry();
        }
        assert!(h
            .errors
            .iter()
            .all(|e| matches!(e, ConnectionError::Http { status: s, retry_after: None, .. } if *s == status)));
    }
}

#[test]
fn a_retry_after_on_other_statuses_is_not_a_floor() {
    // Pins: only 429/503 (and 502/504) honour Retry-After; a 500 that sends one backs off
    // normally.
    let mut h = harness(MachineConfig::new(exact()));
    h.feed(Input::Open);
    h.http(500, Some(60));
    assert_eq!(reconnect_delay(&h), (1, secs(1)));
}

#[test]
fn client_errors_stop_without_retrying() {
    // Pins "no retry storm": 401/403/404/410 and other 4xx go Offline(Rejected) with a typed
    // error, and nothing opens on its own, whatever happens next.
    for (status, message) in [
        (401u16, "HTTP 401 Unauthorized"),
        (403, "HTTP 403 Forbidden"),
        (404, "HTTP 404 Not Found"),
        (410, "HTTP 410 Gone"),
        (400, "HTTP 400 Bad Request"),
        (451, "HTTP 451 Unavailable For Legal Reasons"),
        (499, "HTTP 499"),
    ] {
        let mut h = harness(MachineConfig::new(exact()).stale_after(Some(secs(45))));
        h.feed(Input::Open);
        h.http(status, None);
        assert_eq!(rejected_message(&h), message);
        assert_eq!(h.errors, vec![ConnectionError::Rejected { status }]);
        assert_eq!(
            h.errors[0].to_string(),
            format!("server refused the stream: {message}; not retrying")
        );
        assert_eq!(h.status().label(), "Refused by server");
        assert!(h.status().can_retry_now());
        h.advance(secs(24 * 3600));
        h.feed(Input::WentOffline);
        h.feed(Input::WentOnline);
        h.feed(Input::Hidden);
        h.feed(Input::Visible);
        assert_eq!(h.opens.len(), 1, "{status} reopened");
        // "Retry now" starts a fresh streak.
        h.feed(Input::Reconnect);
        assert_eq!(h.opens.len(), 2);
        assert_eq!(h.opens[1].attempt, 0);
    }
}

#[test]
fn a_wrong_content_type_stops_with_a_typed_error() {
    // Pins: a 200 that is a login page is not a stream and is not retried.
    let mut h = harness(MachineConfig::new(exact()));
    h.feed(Input::Open);
    let conn = h.conn();
    h.feed(Input::NotAStream {
        conn,
        content_type: "text/html; charset=utf-8".into(),
    });
    assert_eq!(
        rejected_message(&h),
        "not an event stream (text/html; charset=utf-8)"
    );
    assert_eq!(
        h.errors[0].to_string(),
        "server answered \"text/html; charset=utf-8\" instead of \"text/event-stream\"; not retrying"
    );
    h.advance(secs(3600));
    assert_eq!(h.opens.len(), 1);
    // A missing header reads as such; a hostile, huge one is cut.
    let mut h = harness(MachineConfig::new(exact()));
    h.feed(Input::Open);
    let conn = h.conn();
    h.feed(Input::NotAStream {
        conn,
        content_type: String::new(),
    });
    assert_eq!(
        rejected_message(&h),
        "not an event stream (no Content-Type)"
    );
    let mut h = harness(MachineConfig::new(exact()));
    h.feed(Input::Open);
    let conn = h.conn();
    h.feed(Input::NotAStream {
        conn,
        content_type: "x".repeat(10_000),
    });
    assert!(rejected_message(&h).chars().count() < 100);
}

#[test]
fn unauthorized_refreshes_credentials_once_then_retries_at_once() {
    // Pins the refresh hook: 401 → RefreshCredentials (status Connecting, nothing open) →
    // refreshed → a new attempt immediately → 401 again → Rejected, with exactly two requests.
    let mut h = harness(MachineConfig::new(exact()).refresh_credentials(true));
    h.feed(Input::Open);
    let cmds = h.http(401, None);
    assert!(cmds
        .iter()
        .any(|c| matches!(c, Command::RefreshCredentials { .. })));
    assert_eq!(h.status(), ConnectionStatus::Connecting);
    assert_eq!(h.refreshes.len(), 1);
    assert!(h.errors.is_empty());
    let refresh = h.m.pending_refresh().expect("refresh pending");
    h.advance(secs(2));
    assert_eq!(h.opens.len(), 1, "opened before the refresh finished");
    h.feed(Input::CredentialsRefreshed { refresh, ok: true });
    assert_eq!(h.opens.len(), 2);
    assert_eq!(h.opens[1].at, h.now);
    h.http(401, None);
    assert_eq!(rejected_message(&h), "HTTP 401 Unauthorized");
    assert_eq!(
        h.errors,
        vec![ConnectionError::Unauthorized { status: 401 }]
    );
    assert_eq!(h.refreshes.len(), 1);
    h.advance(secs(3600));
    assert_eq!(h.opens.len(), 2);
}

#[test]
fn a_refresh_that_works_lets_the_stream_connect_and_rearms() {
    // Pins: after a refreshed attempt opens, a later 401 (token expired again) refreshes again.
    let mut h = harness(MachineConfig::new(exact()).refresh_credentials(true));
    h.feed(Input::Open);
    for round in 0..3 {
        h.http(401, None);
        let refresh = h.m.pending_refresh().expect("refresh pending");
        h.feed(Input::CredentialsRefreshed { refresh, ok: true });
        h.open_and_connect();
        h.advance(secs(60));
        h.fail_current();
        h.fire_retry();
        assert_eq!(h.refreshes.len(), round + 1);
    }
    assert!(h
        .errors
        .iter()
        .all(|e| matches!(e, ConnectionError::Lost { .. })));
}

#[test]
fn a_failed_or_hung_refresh_stops_with_the_refusal() {
    let mut h = harness(MachineConfig::new(exact()).refresh_credentials(true));
    h.feed(Input::Open);
    h.http(401, None);
    let refresh = h.m.pending_refresh().unwrap();
    h.feed(Input::CredentialsRefreshed { refresh, ok: false });
    assert_eq!(rejected_message(&h), "HTTP 401 Unauthorized");
    assert_eq!(h.opens.len(), 1);

    // A refresh that never answers is bounded by stale_after.
    let mut h = harness(
        MachineConfig::new(exact())
            .refresh_credentials(true)
            .stale_after(Some(secs(10))),
    );
    h.feed(Input::Open);
    h.http(407, None);
    assert_eq!(h.status(), ConnectionStatus::Connecting);
    h.advance(secs(10));
    assert_eq!(
        rejected_message(&h),
        "HTTP 407 Proxy Authentication Required"
    );
    // Its late answer changes nothing.
    let refresh = h.refreshes[0];
    assert!(h
        .feed(Input::CredentialsRefreshed { refresh, ok: true })
        .is_empty());
    assert_eq!(h.opens.len(), 1);

    // With stale detection off, the default stale timeout bounds it: never "Connecting…" for
    // good.
    let refreshing_without_stale_check = || {
        let mut h = harness(
            MachineConfig::new(exact())
                .refresh_credentials(true)
                .stale_after(None),
        );
        h.feed(Input::Open);
        h.http(401, None);
        h
    };
    let mut h = refreshing_without_stale_check();
    h.advance(DEFAULT_STALE_AFTER - Duration::from_millis(1));
    assert_eq!(h.status(), ConnectionStatus::Connecting);
    h.advance(Duration::from_millis(1));
    assert_eq!(rejected_message(&h), "HTTP 401 Unauthorized");
    // A refresh that finishes in time leaves no timer behind to fire later.
    let mut h = refreshing_without_stale_check();
    let refresh = h.m.pending_refresh().unwrap();
    h.feed(Input::CredentialsRefreshed { refresh, ok: true });
    h.open_and_connect();
    assert!(h.stale_timer.is_none());
    h.advance(secs(3600));
    assert!(h.status().is_connected());
}

#[test]
fn close_or_offline_during_a_refresh_wins() {
    let mut h = harness(MachineConfig::new(exact()).refresh_credentials(true));
    h.feed(Input::Open);
    h.http(401, None);
    let refresh = h.m.pending_refresh().unwrap();
    h.feed(Input::Close);
    assert!(h
        .feed(Input::CredentialsRefreshed { refresh, ok: true })
        .is_empty());
    assert_eq!(
        h.status(),
        ConnectionStatus::Closed {
            reason: CloseReason::ByApp
        }
    );

    let mut h = harness(MachineConfig::new(exact()).refresh_credentials(true));
    h.feed(Input::Open);
    h.http(401, None);
    let refresh = h.m.pending_refresh().unwrap();
    h.feed(Input::WentOffline);
    assert!(h
        .feed(Input::CredentialsRefreshed { refresh, ok: true })
        .is_empty());
    h.feed(Input::WentOnline);
    h.advance(secs(2));
    // Back online: an ordinary attempt, and a 401 there may refresh again (none succeeded).
    assert_eq!(h.opens.len(), 2);
    h.http(401, None);
    assert_eq!(h.refreshes.len(), 2, "{:?} {:?}", h.status(), h.errors);

    // The same for a refresh abandoned by hiding the page.
    let mut h = harness(MachineConfig::new(exact()).refresh_credentials(true));
    h.feed(Input::Open);
    h.http(401, None);
    h.feed(Input::Hidden);
    h.feed(Input::Visible);
    h.http(401, None);
    assert_eq!(h.refreshes.len(), 2, "{:?} {:?}", h.status(), h.errors);
    // A refresh whose answer was used counts: the next 401 is final.
    let refresh = h.m.pending_refresh().unwrap();
    h.feed(Input::CredentialsRefreshed { refresh, ok: true });
    h.http(401, None);
    assert_eq!(h.refreshes.len(), 2);
    assert!(matches!(
        h.status(),
        ConnectionStatus::Offline {
            reason: OfflineReason::Rejected { .. }
        }
    ));
}

#[test]
fn coming_back_from_hidden_or_offline_keeps_the_servers_wait() {
    // Pins: a page hidden (or offline) during a `Retry-After: 60` wait does not reconnect when
    // it comes back 2 s later, but waits out the rest; a connection that opens forgets the
    // wait, and an explicit reconnect() overrides it.
    for (away, back) in [
        (Input::Hidden, Input::Visible),
        (Input::WentOffline, Input::WentOnline),
    ] {
        let mut h = harness(MachineConfig::new(exact()));
        h.feed(Input::Open);
        h.http(503, Some(60));
        h.advance(secs(1));
        h.feed(away.clone());
        h.advance(secs(1));
        h.feed(back.clone());
        let (_, delay) = reconnect_delay(&h);
        assert!(
            delay >= secs(58) && delay <= secs(60),
            "{back:?}: {delay:?}"
        );
        h.advance(secs(57));
        assert_eq!(
            h.opens.len(),
            1,
            "{back:?}: reopened before the server's time"
        );
        h.advance(secs(3));
        assert_eq!(h.opens.len(), 2, "{back:?}");
        h.feed(Input::TransportOpened { conn: h.conn() });
        h.feed(away);
        h.feed(back.clone());
        h.advance(secs(2));
        assert_eq!(
            h.opens.len(),
            3,
            "{back:?}: the wait outlived the connection"
        );
    }
    let mut h = harness(MachineConfig::new(exact()));
    h.feed(Input::Open);
    h.http(503, Some(60));
    h.feed(Input::Hidden);
    h.feed(Input::Reconnect);
    assert_eq!(h.opens.len(), 2);
}

#[test]
fn a_huge_retry_after_under_a_day_long_cap_does_not_overflow() {
    // Pins: the largest allowed cap and the largest header value give a finite wait (the cap
    // plus its spread), no panic.
    let day = secs(24 * 3600);
    let mut h = harness(MachineConfig::new(exact()).max_retry_after(day));
    h.feed(Input::Open);
    h.http(503, Some(u64::MAX));
    let (_, delay) = reconnect_delay(&h);
    assert!(delay >= day && delay <= day + day / 10, "{delay:?}");
}

#[test]
fn forbidden_is_not_refreshed() {
    // Pins: a refresh cannot fix 403 (the identity is known, the permission is missing).
    let mut h = harness(MachineConfig::new(exact()).refresh_credentials(true));
    h.feed(Input::Open);
    h.http(403, None);
    assert!(h.refreshes.is_empty());
    assert_eq!(rejected_message(&h), "HTTP 403 Forbidden");
}

#[test]
fn the_servers_retry_field_raises_the_floor() {
    // Pins `retry:`: 5000 ms makes every later wait at least 5 s (up to 10 % more), even
    // where the policy says 100 ms; it survives reconnects.
    let policy = exact().initial(ms(100)).max_delay(secs(30));
    let mut h = harness(MachineConfig::new(policy));
    h.open_and_connect();
    let conn = h.conn();
    h.feed(Input::RetryHint {
        conn,
        delay: secs(5),
    });
    assert_eq!(h.m.server_retry_floor(), Some(secs(5)));
    for _ in 0..3 {
        h.fail_current();
        let (_, delay) = reconnect_delay(&h);
        assert!(delay >= secs(5) && delay <= ms(5_500), "{delay:?}");
        h.fire_retry();
    }
    // Once the policy's own delay is larger, the policy wins: attempt 7 is 100 ms × 2^6.
    for _ in 4..7 {
        h.fail_current();
        h.fire_retry();
    }
    h.fail_current();
    assert_eq!(reconnect_delay(&h), (7, ms(6_400)));
}

#[test]
fn retry_zero_cannot_cause_a_tight_loop() {
    // Pins MIN_SERVER_RETRY: `retry: 0` with a 10 ms policy still waits ≥ 500 ms.
    let policy = exact().initial(ms(10)).max_delay(ms(10));
    let mut h = harness(MachineConfig::new(policy));
    h.open_and_connect();
    let conn = h.conn();
    h.feed(Input::RetryHint {
        conn,
        delay: Duration::ZERO,
    });
    assert_eq!(h.m.server_retry_floor(), Some(MIN_SERVER_RETRY));
    for _ in 0..20 {
        h.fail_current();
        let (_, delay) = reconnect_delay(&h);
        assert!(delay >= MIN_SERVER_RETRY, "{delay:?}");
        h.fire_retry();
    }
    let gaps: Vec<Duration> = h
        .opens
        .windows(2)
        .map(|w| w[1].at.saturating_duration_since(w[0].at))
        .collect();
    assert!(gaps.iter().all(|g| *g >= MIN_SERVER_RETRY));
}

#[test]
fn a_huge_retry_field_is_capped() {
    let mut h = harness(MachineConfig::new(exact()).max_retry_after(secs(30)));
    h.open_and_connect();
    let conn = h.conn();
    h.feed(Input::RetryHint {
        conn,
        delay: Duration::from_millis(u64::MAX),
    });
    assert_eq!(h.m.server_retry_floor(), Some(secs(30)));
    h.fail_current();
    let (_, delay) = reconnect_delay(&h);
    assert!(delay >= secs(30) && delay <= secs(33));
}

#[test]
fn inputs_from_an_old_transport_are_ignored() {
    // Pins: a status, content type or hint from a transport the machine no longer listens to
    // changes nothing (a slow response racing a reconnect).
    let mut h = harness(MachineConfig::new(exact()));
    h.feed(Input::Open);
    let old = h.conn();
    h.fail_current();
    h.fire_retry();
    h.feed(Input::TransportOpened { conn: h.conn() });
    for input in [
        Input::HttpStatus {
            conn: old,
            status: 401,
            retry_after: None,
        },
        Input::HttpStatus {
            conn: old,
            status: 204,
            retry_after: None,
        },
        Input::NotAStream {
            conn: old,
            content_type: "text/html".into(),
        },
        Input::RetryHint {
            conn: old,
            delay: secs(100),
        },
    ] {
        assert!(h.feed(input).is_empty());
    }
    assert_eq!(h.status(), ConnectionStatus::Connected);
    assert_eq!(h.m.server_retry_floor(), None);
}

#[test]
fn throttling_still_counts_towards_max_attempts() {
    // Pins: 503 + Retry-After is a failed attempt like any other; the limit still applies.
    let mut h = harness(MachineConfig::new(exact().max_attempts(Some(3))));
    h.feed(Input::Open);
    for _ in 0..3 {
        h.http(503, Some(2));
        h.fire_retry();
    }
    h.http(503, Some(2));
    assert_eq!(
        h.status(),
        ConnectionStatus::Offline {
            reason: OfflineReason::GaveUp { attempts: 3 }
        }
    );
}
