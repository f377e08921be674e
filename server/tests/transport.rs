//! What the fetch-based client transport's tests need from the server: bearer-token streams
//! (401/403), injected HTTP answers (`/api/chaos/reject`), the `retry:` hint, adversarial
//! chunkings (`?chunking=bytes|crlf|utf8`, `?bom=1`), POST streams and the metrics fields that
//! record all of it.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use eventsource_stream::{Event, Eventsource};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use strug_dev_server::Config;

fn frozen() -> Config {
    Config {
        tick: Duration::from_secs(3600),
        ..config()
    }
}

async fn token(server: &Server, body: Value) -> String {
    let (status, body) = server.post("/api/auth/token", body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn get(server: &Server, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = server.http.get(server.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// Reads body frames (as the client's HTTP stack delivers them) until `done` holds for the
/// bytes so far.
async fn chunks_until(resp: &mut reqwest::Response, done: impl Fn(&[u8]) -> bool) -> Vec<Bytes> {
    let mut chunks = Vec::new();
    let mut all = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done(&all) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, resp.chunk()).await {
            Ok(Ok(Some(c))) => {
                all.extend_from_slice(&c);
                chunks.push(c);
            }
            other => panic!(
                "stream stopped early ({other:?}) after {:?}",
                String::from_utf8_lossy(&all)
            ),
        }
    }
    chunks
}

fn concat(chunks: &[Bytes]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.iter().copied()).collect()
}

/// Parses a complete SSE body (one chunk, so no client-side split can matter).
async fn parse(body: Vec<u8>) -> Vec<Event> {
    futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(body))])
        .eventsource()
        .map(|r| r.unwrap())
        .collect()
        .await
}

/// `true` once `buf` holds one complete event with this `event:` name (any line endings).
fn has_event(buf: &[u8], name: &str) -> bool {
    let text = String::from_utf8_lossy(buf).replace("\r\n", "\n");
    text.find(&format!("event: {name}\n"))
        .is_some_and(|i| text[i..].contains("\n\n"))
}

/// The plain stream's first frame (the snapshot), exactly as sent.
async fn plain_snapshot(server: &Server) -> Vec<u8> {
    let mut raw = open_raw(server, "/api/events").await;
    raw.read_until(b"\n\n").await;
    let end = raw.buf.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    raw.buf[..end].to_vec()
}

// ---------------------------------------------------------------------------------------------
// Bearer tokens

#[tokio::test]
async fn bearer_streams_answer_401_403_or_stream() {
    // Pins: ?auth=bearer requires `Authorization: Bearer <token>`: none or malformed → 401 +
    // `WWW-Authenticate: Bearer`; unknown → 401 + invalid_token; scope none → 403; a read
    // token streams on all three endpoints; without ?auth=bearer the header is ignored; the
    // outcomes, statuses and presented tokens are recorded.
    let server = start(frozen()).await;
    let read = token(&server, json!({ "client": "me" })).await;
    let (prefix, hex) = read.rsplit_once('-').unwrap();
    assert!(
        prefix.starts_with("tok-") && prefix[4..].parse::<u64>().is_ok(),
        "{read}"
    );
    assert!(
        hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{read}"
    );
    let (status, body) = server.post_raw("/api/auth/token", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(body["token"], read.as_str(), "tokens are unique");
    let none = token(&server, json!({ "scope": "none" })).await;

    for headers in [
        vec![],
        vec![("authorization", "Basic abc")],
        vec![("authorization", "Bearer")],
    ] {
        let resp = get(&server, "/api/events?auth=bearer&client=a", &headers).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body, json!({ "error": "missing bearer token" }));
    }
    let resp = get(
        &server,
        "/api/events?auth=bearer&client=a",
        &[("authorization", "Bearer tok-999-0000000000000000")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({ "error": "invalid or revoked token" }));

    let bearer_none = format!("Bearer {none}");
    let resp = get(
        &server,
        "/api/events?auth=bearer&client=a",
        &[("authorization", &bearer_none)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({ "error": "token lacks the read scope" }));

    let bearer_read = format!("Bearer {read}");
    let auth = [("authorization", bearer_read.as_str())];
    let mut sse = connect(&server, "/api/events?auth=bearer&client=a", &auth).await;
    assert_eq!(sse.event().await.event, "snapshot");
    let mission = server.mission(2).await;
    let mut m = connect(
        &server,
        &format!("/api/missions/{mission}/events?auth=bearer"),
        &auth,
    )
    .await;
    assert_eq!(m.event().await.event, "snapshot");
    let fire = get(&server, "/api/firehose?n=2&auth=bearer", &auth).await;
    assert_eq!(fire.status(), StatusCode::OK);
    assert!(fire.text().await.unwrap().contains("event: end"));
    let fire = get(&server, "/api/firehose?n=2&auth=bearer", &[]).await;
    assert_eq!(fire.status(), StatusCode::UNAUTHORIZED);
    // Without ?auth=bearer a bad header changes nothing.
    connect(
        &server,
        "/api/events?client=b",
        &[("authorization", "Bearer nonsense")],
    )
    .await;

    let m = server.get_json("/api/metrics?client=a").await;
    assert_eq!(m["rejected"]["unauthorized"], 5);
    assert_eq!(m["rejected"]["forbidden"], 1);
    let log = m["attempt_log"].as_array().unwrap();
    let summary: Vec<(Value, Value, Value)> = log
        .iter()
        .map(|a| (a["outcome"].clone(), a["status"].clone(), a["auth"].clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!("unauthorized"), json!(401), Value::Null),
            (json!("unauthorized"), json!(401), Value::Null),
            (json!("unauthorized"), json!(401), Value::Null),
            (
                json!("unauthorized"),
                json!(401),
                json!("tok-999-0000000000000000")
            ),
            (json!("forbidden"), json!(403), json!(none)),
            (json!("accepted"), json!(200), json!(read)),
        ]
    );
    let m = server.get_json("/api/metrics?client=b").await;
    assert_eq!(m["attempt_log"][0]["auth"], "nonsense");
    assert_eq!(m["attempt_log"][0]["outcome"], "accepted");
    server.stop().await;
}

#[tokio::test]
async fn token_and_revoke_bodies_are_validated() {
    // Pins: bad token/revoke bodies are 400 (syntax, range) or 422 (shape) with an error;
    // revoking an unknown token is a 200 that drops nothing.
    let server = start(frozen()).await;
    for (path, body, want) in [
        ("/api/auth/token", "{", StatusCode::BAD_REQUEST),
        (
            "/api/auth/token",
            "{\"scope\":\"write\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/auth/token",
            "{\"client\":5}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("/api/auth/revoke", "{}", StatusCode::UNPROCESSABLE_ENTITY),
        ("/api/auth/revoke", "nope", StatusCode::BAD_REQUEST),
    ] {
        let (status, resp) = server.post_raw(path, body).await;
        assert_eq!(status, want, "{path} {body}: {resp}");
        assert!(resp["error"].is_string(), "{resp}");
    }
    let long = "x".repeat(65);
    let (status, _) = server
        .post("/api/auth/token", json!({ "client": long }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = server
        .post("/api/auth/revoke", json!({ "token": "tok-1-unknown" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ok"], true);
    assert_eq!(body["dropped"], 0);
    server.stop().await;
}

#[tokio::test]
async fn revoke_drops_the_streams_opened_with_the_token() {
    // Pins: revoke invalidates the token, abruptly drops every stream opened with it (a paced
    // firehose too) and nothing else; the next attempt is a 401 invalid_token; revoking again
    // is an idempotent 200 with dropped 0.
    let server = start(frozen()).await;
    let a = token(&server, json!({})).await;
    let b = token(&server, json!({})).await;
    let auth_a = format!("Bearer {a}");
    let auth_b = format!("Bearer {b}");
    let mut with_a = connect(
        &server,
        "/api/events?auth=bearer",
        &[("authorization", &auth_a)],
    )
    .await;
    assert_eq!(with_a.event().await.event, "snapshot");
    let mut hose = get(
        &server,
        "/api/firehose?n=100000&rate=1&auth=bearer",
        &[("authorization", &auth_a)],
    )
    .await;
    assert_eq!(hose.status(), StatusCode::OK);
    chunks_until(&mut hose, |b| !b.is_empty()).await;
    let mut with_b = connect(
        &server,
        "/api/events?auth=bearer",
        &[("authorization", &auth_b)],
    )
    .await;
    assert_eq!(with_b.event().await.event, "snapshot");
    // Presented without ?auth=bearer: not "opened with" the token.
    let mut unguarded = connect(&server, "/api/events", &[("authorization", &auth_a)]).await;
    assert_eq!(unguarded.event().await.event, "snapshot");

    let (status, body) = server.post("/api/auth/revoke", json!({ "token": a })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ok"], true);
    assert_eq!(body["dropped"], 2);
    assert!(matches!(with_a.until_stop(PATIENCE).await, Next::Failed(_)));
    let end = tokio::time::timeout(PATIENCE, async {
        loop {
            match hose.chunk().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the firehose was not dropped");
    assert!(end.is_err(), "abrupt close expected, got {end:?}");
    for other in [&mut with_b, &mut unguarded] {
        assert!(matches!(
            other.next_within(Duration::from_millis(200)).await,
            Next::Timeout
        ));
    }
    let resp = get(
        &server,
        "/api/events?auth=bearer",
        &[("authorization", &auth_a)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    let (status, body) = server.post("/api/auth/revoke", json!({ "token": a })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["dropped"], 0);
    server.stop().await;
}

#[tokio::test]
async fn cors_exposes_www_authenticate_and_allows_authorization() {
    // Pins: a 401 from a local origin carries the CORS headers and exposes WWW-Authenticate
    // and Retry-After; preflights for GET and POST streams allow Authorization.
    let server = start(frozen()).await;
    let origin = "http://127.0.0.1:5173";
    let resp = get(&server, "/api/events?auth=bearer", &[("origin", origin)]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], origin);
    let exposed = h["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in ["www-authenticate", "retry-after", "content-type"] {
        assert!(exposed.contains(name), "{exposed} lacks {name}");
    }
    for method in ["GET", "POST"] {
        let resp = server
            .http
            .request(
                reqwest::Method::OPTIONS,
                server.url("/api/events?auth=bearer"),
            )
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        let allowed = resp.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(allowed.contains("authorization"), "{allowed}");
    }
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Injected answers

#[tokio::test]
async fn reject_answers_429_with_retry_after_number_or_date() {
    // Pins: a reject window answers matching stream requests (all three endpoints) with its
    // status, a verbatim Retry-After (integer seconds, or a string such as an HTTP date) and
    // {"error":"injected <status>"}; other clients stream; it is recorded as `injected` with
    // the status; GET /api/chaos lists it.
    let server = start(frozen()).await;
    let mission = server.mission(1).await;
    let (status, body) = server
        .post(
            "/api/chaos/reject",
            json!({ "status": 429, "secs": 30, "retry_after": 5, "client": "r" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["status"], 429);
    assert_eq!(body["retry_after"], 5);
    for path in [
        "/api/events?client=r".to_owned(),
        format!("/api/missions/{mission}/events?client=r"),
        "/api/firehose?n=5&client=r".to_owned(),
    ] {
        let resp = get(&server, &path, &[]).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert_eq!(resp.headers()["retry-after"], "5");
        assert_eq!(resp.headers()["content-type"], "application/json");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body, json!({ "error": "injected 429" }));
    }
    connect(&server, "/api/events?client=other", &[]).await;
    let chaos = server.get_json("/api/chaos").await;
    let rejects = chaos["rejects"].as_array().unwrap();
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["status"], 429);
    assert_eq!(rejects[0]["client"], "r");
    assert_eq!(rejects[0]["retry_after"], 5);

    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    server
        .post(
            "/api/chaos/reject",
            json!({ "status": 429, "secs": 30, "retry_after": date, "client": "d" }),
        )
        .await;
    let resp = get(&server, "/api/events?client=d", &[]).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], date);
    server
        .post(
            "/api/chaos/reject",
            json!({ "status": 503, "secs": 30, "client": "n" }),
        )
        .await;
    let resp = get(&server, "/api/events?client=n", &[]).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().get("retry-after").is_none());

    let m = server.get_json("/api/metrics?client=r").await;
    assert_eq!(m["rejected"]["injected"], 5);
    let log = m["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 3);
    assert!(log
        .iter()
        .all(|a| a["outcome"] == "injected" && a["status"] == 429));
    server.stop().await;
}

#[tokio::test]
async fn reject_204_is_empty_and_content_type_gives_fixed_bodies() {
    // Pins: 204 (and 304) have no body and no content type; `content_type` sets it and the body becomes
    // the login page (for html) or "not an event stream"; a 200 without it is JSON, never a
    // stream.
    let server = start(frozen()).await;
    for body in [
        json!({ "status": 204, "secs": 30, "client": "a" }),
        json!({ "status": 200, "secs": 30, "content_type": "text/html; charset=utf-8", "client": "b" }),
        json!({ "status": 401, "secs": 30, "content_type": "text/plain", "client": "c" }),
        json!({ "status": 200, "secs": 30, "client": "d" }),
        json!({ "status": 304, "secs": 30, "content_type": "text/html", "client": "e" }),
    ] {
        let (status, answer) = server.post("/api/chaos/reject", body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let resp = get(&server, "/api/events?client=a", &[]).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.headers().get("content-type").is_none());
    assert_eq!(resp.bytes().await.unwrap().len(), 0);

    let resp = get(&server, "/api/events?client=b", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        resp.text().await.unwrap(),
        "<!doctype html><title>login</title>"
    );
    let resp = get(&server, "/api/events?client=c", &[]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(resp.text().await.unwrap(), "not an event stream");
    let resp = get(&server, "/api/events?client=d", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({ "error": "injected 200" })
    );
    let resp = get(&server, "/api/events?client=e", &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert!(resp.headers().get("content-type").is_none());
    assert_eq!(resp.bytes().await.unwrap().len(), 0);
    let m = server.metrics().await;
    assert_eq!(m["rejected"]["injected"], 5);
    assert_eq!(m["accepted"], 0);
    let statuses: Vec<Value> = m["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        vec![json!(204), json!(200), json!(401), json!(200), json!(304)]
    );
    server.stop().await;
}

#[tokio::test]
async fn reject_windows_expire_heal_and_keep_open_streams_unless_drop() {
    // Pins: a reject window ends after `secs`; it leaves open streams alone unless "drop":
    // true; heal clears it.
    let server = start(frozen()).await;
    let mut open_one = connect(&server, "/api/events?client=w", &[]).await;
    assert_eq!(open_one.event().await.event, "snapshot");
    let (_, body) = server
        .post(
            "/api/chaos/reject",
            json!({ "status": 500, "secs": 0.8, "client": "w" }),
        )
        .await;
    assert_eq!(body["dropped"], 0);
    assert_eq!(
        get(&server, "/api/events?client=w", &[]).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(matches!(
        open_one.next_within(Duration::from_millis(100)).await,
        Next::Timeout
    ));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let _second = connect(&server, "/api/events?client=w", &[]).await;
    assert_eq!(server.get_json("/api/chaos").await["rejects"], json!([]));

    let (_, body) = server
        .post(
            "/api/chaos/reject",
            json!({ "status": 502, "secs": 60, "client": "w", "drop": true }),
        )
        .await;
    assert_eq!(body["dropped"], 2);
    assert!(matches!(
        open_one.until_stop(PATIENCE).await,
        Next::Failed(_)
    ));
    assert_eq!(
        get(&server, "/api/events?client=w", &[]).await.status(),
        StatusCode::BAD_GATEWAY
    );
    server.post("/api/chaos/heal", json!({})).await;
    assert_eq!(server.get_json("/api/chaos").await["rejects"], json!([]));
    connect(&server, "/api/events?client=w", &[]).await;
    server.stop().await;
}

#[tokio::test]
async fn the_most_recent_of_outage_and_reject_wins() {
    // Pins: when an outage and a reject both cover a request, the window created last decides.
    let server = start(frozen()).await;
    server
        .post("/api/chaos/outage", json!({ "secs": 60, "retry_after": 9 }))
        .await;
    server
        .post("/api/chaos/reject", json!({ "status": 429, "secs": 60 }))
        .await;
    assert_eq!(
        get(&server, "/api/events", &[]).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    server
        .post("/api/chaos/outage", json!({ "secs": 60, "retry_after": 3 }))
        .await;
    let resp = get(&server, "/api/events", &[]).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        resp.headers()["retry-after"],
        "9",
        "largest outage Retry-After"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_reject_bodies_are_refused() {
    // Pins: out-of-range status or secs and unsafe retry_after/content_type are 400; wrong
    // types 422; all with "error".
    let server = start(frozen()).await;
    let long = "x".repeat(129);
    for (body, want) in [
        (json!({ "status": 199, "secs": 1 }), StatusCode::BAD_REQUEST),
        (json!({ "status": 600, "secs": 1 }), StatusCode::BAD_REQUEST),
        (json!({ "status": -1, "secs": 1 }), StatusCode::BAD_REQUEST),
        (json!({ "status": 429, "secs": 0 }), StatusCode::BAD_REQUEST),
        (
            json!({ "status": 429, "secs": 1, "retry_after": "1\r\nX-Evil: 1" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "status": 429, "secs": 1, "retry_after": "a\u{0}b" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "status": 429, "secs": 1, "retry_after": long }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "status": 429, "secs": 1, "retry_after": -3 }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "status": 200, "secs": 1, "content_type": "text/html\n" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "status": "429", "secs": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({ "secs": 1 }), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({ "status": 429, "secs": 1, "retry_after": [1] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, resp) = server.post("/api/chaos/reject", body.clone()).await;
        assert_eq!(status, want, "{body}: {resp}");
        assert!(resp["error"].is_string(), "{resp}");
    }
    assert_eq!(server.get_json("/api/chaos").await["rejects"], json!([]));
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// retry:, chunking, BOM

#[tokio::test]
async fn retry_line_comes_first_and_after_the_bom() {
    // Pins: ?retry=N makes the body start with `retry: N\n\n` before the snapshot; with bom=1
    // the BOM precedes it, as two body frames (EF, then BB BF); bad values are recorded 400s.
    let server = start(frozen()).await;
    let mut resp = get(&server, "/api/events?retry=3000", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = concat(&chunks_until(&mut resp, |b| has_event(b, "snapshot")).await);
    assert!(body.starts_with(b"retry: 3000\n\nid: "), "{body:?}");
    let twenty = "9".repeat(20);
    let hose = get(&server, &format!("/api/firehose?n=1&retry={twenty}"), &[]).await;
    let body = hose.text().await.unwrap();
    assert!(
        body.starts_with(&format!("retry: {twenty}\n\nid: 1\n")),
        "{body}"
    );

    let mut resp = get(&server, "/api/events?retry=0&bom=1", &[]).await;
    let chunks = chunks_until(&mut resp, |b| has_event(b, "snapshot")).await;
    assert_eq!(&chunks[0][..], &[0xEF]);
    assert_eq!(&chunks[1][..], &[0xBB, 0xBF]);
    assert!(concat(&chunks[2..]).starts_with(b"retry: 0\n\nid: "));
    resp = get(&server, "/api/events?bom=1&chunking=bytes&retry=7", &[]).await;
    let chunks = chunks_until(&mut resp, |b| b.len() >= 12).await;
    assert_eq!(&chunks[0][..], &[0xEF]);
    assert_eq!(&chunks[1][..], &[0xBB, 0xBF]);
    assert_eq!(&chunks[2][..], b"r");
    assert_eq!(&concat(&chunks)[3..12], b"retry: 7\n");

    server.post("/api/metrics/reset", json!({})).await;
    for q in [
        "retry=",
        "retry=abc",
        "retry=-1",
        "retry=1.5",
        "retry=%EF%BC%91",
        "retry=123456789012345678901",
        "chunking=BYTES",
        "chunking=",
        "chunking=lines",
        "bom=2",
        "auth=basic",
    ] {
        let resp = get(&server, &format!("/api/events?{q}"), &[]).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{q}");
        let body: Value = resp.json().await.unwrap();
        assert!(body["error"].is_string(), "{body}");
    }
    let resp = get(&server, "/api/firehose?n=1&chunking=nope", &[]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let m = server.metrics().await;
    assert_eq!(m["rejected"]["bad_request"], 12);
    assert_eq!(m["attempt_log"][0]["status"], 400);
    server.stop().await;
}

#[tokio::test]
async fn bytes_chunking_sends_one_byte_per_body_frame() {
    // Pins: with chunking=bytes the client receives every byte as its own body frame, and the
    // bytes are exactly the plain stream's.
    let server = start(frozen()).await;
    server.mission(10).await;
    let plain = plain_snapshot(&server).await;
    assert!(plain.len() > 1000, "{}", plain.len());
    let mut resp = get(&server, "/api/events?chunking=bytes", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let chunks = chunks_until(&mut resp, |b| b.len() >= plain.len()).await;
    assert!(chunks.len() > 100, "only {} chunks", chunks.len());
    assert!(chunks.iter().all(|c| c.len() == 1));
    assert_eq!(concat(&chunks), plain);
    let events = parse(concat(&chunks)).await;
    assert_eq!(events[0].event, "snapshot");
    assert_eq!(json(&events[0])["tasks"].as_array().unwrap().len(), 10);

    // The firehose and mission streams too, end included.
    let mut resp = get(&server, "/api/firehose?n=3&chunking=bytes", &[]).await;
    let mut frames = 0;
    let mut body = Vec::new();
    while let Some(c) = resp.chunk().await.unwrap() {
        frames += 1;
        body.extend_from_slice(&c);
    }
    assert_eq!(frames, body.len());
    let events = parse(body).await;
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["task", "task", "task", "end"]);
    server.stop().await;
}

#[tokio::test]
async fn crlf_chunking_uses_crlf_and_splits_inside_the_first_line_ending() {
    // Pins: with chunking=crlf every line ends with CRLF (no bare LF), each event frame is two
    // body frames split between the CR and the LF of its first line, live events and injected
    // ones included, and the stream means the same as the plain one.
    let server = start(frozen()).await;
    server.mission(3).await;
    let plain = plain_snapshot(&server).await;
    let mut resp = get(&server, "/api/events?chunking=crlf&client=c", &[]).await;
    let chunks = chunks_until(&mut resp, |b| has_event(b, "snapshot")).await;
    assert_eq!(chunks.len(), 2);
    assert!(chunks[0].ends_with(b"\r") && chunks[0].starts_with(b"id: "));
    assert!(!chunks[0][..chunks[0].len() - 1].contains(&b'\r'));
    assert!(chunks[1].starts_with(b"\nevent: snapshot\r\n"));
    let body = concat(&chunks);
    assert!(
        body.iter()
            .enumerate()
            .all(|(i, b)| *b != b'\n' || (i > 0 && body[i - 1] == b'\r')),
        "bare LF"
    );
    let lf = String::from_utf8(body.clone())
        .unwrap()
        .replace("\r\n", "\n");
    assert_eq!(lf.as_bytes(), &plain[..]);
    assert_eq!(parse(body).await, parse(plain).await);

    let (_, answer) = server
        .post(
            "/api/chaos/inject",
            json!({ "event": "note", "data": "a\nb", "client": "c" }),
        )
        .await;
    assert_eq!(answer["delivered"], 1);
    let chunks = chunks_until(&mut resp, |b| has_event(b, "note")).await;
    assert_eq!(
        chunks,
        vec![
            Bytes::from_static(b"event: note\r"),
            Bytes::from_static(b"\ndata: a\r\ndata: b\r\n\r\n")
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn utf8_chunking_splits_inside_the_first_multibyte_character() {
    // Pins: with chunking=utf8 an event frame with a multi-byte character is split right after
    // that character's first byte, one without is split in the middle, and the reassembled
    // stream means the same as the plain one.
    let server = start(frozen()).await;
    let mission = server.mission(2).await;
    let mut resp = get(
        &server,
        &format!("/api/missions/{mission}/events?chunking=utf8"),
        &[],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let chunks = chunks_until(&mut resp, |b| has_event(b, "snapshot")).await;
    assert_eq!(chunks.len(), 2);
    let whole = concat(&chunks);
    assert!(whole.is_ascii());
    assert_eq!(chunks[0].len(), whole.len() / 2, "split in the middle");
    let events = parse(whole).await;
    assert_eq!(json(&events[0])["tasks"].as_array().unwrap().len(), 2);

    let mut resp = get(&server, "/api/events?chunking=utf8&client=u", &[]).await;
    chunks_until(&mut resp, |b| has_event(b, "snapshot")).await;
    server
        .post(
            "/api/chaos/inject",
            json!({ "event": "note", "data": "héllo 🦀", "client": "u" }),
        )
        .await;
    let chunks = chunks_until(&mut resp, |b| has_event(b, "note")).await;
    assert_eq!(
        chunks,
        vec![
            Bytes::from_static(b"event: note\ndata: h\xC3"),
            Bytes::from_static(b"\xA9llo \xF0\x9F\xA6\x80\n\n")
        ]
    );
    let events = parse(concat(&chunks)).await;
    assert_eq!(events[0].data, "héllo 🦀");
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// POST streams and metrics fields

#[tokio::test]
async fn post_streams_record_method_status_and_body() {
    // Pins: every stream endpoint accepts POST like GET; the attempt_log records method,
    // status and the first 64 characters of a POST body (null for GET or an empty body); a
    // body over 64 KiB is a recorded 413.
    let server = start(frozen()).await;
    let text = format!("{}{}", "é".repeat(60), "z".repeat(100));
    let resp = server
        .http
        .post(server.url("/api/events?client=p&retry=10"))
        .header("content-type", "application/json")
        .body(text.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut sse_body = resp;
    let body = concat(&chunks_until(&mut sse_body, |b| has_event(b, "snapshot")).await);
    assert!(body.starts_with(b"retry: 10\n\nid: "));

    let resp = server
        .http
        .post(server.url("/api/firehose?n=2&client=p"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp
        .text()
        .await
        .unwrap()
        .ends_with("event: end\ndata: {\"reason\":\"firehose complete\"}\n\n"));
    let mission = server.mission(1).await;
    let resp = server
        .http
        .post(server.url(&format!("/api/missions/{mission}/events?client=p")))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    connect(&server, "/api/events?client=p", &[]).await;
    let resp = server
        .http
        .post(server.url("/api/events?client=p"))
        .body(vec![b'x'; 64 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let m = server.get_json("/api/metrics?client=p").await;
    let log = m["attempt_log"].as_array().unwrap();
    let rows: Vec<(Value, Value, Value, Value)> = log
        .iter()
        .map(|a| {
            (
                a["method"].clone(),
                a["status"].clone(),
                a["outcome"].clone(),
                a["body"].clone(),
            )
        })
        .collect();
    let expected_body: String = text.chars().take(64).collect();
    assert_eq!(
        rows,
        vec![
            (
                json!("POST"),
                json!(200),
                json!("accepted"),
                json!(expected_body)
            ),
            (json!("POST"), json!(200), json!("accepted"), Value::Null),
            (json!("POST"), json!(200), json!("accepted"), json!("{}")),
            (json!("GET"), json!(200), json!("accepted"), Value::Null),
            (json!("POST"), json!(413), json!("bad_request"), Value::Null),
        ]
    );
    assert!(log.iter().all(|a| a["auth"].is_null()));
    server.stop().await;
}

#[tokio::test]
async fn rejected_lists_every_key_and_tokens_are_cut_to_64_characters() {
    // Pins: `rejected` always lists all seven keys; a presented token is logged cut to 64
    // characters.
    let server = start(frozen()).await;
    let m = server.metrics().await;
    assert_eq!(
        m["rejected"],
        json!({ "bad_request": 0, "forbidden": 0, "injected": 0, "max_streams": 0,
                "not_found": 0, "outage": 0, "unauthorized": 0 })
    );
    let long = "t".repeat(100);
    let resp = get(
        &server,
        "/api/events?auth=bearer",
        &[("authorization", &format!("Bearer {long}"))],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let m = server.metrics().await;
    assert_eq!(m["attempt_log"][0]["auth"], "t".repeat(64));
    assert_eq!(m["attempt_log"][0]["method"], "GET");
    server.stop().await;
}
