//! Shared helpers: an in-process server on 127.0.0.1:0 and SSE readers over real HTTP.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::{Event, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;
use serde_json::Value;
use strug_dev_server::{bind, serve, AppState, Config};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Generous bound for "something should arrive": only hit when a test is failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A fast, quiet configuration: no ambient work, chaos on, short ticks, rare heartbeats.
pub fn config() -> Config {
    Config {
        heartbeat: Duration::from_secs(30),
        seed: Some(42),
        chaos: true,
        tick: Duration::from_millis(20),
        ambient: false,
        retain: Duration::from_secs(3600),
        ..Config::default()
    }
}

/// A running in-process server.
pub struct Server {
    pub base: String,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

pub async fn start(config: Config) -> Server {
    let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let state = AppState::new(config);
    let handle = tokio::spawn(serve(state, listener, async {
        let _ = rx.await;
    }));
    Server {
        base: format!("http://{addr}"),
        addr,
        http: reqwest::Client::new(),
        shutdown: Some(tx),
        handle: Some(handle),
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get_json(&self, path: &str) -> Value {
        get_json(&self.http, &self.url(path)).await
    }

    /// POSTs `body` and returns the status and parsed JSON answer.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_raw(path, body.to_string()).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Creates a mission and returns its id.
    pub async fn mission(&self, tasks: u64) -> String {
        let (status, body) = self
            .post("/api/missions", serde_json::json!({ "tasks": tasks }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["mission_id"].as_str().unwrap().to_owned()
    }

    pub async fn metrics(&self) -> Value {
        self.get_json("/api/metrics").await
    }

    /// Polls `/api/metrics` until `pred` holds (or panics after PATIENCE).
    pub async fn wait_metrics(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let m = self.metrics().await;
            if pred(&m) {
                return m;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {m}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server the way `serve`'s shutdown future does, and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            tokio::time::timeout(Duration::from_secs(3), h)
                .await
                .expect("serve did not return after shutdown")
                .unwrap()
                .unwrap();
        }
    }
}

/// What reading a stream produced next.
#[derive(Debug)]
pub enum Next {
    Event(Event),
    /// The body ended cleanly.
    Closed,
    /// The body or the framing failed (abrupt close, invalid UTF-8, ...).
    Failed(String),
    /// Nothing within the wait.
    Timeout,
}

type EventStream = Pin<Box<dyn Stream<Item = Result<Event, String>> + Send>>;

/// A parsed SSE stream (the `eventsource-stream` parser over reqwest's body).
pub struct Sse {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    inner: EventStream,
}

/// Opens `path` with optional extra headers; any status is returned, not asserted.
pub async fn open(server: &Server, path: &str, headers: &[(&str, &str)]) -> Sse {
    let mut req = server.http.get(server.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let inner = resp
        .bytes_stream()
        .eventsource()
        .map(|r| r.map_err(|e| e.to_string()));
    Sse {
        status,
        headers,
        inner: Box::pin(inner),
    }
}

/// Opens `path` and asserts 200.
pub async fn connect(server: &Server, path: &str, headers: &[(&str, &str)]) -> Sse {
    let sse = open(server, path, headers).await;
    assert_eq!(sse.status, StatusCode::OK, "GET {path}");
    sse
}

impl Sse {
    pub async fn next_within(&mut self, wait: Duration) -> Next {
        match tokio::time::timeout(wait, self.inner.next()).await {
            Err(_) => Next::Timeout,
            Ok(None) => Next::Closed,
            Ok(Some(Ok(ev))) => Next::Event(ev),
            Ok(Some(Err(e))) => Next::Failed(e),
        }
    }

    /// The next event of any kind; panics on close, failure or timeout.
    pub async fn event(&mut self) -> Event {
        match self.next_within(PATIENCE).await {
            Next::Event(ev) => ev,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// The next event that is not a heartbeat.
    pub async fn data_event(&mut self) -> Event {
        loop {
            let ev = self.event().await;
            if ev.event != "heartbeat" {
                return ev;
            }
        }
    }

    /// Skips events until the stream stops; returns how it stopped (never `Event`).
    pub async fn until_stop(&mut self, wait: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Next::Event(_) => continue,
                other => return other,
            }
        }
    }
}

/// A byte-level reader, for checks the parser would hide (missing `id:`, raw bytes).
pub struct Raw {
    pub status: StatusCode,
    inner: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    pub buf: Vec<u8>,
}

pub async fn open_raw(server: &Server, path: &str) -> Raw {
    let resp = server.http.get(server.url(path)).send().await.unwrap();
    Raw {
        status: resp.status(),
        inner: Box::pin(resp.bytes_stream()),
        buf: Vec::new(),
    }
}

impl Raw {
    /// Reads until `buf` contains `needle` (panics after PATIENCE or on close).
    pub async fn read_until(&mut self, needle: &[u8]) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !contains(&self.buf, needle) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.inner.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.extend_from_slice(&chunk),
                other => panic!(
                    "stream stopped before {:?}: {other:?}",
                    String::from_utf8_lossy(needle)
                ),
            }
        }
    }

    /// Reads whatever arrives within `wait`; `false` if the stream ended.
    pub async fn read_for(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.inner.next()).await {
                Err(_) => return true,
                Ok(Some(Ok(chunk))) => self.buf.extend_from_slice(&chunk),
                Ok(_) => return false,
            }
        }
    }
}

/// `GET url` as JSON, for servers started in-process or with [`spawn_binary`].
pub async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len().max(1)).any(|w| w == needle)
}

pub fn id_of(ev: &Event) -> u64 {
    ev.id.parse().unwrap_or_else(|_| panic!("bad id in {ev:?}"))
}

pub fn json(ev: &Event) -> Value {
    serde_json::from_str(&ev.data).unwrap_or_else(|e| panic!("bad JSON in {ev:?}: {e}"))
}

/// Starts the real `strug-dev-server` binary on an ephemeral port of 127.0.0.1 with `args`
/// (after `--port 0`); returns the child and its base URL, read from its first line.
pub async fn spawn_binary(args: &[&str]) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_strug-dev-server"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("strug-dev-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, base)
}
