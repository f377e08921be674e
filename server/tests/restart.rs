//! `POST /api/chaos/restart`: the real binary answers, ends its streams and exits with status
//! 75 (so a supervisor can start a fresh process that has lost its state, as a crashed backend
//! would).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn restart_exits_with_status_75_after_answering() {
    // Pins the restart contract the chaos soak's supervisor relies on.
    let mut child = Command::new(env!("CARGO_BIN_EXE_strug-dev-server"))
        .args(["--chaos", "--port", "0", "--no-ambient"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("address line");
    let base = line
        .trim()
        .strip_prefix("strug-dev-server listening on ")
        .expect("address line")
        .to_owned();
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_strug-dev-server"))
        .args(["--port", "0", "--no-ambient"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("address line");
    let base = line
        .trim()
        .strip_prefix("strug-dev-server listening on ")
        .expect("address line")
        .to_owned();
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
