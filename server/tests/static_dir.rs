//! `--static-dir`: the built demo served at `/` beside the API, with an `index.html` fallback.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use strug_dev_server::Config;

/// A throwaway directory holding a fake `trunk build` output; removed on drop.
struct Dist(PathBuf);

impl Dist {
    fn new(name: &str) -> Dist {
        let dir = std::env::temp_dir().join(format!("strug-static-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html><title>demo</title>").unwrap();
        std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
        Dist(dir)
    }
}

impl Drop for Dist {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn get(server: &Server, path: &str) -> (StatusCode, String, String) {
    let resp = server.http.get(server.url(path)).send().await.unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, ctype, resp.text().await.unwrap())
}

#[tokio::test]
async fn static_dir_serves_files_and_falls_back_to_index_html() {
    // Pins the SPA serving: files by path, `/` and unknown page paths → index.html with 200.
    let dist = Dist::new("serve");
    let server = start(Config {
        static_dir: Some(dist.0.clone()),
        ..config()
    })
    .await;

    let (status, ctype, body) = get(&server, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(body.contains("<title>demo</title>"), "{body}");

    let (status, ctype, body) = get(&server, "/assets/app.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.contains("javascript"), "{ctype}");
    assert_eq!(body, "console.log(1)");

    let (status, ctype, body) = get(&server, "/board/m1?x=1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(body.contains("<title>demo</title>"), "{body}");

    // A path escaping the directory is never served.
    let (status, _, body) = get(&server, "/../Cargo.toml").await;
    assert!(!body.contains("[package]"), "{status} {body}");
    server.stop().await;
}

#[tokio::test]
async fn static_dir_leaves_the_api_and_its_json_404_alone() {
    // Pins that the page fallback never shadows the API: endpoints work, unknown /api paths stay JSON 404.
    let dist = Dist::new("api");
    let server = start(Config {
        static_dir: Some(dist.0.clone()),
        chaos: false,
        ..config()
    })
    .await;

    let state = server.get_json("/api/state").await;
    assert!(state["tasks"].is_array(), "{state}");
    let (status, _) = server.post("/api/missions", json!({ "tasks": 2 })).await;
    assert_eq!(status, StatusCode::CREATED);

    for path in ["/api", "/api/nope", "/api/missions/m1/nope"] {
        let (status, ctype, body) = get(&server, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(ctype.starts_with("application/json"), "{path}: {ctype}");
        assert!(body.contains("not found"), "{path}: {body}");
    }
    // Chaos is off: its paths are unknown API paths, not the page.
    let (status, body) = server.post("/api/chaos/drop", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // A known path with the wrong method is still a 405, not the page (streams answer GET and
    // POST, so PUT).
    let resp = server
        .http
        .put(server.url("/api/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    server.stop().await;
}

#[test]
fn static_dir_without_index_html_is_refused_at_start() {
    // Pins the CLI check: a missing build output is a clear start-up error, not a page of 404s.
    let empty = std::env::temp_dir().join(format!("strug-static-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_strug-dev-server"))
        .args(["--port", "0", "--static-dir"])
        .arg(&empty)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&empty);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("index.html"), "{stderr}");
    assert!(out.stdout.is_empty());
}
