//! Fault injection (`--chaos`), admission control and graceful shutdown.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use strug_dev_server::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn frozen() -> Config {
    Config {
        tick: Duration::from_secs(3600),
        ..config()
    }
}

/// Opens a global stream tagged `client` and consumes its snapshot.
async fn tagged(server: &Server, client: &str) -> Sse {
    let mut sse = connect(server, &format!("/api/events?client={client}"), &[]).await;
    assert_eq!(sse.event().await.event, "snapshot");
    sse
}

/// A raw global stream tagged `client`, read past its snapshot event.
async fn past_snapshot(server: &Server, client: &str) -> Raw {
    let mut raw = open_raw(server, &format!("/api/events?client={client}")).await;
    raw.read_until(b"event: snapshot").await;
    raw.read_until(b"\n\n").await;
    raw
}

#[tokio::test]
async fn outage_refuses_matching_clients_with_503_and_retry_after() {
    // Pins: an outage drops matching open streams, answers 503 + Retry-After + JSON to matching
    // new attempts only, counts them as rejected.outage, and lifts when the window ends.
    let server = start(frozen()).await;
    let mut a = tagged(&server, "a").await;
    let mut b = tagged(&server, "b").await;
    let (status, body) = server
        .post("/api/chaos/outage", json!({ "secs": 0.8, "client": "a" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ok"], true);
    assert_eq!(body["retry_after"], 1, "default is ceil(secs)");
    assert_eq!(body["dropped"], 1);
    assert!(matches!(a.until_stop(PATIENCE).await, Next::Failed(_)));
    assert!(matches!(
        b.next_within(Duration::from_millis(300)).await,
        Next::Timeout
    ));

    let resp = server
        .http
        .get(server.url("/api/events?client=a"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "1");
    let err: serde_json::Value = resp.json().await.unwrap();
    assert!(err["error"].as_str().unwrap().contains("outage"));
    let other = open(&server, "/api/events?client=b", &[]).await;
    assert_eq!(other.status, StatusCode::OK);
    let m = server.metrics().await;
    assert_eq!(m["rejected"]["outage"], 1);
    assert_eq!(m["attempt_log"][2]["outcome"], "outage");
    assert_eq!(m["attempt_log"][2]["client"], "a");

    let (_, body) = server
        .post("/api/chaos/outage", json!({ "secs": 30, "retry_after": 7 }))
        .await;
    assert_eq!(body["retry_after"], 7);
    let resp = server
        .http
        .get(server.url("/api/firehose?n=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "7");
    server.post("/api/chaos/heal", json!({})).await;
    let resp = server
        .http
        .get(server.url("/api/events?client=a"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn outage_window_expires_on_its_own() {
    // Pins: an outage ends after `secs` without a heal.
    let server = start(frozen()).await;
    server
        .post("/api/chaos/outage", json!({ "secs": 0.4 }))
        .await;
    let refused = open(&server, "/api/events", &[]).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::sleep(Duration::from_millis(600)).await;
    connect(&server, "/api/events", &[]).await;
    server.stop().await;
}

#[tokio::test]
async fn drop_closes_matching_streams_abruptly() {
    // Pins: drop ends matching streams at once (abrupt close), leaves others, and open_streams
    // follows.
    let server = start(frozen()).await;
    let mut x = tagged(&server, "x").await;
    let mut y = tagged(&server, "y").await;
    let (_, body) = server
        .post("/api/chaos/drop", json!({ "client": "x" }))
        .await;
    assert_eq!(body, json!({ "ok": true, "dropped": 1 }));
    assert!(matches!(x.until_stop(PATIENCE).await, Next::Failed(_)));
    assert!(matches!(
        y.next_within(Duration::from_millis(300)).await,
        Next::Timeout
    ));
    server
        .wait_metrics("one stream left", |m| m["open_streams"] == 1)
        .await;
    let (_, body) = server.post_raw("/api/chaos/drop", "").await;
    assert_eq!(body["dropped"], 1);
    assert!(matches!(y.until_stop(PATIENCE).await, Next::Failed(_)));
    server
        .wait_metrics("no streams", |m| m["open_streams"] == 0)
        .await;
    server.stop().await;
}

#[tokio::test]
async fn stall_silences_streams_then_delivers_what_was_held() {
    // Pins: during a stall matching streams (open and new) get nothing, not even heartbeats,
    // though new ones get 200 + headers; afterwards the held-back events arrive in order.
    let server = start(Config {
        heartbeat: Duration::from_millis(100),
        ..frozen()
    })
    .await;
    let mut open_one = tagged(&server, "s").await;
    let mut free = tagged(&server, "free").await;
    let (status, _) = server
        .post("/api/chaos/stall", json!({ "secs": 1.2, "client": "s" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let stalled_at = Instant::now();
    // Frames already in flight when the stall began may still land: discard them.
    let _ = open_one.until_stop(Duration::from_millis(150)).await;
    let mut fresh = open(&server, "/api/events?client=s", &[]).await;
    assert_eq!(fresh.status, StatusCode::OK);
    server.mission(1).await;
    assert!(matches!(
        open_one.next_within(Duration::from_millis(500)).await,
        Next::Timeout
    ));
    assert!(matches!(
        fresh.next_within(Duration::from_millis(200)).await,
        Next::Timeout
    ));
    // The unscoped stream keeps flowing: heartbeats and the mission.
    assert_eq!(free.data_event().await.event, "activity");

    let held = open_one.data_event().await;
    assert!(
        stalled_at.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        stalled_at.elapsed()
    );
    assert_eq!(
        held.event, "activity",
        "the mission's events come after the stall"
    );
    assert_eq!(fresh.event().await.event, "snapshot");
    server.stop().await;
}

#[tokio::test]
async fn heal_ends_a_stall_early() {
    // Pins: heal clears every fault at once, including a running stall and outage.
    let server = start(Config {
        heartbeat: Duration::from_millis(100),
        ..frozen()
    })
    .await;
    let mut sse = tagged(&server, "h").await;
    server.post("/api/chaos/stall", json!({ "secs": 60 })).await;
    server
        .post(
            "/api/chaos/outage",
            json!({ "secs": 60, "client": "other" }),
        )
        .await;
    let state = server.get_json("/api/chaos").await;
    assert_eq!(state["stalls"].as_array().unwrap().len(), 1);
    assert_eq!(state["outages"][0]["client"], "other");
    let _ = sse.until_stop(Duration::from_millis(300)).await;
    let (_, body) = server.post("/api/chaos/heal", json!({})).await;
    assert_eq!(body, json!({ "ok": true }));
    assert_eq!(sse.event().await.event, "heartbeat");
    let state = server.get_json("/api/chaos").await;
    assert_eq!(state["stalls"], json!([]));
    assert_eq!(state["outages"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn flap_accepts_new_streams_then_drops_them_after_after_ms() {
    // Pins: during a flap window matching new streams get 200 + snapshot, then are dropped about
    // after_ms later; streams opened before the window and other clients are untouched.
    let server = start(frozen()).await;
    let mut before = tagged(&server, "f").await;
    let (_, body) = server
        .post(
            "/api/chaos/flap",
            json!({ "secs": 5, "after_ms": 400, "client": "f" }),
        )
        .await;
    assert_eq!(body["after_ms"], 400);
    let opened = Instant::now();
    let mut flapping = tagged(&server, "f").await;
    let mut other = tagged(&server, "g").await;
    assert!(matches!(
        flapping.until_stop(PATIENCE).await,
        Next::Failed(_)
    ));
    let lived = opened.elapsed();
    assert!(
        lived >= Duration::from_millis(350) && lived < Duration::from_secs(3),
        "{lived:?}"
    );
    assert!(matches!(
        before.next_within(Duration::from_millis(200)).await,
        Next::Timeout
    ));
    assert!(matches!(
        other.next_within(Duration::from_millis(200)).await,
        Next::Timeout
    ));
    let m = server.metrics().await;
    assert_eq!(m["flapped"], 1);
    assert_eq!(m["attempt_log"][1]["outcome"], "flap");
    server.stop().await;
}

#[tokio::test]
async fn inject_writes_events_raw_bytes_and_large_payloads() {
    // Pins: inject encodes event/data/id as SSE (multi-line data, malformed JSON kept verbatim),
    // writes raw and base64 bytes (even non-UTF-8) untouched, carries 1 MiB+ events, respects
    // client scoping, and rejects unsafe fields and bad base64 with 400.
    let server = start(frozen()).await;
    let mut raw = past_snapshot(&server, "r").await;
    let mut parsed = tagged(&server, "p").await;

    let (_, body) = server
        .post(
            "/api/chaos/inject",
            json!({ "event": "task", "data": "{not json\nsecond", "id": "x1", "client": "r" }),
        )
        .await;
    assert_eq!(body["delivered"], 1);
    raw.read_until(b"id: x1\nevent: task\ndata: {not json\ndata: second\n\n")
        .await;

    let bytes: &[u8] = b"event: task\ndata: \xff\xfe broken\n\n";
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let (status, _) = server
        .post(
            "/api/chaos/inject",
            json!({ "raw_base64": encoded, "client": "r" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    raw.read_until(bytes).await;
    let (_, _) = server
        .post(
            "/api/chaos/inject",
            json!({ "raw": ": comment\n\n", "client": "r" }),
        )
        .await;
    raw.read_until(b": comment\n\n").await;

    let big = "y".repeat(1_200_000);
    let (status, body) = server
        .post(
            "/api/chaos/inject",
            json!({ "event": "activity", "data": big, "client": "p" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ev = parsed.event().await;
    assert_eq!(ev.event, "activity");
    assert_eq!(ev.data.len(), big.len());

    for bad in [
        json!({ "event": "a\nb", "data": "x" }),
        json!({ "event": "x", "id": "1\r2" }),
        json!({ "raw_base64": "***" }),
        json!({}),
    ] {
        let (status, body) = server.post("/api/chaos/inject", bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["error"].is_string());
    }
    let (status, _) = server
        .post("/api/chaos/inject", json!({ "event": 5 }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let too_big = json!({ "data": "z".repeat(5 * 1024 * 1024) });
    let (status, _) = server.post("/api/chaos/inject", too_big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    server.stop().await;
}

#[tokio::test]
async fn inject_can_trickle_a_frame_over_time_with_nothing_in_between() {
    // Pins trickle_secs: the frame is written in pieces over the time asked (a large event on a
    // slow link), heartbeats wait behind it; bad values are 400s.
    let server = start(Config {
        heartbeat: Duration::from_millis(100),
        ..frozen()
    })
    .await;
    let mut raw = past_snapshot(&server, "t").await;
    let event = format!("event: task\ndata: {}\n\n", "x".repeat(990));
    let started = tokio::time::Instant::now();
    let (status, body) = server
        .post(
            "/api/chaos/inject",
            json!({ "raw": event, "client": "t", "trickle_secs": 1.0 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    raw.buf.clear();
    raw.read_until(b"event: task").await;
    assert!(started.elapsed() < Duration::from_millis(500));
    raw.read_until(event.as_bytes()).await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    // Only heartbeats that had arrived before it, none inside it.
    let text = String::from_utf8_lossy(&raw.buf).into_owned();
    let at = text.find("event: task").unwrap();
    assert!(text[at..].starts_with(&event), "{text}");

    for bad in [0.0, -1.0, 61.0] {
        let (status, body) = server
            .post(
                "/api/chaos/inject",
                json!({ "raw": "x", "trickle_secs": bad }),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn inject_can_repeat_data_into_an_event_over_the_body_limit() {
    // Pins repeat: the event's data is `data` repeated, past the 4 MiB body limit (one `data:`
    // line of 8 MiB here); bad counts and totals over 256 MiB are 400s naming the field.
    let server = start(frozen()).await;
    let mut raw = past_snapshot(&server, "r").await;
    raw.buf.clear();
    let (status, body) = server
        .post(
            "/api/chaos/inject",
            json!({ "event": "task", "data": "ab", "repeat": 4 * 1024 * 1024, "client": "r" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = "ab".repeat(4 * 1024 * 1024);
    let event = format!("event: task\ndata: {data}\n\n");
    assert_eq!(body["bytes"], event.len(), "{body}");
    raw.read_until(event.as_bytes()).await;
    for bad in [
        json!({ "data": "x", "repeat": 0 }),
        json!({ "data": "xy", "repeat": 128 * 1024 * 1024 + 1 }),
        json!({ "data": "x", "repeat": u64::MAX }),
    ] {
        let (status, body) = server.post("/api/chaos/inject", bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body.to_string().contains("repeat"), "{body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn chaos_end_sends_end_then_closes_cleanly() {
    // Pins: chaos end writes `end` with the reason to matching global streams and closes them
    // cleanly; other clients stay open.
    let server = start(frozen()).await;
    let mut e = tagged(&server, "e").await;
    let mut k = tagged(&server, "k").await;
    let (_, body) = server
        .post("/api/chaos/end", json!({ "reason": "bye", "client": "e" }))
        .await;
    assert_eq!(body["ended"], 1);
    let ev = e.event().await;
    assert_eq!(ev.event, "end");
    assert_eq!(json(&ev), json!({ "reason": "bye" }));
    assert!(matches!(e.next_within(PATIENCE).await, Next::Closed));
    assert!(matches!(
        k.next_within(Duration::from_millis(200)).await,
        Next::Timeout
    ));
    server.stop().await;
}

#[tokio::test]
async fn bad_chaos_bodies_are_rejected_with_messages() {
    // Pins: invalid JSON is 400, wrong types 422, out-of-range numbers 400, all with "error".
    let server = start(frozen()).await;
    for (path, body, want) in [
        ("/api/chaos/outage", "{", StatusCode::BAD_REQUEST),
        (
            "/api/chaos/outage",
            "{\"secs\":\"x\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/chaos/outage",
            "{\"secs\":-1}",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/chaos/stall", "{}", StatusCode::UNPROCESSABLE_ENTITY),
        ("/api/chaos/stall", "{\"secs\":0}", StatusCode::BAD_REQUEST),
        (
            "/api/chaos/flap",
            "{\"secs\":1}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/chaos/refuse",
            "{\"secs\":1e9}",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/chaos/drop", "[]", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (status, resp) = server.post_raw(path, body).await;
        assert_eq!(status, want, "{path} {body}: {resp}");
        assert!(resp["error"].is_string(), "{resp}");
    }
    server.stop().await;
}

#[tokio::test]
async fn max_streams_refuses_with_503_and_retry_after() {
    // Pins: beyond --max-streams new streams get 503 + Retry-After, counted as
    // rejected.max_streams; closing one frees a slot.
    let server = start(Config {
        max_streams: Some(2),
        ..frozen()
    })
    .await;
    let a = tagged(&server, "m").await;
    let _b = tagged(&server, "m").await;
    let refused = open(&server, "/api/events", &[]).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers["retry-after"], "1");
    let m = server.metrics().await;
    assert_eq!(m["rejected"]["max_streams"], 1);
    assert_eq!(m["attempts_total"], 3);
    drop(a);
    server
        .wait_metrics("a slot frees", |m| m["open_streams"] == 1)
        .await;
    connect(&server, "/api/events", &[]).await;
    server.stop().await;
}

#[tokio::test]
async fn refuse_closes_the_port_then_listens_again() {
    // Pins: refuse drops open streams, makes new TCP connections fail for `secs`, then the
    // same port accepts again.
    let server = start(frozen()).await;
    let mut sse = tagged(&server, "z").await;
    let (status, body) = server
        .post("/api/chaos/refuse", json!({ "secs": 1.0 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["dropped"], 1);
    assert!(matches!(sse.until_stop(PATIENCE).await, Next::Failed(_)));
    let refused_at = Instant::now();
    let err = tokio::net::TcpStream::connect(server.addr).await;
    assert!(err.is_err(), "connection should be refused");
    loop {
        if tokio::net::TcpStream::connect(server.addr).await.is_ok() {
            break;
        }
        assert!(refused_at.elapsed() < PATIENCE, "port never reopened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        refused_at.elapsed() >= Duration::from_millis(700),
        "{:?}",
        refused_at.elapsed()
    );
    connect(&server, "/api/events", &[]).await;
    server.stop().await;
}

#[tokio::test]
async fn in_process_shutdown_ends_streams_cleanly() {
    // Pins: serve's shutdown ends open streams with a clean close and no `end` event.
    let server = start(frozen()).await;
    let mut sse = tagged(&server, "q").await;
    let stopped = Instant::now();
    server.stop().await;
    assert!(matches!(sse.next_within(PATIENCE).await, Next::Closed));
    assert!(stopped.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn binary_exits_zero_on_sigint_and_closes_streams() {
    // Pins: the real binary prints the listening line for --port 0, and on SIGINT closes open
    // streams cleanly (no `end`) and exits 0 within about a second.
    exits_zero_on_signal_and_closes_streams(libc::SIGINT).await;
}

#[tokio::test]
async fn binary_exits_zero_on_sigterm_and_closes_streams() {
    // Pins the same for SIGTERM (what supervisors, `kill` and container runtimes send;
    // docs/protocol.md: "On SIGINT or SIGTERM it stops accepting, ends open streams cleanly
    // ... and exits 0, within about a second"). Without a SIGTERM handler the process would
    // die by the signal: no clean end of the chunked body, and no exit status 0.
    exits_zero_on_signal_and_closes_streams(libc::SIGTERM).await;
}

/// Starts the real binary, opens a stream, sends `signal` and asserts the graceful shutdown:
/// the stream's body ends cleanly without an `end` event, and the process exits 0 within 2 s.
async fn exits_zero_on_signal_and_closes_streams(signal: libc::c_int) {
    let (mut child, base) = spawn_binary(&["--seed", "1", "--tick-ms", "50"]).await;
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let resp = reqwest::get(format!("{base}/api/events")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.bytes_stream();
    use futures_util::StreamExt;
    let first = body.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"id: "), "{first:?}");

    let signalled = Instant::now();
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(rc, 0);
    let mut rest = Vec::new();
    loop {
        match tokio::time::timeout(PATIENCE, body.next()).await {
            Ok(Some(Ok(chunk))) => rest.extend_from_slice(&chunk),
            Ok(None) => break,
            other => panic!("stream did not close cleanly on signal {signal}: {other:?}"),
        }
    }
    assert!(!contains(&rest, b"event: end"), "no end event on shutdown");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "signal {signal}: {status:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(2),
        "{:?}",
        signalled.elapsed()
    );
}

/// Pins: a paced firehose whose client leaves ends at once, between batches too (it slept up to
/// 256 s at `rate=1`, holding an `open_streams` slot that counts against `--max-streams`).
#[tokio::test]
async fn paced_firehose_is_closed_when_the_client_disconnects() {
    let server = start(frozen()).await;
    let resp = server
        .http
        .get(server.url("/api/firehose?n=100000&rate=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(contains(&first, b"id: 1\n"));
    drop(body);
    server
        .wait_metrics(
            "open_streams back to 0 after the firehose client left",
            |m| m["open_streams"] == 0,
        )
        .await;
    server.stop().await;
}

/// A raw connection to `path` with a tiny receive buffer that reads the response head and
/// then never reads again.
async fn non_reading_client(server: &Server, path: &str) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut conn = sock.connect(server.addr).await.unwrap();
    conn.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = [0u8; 512];
    let n = conn.read(&mut head).await.unwrap();
    assert!(
        head[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&head[..n])
    );
    conn
}

/// Pins docs/protocol.md: "a live stream that falls more than 8192 events behind (a client
/// that does not read, ...) is closed ... counted in metrics `lagged`", also while its writer
/// is blocked on the full socket (it used to wait there for ever, the lag unnoticed).
#[tokio::test]
async fn a_client_that_does_not_read_is_closed_as_lagged() {
    let server = start(frozen()).await;
    let _conn = non_reading_client(&server, "/api/events?client=slow").await;
    // 100 x 501 = 50 100 events: the socket buffers take a few MB (~16 000 events), the rest
    // (~34 000) is far more than the 8192-event ring.
    for _ in 0..100 {
        server.mission(500).await;
    }
    server
        .wait_metrics("the non-reading stream closed as lagged", |m| {
            m["lagged"] == 1 && m["open_streams"] == 0
        })
        .await;
    server.stop().await;
}

/// Pins: a drop reaches a stream whose writer is blocked on a client that stopped reading (the
/// drop used to sit unread in the control channel while `dropped: 1` was answered).
#[tokio::test]
async fn drop_closes_a_stream_whose_client_is_not_reading() {
    let server = start(frozen()).await;
    let _conn = non_reading_client(&server, "/api/events?client=slow").await;
    // Fill the socket buffers and the body channel with injected 1 MiB events.
    let big = "x".repeat(1 << 20);
    for _ in 0..24 {
        let (status, _) = server
            .post("/api/chaos/inject", json!({"event": "big", "data": big}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body) = server.post("/api/chaos/drop", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["dropped"], 1);
    server
        .wait_metrics("the dropped stream gone", |m| m["open_streams"] == 0)
        .await;
    server.stop().await;
}

/// Pins: the attempt log cuts `client` tags and paths like every other field (10,000 attempts
/// of ~64 KiB URIs kept ~650 MB alive).
#[tokio::test]
async fn attempt_log_does_not_keep_oversized_client_tags_or_paths() {
    let server = start(frozen()).await;
    let long = "a".repeat(60_000);
    let resp = server
        .http
        .get(server.url(&format!("/api/events?client={long}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = server
        .http
        .get(server.url(&format!("/api/missions/{long}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let m = server.metrics().await;
    let log = m["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    let client = log[0]["client"].as_str().unwrap_or("");
    let path = log[1]["path"].as_str().unwrap_or("");
    assert!(
        client.chars().count() <= 65 && path.len() <= 256,
        "client kept: {} chars, path kept: {} bytes",
        client.len(),
        path.len()
    );
    server.stop().await;
}
