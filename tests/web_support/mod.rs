//! Helpers shared by the browser test suites: the dev server's URL, HTTP calls to it, waiting.

#![allow(dead_code)]

use std::time::Duration;

use gloo_timers::future::TimeoutFuture;
use leptos_task_stream::{Backoff, Jitter, TaskStreamOptions};
use serde_json::{json, Value};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

pub const SERVER: &str = match option_env!("STRUG_SERVER_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:8787",
};

pub fn tag(name: &str) -> String {
    let r = (js_sys::Math::random() * 1e9) as u64;
    format!("{name}-{r}")
}

/// A fast policy for tests: 200 ms, ×2, cap 1.6 s, equal jitter ([base/2, base]).
pub fn fast_backoff() -> Backoff {
    Backoff::default()
        .initial(Duration::from_millis(200))
        .max_delay(Duration::from_millis(1600))
        .jitter(Jitter::Equal)
        .reset_after(Duration::from_secs(5))
}

pub fn fast_options() -> TaskStreamOptions {
    TaskStreamOptions::default()
        .backoff(fast_backoff())
        .stale_after(Some(Duration::from_secs(2)))
        .online_jitter(Duration::from_millis(300))
}

pub async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

pub async fn wait_until(what: &str, timeout_ms: u32, mut cond: impl FnMut() -> bool) {
    let start = js_sys::Date::now();
    while !cond() {
        if js_sys::Date::now() - start > timeout_ms as f64 {
            panic!("timed out after {timeout_ms} ms waiting for: {what}");
        }
        sleep(10).await;
    }
}

pub async fn fetch_json(method: &str, path: &str, body: Option<Value>) -> Value {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&wasm_bindgen::JsValue::from_str(&body.to_string()));
        let headers = web_sys::Headers::new().unwrap();
        headers.set("content-type", "application/json").unwrap();
        init.set_headers(&headers);
    }
    let url = format!("{SERVER}{path}");
    let request = web_sys::Request::new_with_str_and_init(&url, &init).unwrap();
    let window = web_sys::window().unwrap();
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .unwrap_or_else(|e| panic!("fetch {url}: {e:?}"))
        .dyn_into()
        .unwrap();
    let text = JsFuture::from(response.text().unwrap()).await.unwrap();
    let text = text.as_string().unwrap_or_default();
    assert!(
        response.ok(),
        "{method} {path} -> {}: {text}",
        response.status()
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

pub async fn chaos(what: &str, body: Value) -> Value {
    fetch_json("POST", &format!("/api/chaos/{what}"), Some(body)).await
}

pub async fn metrics(client: &str) -> Value {
    fetch_json("GET", &format!("/api/metrics?client={client}"), None).await
}

/// `(at_ms, outcome, last_event_id)` of every attempt this client made.
pub async fn attempts(client: &str) -> Vec<(f64, String, Option<String>)> {
    let m = metrics(client).await;
    m["attempt_log"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| {
            (
                a["at_ms"].as_f64().unwrap_or(0.0),
                a["outcome"].as_str().unwrap_or("").to_owned(),
                a["last_event_id"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

pub async fn open_streams(client: &str) -> u64 {
    metrics(client).await["open_streams_client"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

pub async fn dispatch_mission(tasks: u32) -> Value {
    fetch_json("POST", "/api/missions", Some(json!({ "tasks": tasks }))).await
}

/// Waits until the server has no open stream for `client`.
pub async fn wait_no_open_streams(client: &str) {
    let start = js_sys::Date::now();
    while open_streams(client).await != 0 {
        assert!(
            js_sys::Date::now() - start < 3_000.0,
            "server still has an open stream"
        );
        sleep(50).await;
    }
}

/// Waits until the server holds an open stream for `client` (injections reach only open ones).
pub async fn wait_stream_open(client: &str) {
    let start = js_sys::Date::now();
    while open_streams(client).await != 1 {
        assert!(
            js_sys::Date::now() - start < 5_000.0,
            "the stream never opened"
        );
        sleep(30).await;
    }
}
