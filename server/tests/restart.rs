//! `POST /api/chaos/restart`: the real binary answers, ends its streams and exits with status
//! 75 (so a supervisor can start a fresh process that has lost its state, as a crashed backend
//! would).

mod common;

use std::time::{Duration, Instant};

use common::spawn_binary;

#[tokio::test]
async fn restart_exits_with_status_75_after_answering() {
    // Pins the restart contract the chaos soak's supervisor relies on.
    let (mut child, base) = spawn_binary(&["--chaos", "--no-ambient"]).await;
    let http = reqwest::Client::new();
    let stream = http
        .get(format!("{base}/api/events"))
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), 200);
    let answer: serde_json::Value = http
        .post(format!("{base}/api/chaos/restart"))
        .send()
        .await
        .expect("restart answered")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["ok"], true);
    assert_eq!(answer["exit_code"], 75);
    // The open stream ends (cleanly) instead of hanging.
    let body = tokio::time::timeout(Duration::from_secs(5), stream.bytes()).await;
    assert!(body.is_ok(), "the stream was not ended by the restart");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the process did not exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(75));
}

#[tokio::test]
async fn restart_is_a_404_without_chaos_and_the_binary_keeps_serving() {
    // Pins: without --chaos `POST /api/chaos/restart` is the JSON 404 and does not restart
    // anything (an in-process server ignores the restart request, so only the binary can
    // show it): the process keeps running and serving, and does not exit with 75.
    let (mut child, base) = spawn_binary(&["--no-ambient"]).await;
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/api/chaos/restart"))
        .send()
        .await
        .expect("restart answered");
    assert_eq!(resp.status(), 404);
    let answer: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(answer["error"], "not found");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let still_running = child.try_wait().expect("wait").is_none();
    let state = http.get(format!("{base}/api/state")).send().await;
    let _ = child.kill();
    let status = child.wait().expect("wait");
    assert!(still_running, "the server exited: {status:?}");
    assert_eq!(state.expect("still serving").status(), 200);
}
