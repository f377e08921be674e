//! Wire protocol: framing, ids, snapshots, resume, missions, firehose, state, metrics, CORS.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use task_stream_protocol::{event_names, TaskEvent};

/// Frozen simulator: only explicit missions create events, so the log is fully predictable.
fn frozen() -> strug_dev_server::Config {
    strug_dev_server::Config {
        tick: Duration::from_secs(3600),
        ..config()
    }
}

#[tokio::test]
async fn stream_has_sse_headers_snapshot_first_and_increasing_ids() {
    // Pins: response headers, `snapshot` first with id = head, protocol names, decodable
    // payloads and strictly increasing ids.
    let server = start(config()).await;
    let head = server.get_json("/api/state").await["last_event_id"]
        .as_u64()
        .unwrap();
    let mut sse = connect(&server, "/api/events", &[]).await;
    assert_eq!(sse.headers["content-type"], "text/event-stream");
    assert_eq!(sse.headers["cache-control"], "no-cache");
    assert_eq!(sse.headers["x-accel-buffering"], "no");
    let first = sse.event().await;
    assert_eq!(first.event, "snapshot");
    assert_eq!(id_of(&first), head);
    assert_eq!(json(&first), json!({ "tasks": [] }));

    server.mission(5).await;
    let mut last = head;
    for _ in 0..30 {
        let ev = sse.data_event().await;
        assert!(event_names::ALL.contains(&ev.event.as_str()), "{ev:?}");
        TaskEvent::decode(&ev.event, &ev.data).unwrap_or_else(|e| panic!("{e}: {ev:?}"));
        let id = id_of(&ev);
        assert_eq!(id, last + 1, "ids are contiguous and increasing");
        last = id;
    }
    server.stop().await;
}

#[tokio::test]
async fn sequence_starts_at_process_start_time_in_micro_units() {
    // Pins: the first id is unix_ms * 1000, so ids from a previous process are always older.
    let before = strug_dev_server::clock::unix_ms() * 1000;
    let server = start(config()).await;
    let head = server.get_json("/api/state").await["last_event_id"]
        .as_u64()
        .unwrap();
    let after = strug_dev_server::clock::unix_ms() * 1000;
    assert!(
        before <= head && head <= after,
        "{before} <= {head} <= {after}"
    );
    server.stop().await;
}

#[tokio::test]
async fn heartbeat_is_a_named_event_without_id() {
    // Pins: `heartbeat` arrives at the configured interval, named, with `at`, and no `id:` line.
    let server = start(strug_dev_server::Config {
        heartbeat: Duration::from_millis(200),
        ..frozen()
    })
    .await;
    let mut raw = open_raw(&server, "/api/events").await;
    raw.read_until(b"event: heartbeat\n").await;
    raw.read_until(b"\n\n").await;
    let text = String::from_utf8(raw.buf.clone()).unwrap();
    let frame = text
        .split("\n\n")
        .find(|f| f.contains("event: heartbeat"))
        .unwrap();
    assert!(!frame.contains("id:"), "{frame}");
    let data = frame.strip_prefix("event: heartbeat\ndata: ").unwrap();
    let hb: Value = serde_json::from_str(data).unwrap();
    assert!(hb["at"].as_str().unwrap().contains('T'));
    server.stop().await;
}

/// Reads `n` non-heartbeat events as (id, name, data).
async fn take(sse: &mut Sse, n: usize) -> Vec<(u64, String, String)> {
    let mut out = Vec::new();
    while out.len() < n {
        let ev = sse.data_event().await;
        out.push((id_of(&ev), ev.event.clone(), ev.data.clone()));
    }
    out
}

#[tokio::test]
async fn resume_by_header_or_query_replays_exactly_the_rest() {
    // Pins: Last-Event-ID (header, query, header winning over a garbage query) replays exactly
    // the events after it, no snapshot, no gap, no duplicate, then continues live.
    let server = start(config()).await;
    let mut reference = connect(&server, "/api/events", &[]).await;
    assert_eq!(reference.event().await.event, "snapshot");
    server.mission(30).await;
    let seen = take(&mut reference, 5).await;
    let k = seen[4].0;
    // Everything the reference stream sees after k, far enough to cover replay + live.
    let rest = take(&mut reference, 40).await;

    let header = k.to_string();
    let query = format!("/api/events?lastEventId={k}");
    let both = "/api/events?lastEventId=garbage".to_owned();
    for (path, headers) in [
        ("/api/events", vec![("last-event-id", header.as_str())]),
        (query.as_str(), vec![]),
        (both.as_str(), vec![("last-event-id", header.as_str())]),
    ] {
        let mut resumed = connect(&server, path, &headers).await;
        let got = take(&mut resumed, rest.len()).await;
        assert_eq!(got, rest, "resume via {path} {headers:?}");
    }
    let m = server.metrics().await;
    assert_eq!(m["resumes"], 3);
    assert_eq!(m["snapshots"], 1);
    server.stop().await;
}

#[tokio::test]
async fn resume_at_head_sends_nothing_but_live_events() {
    // Pins: resuming with the current head replays nothing and sends no snapshot.
    let server = start(frozen()).await;
    server.mission(2).await;
    let head = server.get_json("/api/state").await["last_event_id"]
        .as_u64()
        .unwrap();
    let mut sse = connect(&server, &format!("/api/events?lastEventId={head}"), &[]).await;
    assert!(matches!(
        sse.next_within(Duration::from_millis(300)).await,
        Next::Timeout
    ));
    server.mission(1).await;
    let ev = sse.data_event().await;
    assert_eq!(id_of(&ev), head + 1);
    assert_eq!(ev.event, "activity");
    server.stop().await;
}

#[tokio::test]
async fn unusable_resume_ids_get_a_fresh_snapshot() {
    // Pins: ids older than the log, beyond head, or unparsable fall back to a snapshot carrying
    // the head id; the oldest resumable id (oldest - 1) still replays.
    let server = start(strug_dev_server::Config {
        log_capacity: 5,
        ..frozen()
    })
    .await;
    let start_head = server.get_json("/api/state").await["last_event_id"]
        .as_u64()
        .unwrap();
    server.mission(9).await; // 1 activity + 9 tasks: the log keeps only the last 5.
    let state = server.get_json("/api/state").await;
    let head = state["last_event_id"].as_u64().unwrap();
    assert_eq!(head, start_head + 10);

    let too_old = (head - 6).to_string();
    let future = (head + 1).to_string();
    for token in [
        too_old.as_str(),
        future.as_str(),
        "garbage",
        "-1",
        "1e9",
        "18446744073709551616",
    ] {
        let mut sse = connect(&server, "/api/events", &[("last-event-id", token)]).await;
        let ev = sse.event().await;
        assert_eq!(ev.event, "snapshot", "token {token}");
        assert_eq!(id_of(&ev), head);
        assert_eq!(json(&ev)["tasks"], state["tasks"]);
    }
    let oldest = (head - 5).to_string();
    let mut sse = connect(
        &server,
        "/api/events",
        &[("last-event-id", oldest.as_str())],
    )
    .await;
    let replay = take(&mut sse, 5).await;
    let ids: Vec<u64> = replay.iter().map(|e| e.0).collect();
    assert_eq!(ids, (head - 4..=head).collect::<Vec<_>>());
    assert!(replay.iter().all(|e| e.1 == "task"));
    server.stop().await;
}

#[tokio::test]
async fn mission_stream_is_filtered_and_ends_when_complete() {
    // Pins: the mission stream carries only that mission's events, sends `end` {"reason":
    // "mission complete"} after its last task finishes, then the body closes cleanly; a
    // later connection gets snapshot + end at once.
    let server = start(config()).await;
    let other = server.mission(3).await;
    let m = server.mission(6).await;
    let path = format!("/api/missions/{m}/events");
    let mut sse = connect(&server, &path, &[]).await;
    let snap = sse.event().await;
    assert_eq!(snap.event, "snapshot");
    let tasks = json(&snap)["tasks"].as_array().unwrap().clone();
    assert_eq!(tasks.len(), 6);
    let prefix = format!("{m}-");
    let mut finished = BTreeMap::new();
    loop {
        let ev = sse.data_event().await;
        let data = json(&ev);
        match ev.event.as_str() {
            "task" => {
                let id = data["id"].as_str().unwrap();
                assert!(id.starts_with(&prefix), "{id} leaked into {m}");
                let status = data["status"].as_str().unwrap().to_owned();
                finished.insert(id.to_owned(), status);
            }
            "activity" => {
                // Planner lines have no task; every other line is about one of this mission's.
                if let Some(task) = data["task_id"].as_str() {
                    assert!(task.starts_with(&prefix), "{task} leaked into {m}");
                    assert!(!task.starts_with(&format!("{other}-")));
                }
            }
            "end" => {
                assert_eq!(data, json!({ "reason": "mission complete" }));
                break;
            }
            name => panic!("unexpected {name}"),
        }
    }
    assert_eq!(finished.len(), 6);
    assert!(
        finished.values().all(|s| s == "done" || s == "failed"),
        "{finished:?}"
    );
    assert!(matches!(sse.next_within(PATIENCE).await, Next::Closed));

    let mut again = connect(&server, &path, &[]).await;
    let snap = again.event().await;
    assert_eq!(snap.event, "snapshot");
    assert_eq!(json(&snap)["tasks"].as_array().unwrap().len(), 6);
    assert_eq!(again.event().await.event, "end");
    assert!(matches!(again.next_within(PATIENCE).await, Next::Closed));
    server.stop().await;
}

#[tokio::test]
async fn mission_stream_resumes_with_filtering() {
    // Pins: a mission stream resumed from an id replays only that mission's later events.
    let server = start(frozen()).await;
    let a = server.mission(2).await;
    let head = server.get_json("/api/state").await["last_event_id"]
        .as_u64()
        .unwrap();
    server.mission(2).await;
    server.mission(2).await;
    let mut sse = connect(
        &server,
        &format!("/api/missions/{a}/events?lastEventId={}", head - 3),
        &[],
    )
    .await;
    // a's events are ids head-2 (planner activity), head-1 and head (tasks); b's and the third
    // mission's follow and must be filtered out.
    let got = take(&mut sse, 3).await;
    assert_eq!(
        got.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![head - 2, head - 1, head]
    );
    assert_eq!(got[0].1, "activity");
    assert!(matches!(
        sse.next_within(Duration::from_millis(300)).await,
        Next::Timeout
    ));
    server.stop().await;
}

#[tokio::test]
async fn unknown_mission_is_a_json_404() {
    // Pins: unknown mission ids (including hostile ones) get 404 with a JSON error.
    let server = start(frozen()).await;
    for path in [
        "/api/missions/m999/events",
        "/api/missions/%00%E2%9C%93%20x/events",
    ] {
        let resp = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let body: Value = resp.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("unknown mission"));
    }
    let m = server.metrics().await;
    assert_eq!(m["rejected"]["not_found"], 2);
    server.stop().await;
}

#[tokio::test]
async fn mission_bodies_are_validated_with_messages() {
    // Pins: POST /api/missions answers 201 with ids for 1..=500 tasks and 400 {"error"} for
    // anything else; oversized bodies get 413.
    let server = start(frozen()).await;
    let (status, body) = server.post("/api/missions", json!({ "tasks": 3 })).await;
    assert_eq!(status, StatusCode::CREATED);
    let m = body["mission_id"].as_str().unwrap();
    assert_eq!(
        body["task_ids"],
        json!([format!("{m}-t1"), format!("{m}-t2"), format!("{m}-t3")])
    );
    let (status, _) = server.post("/api/missions", json!({ "tasks": 500 })).await;
    assert_eq!(status, StatusCode::CREATED);
    for bad in [
        "{\"tasks\":0}",
        "{\"tasks\":501}",
        "{\"tasks\":-1}",
        "{\"tasks\":2.5}",
        "{\"tasks\":\"3\"}",
        "{}",
        "",
        "{not json",
        "[1]",
    ] {
        let (status, body) = server.post_raw("/api/missions", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{bad}: {body}"
        );
    }
    let huge = format!("{{\"tasks\":1,\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let (status, _) = server.post_raw("/api/missions", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    server.stop().await;
}

#[tokio::test]
async fn firehose_streams_n_tasks_with_ids_1_to_n_then_end() {
    // Pins: firehose count, ids 1..=n, cycling task ids f-0..f-999 with increasing versions,
    // final `end`; n out of range is 400.
    let server = start(frozen()).await;
    let n = 2500u64;
    let mut sse = connect(&server, &format!("/api/firehose?n={n}"), &[]).await;
    let mut versions = BTreeMap::new();
    for i in 1..=n {
        let ev = sse.event().await;
        assert_eq!(ev.event, "task");
        assert_eq!(id_of(&ev), i);
        let t = json(&ev);
        assert_eq!(t["id"], format!("f-{}", (i - 1) % 1000));
        let v = t["version"].as_u64().unwrap();
        let prev = versions.insert(t["id"].as_str().unwrap().to_owned(), v);
        assert!(prev.is_none_or(|p| p < v));
    }
    let end = sse.event().await;
    assert_eq!(end.event, "end");
    assert!(matches!(sse.next_within(PATIENCE).await, Next::Closed));
    for bad in ["0", "1000001", "abc", "-5"] {
        let resp = server
            .http
            .get(server.url(&format!("/api/firehose?n={bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "n={bad}");
    }
    server.stop().await;
}

#[tokio::test]
async fn state_agrees_with_the_stream_applied_state() {
    // Pins: applying snapshot + task/task_removed events yields exactly /api/state.
    let server = start(strug_dev_server::Config {
        retain: Duration::from_millis(300),
        ..config()
    })
    .await;
    let mut sse = connect(&server, "/api/events", &[]).await;
    let snap = sse.event().await;
    let mut board: BTreeMap<String, Value> = BTreeMap::new();
    for t in json(&snap)["tasks"].as_array().unwrap() {
        board.insert(t["id"].as_str().unwrap().to_owned(), t.clone());
    }
    let kept = server.mission(4).await;
    // Removed 300 ms after completion, exercising task_removed.
    let m = server.mission(3).await;
    let mut removed = 0;
    let mut end = connect(&server, &format!("/api/missions/{kept}/events"), &[]).await;
    assert!(matches!(end.until_stop(PATIENCE).await, Next::Closed));
    let mut last = 0;
    while removed < 7 {
        let ev = sse.data_event().await;
        last = id_of(&ev);
        let data = json(&ev);
        match ev.event.as_str() {
            "task" => {
                board.insert(data["id"].as_str().unwrap().to_owned(), data);
            }
            "task_removed" => {
                removed += 1;
                board.remove(data["id"].as_str().unwrap());
            }
            _ => {}
        }
    }
    let state = server.get_json("/api/state").await;
    assert_eq!(
        state["last_event_id"], last,
        "the simulator is quiet once both missions are gone"
    );
    let tasks: Vec<Value> = board.into_values().collect();
    assert_eq!(state["tasks"], Value::Array(tasks));
    assert!(
        state["tasks"].as_array().unwrap().is_empty(),
        "{m} and {kept} were both removed"
    );
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_attempts_outcomes_and_open_streams() {
    // Pins: attempts_total/accepted/rejected/resumes/snapshots, buckets, attempt_log entries
    // with client filtering, open_streams(_client) returning to 0 after clients disconnect,
    // and reset.
    let server = start(frozen()).await;
    let a = connect(&server, "/api/events?client=alpha", &[]).await;
    let b = connect(
        &server,
        "/api/events?client=alpha",
        &[("last-event-id", "7")],
    )
    .await;
    let c = connect(&server, "/api/events?client=beta", &[]).await;
    let long = "x".repeat(65);
    let resp = server
        .http
        .get(server.url(&format!("/api/events?client={long}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let m = server.get_json("/api/metrics?client=alpha").await;
    assert_eq!(m["attempts_total"], 4);
    assert_eq!(m["accepted"], 3);
    assert_eq!(m["rejected"]["bad_request"], 1);
    assert_eq!(m["rejected"]["outage"], 0);
    assert_eq!(m["snapshots"], 3, "id 7 is far older than the log");
    assert_eq!(m["open_streams"], 3);
    assert_eq!(m["open_streams_client"], 2);
    let log = m["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["path"], "/api/events");
    assert_eq!(log[0]["client"], "alpha");
    assert_eq!(log[0]["last_event_id"], Value::Null);
    assert_eq!(log[1]["last_event_id"], "7");
    assert_eq!(log[1]["outcome"], "accepted");
    assert!(log[0]["at_ms"].as_u64().unwrap() > 1_600_000_000_000);
    let buckets = m["buckets"].as_array().unwrap();
    let total: u64 = buckets
        .iter()
        .map(|b| b["attempts"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 4);
    assert!(buckets
        .iter()
        .all(|b| b["start_ms"].as_u64().unwrap() % 100 == 0));
    assert!(m["events_sent"].as_u64().unwrap() >= 3);

    drop((a, b, c));
    server
        .wait_metrics("open_streams back to 0", |m| m["open_streams"] == 0)
        .await;
    let (status, _) = server.post("/api/metrics/reset", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let m = server.metrics().await;
    assert_eq!(m["attempts_total"], 0);
    assert_eq!(m["attempt_log"], json!([]));
    assert_eq!(m["events_sent"], 0);
    server.stop().await;
}

#[tokio::test]
async fn cors_reflects_local_origins_and_configured_ones_only() {
    // Pins: local origins (any port) and --allow-origin are reflected with credentials and
    // Vary: Origin; foreign origins get no CORS headers; preflights allow JSON POSTs and the
    // Authorization / Last-Event-ID headers.
    let server = start(strug_dev_server::Config {
        allow_origins: vec!["https://app.example".into()],
        ..frozen()
    })
    .await;
    for origin in [
        "http://127.0.0.1:5173",
        "http://localhost:3000",
        "https://app.example",
    ] {
        let resp = server
            .http
            .get(server.url("/api/events"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        let h = resp.headers();
        assert_eq!(h["access-control-allow-origin"], origin);
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert!(h["vary"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("origin"));
    }
    for origin in [
        "http://evil.example",
        "http://127.0.0.1.evil.example",
        "null",
    ] {
        let resp = server
            .http
            .get(server.url("/api/state"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert!(
            resp.headers().get("access-control-allow-origin").is_none(),
            "{origin}"
        );
    }
    for (path, method, headers) in [
        ("/api/missions", "POST", "content-type,authorization"),
        ("/api/events", "GET", "last-event-id,authorization"),
    ] {
        let resp = server
            .http
            .request(reqwest::Method::OPTIONS, server.url(path))
            .header("origin", "http://127.0.0.1:9999")
            .header("access-control-request-method", method)
            .header("access-control-request-headers", headers)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        let h = resp.headers();
        assert_eq!(h["access-control-allow-origin"], "http://127.0.0.1:9999");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert!(h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains(method));
        let allowed = h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        for name in headers.split(',') {
            assert!(allowed.contains(name), "{allowed} lacks {name}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn chaos_endpoints_are_404_without_the_flag() {
    // Pins docs/protocol.md "Without `--chaos` every `/api/chaos*` path answers 404", for every
    // chaos endpoint it lists (drop, outage, refuse, stall, flap, reject, inject, end, heal,
    // restart and `GET /api/chaos`) and both methods: each gets the JSON 404 even with a body
    // that would be valid with --chaos, and none of them takes effect (a stream still opens
    // and stays open, nothing is rejected).
    let server = start(strug_dev_server::Config {
        chaos: false,
        ..frozen()
    })
    .await;
    let endpoints = [
        ("/api/chaos/drop", json!({})),
        ("/api/chaos/outage", json!({ "secs": 60 })),
        ("/api/chaos/refuse", json!({ "secs": 60 })),
        ("/api/chaos/stall", json!({ "secs": 60 })),
        ("/api/chaos/flap", json!({ "secs": 60, "after_ms": 1 })),
        (
            "/api/chaos/reject",
            json!({ "status": 503, "secs": 60, "drop": true }),
        ),
        (
            "/api/chaos/inject",
            json!({ "event": "task", "data": "{not json" }),
        ),
        ("/api/chaos/end", json!({ "reason": "bye" })),
        ("/api/chaos/heal", json!({})),
        ("/api/chaos/restart", json!({})),
        ("/api/chaos", json!({})),
        ("/api/chaos/unknown", json!({})),
    ];
    let mut open_stream = connect(&server, "/api/events", &[]).await;
    assert_eq!(open_stream.event().await.event, "snapshot");
    for (path, body) in &endpoints {
        let (status, answer) = server.post(path, body.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "POST {path}");
        assert_eq!(answer["error"], "not found", "POST {path}");
        let resp = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "GET {path}");
        let answer: Value = resp.json().await.unwrap();
        assert_eq!(answer["error"], "not found", "GET {path}");
    }
    // Nothing was dropped, ended, stalled or injected, and new streams are still served.
    assert!(matches!(
        open_stream.next_within(Duration::from_millis(300)).await,
        Next::Timeout
    ));
    let mut fresh = connect(&server, "/api/events", &[]).await;
    assert_eq!(fresh.event().await.event, "snapshot");
    let m = server.metrics().await;
    assert!(
        m["rejected"].as_object().unwrap().values().all(|n| n == 0),
        "{m}"
    );
    assert_eq!(m["flapped"], 0);
    assert_eq!(m["open_streams"], 2);
    server.stop().await;
}
