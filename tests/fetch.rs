//! The fetch transport (`Transport::Fetch`) in headless Chromium against the real
//! `strug-dev-server`: headers and tokens, HTTP status codes, `Retry-After`, `retry:`, wrong
//! content types, adversarial chunkings, POST bodies and aborts.
//!
//! Run by `scripts/browser-tests.sh` like the other browser suites; every test tags its stream
//! with a unique `client=` so that faults and metrics are scoped to it.
#![cfg(target_arch = "wasm32")]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use leptos_task_stream::{
    CloseReason, ConnectionError, ConnectionStatus, FetchOptions, OfflineReason, SseError,
    StreamError, TaskStreamOptions, Transport,
};
use serde_json::{json, Value};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod web_support;
use web_support::*;

fn mount(name: &str, options: TaskStreamOptions) -> Mounted {
    mount_path(name, "/api/events", options)
}

/// Scopes a `/api/chaos/reject` window (`reject`: its body without `client`) to a fresh client
/// tag, then mounts a fetch-transport hook with that tag, so its first request meets the window.
async fn mount_behind_reject(name: &str, mut reject: Value) -> Mounted {
    let client = tag(name);
    reject["client"] = json!(client);
    chaos("reject", reject).await;
    mount_tagged(
        client,
        "/api/events",
        fetch_options(FetchOptions::default()),
    )
}

fn fetch_options(fetch: FetchOptions) -> TaskStreamOptions {
    fast_options().transport(Transport::Fetch(fetch))
}

async fn new_token(scope: &str) -> String {
    fetch_json("POST", "/api/auth/token", Some(json!({ "scope": scope }))).await["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

fn rejected(status: &ConnectionStatus) -> Option<String> {
    match status {
        ConnectionStatus::Offline {
            reason: OfflineReason::Rejected { error },
        } => Some(error.summary()),
        _ => None,
    }
}

/// Milliseconds between consecutive attempts of `client`.
fn gaps(log: &[Value]) -> Vec<f64> {
    log.windows(2)
        .map(|w| w[1]["at_ms"].as_f64().unwrap_or(0.0) - w[0]["at_ms"].as_f64().unwrap_or(0.0))
        .collect()
}

#[wasm_bindgen_test]
async fn fetch_streams_the_board_and_resumes_with_the_last_event_id_header() {
    // Pins: switching one option gives a working board; a drop reconnects with backoff and
    // resumes through the `Last-Event-ID` header (no query parameter), without loss.
    let s = mount("fetch-basic", fetch_options(FetchOptions::default()));
    s.wait_connected().await;
    dispatch_mission(3).await;
    s.wait_converged().await;
    let held = s.stream.stream.last_event_id.get_untracked();
    assert!(held.is_some());
    s.drop_and_reconnect().await;
    dispatch_mission(2).await;
    s.wait_converged().await;
    let log = attempt_log(&s.client).await;
    assert_eq!(log.len(), 2, "{log:?}");
    // The resume id is the one held at the drop: at least the one read before it (the mission
    // may still have been running).
    let sent: u64 = log[1]["last_event_id"].as_str().unwrap().parse().unwrap();
    assert!(sent >= held.unwrap().parse::<u64>().unwrap(), "{log:?}");
    assert_eq!(log[1]["method"], "GET");
    assert_eq!(log[1]["status"], 200);
    assert_eq!(
        log[1]["resume_via"], "header",
        "not the query parameter: {log:?}"
    );
    assert_eq!(log[1]["accept"], "text/event-stream", "{log:?}");
    let stats = s.stream.stats.get_untracked();
    assert_eq!((stats.resumes, stats.decode_errors), (1, 0));
    assert!(s
        .stream
        .last_error
        .get_untracked()
        .is_some_and(|e| matches!(
            e,
            StreamError::Connection(ConnectionError::Lost {
                next_attempt: 1,
                ..
            })
        )));
    s.unmount();
}

#[wasm_bindgen_test]
async fn the_bearer_token_is_read_from_its_signal_on_every_attempt() {
    // Pins: `Authorization: Bearer` comes from a signal and a changed token is used by the next
    // reconnect (headers are not copied once at start).
    let first = new_token("read").await;
    let second = new_token("read").await;
    let token = RwSignal::new(Some(first.clone()));
    let s = mount_path(
        "fetch-bearer",
        "/api/events?auth=bearer",
        fetch_options(FetchOptions::default().bearer_token(token)),
    );
    s.wait_connected().await;
    token.set(Some(second.clone()));
    s.drop_and_reconnect().await;
    let log = attempt_log(&s.client).await;
    let auth: Vec<_> = log
        .iter()
        .map(|a| a["auth"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(auth, [first.as_str(), second.as_str()]);
    assert!(log.iter().all(|a| a["outcome"] == "accepted"));
    s.unmount();
}

#[wasm_bindgen_test]
async fn unauthorized_stops_at_once_without_a_retry_storm() {
    // Pins: 401 ⇒ Offline(Rejected) with a typed error and exactly one request, however long
    // we wait; "Retry now" with a valid token then connects.
    let token = RwSignal::new(None::<String>);
    let s = mount_path(
        "fetch-401",
        "/api/events?auth=bearer",
        fetch_options(FetchOptions::default().bearer_token(token)),
    );
    wait_until("rejected", 5_000, || rejected(&s.status()).is_some()).await;
    assert_eq!(rejected(&s.status()).unwrap(), "HTTP 401 Unauthorized");
    assert_eq!(s.status().label(), "Refused by server");
    assert_eq!(
        s.stream.last_error.get_untracked(),
        Some(StreamError::Connection(ConnectionError::Rejected {
            status: 401
        }))
    );
    sleep(2_000).await;
    let log = attempt_log(&s.client).await;
    assert_eq!(log.len(), 1, "a refused stream was retried: {log:?}");
    assert_eq!(log[0]["outcome"], "unauthorized");
    token.set(Some(new_token("read").await));
    s.stream.reconnect();
    s.wait_connected().await;
    assert_eq!(attempt_log(&s.client).await.len(), 2);
    s.unmount();
}

#[wasm_bindgen_test]
async fn forbidden_and_not_found_are_refused_too() {
    for (path, message) in [
        ("/api/events?auth=bearer", "HTTP 403 Forbidden"),
        ("/api/missions/no-such-mission/events", "HTTP 404 Not Found"),
    ] {
        let token = RwSignal::new(Some(new_token("none").await));
        let s = mount_path(
            "fetch-4xx",
            path,
            fetch_options(FetchOptions::default().bearer_token(token)),
        );
        wait_until(message, 5_000, || rejected(&s.status()).is_some()).await;
        assert_eq!(rejected(&s.status()).unwrap(), message);
        sleep(1_000).await;
        assert_eq!(attempt_log(&s.client).await.len(), 1, "{message}");
        s.unmount();
    }
}

#[wasm_bindgen_test]
async fn an_expired_token_is_refreshed_once_and_the_stream_resumes() {
    // Pins the refresh hook: the token is revoked mid-stream (the server drops the stream), the
    // reconnect gets 401, `on_unauthorized` fetches a new token into the signal, and the retry
    // with it connects at once and resumes — three requests in all.
    let first = new_token("read").await;
    let token = RwSignal::new(Some(first.clone()));
    let refreshes = Arc::new(AtomicU32::new(0));
    let counter = refreshes.clone();
    let s = mount_path(
        "fetch-refresh",
        "/api/events?auth=bearer",
        fetch_options(
            FetchOptions::default()
                .bearer_token(token)
                .on_unauthorized(move || {
                    let counter = counter.clone();
                    async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let fresh = new_token("read").await;
                        token.set(Some(fresh));
                        true
                    }
                }),
        ),
    );
    s.wait_connected().await;
    dispatch_mission(2).await;
    s.wait_converged().await;
    let revoked = fetch_json("POST", "/api/auth/revoke", Some(json!({ "token": first }))).await;
    assert_eq!(revoked["dropped"], 1);
    wait_until("reconnected with a fresh token", 8_000, || {
        s.stream.stats.get_untracked().connects == 3 && s.status().is_connected()
    })
    .await;
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    dispatch_mission(2).await;
    s.wait_converged().await;
    let log = attempt_log(&s.client).await;
    let outcomes: Vec<_> = log
        .iter()
        .map(|a| a["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(outcomes, ["accepted", "unauthorized", "accepted"]);
    assert_eq!(log[1]["auth"].as_str(), Some(first.as_str()));
    assert_ne!(log[2]["auth"].as_str(), Some(first.as_str()));
    // The retry with fresh credentials does not wait for the backoff.
    assert!(gaps(&log)[1] < 1_000.0, "{log:?}");
    s.unmount();
}

#[wasm_bindgen_test]
async fn a_refresh_that_does_not_help_stops_after_one_retry() {
    let token = RwSignal::new(Some("tok-not-issued".to_string()));
    let s = mount_path(
        "fetch-refresh-fails",
        "/api/events?auth=bearer",
        fetch_options(
            FetchOptions::default()
                .bearer_token(token)
                .on_unauthorized(|| async { true }),
        ),
    );
    wait_until("rejected", 5_000, || rejected(&s.status()).is_some()).await;
    assert_eq!(
        s.stream.last_error.get_untracked(),
        Some(StreamError::Connection(ConnectionError::Unauthorized {
            status: 401
        }))
    );
    sleep(1_500).await;
    assert_eq!(attempt_log(&s.client).await.len(), 2);
    s.unmount();
}

#[wasm_bindgen_test]
async fn no_content_means_do_not_reconnect() {
    // Pins: 204 closes for good (the SSE spec's stop signal), one request only.
    let s = mount_behind_reject("fetch-204", json!({ "status": 204, "secs": 10 })).await;
    wait_until("closed", 5_000, || s.status().is_closed()).await;
    assert!(matches!(
        s.status(),
        ConnectionStatus::Closed { reason: CloseReason::Ended { reason } } if reason.contains("204")
    ));
    assert_eq!(s.status().label(), "Stream complete");
    sleep(1_500).await;
    assert_eq!(attempt_log(&s.client).await.len(), 1);
    s.unmount();
}

#[wasm_bindgen_test]
async fn too_many_requests_waits_for_retry_after_then_connects() {
    // Pins: 429 + `Retry-After: 2` makes the next attempt wait ≥ 2 s although the policy says
    // 100–200 ms, shows that wait in the status, and connects once the server accepts.
    let s = mount_behind_reject(
        "fetch-429",
        json!({ "status": 429, "secs": 1.5, "retry_after": 2 }),
    )
    .await;
    wait_until("reconnecting", 5_000, || {
        matches!(s.status(), ConnectionStatus::Reconnecting { .. })
    })
    .await;
    match s.status() {
        ConnectionStatus::Reconnecting { attempt, delay, .. } => {
            assert_eq!(attempt, 1);
            assert!(delay >= Duration::from_secs(2) && delay <= Duration::from_millis(2_200));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.stream.last_error.get_untracked(),
        Some(StreamError::Connection(ConnectionError::Http { status: 429, retry_after: Some(d), .. }))
            if d == Duration::from_secs(2)
    ));
    s.wait_connected().await;
    let log = attempt_log(&s.client).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(
        (log[0]["status"].as_u64(), log[1]["status"].as_u64()),
        (Some(429), Some(200))
    );
    assert!(gaps(&log)[0] >= 1_990.0, "{log:?}");
    s.unmount();
}

#[wasm_bindgen_test]
async fn a_retry_after_date_is_honoured() {
    // Pins the HTTP-date form: 503 with `Retry-After: <now + 3 s>` waits ≥ 2 s (dates have
    // one-second resolution).
    let date = js_sys::Date::new(&(js_sys::Date::now() + 3_000.0).into());
    let http_date = String::from(date.to_utc_string());
    let s = mount_behind_reject(
        "fetch-503-date",
        json!({ "status": 503, "secs": 1, "retry_after": http_date }),
    )
    .await;
    s.wait_connected().await;
    let log = attempt_log(&s.client).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(gaps(&log)[0] >= 1_900.0, "{http_date}: {log:?}");
    s.unmount();
}

#[wasm_bindgen_test]
async fn other_server_errors_back_off_with_the_policy() {
    // Pins: a 500 without Retry-After retries on the policy's schedule (a few attempts in a
    // second at 200 ms base), reporting the status.
    let s = mount_behind_reject("fetch-500", json!({ "status": 500, "secs": 0.8 })).await;
    wait_until("error", 5_000, || {
        s.stream.last_error.get_untracked().is_some()
    })
    .await;
    assert!(matches!(
        s.stream.last_error.get_untracked(),
        Some(StreamError::Connection(ConnectionError::Http {
            status: 500,
            retry_after: None,
            ..
        }))
    ));
    s.wait_connected().await;
    let log = attempt_log(&s.client).await;
    assert!(log.len() >= 3, "{log:?}");
    assert!(gaps(&log).iter().all(|g| *g >= 90.0), "{log:?}");
    s.unmount();
}

#[wasm_bindgen_test]
async fn a_login_page_is_a_typed_error_not_a_stream() {
    // Pins: 200 with text/html ⇒ Offline(Rejected) "not an event stream", one request.
    let s = mount_behind_reject(
        "fetch-html",
        json!({ "status": 200, "secs": 10, "content_type": "text/html; charset=utf-8" }),
    )
    .await;
    wait_until("rejected", 5_000, || rejected(&s.status()).is_some()).await;
    assert_eq!(
        rejected(&s.status()).unwrap(),
        "not an event stream (text/html; charset=utf-8)"
    );
    assert!(matches!(
        s.stream.last_error.get_untracked(),
        Some(StreamError::Connection(ConnectionError::NotAStream { content_type })) if content_type.starts_with("text/html")
    ));
    sleep(1_000).await;
    assert_eq!(attempt_log(&s.client).await.len(), 1);
    s.unmount();

    // The header is shown to people: a long one is cut to 64 characters, marked.
    let long = format!("text/html; x={}", "a".repeat(115));
    let s = mount_behind_reject(
        "fetch-html-long",
        json!({ "status": 200, "secs": 10, "content_type": long }),
    )
    .await;
    wait_until("rejected", 5_000, || rejected(&s.status()).is_some()).await;
    let error = s.stream.last_error.get_untracked();
    assert!(
        matches!(
            &error,
            Some(StreamError::Connection(ConnectionError::NotAStream { content_type }))
                if *content_type == format!("{}…", &long[..64])
        ),
        "{error:?}"
    );
    s.unmount();
}

#[wasm_bindgen_test]
async fn a_large_event_crossing_a_slow_link_is_not_taken_for_silence() {
    // Pins: with fetch, bytes of an event still arriving prove the connection alive. An event
    // trickled over 3 s (heartbeats wait behind it) with `stale_after` 2 s is received whole,
    // with no stale error and no reconnect. (Before, the stale check cut it off after 2 s, and
    // the resume asked for the same event again, forever.)
    let s = mount("slow-link", fetch_options(FetchOptions::default()));
    s.wait_connected().await;
    let id = format!("{}-big", s.client);
    let data = task(&id, &"b".repeat(200_000), "running", 1).to_string();
    chaos(
        "inject",
        json!({
            "client": s.client, "event": "task", "data": data, "trickle_secs": 3.0
        }),
    )
    .await;
    wait_until("the slow event applied", 8_000, || {
        s.stream.tasks.get_untracked(&id).is_some()
    })
    .await;
    let stats = s.stream.stats.get_untracked();
    assert_eq!(stats.connects, 1, "{stats:?}");
    assert!(
        !matches!(
            s.stream.last_error.get_untracked(),
            Some(StreamError::Connection(ConnectionError::Stale { .. }))
        ),
        "{:?}",
        s.stream.last_error.get_untracked()
    );
    assert!(s.status().is_connected());
    s.unmount();
}

#[wasm_bindgen_test]
async fn the_servers_retry_field_sets_the_floor() {
    // Pins `retry:`: with `retry: 1500` the reconnect after a drop waits ≥ 1.5 s although the
    // policy says 100–200 ms; `retry: 0` still waits ≥ MIN_SERVER_RETRY (500 ms).
    for (retry, floor) in [(1_500u32, 1_500.0), (0, 500.0)] {
        let s = mount_path(
            "fetch-retry",
            &format!("/api/events?retry={retry}"),
            fetch_options(FetchOptions::default()),
        );
        s.wait_connected().await;
        wait_stream_open(&s.client).await;
        s.drop_and_reconnect().await;
        let log = attempt_log(&s.client).await;
        assert_eq!(log.len(), 2, "{log:?}");
        let gap = gaps(&log)[0];
        assert!(
            gap >= floor - 10.0 && gap < floor * 1.1 + 400.0,
            "retry {retry}: gap {gap}"
        );
        s.unmount();
    }
}

#[wasm_bindgen_test]
async fn event_names_outside_the_protocol_are_reported_and_the_stream_continues() {
    // Pins: the fetch transport sees every event, so a name the protocol does not have (which
    // an `EventSource` would hide from scripts) sets a typed last_error and counts as a decode
    // error; the stream stays up and later events apply. A heartbeat is not reported.
    let s = mount("bogus-name", fetch_options(FetchOptions::default()));
    s.wait_connected().await;
    for event in ["bogus", "heartbeat"] {
        chaos(
            "inject",
            json!({ "client": s.client, "event": event, "data": "{}" }),
        )
        .await;
    }
    wait_until("decode error", 3_000, || {
        s.stream.stats.get_untracked().decode_errors == 1
    })
    .await;
    let err = s.stream.last_error.get_untracked().unwrap();
    assert!(matches!(err, StreamError::Decode(_)), "{err:?}");
    assert!(
        err.to_string().contains("unknown event type \"bogus\""),
        "{err}"
    );
    let task = json!({
        "id": "after-bogus", "title": "still alive", "status": "running", "agent": "test",
        "version": 1, "updated_at": "2026-11-25T14:00:00Z"
    });
    chaos(
        "inject",
        json!({ "client": s.client, "event": "task", "data": task.to_string() }),
    )
    .await;
    wait_until("valid event applied", 3_000, || {
        s.stream.tasks.get_untracked("after-bogus").is_some()
    })
    .await;
    sleep(200).await;
    assert_eq!(s.stream.stats.get_untracked().decode_errors, 1);
    assert!(s.status().is_connected());
    s.unmount();
}

/// Sets (or, with `max_age` 0, removes) a cookie for this page's host. Cookies ignore ports,
/// so the dev server on another port of the same host gets it when a request includes
/// credentials: a cross-origin request without them does not send it.
fn set_cookie(value: &str, max_age: u32) {
    js_sys::Function::new_with_args("c", "document.cookie = c;")
        .call1(
            &wasm_bindgen::JsValue::NULL,
            &format!("{value}; path=/; SameSite=Lax; max-age={max_age}").into(),
        )
        .unwrap();
}

#[wasm_bindgen_test]
async fn with_credentials_sends_cookies_cross_origin_on_both_transports() {
    // Pins `with_credentials`: the test page and the dev server are different origins (other
    // ports), so cookies reach the server only when the option asks for them, with
    // `EventSource` (`withCredentials`) and with fetch (`credentials: include`) alike.
    set_cookie("lts_credentials=1", 60);
    let cases = [
        ("cred-es-off", fast_options(), false),
        ("cred-es-on", fast_options().with_credentials(true), true),
        (
            "cred-fetch-off",
            fetch_options(FetchOptions::default()),
            false,
        ),
        (
            "cred-fetch-on",
            fetch_options(FetchOptions::default()).with_credentials(true),
            true,
        ),
    ];
    for (name, options, sent) in cases {
        let s = mount(name, options);
        s.wait_connected().await;
        let log = attempt_log(&s.client).await;
        let cookies = log[0]["cookies"].clone();
        assert_eq!(
            cookies
                .as_array()
                .is_some_and(|c| c.contains(&json!("lts_credentials"))),
            sent,
            "{name}: {log:?}"
        );
        s.unmount();
    }
    set_cookie("lts_credentials=", 0);
}

#[wasm_bindgen_test]
async fn adversarial_chunkings_give_the_same_board() {
    // Pins the parser in the browser: one byte per read, CRLF split between reads, UTF-8
    // characters split between reads, a split BOM — the board converges, non-ASCII text
    // arrives intact, nothing is reported as an error.
    let text = "héllo ✓ 🚀 — 中文";
    for query in [
        "chunking=bytes",
        "chunking=crlf&bom=1",
        "chunking=utf8",
        "chunking=utf8&bom=1",
    ] {
        dispatch_mission(2).await;
        let s = mount_path(
            "fetch-chunks",
            &format!("/api/events?{query}"),
            fetch_options(FetchOptions::default()),
        );
        s.wait_connected().await;
        s.wait_converged().await;
        wait_stream_open(&s.client).await;
        let id = format!("chunk-{}", tag("a"));
        inject(&s.client, "activity", activity(&id, "info", text)).await;
        wait_until("activity line", 5_000, || {
            s.stream
                .activity
                .with_untracked(|a| a.iter().any(|l| l.id == id))
        })
        .await;
        let line = s
            .stream
            .activity
            .with_untracked(|a| a.iter().find(|l| l.id == id).cloned())
            .unwrap();
        assert_eq!(line.message, text, "{query}");
        assert_eq!(s.stream.stats.get_untracked().decode_errors, 0, "{query}");
        assert_eq!(s.stream.last_error.get_untracked(), None, "{query}");
        s.unmount();
    }
}

/// Reads `/api/events?<query>` with a bare fetch for `ms` milliseconds (injecting an activity
/// line with `text` once the stream is open) and returns every read as the browser delivered it.
async fn observe_reads(query: &str, text: &str, ms: f64) -> Vec<Vec<u8>> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let client = tag("fetch-reads");
    let abort = web_sys::AbortController::new().unwrap();
    let init = web_sys::RequestInit::new();
    init.set_signal(Some(&abort.signal()));
    let url = format!("{SERVER}/api/events?{query}&client={client}");
    let request = web_sys::Request::new_with_str_and_init(&url, &init).unwrap();
    let response: web_sys::Response =
        JsFuture::from(web_sys::window().unwrap().fetch_with_request(&request))
            .await
            .unwrap()
            .unchecked_into();
    let reader: web_sys::ReadableStreamDefaultReader =
        response.body().unwrap().get_reader().unchecked_into();
    // Read from the first byte on, while the stream is set up and the line injected.
    let reads = std::rc::Rc::new(std::cell::RefCell::new(Vec::<Vec<u8>>::new()));
    let sink = reads.clone();
    wasm_bindgen_futures::spawn_local(async move {
        while let Ok(chunk) = JsFuture::from(reader.read()).await {
            if js_sys::Reflect::get(&chunk, &"done".into())
                .ok()
                .and_then(|d| d.as_bool())
                != Some(false)
            {
                break;
            }
            let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) else {
                break;
            };
            sink.borrow_mut()
                .push(value.unchecked_into::<js_sys::Uint8Array>().to_vec());
        }
    });
    wait_stream_open(&client).await;
    inject(&client, "activity", activity(&tag("reads"), "info", text)).await;
    sleep(ms as u32).await;
    abort.abort();
    let reads = reads.borrow().clone();
    reads
}

#[wasm_bindgen_test]
async fn the_adversarial_splits_really_reach_the_browser() {
    // Pins that the chunking test above is not vacuous: the browser's reads really are one
    // byte, a CR apart from its LF, a UTF-8 character cut in two, a BOM cut in two.
    dispatch_mission(2).await;
    let reads = observe_reads("chunking=bytes", "x", 1_500.0).await;
    let total: usize = reads.iter().map(Vec::len).sum();
    let single = reads.iter().filter(|r| r.len() == 1).count();
    let mid_line = reads.iter().filter(|r| r.last() != Some(&b'\n')).count();
    // Chromium coalesces some of the server's one-byte frames (more of them on a busy machine:
    // 79 reads, 2 of one byte, with six busy loops on two cores), but many reads still split
    // the stream in the middle of its lines, some of them a single byte.
    assert!(
        reads.len() >= 40 && mid_line >= 20 && single >= 1,
        "{} reads, {total} bytes, {mid_line} ending mid-line, {single} single bytes",
        reads.len()
    );

    let reads = observe_reads("chunking=crlf&bom=1", "x", 1_000.0).await;
    assert_eq!(reads[0], [0xEF], "the BOM's first byte alone");
    assert!(
        reads
            .windows(2)
            .any(|w| w[0].ends_with(b"\r") && w[1].starts_with(b"\n")),
        "no read ended between CR and LF"
    );

    let reads = observe_reads("chunking=utf8", "héllo ✓ 🚀", 1_000.0).await;
    assert!(
        reads
            .iter()
            .any(|r| matches!(std::str::from_utf8(r), Err(e) if e.error_len().is_none())),
        "no read ended inside a UTF-8 character"
    );
}

#[wasm_bindgen_test]
async fn post_with_a_body_and_custom_headers() {
    // Pins: method, body and headers are sent on every attempt (here a POST stream), with the
    // `Accept: text/event-stream` of an SSE request; the resume id goes in `Last-Event-ID`.
    let s = mount(
        "fetch-post",
        fetch_options(
            FetchOptions::default()
                .method("POST")
                .body(r#"{"board":"ops"}"#)
                .header("X-Team", "ops"),
        ),
    );
    s.wait_connected().await;
    s.drop_and_reconnect().await;
    let log = attempt_log(&s.client).await;
    assert_eq!(log.len(), 2);
    for a in &log {
        assert_eq!(a["method"], "POST");
        assert_eq!(a["body"], r#"{"board":"ops"}"#);
        assert_eq!(a["x_headers"], json!({ "x-team": "ops" }), "{a}");
        assert_eq!(a["accept"], "text/event-stream", "{a}");
    }
    assert_eq!(log[0]["resume_via"], Value::Null, "{log:?}");
    assert_eq!(log[1]["resume_via"], "header", "{log:?}");
    s.unmount();
}

#[wasm_bindgen_test]
async fn an_oversized_event_is_reported_and_the_stream_goes_on() {
    // Pins the parser's bound: an event over max_event_bytes is dropped with a typed error and
    // the next event on the same connection is delivered.
    let s = mount(
        "fetch-huge",
        fetch_options(FetchOptions::default()).max_event_bytes(64 * 1024),
    );
    s.wait_connected().await;
    wait_stream_open(&s.client).await;
    let big = "x".repeat(200 * 1024);
    inject(&s.client, "activity", activity("huge", "info", &big)).await;
    inject(
        &s.client,
        "activity",
        activity("after-huge", "info", "still here"),
    )
    .await;
    wait_until("next event", 5_000, || {
        s.stream
            .activity
            .with_untracked(|a| a.iter().any(|l| l.id == "after-huge"))
    })
    .await;
    assert!(matches!(
        s.stream.last_error.get_untracked(),
        Some(StreamError::Stream(SseError::EventTooLarge {
            limit: 65_536,
            ..
        }))
    ));
    assert_eq!(s.stream.stats.get_untracked().connects, 1);
    s.unmount();
}

/// A fetch-transport hook, connected and open on the server once no mission is running (so
/// that no event moves its last event id but the ones a test injects).
async fn open_when_quiet(name: &str) -> Mounted {
    wait_server_quiet().await;
    let s = mount(name, fetch_options(FetchOptions::default()));
    s.wait_connected().await;
    wait_stream_open(&s.client).await;
    s
}

/// Writes `raw` bytes into the stream of `s`, then waits for its last event id to be `id`.
async fn inject_id(s: &Mounted, raw: &str, id: &str) {
    chaos("inject", json!({ "client": s.client, "raw": raw })).await;
    wait_until(id, 5_000, || {
        s.stream.stream.last_event_id.get_untracked().as_deref() == Some(id)
    })
    .await;
}

/// Drops the stream of `s` (its first connection) and returns the id its reconnect sent, once
/// that reconnect was answered 200.
async fn resumed_from(s: &Mounted) -> String {
    s.drop_and_reconnect().await;
    let log = attempt_log(&s.client).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[1]["status"], 200, "{log:?}");
    log[1]["last_event_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[wasm_bindgen_test]
async fn id_checkpoints_and_unlistened_events_move_the_resume_id() {
    // Pins the fetch transport's resume id against what the stream said: a block with only an
    // `id:` (a server's checkpoint) and an event of a name outside the protocol (reported as a
    // decode error) both move it, so a resume replays nothing before them. (An `id:` in a block
    // cut off by a drop never reaches the driver: the parser commits ids at blank lines, see
    // `sse.rs`.)
    let s = open_when_quiet("fetch-ids").await;
    inject_id(&s, "id: 900000001\n\n", "900000001").await;
    inject_id(
        &s,
        "event: nobody-listens\nid: 900000002\ndata: {}\n\n",
        "900000002",
    )
    .await;
    assert_eq!(resumed_from(&s).await, "900000002");
    let stats = s.stream.stats.get_untracked();
    assert_eq!((stats.resumes, stats.decode_errors), (1, 1));
    s.unmount();
}

#[wasm_bindgen_test]
async fn an_id_beyond_latin1_resumes_byte_for_byte() {
    // Pins: `Last-Event-ID` carries the id's UTF-8 bytes, as `EventSource` sends them. Given
    // as text, an id beyond Latin-1 made the browser refuse every later request, for good.
    let s = open_when_quiet("fetch-utf8-id").await;
    let id = "任务-7 ✓ é";
    inject_id(&s, &format!("id: {id}\n\n"), id).await;
    assert_eq!(resumed_from(&s).await, id);
    s.unmount();
}

#[wasm_bindgen_test]
async fn a_header_the_browser_refuses_is_reported_and_reconnect_tries_again() {
    // Pins: an invalid header value (here a line break) is a visible refusal, not "closed by
    // the app": `Closed { Refused }` with the browser's message, `InvalidUrl` in `last_error`,
    // no request sent, "Retry now" offered; once the header signal is fixed, reconnect()
    // connects.
    let headers = RwSignal::new(vec![("X-Note".to_string(), "line\nbreak".to_string())]);
    let s = mount(
        "fetch-bad-header",
        fetch_options(FetchOptions::default().headers(headers)),
    );
    wait_until("refused", 5_000, || s.status().is_closed()).await;
    let status = s.status();
    let ConnectionStatus::Closed {
        reason: CloseReason::Refused { message },
    } = &status
    else {
        panic!("{status:?}");
    };
    assert!(!message.is_empty());
    assert_eq!(status.label(), "Refused by browser");
    assert!(status.can_retry_now());
    assert!(matches!(
        s.stream.last_error.get_untracked(),
        Some(StreamError::InvalidUrl { .. })
    ));
    sleep(300).await;
    assert!(attempt_log(&s.client).await.is_empty());
    headers.set(vec![("X-Note".to_string(), "fine".to_string())]);
    s.stream.reconnect();
    s.wait_connected().await;
    assert_eq!(attempt_log(&s.client).await.len(), 1);
    s.unmount();
}

#[wasm_bindgen_test]
async fn closing_a_fetch_leaves_no_unhandled_rejection() {
    // Pins: stopping a fetch stream (close(), the server's `end`, unmount) aborts it and
    // leaves no rejected promise behind; error trackers report every unhandled rejection.
    use wasm_bindgen::{closure::Closure, JsCast};
    let seen = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let count = seen.clone();
    let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| count.set(count.get() + 1));
    let window = web_sys::window().unwrap();
    window
        .add_event_listener_with_callback("unhandledrejection", listener.as_ref().unchecked_ref())
        .unwrap();
    let s = mount("fetch-no-rejection", fetch_options(FetchOptions::default()));
    s.wait_connected().await;
    wait_stream_open(&s.client).await;
    s.stream.close();
    wait_no_open_streams(&s.client).await;
    s.stream.reconnect();
    s.wait_connected().await;
    wait_stream_open(&s.client).await;
    chaos("end", json!({ "client": s.client, "reason": "done" })).await;
    wait_until("ended", 5_000, || s.status().is_closed()).await;
    s.stream.reconnect();
    s.wait_connected().await;
    wait_stream_open(&s.client).await;
    let client = s.unmount();
    wait_no_open_streams(&client).await;
    sleep(500).await;
    window
        .remove_event_listener_with_callback(
            "unhandledrejection",
            listener.as_ref().unchecked_ref(),
        )
        .unwrap();
    assert_eq!(seen.get(), 0, "unhandled promise rejections");
}

#[wasm_bindgen_test]
async fn unmounting_aborts_the_request() {
    // Pins: cleanup aborts the fetch, so the server sees the stream close at once.
    let s = mount("fetch-abort", fetch_options(FetchOptions::default()));
    s.wait_connected().await;
    wait_stream_open(&s.client).await;
    let client = s.unmount();
    wait_no_open_streams(&client).await;
}

#[wasm_bindgen_test]
async fn close_aborts_and_reconnect_reopens() {
    let s = mount("fetch-close", fetch_options(FetchOptions::default()));
    s.wait_connected().await;
    wait_stream_open(&s.client).await;
    s.stream.close();
    wait_no_open_streams(&s.client).await;
    s.stream.reconnect();
    s.wait_connected().await;
    wait_stream_open(&s.client).await;
    s.unmount();
}
