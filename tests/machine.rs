//! Every transition and invariant of the connection state machine, on a virtual clock.
#![cfg(not(target_arch = "wasm32"))] // Native tests; tests/browser.rs is the wasm suite.

mod support;

use std::time::Duration;

use leptos_task_stream::{
    Backoff, CloseReason, Command, ConnectionError, ConnectionMachine, ConnectionStatus, Input,
    Jitter, JitterRng, MachineConfig, OfflineReason,
};
use support::Harness;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn exact() -> Backoff {
    Backoff::default().jitter(Jitter::None)
}

#[test]
fn idle_machine_reports_not_started_and_opens_on_request() {
    // Pins: nothing is opened before Open; Open opens exactly one transport with no resume id.
    let mut h = Harness::with_backoff(exact());
    assert_eq!(
        h.status(),
        ConnectionStatus::Closed {
            reason: CloseReason::NotStarted
        }
    );
    h.feed(Input::Open);
    assert_eq!(h.status(), ConnectionStatus::Connecting);
    assert_eq!(h.opens.len(), 1);
    assert_eq!(h.opens[0].attempt, 0);
    assert_eq!(h.opens[0].last_event_id, None);
    // A second Open is ignored: never two transports.
    let cmds = h.feed(Input::Open);
    assert!(cmds.is_empty());
    assert_eq!(h.opens.len(), 1);
    h.open_and_connect();
    assert_eq!(
        h.statuses,
        vec![ConnectionStatus::Connecting, ConnectionStatus::Connected]
    );
}

#[test]
fn failures_back_off_exponentially_up_to_the_cap() {
    // Pins the schedule 1, 2, 4, 8, 16, 30, 30 s and that each retry opens exactly at its due time.
    let mut h = Harness::with_backoff(exact());
    h.feed(Input::Open);
    let mut expected = vec![];
    for attempt in 1..=8u32 {
        h.fail_current();
        let want = secs([1, 2, 4, 8, 16, 30, 30, 30][attempt as usize - 1]);
        expected.push((attempt, want));
        match h.status() {
            ConnectionStatus::Reconnecting {
                attempt: a,
                delay,
                retry_at,
            } => {
                assert_eq!((a, delay), (attempt, want));
                assert_eq!(retry_at, h.now + want);
            }
            s => panic!("expected Reconnecting, got {s:?}"),
        }
        let before = h.opens.len();
        h.advance(want - Duration::from_millis(1));
        assert_eq!(h.opens.len(), before, "opened before the delay elapsed");
        h.advance(Duration::from_millis(1));
        assert_eq!(h.opens.len(), before + 1);
        assert_eq!(h.opens.last().unwrap().attempt, attempt);
        assert_eq!(h.status(), ConnectionStatus::Connecting);
    }
    assert_eq!(h.waits, expected);
}

#[test]
fn a_failure_while_connecting_counts_like_a_drop() {
    // Pins: an attempt that never opens (connection refused, 503) escalates the backoff.
    let mut h = Harness::with_backoff(exact());
    h.feed(Input::Open);
    h.fail_current();
    h.fire_retry();
    h.fail_current();
    assert!(
        matches!(h.status(), ConnectionStatus::Reconnecting { attempt: 2, delay, .. } if delay == secs(2))
    );
}

#[test]
fn accept_then_drop_does_not_reset_the_backoff() {
    // Pins the flapping-server rule: an open that dies before reset_after keeps the streak growing.
    let mut h = Harness::with_backoff(exact().reset_after(secs(10)));
    h.open_and_connect();
    for attempt in 1..=5u32 {
        h.advance(Duration::from_millis(200));
        h.fail_current();
        assert!(
            matches!(h.status(), ConnectionStatus::Reconnecting { attempt: a, .. } if a == attempt)
        );
        h.fire_retry();
        h.open_and_connect();
    }
    assert_eq!(h.m.failures(), 5);
}

#[test]
fn a_healthy_connection_resets_the_streak_after_the_window() {
    // Pins: staying connected for reset_after brings the next failure back to attempt 1 / 1 s.
    let mut h = Harness::with_backoff(exact().reset_after(secs(10)));
    h.feed(Input::Open);
    for _ in 0..4 {
        h.fail_current();
        h.fire_retry();
    }
    h.open_and_connect();
    h.advance(secs(10));
    h.fail_current();
    assert!(
        matches!(h.status(), ConnectionStatus::Reconnecting { attempt: 1, delay, .. } if delay == secs(1))
    );
    assert_eq!(h.m.failures(), 1);
}

#[test]
fn a_healthy_connection_resets_the_streak_however_it_ends() {
    // Pins: the reset does not depend on the connection failing while connected. Ended by
    // `Hidden` or by `reconnect()` after an hour of health, the next failure is attempt 1,
    // not a continuation of the streak that preceded it (which would give up at once here).
    for (end, back) in [
        (Input::Hidden, Some(Input::Visible)),
        (Input::Reconnect, None),
        (Input::WentOffline, Some(Input::WentOnline)),
    ] {
        let mut h = Harness::with_backoff(exact().max_attempts(Some(3)).reset_after(secs(10)));
        h.feed(Input::Open);
        for _ in 0..3 {
            h.fail_current();
            h.fire_retry();
        }
        h.open_and_connect();
        h.advance(secs(3600));
        h.feed(end.clone());
        if let Some(back) = back {
            h.feed(back);
        }
        if h.open.is_none() {
            h.fire_retry(); // after `online`, its small jitter
        }
        h.open_and_connect();
        h.fail_current();
        assert!(
            matches!(h.status(), ConnectionStatus::Reconnecting { attempt: 1, delay, .. } if delay == secs(1)),
            "{end:?}: {:?}",
            h.status()
        );
    }
}

#[test]
fn last_event_id_is_carried_into_every_reconnect() {
    // Pins lossless resume: the id of the last event seen is sent on the next open, across
    // several reconnects, and an event without an id does not erase it.
    let mut h = Harness::with_backoff(exact());
    h.open_and_connect();
    h.event(Some("41"));
    h.event(Some("42"));
    h.event(None);
    h.fail_current();
    h.fire_retry();
    assert_eq!(h.opens.last().unwrap().last_event_id.as_deref(), Some("42"));
    // No event on the second connection: the id survives another failure.
    h.fail_current();
    h.fire_retry();
    assert_eq!(h.opens.last().unwrap().last_event_id.as_deref(), Some("42"));
    assert_eq!(h.m.last_event_id(), Some("42"));
}

#[test]
fn an_empty_id_clears_the_last_event_id_as_the_spec_says() {
    // Pins SSE semantics: `id:` with an empty value resets the last event id buffer.
    let mut h = Harness::with_backoff(exact());
    h.open_and_connect();
    h.event(Some("7"));
    h.event(Some(""));
    h.fail_current();
    h.fire_retry();
    assert_eq!(h.opens.last().unwrap().last_event_id, None);
}

#[test]
fn a_restored_last_event_id_is_used_on_the_first_open() {
    // Pins with_last_event_id: a page that stored its position resumes on mount.
    let m = ConnectionMachine::new(MachineConfig::new(exact()), JitterRng::from_seed(1))
        .unwrap()
        .with_last_event_id(Some("100".into()));
    let mut h = Harness::from_machine(m);
    h.feed(Input::Open);
    assert_eq!(h.opens[0].last_event_id.as_deref(), Some("100"));
}

#[test]
fn max_attempts_gives_up_and_reconnect_starts_a_fresh_streak() {
    // Pins: after max_attempts failed retries the status is Offline/GaveUp with nothing pending;
    // an explicit reconnect() opens at once and starts counting from zero.
    let mut h = Harness::with_backoff(exact().max_attempts(Some(3)));
    h.feed(Input::Open);
    h.fail_current(); // initial connection failed → retry 1
    for _ in 0..3 {
        h.fire_retry();
        h.fail_current();
    }
    assert_eq!(
        h.status(),
        ConnectionStatus::Offline {
            reason: OfflineReason::GaveUp { attempts: 3 }
        }
    );
    assert_eq!(
        h.errors.last(),
        Some(&ConnectionError::GaveUp { attempts: 3 })
    );
    assert_eq!(h.opens.len(), 4);
    h.advance(secs(3600));
    assert_eq!(h.opens.len(), 4, "no attempt after giving up");
    h.feed(Input::Reconnect);
    assert_eq!(h.opens.len(), 5);
    assert_eq!(h.opens[4].attempt, 0);
    h.fail_current();
    assert!(matches!(
        h.status(),
        ConnectionStatus::Reconnecting { attempt: 1, .. }
    ));
}

#[test]
fn the_attempt_limit_is_per_streak_not_per_lifetime() {
    // Pins the leptos-use fault: a limit counted over the page's life kills long-lived pages.
    let mut h = Harness::with_backoff(exact().max_attempts(Some(2)).reset_after(secs(5)));
    for _ in 0..10 {
        h.open_and_connect();
        h.advance(secs(60));
        h.fail_current();
        h.fire_retry();
    }
    assert!(!matches!(h.status(), ConnectionStatus::Offline { .. }));
}

#[test]
fn close_is_final_until_reconnect() {
    // Pins: close() closes the transport, cancels every timer; nothing but reconnect() reopens.
    let cfg = MachineConfig::new(exact()).stale_after(Some(secs(5)));
    let mut h = Harness::new(cfg, 3);
    let conn = h.open_and_connect();
    let stale_timers = h.all_timers.clone();
    h.feed(Input::Close);
    assert_eq!(
        h.status(),
        ConnectionStatus::Closed {
            reason: CloseReason::ByApp
        }
    );
    for input in [
        Input::Open,
        Input::WentOffline,
        Input::WentOnline,
        Input::Hidden,
        Input::Visible,
        Input::TransportFailed { conn },
        Input::TransportOpened { conn },
        Input::Close,
    ] {
        h.feed(input);
    }
    for timer in stale_timers {
        h.feed(Input::StaleTimerFired { timer });
        h.feed(Input::RetryTimerFired { timer });
    }
    h.advance(secs(3600));
    assert_eq!(h.opens.len(), 1);
    h.feed(Input::Reconnect);
    assert_eq!(h.opens.len(), 2);
    assert_eq!(h.status(), ConnectionStatus::Connecting);
}

#[test]
fn a_transport_the_browser_refuses_closes_with_the_reason() {
    // Pins: a refusal is not "closed by the app": the status says the browser refused and why,
    // nothing retries the same request, and reconnect() tries again.
    let cfg = MachineConfig::new(exact()).stale_after(Some(secs(5)));
    let mut h = Harness::new(cfg, 3);
    h.feed(Input::Open);
    let conn = h.conn();
    h.feed(Input::TransportRefused {
        conn,
        message: "invalid header value".into(),
    });
    let status = h.status();
    assert_eq!(
        status,
        ConnectionStatus::Closed {
            reason: CloseReason::Refused {
                message: "invalid header value".into()
            }
        }
    );
    assert_eq!(status.label(), "Refused by browser");
    assert_eq!(status.detail().as_deref(), Some("invalid header value"));
    assert!(status.can_retry_now());
    assert!(h.open.is_none() && h.retry_timer.is_none() && h.stale_timer.is_none());
    h.advance(secs(3600));
    assert_eq!(h.opens.len(), 1);
    // A late refusal of an old transport changes nothing.
    h.feed(Input::Reconnect);
    h.feed(Input::TransportRefused {
        conn,
        message: "old".into(),
    });
    assert_eq!(h.status(), ConnectionStatus::Connecting);
    h.open_and_connect();
}

#[test]
fn close_during_a_pending_retry_cancels_it() {
    // Pins: the pending timer is cancelled and, should it fire anyway, nothing opens.
    let mut h = Harness::with_backoff(exact());
    h.open_and_connect();
    h.fail_current();
    let (timer, _) = h.retry_timer.unwrap();
    let cmds = h.feed(Input::Close);
    assert!(cmds.contains(&Command::CancelRetryTimer { timer }));
    h.feed(Input::RetryTimerFired { timer });
    assert_eq!(h.opens.len(), 1);
}

#[test]
fn reconnect_during_a_wait_opens_now_and_keeps_the_streak() {
    // Pins "Retry now": one open, now, the old timer cancelled, and a failure continues the streak.
    let mut h = Harness::with_backoff(exact());
    h.feed(Input::Open);
    h.fail_current();
    h.fire_retry();
    h.fail_current(); // waiting for retry 2 (2 s)
    let (timer, _) = h.retry_timer.unwrap();
    let cmds = h.feed(Input::Reconnect);
    assert!(cmds.contains(&Command::CancelRetryTimer { timer }));
    assert_eq!(h.opens.last().unwrap().attempt, 2);
    h.feed(Input::RetryTimerFired { timer });
    assert_eq!(
        h.opens.len(),
        3,
        "the cancelled timer must not open a second transport"
    );
    h.fail_current();
    assert!(matches!(
        h.status(),
        ConnectionStatus::Reconnecting { attempt: 3, .. }
    ));
}

#[test]
fn reconnect_while_connected_replaces_the_transport() {
    // Pins: reconnect() closes the old transport before opening the new one (never two open).
    let mut h = Harness::with_backoff(exact());
    let old = h.open_and_connect();
    h.event(Some("5"));
    let cmds = h.feed(Input::Reconnect);
    let close = cmds
        .iter()
        .position(|c| *c == Command::CloseTransport { conn: old });
    let open = cmds
        .iter()
        .position(|c| matches!(c, Command::OpenTransport { .. }));
    assert!(close.unwrap() < open.unwrap());
    assert_eq!(h.opens.last().unwrap().last_event_id.as_deref(), Some("5"));
    // Late events from the old transport are ignored.
    h.feed(Input::TransportFailed { conn: old });
    assert_eq!(h.status(), ConnectionStatus::Connecting);
}

#[test]
fn inputs_from_an_old_transport_are_ignored() {
    // Pins: events, opens, failures and `end` naming a closed transport change nothing.
    let mut h = Harness::with_backoff(exact());
    let old = h.open_and_connect();
    h.fail_current();
    h.fire_retry();
    let new = h.conn();
    assert_ne!(old, new);
    for input in [
        Input::TransportOpened { conn: old },
        Input::Event {
            conn: old,
            id: Some("999".into()),
        },
        Input::TransportFailed { conn: old },
        Input::ServerEnded {
            conn: old,
            reason: "stale".into(),
        },
    ] {
        let cmds = h.feed(input);
        assert!(cmds.is_empty(), "{cmds:?}");
    }
    assert_eq!(h.status(), ConnectionStatus::Connecting);
    assert_eq!(h.m.last_event_id(), None);
}

#[test]
fn offline_stops_retries_and_online_reconnects_promptly() {
    // Pins: offline cancels the pending retry and opens nothing however long it lasts; online
    // reconnects within the online jitter (≤ 1 s by default), not after the backoff delay.
    let mut h = Harness::with_backoff(exact());
    h.feed(Input::Open);
    for _ in 0..5 {
        h.fail_current();
        h.fire_retry();
    }
    h.fail_current(); // waiting 30 s
    let opens = h.opens.len();
    let cmds = h.feed(Input::WentOffline);
    assert!(cmds
        .iter()
        .any(|c| matches!(c, Command::CancelRetryTimer { .. })));
    assert_eq!(
        h.status(),
        ConnectionStatus::Offline {
            reason: OfflineReason::Network
        }
    );
    h.advance(secs(600));
    assert_eq!(h.opens.len(), opens);
    h.feed(Input::WentOnline);
    match h.status() {
        ConnectionStatus::Reconnecting { delay, .. } => assert!(delay <= secs(1)),
        s => panic!("{s:?}"),
    }
    h.advance(secs(1));
    assert_eq!(h.opens.len(), opens + 1);
}

#[test]
fn offline_closes_an_open_transport_and_offline_at_start_opens_nothing() {
    // Pins: navigator.onLine = false at mount waits for `online`; going offline while connected
    // closes the transport.
    let m = ConnectionMachine::new(MachineConfig::new(exact()), JitterRng::from_seed(9))
        .unwrap()
        .with_online(false);
    let mut h = Harness::from_machine(m);
    h.feed(Input::Open);
    assert!(h.opens.is_empty());
    assert!(matches!(
        h.status(),
        ConnectionStatus::Offline {
            reason: OfflineReason::Network
        }
    ));
    h.feed(Input::WentOnline);
    h.advance(secs(1));
    let conn = h.open_and_connect();
    let cmds = h.feed(Input::WentOffline);
    assert!(cmds.contains(&Command::CloseTransport { conn }));
}

#[test]
fn online_jitter_spreads_clients() {
    // Pins: the online reconnect delay is random within [0, online_jitter], not one instant.
    let mut delays = std::collections::BTreeSet::new();
    for seed in 0..50 {
        let cfg = MachineConfig::new(exact()).online_jitter(Duration::from_millis(800));
        let mut h = Harness::new(cfg, seed);
        h.open_and_connect();
        h.feed(Input::WentOffline);
        h.feed(Input::WentOnline);
        if let ConnectionStatus::Reconnecting { delay, .. } = h.status() {
            assert!(delay <= Duration::from_millis(800));
            delays.insert(delay);
        } else {
            panic!("expected Reconnecting");
        }
    }
    assert!(delays.len() > 40, "online delays not spread: {delays:?}");
}

#[test]
fn end_closes_for_good() {
    // Pins: after `end` the transport is closed and no automatic input ever reconnects.
    let cfg = MachineConfig::new(exact()).stale_after(Some(secs(5)));
    let mut h = Harness::new(cfg, 1);
    let conn = h.open_and_connect();
    h.feed(Input::ServerEnded {
        conn,
        reason: "mission complete".into(),
    });
    assert_eq!(
        h.status(),
        ConnectionStatus::Closed {
            reason: CloseReason::Ended {
                reason: "mission complete".into()
            }
        }
    );
    for input in [
        Input::Open,
        Input::WentOffline,
        Input::WentOnline,
        Input::Hidden,
        Input::Visible,
        Input::TransportFailed { conn },
    ] {
        h.feed(input);
    }
    h.advance(secs(3600));
    assert_eq!(h.opens.len(), 1);
    // close() after end keeps the server's reason.
    h.feed(Input::Close);
    assert!(matches!(
        h.status(),
        ConnectionStatus::Closed {
            reason: CloseReason::Ended { .. }
        }
    ));
}

#[test]
fn a_silent_connection_is_detected_as_stale() {
    // Pins stale_after: no event for the whole window ⇒ error Stale, transport closed, backoff.
    let cfg = MachineConfig::new(exact()).stale_after(Some(secs(5)));
    let mut h = Harness::new(cfg, 1);
    let conn = h.open_and_connect();
    h.advance(Duration::from_millis(4_999));
    assert!(h.status().is_connected());
    h.advance(Duration::from_millis(1));
    assert_eq!(
        h.errors.first(),
        Some(&ConnectionError::Stale {
            silent_for: secs(5)
        })
    );
    assert!(matches!(
        h.status(),
        ConnectionStatus::Reconnecting { attempt: 1, .. }
    ));
    assert!(h.open.is_none());
    assert!(h.all_conns.contains(&conn));
}

#[test]
fn events_and_heartbeats_keep_a_connection_alive() {
    // Pins: activity re-arms the stale check for the remaining time only; no false positives.
    let cfg = MachineConfig::new(exact()).stale_after(Some(secs(5)));
    let mut h = Harness::new(cfg, 1);
    h.open_and_connect();
    for _ in 0..20 {
        h.advance(secs(3));
        h.event(None);
    }
    assert!(h.status().is_connected());
    assert!(h.errors.is_empty());
    h.advance(secs(5));
    assert!(matches!(
        h.errors.first(),
        Some(ConnectionError::Stale { .. })
    ));
}

#[test]
fn bytes_of_an_unfinished_event_keep_a_connection_alive() {
    // Pins Input::Progress: a large event arriving slowly (chunks, no complete event) is not
    // taken for silence; progress changes nothing else (no id, no status); silence after it is.
    let cfg = MachineConfig::new(exact()).stale_after(Some(secs(5)));
    let mut h = Harness::new(cfg, 1);
    let conn = h.open_and_connect();
    h.event(Some("7"));
    for _ in 0..20 {
        h.advance(secs(3));
        h.feed(Input::Progress { conn });
    }
    assert!(h.status().is_connected());
    assert!(h.errors.is_empty());
    assert_eq!(h.m.last_event_id(), Some("7"));
    // Progress of a transport that is not the current one proves nothing.
    h.feed(Input::Progress { conn: conn + 1_000 });
    h.advance(secs(5));
    assert!(matches!(
        h.errors.first(),
        Some(ConnectionError::Stale { .. })
    ));
}

#[test]
fn a_connect_that_never_opens_times_out() {
    // Pins: the stale window also bounds a Connecting state that hangs (no response headers).
    let cfg = MachineConfig::new(exact()).stale_after(Some(secs(5)));
    let mut h = Harness::new(cfg, 1);
    h.feed(Input::Open);
    h.advance(secs(5));
    assert!(matches!(
        h.status(),
        ConnectionStatus::Reconnecting { attempt: 1, .. }
    ));
}

#[test]
fn hidden_pauses_and_visible_resumes_at_once() {
    // Pins pause_when_hidden semantics: hidden closes and cancels, visible opens immediately.
    let mut h = Harness::with_backoff(exact());
    h.open_and_connect();
    h.event(Some("3"));
    h.feed(Input::Hidden);
    assert!(matches!(
        h.status(),
        ConnectionStatus::Offline {
            reason: OfflineReason::Hidden
        }
    ));
    h.advance(secs(600));
    assert_eq!(h.opens.len(), 1);
    h.feed(Input::Visible);
    assert_eq!(h.opens.len(), 2);
    assert_eq!(h.opens[1].last_event_id.as_deref(), Some("3"));
    // Hidden during a wait cancels the timer.
    h.fail_current();
    h.feed(Input::Hidden);
    assert!(h.retry_timer.is_none());
}

#[test]
fn offline_and_hidden_together_resume_only_when_both_clear() {
    // Pins: coming online while hidden stays paused; becoming visible while offline stays offline.
    let mut h = Harness::with_backoff(exact());
    h.open_and_connect();
    h.feed(Input::WentOffline);
    h.feed(Input::Hidden);
    h.feed(Input::WentOnline);
    assert!(matches!(
        h.status(),
        ConnectionStatus::Offline {
            reason: OfflineReason::Hidden
        }
    ));
    h.feed(Input::WentOffline);
    h.feed(Input::Visible);
    assert!(matches!(
        h.status(),
        ConnectionStatus::Offline {
            reason: OfflineReason::Network
        }
    ));
    assert_eq!(h.opens.len(), 1);
    h.feed(Input::WentOnline);
    h.advance(secs(1));
    assert_eq!(h.opens.len(), 2);
}

#[test]
fn reconnect_overrides_offline() {
    // Pins "Retry now" while the browser claims to be offline: try anyway.
    let mut h = Harness::with_backoff(exact());
    h.open_and_connect();
    h.feed(Input::WentOffline);
    h.feed(Input::Reconnect);
    assert_eq!(h.opens.len(), 2);
    assert_eq!(h.status(), ConnectionStatus::Connecting);
}

#[test]
fn a_late_timer_opens_once() {
    // Pins clock jumps: a retry timer that fires an hour late (throttled tab) opens one transport.
    let mut h = Harness::with_backoff(exact());
    h.open_and_connect();
    h.fail_current();
    let (timer, _) = h.retry_timer.unwrap();
    h.now = h.now + secs(3600);
    h.retry_timer = None;
    h.feed(Input::RetryTimerFired { timer });
    h.feed(Input::RetryTimerFired { timer });
    assert_eq!(h.opens.len(), 2);
}

#[test]
fn first_retry_spread_randomises_only_the_first_retry() {
    // Pins the mass-disconnect spread: attempt 1 waits in [0, spread], later ones follow the policy.
    let backoff = exact().first_retry_spread(Some(secs(10)));
    let mut firsts = std::collections::BTreeSet::new();
    for seed in 0..30 {
        let mut h = Harness::new(MachineConfig::new(backoff.clone()), seed);
        h.open_and_connect();
        h.fail_current();
        let (a, d) = h.waits[0];
        assert_eq!(a, 1);
        assert!(d <= secs(10));
        firsts.insert(d);
        h.fire_retry();
        h.fail_current();
        assert_eq!(h.waits[1], (2, secs(2)));
    }
    assert!(firsts.len() > 20);
}

#[test]
fn invalid_policies_are_refused_with_a_clear_error() {
    // Pins: the machine cannot be built on a policy that would storm or misbehave.
    let err = ConnectionMachine::new(
        MachineConfig::new(Backoff::default().initial(Duration::ZERO)),
        JitterRng::from_seed(0),
    )
    .unwrap_err();
    assert!(err.to_string().contains("tight loop"), "{err}");
}

#[test]
fn machine_delays_beyond_a_day_are_refused() {
    // Pins: a timer past the browser's range (a signed 32-bit millisecond count, ~24.8 days)
    // fires at once; the machine's own delays are held to the backoff's 24 h bound.
    let day = Duration::from_secs(24 * 3600);
    let refused = |config: MachineConfig| {
        ConnectionMachine::new(config, JitterRng::from_seed(0))
            .err()
            .map(|e| e.to_string())
    };
    let cases: [(&str, MachineConfig); 3] = [
        (
            "max_retry_after",
            MachineConfig::new(exact()).max_retry_after(Duration::MAX),
        ),
        (
            "online_jitter",
            MachineConfig::new(exact()).online_jitter(day * 30),
        ),
        (
            "stale_after",
            MachineConfig::new(exact()).stale_after(Some(day + secs(1))),
        ),
    ];
    for (field, config) in cases {
        let err = refused(config).unwrap_or_else(|| panic!("{field} accepted"));
        assert!(err.contains(field) && err.contains("24 h"), "{err}");
    }
    let at_limit = MachineConfig::new(exact())
        .max_retry_after(day)
        .online_jitter(day)
        .stale_after(Some(day));
    assert_eq!(refused(at_limit), None);
}

#[test]
fn errors_read_like_the_badge() {
    // Pins the human wording of connection errors shown in UIs.
    let lost = ConnectionError::Lost {
        next_attempt: 5,
        delay: Duration::from_millis(6_220),
    };
    assert_eq!(lost.to_string(), "connection lost; retry 5 in 6.2 s");
    let stale = ConnectionError::Stale {
        silent_for: Duration::from_millis(1_203),
    };
    assert_eq!(
        stale.to_string(),
        "no event or heartbeat for 1.2 s; treating the connection as dead"
    );
    let quick = ConnectionError::Lost {
        next_attempt: 1,
        delay: Duration::from_millis(153),
    };
    assert_eq!(quick.to_string(), "connection lost; retry 1 in 153 ms");
    assert_eq!(
        ConnectionError::GaveUp { attempts: 3 }.to_string(),
        "gave up after 3 failed retries"
    );
}

#[test]
fn status_is_published_only_on_change() {
    // Pins: events on a healthy connection publish nothing (the hot path stays allocation-free).
    let mut h = Harness::with_backoff(exact());
    h.open_and_connect();
    for i in 0..100 {
        let conn = h.conn();
        let cmds = h.feed(Input::Event {
            conn,
            id: Some(i.to_string()),
        });
        assert!(cmds.is_empty());
    }
    assert_eq!(h.statuses.len(), 2);
}

#[test]
fn each_jitter_mode_stays_within_its_documented_range_in_the_machine() {
    // Pins: the delays the machine schedules are the policy's, for every jitter mode.
    for jitter in Jitter::ALL {
        let backoff = Backoff::default().jitter(jitter);
        let mut h = Harness::new(MachineConfig::new(backoff.clone()), 77);
        h.feed(Input::Open);
        let mut prev = None;
        for _ in 0..40 {
            h.fail_current();
            let (attempt, delay) = *h.waits.last().unwrap();
            let (lo, hi) = backoff.bounds(attempt, prev);
            assert!(
                lo <= delay && delay <= hi,
                "{jitter}: attempt {attempt} delay {delay:?}"
            );
            prev = Some(delay);
            h.fire_retry();
        }
    }
}
