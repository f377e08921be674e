//! Helpers shared by the browser test suites: the dev server's URL, HTTP calls to it, waiting.

#![allow(dead_code)]

use std::time::Duration;

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos_task_stream::{
    use_task_stream, Backoff, ConnectionBadge, ConnectionStatus, Jitter, StrugStream, TaskBoard,
    TaskStore, TaskStreamOptions, TaskStreamProvider, UseTaskStream, STYLESHEET,
};
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

/// An HTTP call to the dev server; `Err` when it cannot be reached or answers non-2xx.
pub async fn try_fetch(method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&wasm_bindgen::JsValue::from_str(&body.to_string()));
        let headers = web_sys::Headers::new().map_err(|e| format!("{e:?}"))?;
        headers
            .set("content-type", "application/json")
            .map_err(|e| format!("{e:?}"))?;
        init.set_headers(&headers);
    }
    let url = format!("{SERVER}{path}");
    let request =
        web_sys::Request::new_with_str_and_init(&url, &init).map_err(|e| format!("{e:?}"))?;
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|e| format!("fetch {url}: {e:?}"))?
        .dyn_into()
        .map_err(|e| format!("{e:?}"))?;
    let text = JsFuture::from(response.text().map_err(|e| format!("{e:?}"))?)
        .await
        .map_err(|e| format!("{e:?}"))?
        .as_string()
        .unwrap_or_default();
    if !response.ok() {
        return Err(format!("{method} {path} -> {}: {text}", response.status()));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Like [`try_fetch`], panicking on failure.
pub async fn fetch_json(method: &str, path: &str, body: Option<Value>) -> Value {
    try_fetch(method, path, body)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A chaos call that may fail (the server may be restarting).
pub async fn try_chaos(what: &str, body: Value) -> Result<Value, String> {
    try_fetch("POST", &format!("/api/chaos/{what}"), Some(body)).await
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

/// A mounted view in its own `<div>`; dropping it unmounts the view and disposes its owner
/// (as a router does on navigation), so its cleanups run at once.
pub struct Mount {
    pub root: web_sys::HtmlElement,
    owner: leptos::prelude::Owner,
    handle: Option<Box<dyn std::any::Any>>,
}

impl Drop for Mount {
    fn drop(&mut self) {
        self.handle.take();
        self.owner.cleanup();
        self.root.remove();
    }
}

impl Mount {
    /// `children` under one provider on `url`, with [`fast_options`].
    pub fn provided(url: String, children: fn() -> AnyView) -> Self {
        Mount::new(move || {
            view! {
                <TaskStreamProvider url=url options=fast_options()>
                    {children()}
                </TaskStreamProvider>
            }
            .into_any()
        })
    }

    /// A badge, a board and a feed under one provider on `url`, with [`fast_options`]: the
    /// whole dashboard, as an app mounts it.
    pub fn dashboard(url: String) -> Self {
        Mount::provided(url, || {
            view! { <ConnectionBadge/><TaskBoard/><StrugStream/> }.into_any()
        })
    }

    /// A badge and a board under one provider on `url`, with [`fast_options`].
    pub fn board_and_badge(url: String) -> Self {
        Mount::provided(url, || view! { <ConnectionBadge/><TaskBoard/> }.into_any())
    }

    pub fn new(f: impl FnOnce() -> AnyView + 'static) -> Self {
        let _ = any_spawner::Executor::init_wasm_bindgen();
        let document = web_sys::window().unwrap().document().unwrap();
        if document.get_element_by_id("lts-test-style").is_none() {
            let style = document.create_element("style").unwrap();
            style.set_id("lts-test-style");
            style.set_text_content(Some(STYLESHEET));
            document.head().unwrap().append_child(&style).unwrap();
        }
        let root: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
        document.body().unwrap().append_child(&root).unwrap();
        let owner = leptos::prelude::Owner::new();
        let handle = owner.with(|| leptos::mount::mount_to(root.clone(), f));
        Mount {
            root,
            owner,
            handle: Some(Box::new(handle)),
        }
    }

    pub fn find(&self, selector: &str) -> Option<web_sys::Element> {
        self.root.query_selector(selector).unwrap()
    }

    pub fn all(&self, selector: &str) -> Vec<web_sys::Element> {
        let list = self.root.query_selector_all(selector).unwrap();
        (0..list.length())
            .filter_map(|i| list.item(i))
            .filter_map(|n| n.dyn_into().ok())
            .collect()
    }

    pub fn text(&self, selector: &str) -> String {
        self.find(selector)
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }

    pub fn attr(&self, selector: &str, name: &str) -> Option<String> {
        self.find(selector).and_then(|e| e.get_attribute(name))
    }

    /// Picks `value` in the `<select>` at `selector` as a person would: sets it, fires `change`.
    pub fn choose(&self, selector: &str, value: &str) {
        let select: web_sys::HtmlSelectElement = self.find(selector).unwrap().unchecked_into();
        select.set_value(value);
        select
            .dispatch_event(&web_sys::Event::new("change").unwrap())
            .unwrap();
    }
}

pub fn url_for(client: &str) -> String {
    format!("{SERVER}/api/events?client={client}")
}

pub async fn inject(client: &str, event: &str, data: serde_json::Value) {
    chaos(
        "inject",
        json!({ "client": client, "event": event, "data": data.to_string() }),
    )
    .await;
}

pub fn task(id: &str, title: &str, status: &str, version: u64) -> serde_json::Value {
    json!({
        "id": id, "title": title, "status": status, "agent": "tester", "progress": 0.5,
        "version": version, "updated_at": "2026-11-25T14:00:00Z"
    })
}

pub fn activity(id: &str, level: &str, message: &str) -> serde_json::Value {
    json!({
        "id": id, "agent": "tester", "level": level, "message": message,
        "at": "2026-11-25T14:00:00Z"
    })
}

pub async fn wait_for(m: &Mount, selector: &str) -> web_sys::Element {
    wait_until(selector, 5_000, || m.find(selector).is_some()).await;
    m.find(selector).unwrap()
}

/// Waits until the board equals the server's `/api/state` exactly (every id, status and
/// version), compared at the same event id so that the check cannot pass by luck. `context` is
/// added to the failure messages (e.g. a soak seed).
pub async fn wait_converged(
    tasks: TaskStore,
    last_event_id: ReadSignal<Option<String>>,
    timeout_ms: f64,
    context: &str,
) {
    let start = js_sys::Date::now();
    loop {
        let state = fetch_json("GET", "/api/state", None).await;
        let head = state["last_event_id"].as_u64().map(|h| h.to_string());
        let ours = last_event_id.get_untracked();
        if head.is_some() && ours == head {
            let mut server: Vec<(String, String, u64)> = state["tasks"]
                .as_array()
                .map(|tasks| {
                    tasks
                        .iter()
                        .map(|t| {
                            (
                                t["id"].as_str().unwrap_or_default().to_owned(),
                                t["status"].as_str().unwrap_or_default().to_owned(),
                                t["version"].as_u64().unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut board: Vec<(String, String, u64)> = tasks
                .snapshot_untracked()
                .into_iter()
                .map(|t| (t.id, t.status.as_str().to_owned(), t.version))
                .collect();
            server.sort();
            board.sort();
            assert_eq!(
                board, server,
                "board differs from /api/state at id {head:?} {context}"
            );
            return;
        }
        assert!(
            js_sys::Date::now() - start < timeout_ms,
            "board never caught up with the server (ours {ours:?}, server {head:?}) {context}"
        );
        sleep(25).await;
    }
}

/// A `use_task_stream` under its own owner, tagged with a unique `client`.
pub struct Mounted {
    pub owner: Owner,
    pub stream: UseTaskStream,
    pub client: String,
}

/// Mounts `use_task_stream` on `{SERVER}{path}?client=<tag>` (`path` may carry more query
/// parameters after a `?`).
pub fn mount_path(name: &str, path: &str, options: TaskStreamOptions) -> Mounted {
    mount_tagged(tag(name), path, options)
}

/// Like [`mount_path`] with a given client tag (e.g. one a fault was scoped to beforehand).
pub fn mount_tagged(client: String, path: &str, options: TaskStreamOptions) -> Mounted {
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = format!("{SERVER}{path}{sep}client={client}");
    let owner = Owner::new();
    let stream = owner.with(|| use_task_stream(url, options));
    Mounted {
        owner,
        stream,
        client,
    }
}

impl Mounted {
    pub fn status(&self) -> ConnectionStatus {
        self.stream.status.get_untracked()
    }

    pub async fn wait_connected(&self) {
        wait_until("Connected", 10_000, || self.status().is_connected()).await;
    }

    /// Has the server drop this client's stream, then waits for the next connection to be up.
    pub async fn drop_and_reconnect(&self) {
        let connects = self.stream.stats.get_untracked().connects;
        chaos("drop", json!({ "client": self.client })).await;
        wait_until("reconnected", 5_000, || {
            self.stream.stats.get_untracked().connects == connects + 1
        })
        .await;
        self.wait_connected().await;
    }

    /// Waits until the board equals the server's `/api/state` exactly.
    pub async fn wait_converged(&self) {
        wait_converged(
            self.stream.tasks,
            self.stream.stream.last_event_id,
            15_000.0,
            "",
        )
        .await;
    }

    pub fn unmount(self) -> String {
        self.owner.cleanup();
        self.client
    }
}

/// The server's raw `attempt_log` entries for `client` (at_ms, outcome, status, method, auth,
/// body, last_event_id).
pub async fn attempt_log(client: &str) -> Vec<Value> {
    metrics(client).await["attempt_log"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until every task on the server is done or failed, so that no mission emits events for
/// a while (until `--retain-secs` removes them).
pub async fn wait_server_quiet() {
    let start = js_sys::Date::now();
    loop {
        let state = fetch_json("GET", "/api/state", None).await;
        let busy = state["tasks"].as_array().is_some_and(|tasks| {
            tasks
                .iter()
                .any(|t| !matches!(t["status"].as_str(), Some("done" | "failed")))
        });
        if !busy {
            return;
        }
        assert!(
            js_sys::Date::now() - start < 30_000.0,
            "missions still running after 30 s"
        );
        sleep(50).await;
    }
}
