//! `GET /api/firehose?rate=R` paces the firehose; `then=close` ends the body after the events
//! without `end`; a bad `rate` or `then` is a 400 with a message.

use std::time::{Duration, Instant};

mod common;

#[tokio::test]
async fn rate_paces_the_firehose() {
    // Pins: 3,000 events at 10,000/s take at least ~0.3 s (unpaced they take a few ms), and
    // all of them plus `end` arrive.
    let server = common::start(common::config()).await;
    let start = Instant::now();
    let body = server
        .http
        .get(server.url("/api/firehose?n=3000&rate=10000"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let took = start.elapsed();
    assert_eq!(body.matches("event: task\n").count(), 3000);
    assert!(body.contains("event: end\n"));
    assert!(took >= Duration::from_millis(270), "not paced: {took:?}");
    assert!(took < Duration::from_secs(5), "far too slow: {took:?}");
    let bad = server
        .http
        .get(server.url("/api/firehose?n=10&rate=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("rate"));
    server.stop().await;
}

#[tokio::test]
async fn then_close_ends_the_body_after_the_events_without_end() {
    // Pins: with `then=close` every event arrives, then the body ends with no `end`; `then=end`
    // is the default's `end`; anything else is a 400 naming the parameter.
    let server = common::start(common::config()).await;
    let response = server
        .http
        .get(server.url("/api/firehose?n=2500&then=close"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert_eq!(body.matches("event: task\n").count(), 2500);
    assert!(body.contains("id: 2500\n"));
    assert!(!body.contains("event: end\n"));
    let body = server
        .http
        .get(server.url("/api/firehose?n=10&then=end"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body.matches("event: task\n").count(), 10);
    assert!(body.contains("event: end\n"));
    let bad = server
        .http
        .get(server.url("/api/firehose?n=10&then=explode"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("then"));
    server.stop().await;
}
