//! `GET /api/firehose?rate=R` paces the firehose; `then=close` ends the body after the events
//! without `end`; a bad `rate` or `then` is a 400 with a message.

use std::time::{Duration, Instant};

mod common;

/// `GET path`: the status and the whole body.
async fn get(server: &common::Server, path: &str) -> (u16, String) {
    let response = server.http.get(server.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn rate_paces_the_firehose() {
    // Pins: 3,000 events at 10,000/s take at least ~0.3 s (unpaced they take a few ms), and
    // all of them plus `end` arrive.
    let server = common::start(common::config()).await;
    let start = Instant::now();
    let (_, body) = get(&server, "/api/firehose?n=3000&rate=10000").await;
    let took = start.elapsed();
    assert_eq!(body.matches("event: task\n").count(), 3000);
    assert!(body.contains("event: end\n"));
    assert!(took >= Duration::from_millis(270), "not paced: {took:?}");
    assert!(took < Duration::from_secs(5), "far too slow: {took:?}");
    let (status, message) = get(&server, "/api/firehose?n=10&rate=0").await;
    assert_eq!(status, 400);
    assert!(message.contains("rate"), "{message}");
    server.stop().await;
}

#[tokio::test]
async fn then_close_ends_the_body_after_the_events_without_end() {
    // Pins: with `then=close` every event arrives, then the body ends with no `end`; `then=end`
    // is the default's `end`; anything else is a 400 naming the parameter.
    let server = common::start(common::config()).await;
    let (status, body) = get(&server, "/api/firehose?n=2500&then=close").await;
    assert_eq!(status, 200);
    assert_eq!(body.matches("event: task\n").count(), 2500);
    assert!(body.contains("id: 2500\n"));
    assert!(!body.contains("event: end\n"));
    let (_, body) = get(&server, "/api/firehose?n=10&then=end").await;
    assert_eq!(body.matches("event: task\n").count(), 10);
    assert!(body.contains("event: end\n"));
    let (status, message) = get(&server, "/api/firehose?n=10&then=explode").await;
    assert_eq!(status, 400);
    assert!(message.contains("then"), "{message}");
    server.stop().await;
}
