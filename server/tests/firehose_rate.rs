//! `GET /api/firehose?rate=R` paces the firehose; a bad rate is a 400 with a message.

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
