//! `use_task_stream` in headless Chromium against the real `strug-dev-server`.
//!
//! Run by `scripts/browser-tests.sh` (part of `scripts/test.sh`), which starts the server with
//! `--chaos --heartbeat-secs 0.5 --tick-ms 100 --no-ambient` and passes its URL in
//! `STRUG_SERVER_URL` at compile time. Every test tags its stream with a unique `client=` so that
//! faults and metrics are scoped to it.
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use leptos::prelude::*;
use leptos_task_stream::{
    Backoff, CloseReason, ConnectionError, ConnectionStatus, FetchOptions, OfflineReason,
    StreamError, TaskStreamOptions, Transport,
};
use serde_json::json;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod web_support;
use web_support::*;

fn mount(name: &str, options: TaskStreamOptions) -> Mounted {
    mount_path(name, "/api/events", options)
}

#[wasm_bindgen_test]
async fn first_connect_receives_the_snapshot_and_live_updates() {
    // Pins: connect → Connected, the snapshot fills the board, live task events update it, and
    // the board converges to the server's authoritative state.
    let before = dispatch_mission(3).await;
    let s = mount("first", fast_options());
    s.wait_connected().await;
    let first_id = before["task_ids"][0].as_str().unwrap().to_owned();
    wait_until("snapshot task on board", 5_000, || {
        s.stream.tasks.get_untracked(&first_id).is_some()
    })
    .await;
    let mission = dispatch_mission(4).await;
    let ids: Vec<String> = mission["task_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    wait_until("live tasks on board", 5_000, || {
        ids.iter()
            .all(|id| s.stream.tasks.get_untracked(id).is_some())
    })
    .await;
    wait_until("activity lines", 5_000, || {
        !s.stream.activity.with_untracked(|a| a.is_empty())
    })
    .await;
    s.wait_converged().await;
    let stats = s.stream.stats.get_untracked();
    assert_eq!(stats.connects, 1);
    assert_eq!(stats.decode_errors, 0);
    assert!(stats.events > 4);
    assert_eq!(s.stream.last_error.get_untracked(), None);
    s.unmount();
}

#[wasm_bindgen_test]
async fn a_dropped_stream_backs_off_then_resumes_without_loss() {
    // Pins: server drop ⇒ Reconnecting attempt 1 with a delay inside the policy range
    // ([100, 200] ms for equal jitter at 200 ms), then Connected; the reconnect carries the last
    // event id; the board equals /api/state afterwards.
    let s = mount("drop", fast_options());
    s.wait_connected().await;
    dispatch_mission(3).await;
    s.wait_converged().await;
    assert!(s.stream.stream.last_event_id.get_untracked().is_some());
    chaos("drop", json!({ "client": s.client })).await;
    // The mission may still be sending events until the drop: the id to resume from is the one
    // held once the stream is down.
    let mut seen = None;
    wait_until("Reconnecting", 3_000, || {
        if let ConnectionStatus::Reconnecting { attempt, delay, .. } = s.status() {
            let held = s.stream.stream.last_event_id.get_untracked();
            seen = Some((attempt, delay, held));
        }
        seen.is_some()
    })
    .await;
    let (attempt, delay, held) = seen.unwrap();
    assert!(held.is_some());
    assert_eq!(attempt, 1);
    assert!(
        delay >= Duration::from_millis(100) && delay <= Duration::from_millis(200),
        "{delay:?}"
    );
    assert!(matches!(
        s.stream.last_error.get_untracked(),
        Some(StreamError::Connection(ConnectionError::Lost {
            next_attempt: 1,
            ..
        }))
    ));
    s.wait_connected().await;
    let log = attempts(&s.client).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(
        log[1].2, held,
        "the reconnect must resume from the last event id"
    );
    // A new EventSource cannot set `Last-Event-ID`: the id travels as `?lastEventId=`.
    let full = attempt_log(&s.client).await;
    assert_eq!(full[1]["resume_via"], "query", "{full:?}");
    assert_eq!(full[1]["accept"], "text/event-stream", "{full:?}");
    dispatch_mission(2).await;
    s.wait_converged().await;
    let stats = s.stream.stats.get_untracked();
    assert_eq!((stats.reconnects, stats.resumes), (1, 1));
    // Exactly the missing events were replayed: nothing arrived twice (a duplicate task
    // version or activity id would have been counted as stale).
    assert_eq!(stats.stale_ignored, 0, "{stats:?}");
    s.unmount();
}

#[wasm_bindgen_test]
async fn a_burst_then_a_lost_connection_applies_every_event_first() {
    // Pins: 20,000 events in one burst, then the close without `end`, on both transports. With
    // `EventSource` the events reach wasm in batches, one per browser task (src/es_batch.rs),
    // and `error` flushes the batch before it; the driver applies them in slices of 10 ms,
    // yielding to the page in between, and the failure waits its turn behind them. Every event
    // is applied and the id to resume from is the last one's. Handled in the other order, the
    // events still waiting would belong to a connection already given up, and be dropped.
    for transport in [
        Transport::EventSource,
        Transport::Fetch(FetchOptions::default()),
    ] {
        // No reconnect within the test: the firehose would start over.
        let options = TaskStreamOptions::default()
            .backoff(Backoff::default().initial(Duration::from_secs(20)))
            .transport(transport);
        let s = mount_path("burst-close", "/api/firehose?n=20000&then=close", options);
        wait_until("Reconnecting", 10_000, || {
            matches!(s.status(), ConnectionStatus::Reconnecting { .. })
        })
        .await;
        // Stats, ids and the board are published once per frame.
        sleep(300).await;
        let stats = s.stream.stats.get_untracked();
        assert_eq!((stats.events, stats.connects), (20_000, 1), "{stats:?}");
        assert_eq!(
            s.stream.stream.last_event_id.get_untracked().as_deref(),
            Some("20000")
        );
        // Event `i` is task `f-((i-1) % 1000)` at version `(i-1)/1000 + 1`.
        let tasks = s.stream.tasks.snapshot_untracked();
        assert_eq!(tasks.len(), 1000);
        assert!(tasks.iter().all(|t| t.version == 20), "{:?}", &tasks[..3]);
        s.unmount();
    }
}

#[wasm_bindgen_test]
async fn without_resume_a_reconnect_sends_no_id_and_counts_no_resume() {
    // Pins `resume(None)`: the reconnect carries no id (the server starts over with a
    // snapshot) and `stats.resumes` stays 0, although an id was held.
    let s = mount("no-resume", fast_options().resume(None));
    s.wait_connected().await;
    wait_until("an id", 5_000, || {
        s.stream.stream.last_event_id.get_untracked().is_some()
    })
    .await;
    s.drop_and_reconnect().await;
    s.wait_converged().await;
    let log = attempts(&s.client).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[1].2, None, "{log:?}");
    let stats = s.stream.stats.get_untracked();
    assert_eq!((stats.reconnects, stats.resumes), (1, 0));
    s.unmount();
}

#[wasm_bindgen_test]
async fn a_quiet_reconnect_keeps_the_resume_id() {
    // Pins: a new EventSource reports an empty last event id until an event carries one, so a
    // heartbeat on a reconnect with nothing new to replay must not erase the id the next
    // resume needs (it used to: the second reconnect then fell back to a full snapshot).
    let s = mount("quiet", fast_options());
    s.wait_connected().await;
    wait_until("the snapshot's id", 5_000, || {
        s.stream.stream.last_event_id.get_untracked().is_some()
    })
    .await;
    wait_stream_open(&s.client).await;
    s.drop_and_reconnect().await;
    let beats = s.stream.stats.get_untracked().heartbeats;
    wait_until("heartbeats on the new connection", 5_000, || {
        s.stream.stats.get_untracked().heartbeats >= beats + 2
    })
    .await;
    let held = s.stream.stream.last_event_id.get_untracked();
    assert!(held.is_some(), "a heartbeat erased the resume id");
    wait_stream_open(&s.client).await;
    s.drop_and_reconnect().await;
    let log = attempt_log(&s.client).await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[2]["last_event_id"].as_str(), held.as_deref());
    assert_eq!(s.stream.stats.get_untracked().resumes, 2);
    s.unmount();
}

#[wasm_bindgen_test]
async fn an_outage_follows_the_backoff_schedule_and_recovers_by_itself() {
    // Pins: during a 503 outage the attempts seen by the server are spaced at least as far
    // apart as the policy's lower bound (no early attempt, no storm), and the stream recovers
    // on its own when the outage ends.
    let s = mount("outage", fast_options());
    s.wait_connected().await;
    chaos("outage", json!({ "secs": 3.0, "client": s.client })).await;
    wait_until("Reconnecting", 3_000, || {
        matches!(s.status(), ConnectionStatus::Reconnecting { .. })
    })
    .await;
    s.wait_connected().await;
    let log = attempts(&s.client).await;
    let rejected = log.iter().filter(|a| a.1 == "outage").count();
    assert!(rejected >= 3, "expected several rejected attempts: {log:?}");
    assert_eq!(log.last().unwrap().1, "accepted");
    // Attempt k (1-based retry) waits ≥ base_k / 2 with base_k = min(1600, 200·2^(k-1)) ms.
    let policy = fast_backoff();
    for (k, pair) in log[1..].windows(2).enumerate() {
        let retry = k as u32 + 2; // pair[1] is retry number k+2 (pair[0] is retry k+1)
        let (lo, _) = policy.bounds(retry, None);
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap + 15.0 >= lo.as_millis() as f64,
            "retry {retry} came {gap} ms after the previous attempt; policy minimum {lo:?}: {log:?}"
        );
    }
    // No storm: a 3 s outage with this policy allows at most ~8 attempts.
    assert!(log.len() <= 10, "{log:?}");
    s.wait_converged().await;
    s.unmount();
}

#[wasm_bindgen_test]
async fn a_stalled_stream_is_detected_by_stale_after() {
    // Pins: a connection that delivers nothing (not even heartbeats) for stale_after is
    // treated as dead, closed and retried; it recovers once the server speaks again.
    let s = mount(
        "stall",
        fast_options().stale_after(Some(Duration::from_millis(1200))),
    );
    s.wait_connected().await;
    chaos("stall", json!({ "secs": 2.5, "client": s.client })).await;
    wait_until("stale error", 4_000, || {
        matches!(
            s.stream.last_error.get_untracked(),
            Some(StreamError::Connection(ConnectionError::Stale { .. }))
        )
    })
    .await;
    // A reconnect during the stall opens (headers arrive) and goes stale again: that is correct.
    // Once the 2.5 s stall is over the stream must settle and stay connected on heartbeats.
    sleep(2_000).await;
    s.wait_connected().await;
    let heartbeats = s.stream.stats.get_untracked().heartbeats;
    sleep(1_500).await;
    assert!(s.status().is_connected(), "{:?}", s.status());
    assert!(s.stream.stats.get_untracked().heartbeats > heartbeats);
    s.unmount();
}

#[wasm_bindgen_test]
async fn a_busy_main_thread_is_not_mistaken_for_a_silent_server() {
    // Pins: while a long task blocks the page for longer than stale_after, the server's
    // heartbeats wait in the browser's queue and are delivered before the late stale timer
    // runs: a frozen page is not a silent server, and costs no reconnect. A silent server is
    // still caught after the same freeze.
    let s = mount(
        "busy",
        fast_options().stale_after(Some(Duration::from_millis(1200))),
    );
    s.wait_connected().await;
    let heartbeats = s.stream.stats.get_untracked().heartbeats;
    let until = js_sys::Date::now() + 2_500.0;
    while js_sys::Date::now() < until {}
    sleep(1_500).await;
    assert!(s.status().is_connected(), "{:?}", s.status());
    assert_eq!(s.stream.last_error.get_untracked(), None);
    assert!(s.stream.stats.get_untracked().heartbeats > heartbeats);
    assert_eq!(attempts(&s.client).await.len(), 1);

    // A server that really is silent is still caught, late timer or not.
    chaos("stall", json!({ "secs": 5.0, "client": s.client })).await;
    let until = js_sys::Date::now() + 2_500.0;
    while js_sys::Date::now() < until {}
    wait_until("stale error", 3_000, || {
        matches!(
            s.stream.last_error.get_untracked(),
            Some(StreamError::Connection(ConnectionError::Stale { .. }))
        )
    })
    .await;
    s.unmount();
}

/// A hook whose stream the server ended with `reason`, once it is closed.
async fn ended_with(name: &str, reason: &str) -> Mounted {
    let s = mount(name, fast_options());
    s.wait_connected().await;
    chaos("end", json!({ "client": s.client, "reason": reason })).await;
    wait_until("Closed", 3_000, || s.status().is_closed()).await;
    s
}

fn ended(reason: String) -> ConnectionStatus {
    ConnectionStatus::Closed {
        reason: CloseReason::Ended { reason },
    }
}

#[wasm_bindgen_test]
async fn end_closes_for_good() {
    // Pins: the server's `end` ⇒ Closed { Ended } and the server sees no further attempt.
    let s = ended_with("end", "test complete").await;
    assert_eq!(s.status(), ended("test complete".into()));
    sleep(1_500).await;
    assert_eq!(attempts(&s.client).await.len(), 1);
    assert_eq!(open_streams(&s.client).await, 0);
    s.unmount();

    // A reason is shown to people: a huge one is cut to 200 characters, marked.
    let s = ended_with("end-huge", &"é".repeat(5_000)).await;
    assert_eq!(s.status(), ended(format!("{}…", "é".repeat(200))));
    s.unmount();
}

#[wasm_bindgen_test]
async fn a_mission_stream_ends_when_the_mission_completes() {
    // Pins the real `end` path: a per-mission stream closes with the mission's reason, holding
    // every task of the mission in a finished state.
    let mission = dispatch_mission(2).await;
    let id = mission["mission_id"].as_str().unwrap().to_owned();
    let s = mount_path(
        "mission",
        &format!("/api/missions/{id}/events"),
        fast_options(),
    );
    wait_until("mission end", 20_000, || s.status().is_closed()).await;
    assert!(matches!(
        s.status(),
        ConnectionStatus::Closed {
            reason: CloseReason::Ended { .. }
        }
    ));
    let tasks = s.stream.tasks.snapshot_untracked();
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t.status.is_finished()), "{tasks:?}");
    sleep(800).await;
    assert_eq!(attempts(&s.client).await.len(), 1);
    s.unmount();
}

fn fire_window_event(name: &str) {
    let event = web_sys::Event::new(name).unwrap();
    web_sys::window().unwrap().dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn offline_stops_attempts_and_online_reconnects_promptly() {
    // Pins: `offline` closes the stream and no attempt happens while offline, even past the
    // backoff delays; `online` reconnects within the online jitter (300 ms here).
    let s = mount("offline", fast_options());
    s.wait_connected().await;
    fire_window_event("offline");
    assert_eq!(
        s.status(),
        ConnectionStatus::Offline {
            reason: OfflineReason::Network
        }
    );
    sleep(2_000).await;
    assert_eq!(open_streams(&s.client).await, 0);
    assert_eq!(attempts(&s.client).await.len(), 1);
    let t0 = js_sys::Date::now();
    fire_window_event("online");
    s.wait_connected().await;
    assert!(js_sys::Date::now() - t0 < 1_500.0);
    assert_eq!(attempts(&s.client).await.len(), 2);
    s.unmount();
}

#[wasm_bindgen_test]
async fn pagehide_closes_the_stream_and_pageshow_resumes_it() {
    // Pins: navigating away (pagehide) closes the connection even if the browser would keep the
    // page alive in its back/forward cache; a restored page (pageshow) reconnects and resumes.
    let s = mount("pagehide", fast_options());
    s.wait_connected().await;
    let held = s.stream.stream.last_event_id.get_untracked();
    fire_window_event("pagehide");
    wait_no_open_streams(&s.client).await;
    assert!(!s.status().is_connected());
    fire_window_event("pageshow");
    s.wait_connected().await;
    let log = attempts(&s.client).await;
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[1].2, held,
        "the restored page resumes from its last event id"
    );
    s.unmount();
}

/// Makes `document.hidden` read `hidden` (an own property shadowing the prototype's getter),
/// then fires `visibilitychange` as the browser would.
fn set_document_hidden(hidden: bool) {
    let document = web_sys::window().unwrap().document().unwrap();
    let descriptor = js_sys::Object::new();
    js_sys::Reflect::set(&descriptor, &"value".into(), &hidden.into()).unwrap();
    js_sys::Reflect::set(&descriptor, &"configurable".into(), &true.into()).unwrap();
    js_sys::Object::define_property(&document, &"hidden".into(), &descriptor);
    assert_eq!(document.hidden(), hidden);
    let event = web_sys::Event::new("visibilitychange").unwrap();
    document.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn a_hidden_tab_pauses_the_stream_when_asked_and_resumes_when_shown() {
    // Pins: with `pause_when_hidden`, `visibilitychange` to hidden closes the connection
    // (`Offline { Hidden }`), and back to visible reconnects at once and resumes. Without the
    // option, hiding changes nothing.
    let s = mount("hidden", fast_options().pause_when_hidden(true));
    let keeps = mount("hidden-ignored", fast_options());
    s.wait_connected().await;
    keeps.wait_connected().await;
    let held = s.stream.stream.last_event_id.get_untracked();
    set_document_hidden(true);
    wait_no_open_streams(&s.client).await;
    assert_eq!(
        s.status(),
        ConnectionStatus::Offline {
            reason: OfflineReason::Hidden
        }
    );
    assert!(keeps.status().is_connected());
    let t0 = js_sys::Date::now();
    set_document_hidden(false);
    s.wait_connected().await;
    assert!(js_sys::Date::now() - t0 < 1_500.0);
    let log = attempts(&s.client).await;
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[1].2, held,
        "the shown tab resumes from its last event id"
    );
    assert_eq!(attempts(&keeps.client).await.len(), 1);
    let document = web_sys::window().unwrap().document().unwrap();
    js_sys::Reflect::delete_property(&document, &"hidden".into()).unwrap();
    s.unmount();
    keeps.unmount();
}

#[wasm_bindgen_test]
async fn the_mounting_pass_renders_what_the_server_rendered() {
    // Pins hydration safety: a hook mounted in a hidden tab with `pause_when_hidden` still reads
    // `Connecting` during the pass that creates it (what the server rendered, so hydration
    // finds the same text and nodes); it turns `Offline { Hidden }` right after, and opens
    // nothing. A `close()` in that same pass wins over the deferred start.
    let document = web_sys::window().unwrap().document().unwrap();
    set_document_hidden(true);
    let s = mount("hydrate-hidden", fast_options().pause_when_hidden(true));
    let closed = mount("hydrate-closed", fast_options());
    assert_eq!(s.status(), ConnectionStatus::Connecting);
    closed.stream.close();
    wait_until("Offline { Hidden }", 2_000, || {
        s.status()
            == ConnectionStatus::Offline {
                reason: OfflineReason::Hidden,
            }
    })
    .await;
    js_sys::Reflect::delete_property(&document, &"hidden".into()).unwrap();
    sleep(300).await;
    assert_eq!(
        closed.status(),
        ConnectionStatus::Closed {
            reason: CloseReason::ByApp
        }
    );
    assert!(attempts(&s.client).await.is_empty());
    assert!(attempts(&closed.client).await.is_empty());
    s.unmount();
    closed.unmount();
}

#[wasm_bindgen_test]
async fn a_tab_without_animation_frames_still_updates_the_store() {
    // Pins the hidden-tab fallback: browsers give background tabs no animation frames, and the
    // store, the stats and the resume id (all flushed "before the next frame") must still
    // follow the stream there. Simulated by a `requestAnimationFrame` that never calls back.
    let window = web_sys::window().unwrap();
    let never = js_sys::Function::new_no_args("return 0");
    js_sys::Reflect::set(&window, &"requestAnimationFrame".into(), &never).unwrap();
    let s = mount("no-frames", fast_options());
    s.wait_connected().await;
    dispatch_mission(3).await;
    s.wait_converged().await;
    // The board data is current at once; its signals (the counts, the columns) are the part
    // that waits for a frame.
    let on_board = s.stream.tasks.snapshot_untracked().len();
    assert!(on_board > 0);
    wait_until("the counts", 3_000, || s.stream.tasks.len() == on_board).await;
    js_sys::Reflect::delete_property(&window, &"requestAnimationFrame".into()).unwrap();
    s.unmount();
}

#[wasm_bindgen_test]
async fn close_and_reconnect_are_honoured() {
    // Pins: close() closes the server-side stream and cancels a pending retry; reconnect()
    // opens again at once.
    let s = mount("close", fast_options());
    s.wait_connected().await;
    s.stream.close();
    assert_eq!(
        s.status(),
        ConnectionStatus::Closed {
            reason: CloseReason::ByApp
        }
    );
    wait_no_open_streams(&s.client).await;
    s.stream.reconnect();
    s.wait_connected().await;
    // close() during a pending retry cancels it.
    chaos("outage", json!({ "secs": 1.0, "client": s.client })).await;
    wait_until("Reconnecting", 3_000, || {
        matches!(s.status(), ConnectionStatus::Reconnecting { .. })
    })
    .await;
    let before = attempts(&s.client).await.len();
    s.stream.close();
    sleep(2_500).await;
    assert_eq!(attempts(&s.client).await.len(), before);
    s.unmount();
}

#[wasm_bindgen_test]
async fn not_immediate_waits_for_reconnect_to_open() {
    // Pins `immediate(false)`: the hook shows Closed { NotStarted } and makes no attempt, even
    // after a while, until `reconnect()` opens it at once.
    let s = mount("not-immediate", fast_options().immediate(false));
    sleep(500).await;
    assert_eq!(
        s.status(),
        ConnectionStatus::Closed {
            reason: CloseReason::NotStarted
        }
    );
    assert!(attempts(&s.client).await.is_empty());
    s.stream.reconnect();
    s.wait_connected().await;
    assert_eq!(attempts(&s.client).await.len(), 1);
    s.unmount();
}

/// Starts recording the page's `console.warn` and `console.error` calls (from now on).
fn record_console() {
    js_sys::Function::new_no_args(
        "if (!window.__ltsConsoleWrapped) {
           window.__ltsConsoleWrapped = true;
           for (const kind of ['warn', 'error']) {
             const original = console[kind].bind(console);
             console[kind] = (...args) => {
               (window.__ltsConsole || []).push(kind + ': ' + args.map(String).join(' '));
               original(...args);
             };
           }
         }
         window.__ltsConsole = [];",
    )
    .call0(&wasm_bindgen::JsValue::NULL)
    .unwrap();
}

/// The `console.warn`/`console.error` calls since [`record_console`].
fn console_calls() -> Vec<String> {
    let calls = js_sys::Function::new_no_args("return window.__ltsConsole || [];")
        .call0(&wasm_bindgen::JsValue::NULL)
        .unwrap();
    js_sys::Array::from(&calls)
        .iter()
        .filter_map(|v| v.as_string())
        .collect()
}

#[wasm_bindgen_test]
async fn nothing_runs_after_unmount() {
    // Pins: once a board, feed and badge are unmounted, no callback of theirs or of their
    // stream runs: no disposed-signal warning from Leptos, no log line from the library (debug
    // builds log every status change), whether the stream was busy (a firehose at 20,000
    // events/s, frames pending) or waiting to retry.
    let busy = tag("after-unmount-busy");
    let url = format!("{SERVER}/api/firehose?n=200000&rate=20000&client={busy}");
    let m = Mount::dashboard(url);
    wait_until("cards", 5_000, || m.all(".lts-card").len() >= 100).await;
    record_console();
    drop(m);
    sleep(1_000).await;
    assert_eq!(
        console_calls(),
        Vec::<String>::new(),
        "after a busy unmount"
    );
    wait_no_open_streams(&busy).await;

    let waiting = tag("after-unmount-waiting");
    chaos("outage", json!({ "secs": 30.0, "client": waiting })).await;
    let url = url_for(&waiting);
    let m = Mount::board_and_badge(url);
    wait_until("reconnecting", 5_000, || {
        m.attr(".lts-badge", "data-status").as_deref() == Some("reconnecting")
    })
    .await;
    let made = attempts(&waiting).await.len();
    record_console();
    drop(m);
    // Past fast_options' retry delays and the badge's countdown ticks.
    sleep(2_500).await;
    assert_eq!(
        console_calls(),
        Vec::<String>::new(),
        "after unmounting while waiting"
    );
    assert_eq!(attempts(&waiting).await.len(), made);
    chaos("heal", json!({})).await;
}

#[wasm_bindgen_test]
async fn unmounting_closes_the_stream_and_cancels_timers() {
    // Pins: disposing the owner closes the EventSource (server open streams → 0); with a retry
    // pending at unmount time, no attempt happens afterwards.
    let s = mount("unmount", fast_options());
    s.wait_connected().await;
    let client = s.client.clone();
    assert_eq!(open_streams(&client).await, 1);
    chaos("outage", json!({ "secs": 1.0, "client": client })).await;
    wait_until("Reconnecting", 3_000, || {
        matches!(s.status(), ConnectionStatus::Reconnecting { .. })
    })
    .await;
    let before = attempts(&client).await.len();
    s.unmount();
    sleep(2_500).await;
    assert_eq!(attempts(&client).await.len(), before);
    assert_eq!(open_streams(&client).await, 0);

    // And a healthy stream: unmount closes it on the server.
    let s = mount("unmount2", fast_options());
    s.wait_connected().await;
    let client = s.unmount();
    wait_no_open_streams(&client).await;
}

#[wasm_bindgen_test]
async fn malformed_and_unexpected_events_set_last_error_and_the_stream_continues() {
    // Pins: malformed JSON, a wrong-shaped payload and an unnamed event each set a typed
    // last_error and bump decode_errors, without stopping the stream; a valid event after them
    // is applied.
    let s = mount("bad", fast_options());
    s.wait_connected().await;
    chaos(
        "inject",
        json!({ "client": s.client, "event": "task", "data": "{not json" }),
    )
    .await;
    wait_until("decode error", 3_000, || {
        s.stream.stats.get_untracked().decode_errors == 1
    })
    .await;
    assert!(matches!(
        s.stream.last_error.get_untracked(),
        Some(StreamError::Decode(_))
    ));
    chaos(
        "inject",
        json!({ "client": s.client, "event": "activity", "data": "[1,2,3]" }),
    )
    .await;
    chaos(
        "inject",
        json!({ "client": s.client, "event": "message", "data": "{}" }),
    )
    .await;
    wait_until("three decode errors", 3_000, || {
        s.stream.stats.get_untracked().decode_errors == 3
    })
    .await;
    let err = s.stream.last_error.get_untracked().unwrap().to_string();
    assert!(err.contains("unknown event type \"message\""), "{err}");
    // Named events the protocol does not have never reach scripts (an EventSource limit);
    // they must not disturb the stream either.
    chaos(
        "inject",
        json!({ "client": s.client, "event": "bogus", "data": "{}" }),
    )
    .await;
    let task = json!({
        "id": "injected-1", "title": "still alive", "status": "running", "agent": "test",
        "version": 1, "updated_at": "2026-11-25T14:00:00Z"
    });
    chaos(
        "inject",
        json!({ "client": s.client, "event": "task", "data": task.to_string() }),
    )
    .await;
    wait_until("valid event applied after bad ones", 3_000, || {
        s.stream.tasks.get_untracked("injected-1").is_some()
    })
    .await;
    assert!(s.status().is_connected());
    assert_eq!(s.stream.stats.get_untracked().connects, 1);
    s.unmount();
}

#[wasm_bindgen_test]
async fn invalid_options_are_reported_and_nothing_is_opened() {
    // Pins: an invalid policy gives Closed { Misconfigured } and a typed error, not a panic or
    // a tight loop.
    let s = mount(
        "invalid",
        fast_options().backoff(Backoff::default().factor(f64::NAN)),
    );
    assert!(matches!(
        s.status(),
        ConnectionStatus::Closed {
            reason: CloseReason::Misconfigured { .. }
        }
    ));
    assert!(matches!(
        s.stream.last_error.get_untracked(),
        Some(StreamError::InvalidOptions(_))
    ));
    sleep(300).await;
    assert!(attempts(&s.client).await.is_empty());
    s.unmount();
}
