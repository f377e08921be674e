//! End to end: the Trunk-built demo (`DEMO_DIST`) served by `strug-dev-server --static-dir`,
//! driven in headless Chromium through chromedriver's W3C WebDriver HTTP API.
//!
//! Run by `scripts/e2e.sh` (which runs `trunk build` first):
//!
//! ```sh
//! DEMO_DIST=$PWD/dist cargo test -p strug-dev-server --test demo_e2e -- --ignored --nocapture
//! ```
//!
//! The WebDriver client is the dozen commands this test needs, written over `reqwest` rather
//! than pulling in a WebDriver crate and its dependency tree.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::FutureExt;
use serde_json::{json, Value};

/// Chromium flags for headless runs as root in a container (same as `webdriver.json`).
const CHROME_ARGS: [&str; 10] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--window-size=1400,900",
];
/// The W3C key under which an element reference is returned.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Upper bound for one step; the debug wasm bundle is large, so the first load gets the most.
const PAGE_LOAD: Duration = Duration::from_secs(60);
const STEP: Duration = Duration::from_secs(20);
/// The backoff cap of the demo (30 s) plus slack: the longest a healed client may still wait.
const RECOVERY: Duration = Duration::from_secs(45);
const HOSTILE: &str = "<img src=x onerror=alert(1)>";

/// A child process killed, with its whole process group, when dropped (also on panic).
/// chromedriver's Chromium children share its group, so none of them outlives the test.
struct Reaper {
    name: &'static str,
    child: Child,
}

impl Reaper {
    fn spawn(name: &'static str, cmd: &mut Command) -> Reaper {
        let child = cmd
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Reaper { name, child }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on a process group we created; no memory-safety preconditions.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // The leader is gone; make sure no straggler in its group survives.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// A WebDriver session: just the commands this test uses.
struct Session {
    http: reqwest::Client,
    base: String,
}

impl Session {
    async fn new(driver: &str) -> Result<Session, String> {
        let http = reqwest::Client::builder()
            .timeout(PAGE_LOAD)
            .build()
            .map_err(|e| e.to_string())?;
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": CHROME_ARGS },
        }}});
        let value = call(
            &http,
            reqwest::Method::POST,
            &format!("{driver}/session"),
            Some(caps),
        )
        .await?;
        let id = value["sessionId"]
            .as_str()
            .ok_or(format!("no sessionId in {value}"))?;
        Ok(Session {
            http,
            base: format!("{driver}/session/{id}"),
        })
    }

    async fn cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        call(&self.http, method, &format!("{}{path}", self.base), body).await
    }

    async fn goto(&self, url: &str) -> Result<(), String> {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(drop)
    }

    async fn set_window(&self, width: u32, height: u32) -> Result<(), String> {
        let rect = json!({ "width": width, "height": height });
        self.cmd(reqwest::Method::POST, "/window/rect", Some(rect))
            .await
            .map(drop)
    }

    /// Every element matching `css` (possibly none: no implicit wait, callers poll).
    async fn find_all(&self, css: &str) -> Result<Vec<String>, String> {
        let by = json!({ "using": "css selector", "value": css });
        let value = self
            .cmd(reqwest::Method::POST, "/elements", Some(by))
            .await?;
        Ok(element_ids(&value))
    }

    /// Elements matching `css` inside element `parent`.
    async fn find_within(&self, parent: &str, css: &str) -> Result<Vec<String>, String> {
        let by = json!({ "using": "css selector", "value": css });
        let value = self
            .cmd(
                reqwest::Method::POST,
                &format!("/element/{parent}/elements"),
                Some(by),
            )
            .await?;
        Ok(element_ids(&value))
    }

    async fn find(&self, css: &str) -> Result<String, String> {
        self.find_all(css)
            .await?
            .into_iter()
            .next()
            .ok_or(format!("no element matches {css}"))
    }

    async fn click(&self, element: &str) -> Result<(), String> {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await
        .map(drop)
    }

    async fn text(&self, element: &str) -> Result<String, String> {
        let v = self
            .cmd(
                reqwest::Method::GET,
                &format!("/element/{element}/text"),
                None,
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    async fn attribute(&self, element: &str, name: &str) -> Result<Option<String>, String> {
        let v = self
            .cmd(
                reqwest::Method::GET,
                &format!("/element/{element}/attribute/{name}"),
                None,
            )
            .await?;
        Ok(v.as_str().map(str::to_owned))
    }

    /// A PNG of the viewport.
    async fn screenshot(&self) -> Result<Vec<u8>, String> {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await?;
        let b64 = v.as_str().ok_or("screenshot is not a string")?;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| e.to_string())
    }

    async fn delete(&self) -> Result<(), String> {
        self.cmd(reqwest::Method::DELETE, "", None).await.map(drop)
    }
}

/// One WebDriver call: the `value` of the answer, or the W3C error as text.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut req = http.request(method, url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    let answer: Value = resp.json().await.map_err(|e| format!("{url}: {e}"))?;
    let value = answer.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!(
            "{url}: {status} {} {}",
            value["error"], value["message"]
        ))
    }
}

fn element_ids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|els| {
            els.iter()
                .filter_map(|e| e[ELEMENT_KEY].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `probe` every 100 ms until it yields `Some`, or fails with `what` after `timeout`.
async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = String::new();
    loop {
        match probe().await {
            Ok(Some(v)) => return v,
            Ok(None) => {}
            // Elements come and go while Leptos re-renders: a stale reference is retried.
            Err(e) => last_error = e,
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what} {last_error}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The badge's `data-status`.
async fn badge_status(s: &Session) -> Result<Option<String>, String> {
    let badge = s.find(".lts-badge").await?;
    s.attribute(&badge, "data-status").await
}

async fn wait_status(s: &Session, want: &str, timeout: Duration) {
    let want = want.to_owned();
    wait_for(&format!("badge data-status={want}"), timeout, move || {
        let want = want.clone();
        async move { Ok(badge_status(s).await?.filter(|got| *got == want)) }
    })
    .await;
}

/// The repository root (the server crate's parent directory).
fn repo_root() -> &'static Path {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest)
}

/// `$TEST_OUTPUT` (relative to the repository root), by default `test-output/`, as the other
/// test scripts use.
fn output_dir() -> PathBuf {
    let dir =
        repo_root().join(std::env::var_os("TEST_OUTPUT").unwrap_or_else(|| "test-output".into()));
    std::fs::create_dir_all(&dir).expect("create the test output directory");
    dir
}

async fn save_screenshot(s: &Session, name: &str) -> PathBuf {
    let path = output_dir().join(name);
    let png = s.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    std::fs::write(&path, png).expect("write screenshot");
    eprintln!("screenshot: {}", path.display());
    path
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> Value {
    let resp = http
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    assert!(status.is_success(), "{url}: {status} {v}");
    v
}

/// `GET {base}/api/metrics` (`query` appended as is, e.g. `?client=e2e`).
async fn metrics(http: &reqwest::Client, base: &str, query: &str) -> Result<Value, String> {
    http.get(format!("{base}/api/metrics{query}"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

/// The end-to-end check; `s` is a fresh session, `base` the server's URL.
async fn end_to_end(s: &Session, base: &str) {
    let http = &reqwest::Client::new();
    s.set_window(1400, 900).await.expect("window size");
    s.goto(base).await.expect("load the page");
    wait_status(s, "connected", PAGE_LOAD).await;
    let title = s.text(&s.find("h1").await.unwrap()).await.unwrap();
    assert_eq!(title, "Strug Central");

    // The board starts empty (--no-ambient); the button's POST fills it through the stream.
    let dispatch = s.find(r#"button[data-action="dispatch"]"#).await.unwrap();
    s.click(&dispatch).await.unwrap();
    let cards = wait_for("a task card", STEP, move || async move {
        let cards = s.find_all(".lts-card").await?;
        Ok((!cards.is_empty()).then_some(cards.len()))
    })
    .await;
    eprintln!("{cards} card(s) after dispatch");
    let result = s
        .text(&s.find(".demo-chaos-result").await.unwrap())
        .await
        .unwrap();
    assert!(
        result.starts_with("Dispatch mission: mission ") && result.ends_with(" 8 tasks"),
        "chaos result: {result}"
    );

    // Hostile text from the server must be shown as text, never parsed as HTML.
    let at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format now");
    let activity = json!({ "id": "e2e-hostile", "agent": "intruder", "level": "warn", "message": HOSTILE, "at": at });
    let injected = post(
        http,
        format!("{base}/api/chaos/inject"),
        json!({ "event": "activity", "data": activity.to_string() }),
    )
    .await;
    assert_eq!(injected["delivered"], 1, "{injected}");
    wait_for("the hostile line in the feed", STEP, move || async move {
        for line in s.find_all(".lts-feed .lts-line").await? {
            if s.text(&line).await?.contains(HOSTILE) {
                return Ok(Some(()));
            }
        }
        Ok(None)
    })
    .await;
    let feed = s.find(".lts-feed").await.unwrap();
    assert!(
        s.find_within(&feed, "img").await.unwrap().is_empty(),
        "an <img> was created in the feed"
    );

    // The outage button: the stream gets 503s, the badge says so, and recovers after a heal.
    let outage = s.find(r#"button[data-action="outage"]"#).await.unwrap();
    s.click(&outage).await.unwrap();
    // Status, countdown text and "Retry now" are read separately and the badge changes
    // every few hundred ms (reconnecting ⇄ connecting), so poll until all three agree.
    let badge_text = wait_for(
        "badge reconnecting with countdown and Retry now",
        STEP,
        move || async move {
            let badge = s.find(".lts-badge").await?;
            if s.attribute(&badge, "data-status").await?.as_deref() != Some("reconnecting") {
                return Ok(None);
            }
            let text = s.text(&badge).await?;
            let retry = s.find_within(&badge, ".lts-retry").await?;
            Ok((text.contains("Reconnecting") && !retry.is_empty()).then_some(text))
        },
    )
    .await;
    eprintln!("badge while down: {badge_text:?}");
    save_screenshot(s, "demo-e2e-reconnecting.png").await;
    // Let the client fail at least twice so the backoff is visible on the server's side.
    let refusals = wait_for("two refused attempts", STEP, move || async move {
        let m = metrics(http, base, "?client=e2e").await?;
        Ok((m["rejected"]["outage"].as_u64().unwrap_or(0) >= 2).then_some(m))
    })
    .await;
    eprintln!("outage refusals so far: {}", refusals["rejected"]["outage"]);
    post(http, format!("{base}/api/chaos/heal"), json!({})).await;
    wait_status(s, "connected", RECOVERY).await;

    // The board survived the outage (resumed, not emptied).
    let cards = s.find_all(".lts-card").await.unwrap();
    assert!(!cards.is_empty(), "board empty after reconnect");
    // Give the feed and the chart a moment to show the latest poll before the picture.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    save_screenshot(s, "demo-e2e.png").await;

    // Every other chaos button sends a body the server accepts (a wrong one would be a 4xx).
    for (action, label) in [
        ("drop", "Drop connections"),
        ("stall", "Stall 10 s"),
        ("flap", "Flap 10 s"),
        ("throttle", "429 Retry-After 8 s"),
        ("heal", "Heal"),
    ] {
        let button = s
            .find(&format!(r#"button[data-action="{action}"]"#))
            .await
            .unwrap();
        s.click(&button).await.unwrap();
        let prefix = format!("{label}: ");
        let text = wait_for(&format!("the answer to {action}"), STEP, || {
            let prefix = prefix.clone();
            async move {
                let text = s.text(&s.find(".demo-chaos-result").await?).await?;
                Ok((text.starts_with(&prefix) || text.contains("failed")).then_some(text))
            }
        })
        .await;
        let ok = s
            .attribute(&s.find(".demo-chaos-result").await.unwrap(), "data-ok")
            .await
            .unwrap();
        assert!(
            text.starts_with(&prefix) && ok.as_deref() == Some("true"),
            "{action}: {text} (data-ok {ok:?})"
        );
    }

    // The transport switch: the page reopens its one stream over fetch and refills the board;
    // a 401 then stops it at once ("Refused by server", no retry storm) until "Retry now".
    wait_status(s, "connected", RECOVERY).await;
    let to_fetch = s.find(r#"button[data-transport="fetch"]"#).await.unwrap();
    s.click(&to_fetch).await.unwrap();
    wait_for(
        "the page on the fetch transport",
        STEP,
        move || async move {
            let pages = s.find_all(r#".demo-page[data-transport="fetch"]"#).await?;
            Ok((!pages.is_empty()).then_some(()))
        },
    )
    .await;
    wait_status(s, "connected", RECOVERY).await;
    wait_for("cards over fetch", STEP, move || async move {
        Ok((!s.find_all(".lts-card").await?.is_empty()).then_some(()))
    })
    .await;
    // Switching closed the EventSource: one stream is open, not two.
    let open_streams = |query: &'static str| async move {
        let m = metrics(http, base, query).await?;
        Ok::<u64, String>(m["open_streams"].as_u64().unwrap_or(u64::MAX))
    };
    wait_for("exactly one open stream after the switch", STEP, || async {
        Ok((open_streams("").await? == 1).then_some(()))
    })
    .await;
    let refuse = s.find(r#"button[data-action="refuse"]"#).await.unwrap();
    s.click(&refuse).await.unwrap();
    wait_status(s, "offline", STEP).await;
    let badge = s.find(".lts-badge").await.unwrap();
    let text = s.text(&badge).await.unwrap();
    assert!(text.contains("Refused by server"), "badge: {text}");
    save_screenshot(s, "demo-e2e-fetch-refused.png").await;
    let refused = |m: &Value| m["rejected"]["injected"].as_u64().unwrap_or(0);
    let before = refused(&metrics(http, base, "").await.unwrap());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = refused(&metrics(http, base, "").await.unwrap());
    assert_eq!(before, after, "a refused fetch stream kept retrying");
    post(http, format!("{base}/api/chaos/heal"), json!({})).await;
    let retry = s.find_within(&badge, ".lts-retry").await.unwrap();
    s.click(&retry[0]).await.unwrap();
    wait_status(s, "connected", RECOVERY).await;

    // Navigating away closes the page's stream: the server's open-stream gauge drops to 0.
    wait_for("the page's stream to be open", STEP, || async {
        Ok((open_streams("?client=none").await? >= 1).then_some(()))
    })
    .await;
    s.goto("about:blank").await.unwrap();
    wait_for("no open stream after navigating away", STEP, || async {
        Ok((open_streams("?client=none").await? == 0).then_some(()))
    })
    .await;
}

/// A busy board, a live feed and a chart that shows an outage being ridden out, saved to
/// `target` at a 1400-pixel-wide viewport.
async fn docs_screenshot(s: &Session, base: &str, target: &Path) {
    let http = &reqwest::Client::new();
    s.set_window(1400, 1000).await.expect("window size");
    s.goto(base).await.expect("load the page");
    wait_status(s, "connected", PAGE_LOAD).await;
    for _ in 0..2 {
        let dispatch = s.find(r#"button[data-action="dispatch"]"#).await.unwrap();
        s.click(&dispatch).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    // An outage long enough for a few backoff steps to show on the chart; it ends by itself.
    post(
        http,
        format!("{base}/api/chaos/outage"),
        json!({ "secs": 12 }),
    )
    .await;
    wait_status(s, "reconnecting", STEP).await;
    wait_status(s, "connected", RECOVERY).await;
    let dispatch = s.find(r#"button[data-action="dispatch"]"#).await.unwrap();
    s.click(&dispatch).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let png = s.screenshot().await.expect("screenshot");
    std::fs::write(target, png).expect("write the docs screenshot");
    eprintln!("screenshot: {}", target.display());
}

/// What to do with the page once it is served and a browser session is open.
enum Scenario {
    EndToEnd,
    DocsScreenshot(PathBuf),
}

/// Serves `DEMO_DIST` with `strug-dev-server --chaos --static-dir` (plus `server_args`),
/// starts chromedriver and a session, runs `scenario`, and tears everything down, on failure
/// too (with a screenshot of the failure in the test output directory).
async fn with_demo(server_args: &[&str], scenario: Scenario) {
    let dist = PathBuf::from(
        std::env::var_os("DEMO_DIST").expect("set DEMO_DIST to the trunk build output (dist/)"),
    );
    assert!(
        dist.join("index.html").is_file(),
        "{} has no index.html: run trunk build",
        dist.display()
    );

    let mut server = Reaper::spawn(
        "strug-dev-server",
        Command::new(env!("CARGO_BIN_EXE_strug-dev-server"))
            .args(["--chaos", "--port", "0"])
            .args(server_args)
            .arg("--static-dir")
            .arg(&dist)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    let stdout = server.child.stdout.take().expect("server stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        line
    })
    .await
    .expect("read the listening line");
    let base = line
        .trim()
        .strip_prefix("strug-dev-server listening on ")
        .unwrap_or_else(|| panic!("server did not start: {line:?}"))
        .to_owned();

    let port = free_port();
    let _chromedriver = Reaper::spawn(
        "chromedriver",
        Command::new(std::env::var_os("CHROMEDRIVER").unwrap_or_else(|| "chromedriver".into()))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let driver = format!("http://127.0.0.1:{port}");
    let (http, driver) = (&reqwest::Client::new(), &driver);
    wait_for("chromedriver", STEP, move || async move {
        let ready = match http.get(format!("{driver}/status")).send().await {
            Ok(r) => r
                .json::<Value>()
                .await
                .ok()
                .and_then(|v| v["value"]["ready"].as_bool()),
            Err(_) => None,
        };
        Ok(ready.filter(|r| *r))
    })
    .await;

    let session = Session::new(driver).await.expect("new WebDriver session");
    let outcome = AssertUnwindSafe(async {
        match scenario {
            Scenario::EndToEnd => end_to_end(&session, &base).await,
            Scenario::DocsScreenshot(path) => docs_screenshot(&session, &base, &path).await,
        }
    })
    .catch_unwind()
    .await;
    if outcome.is_err() {
        // The picture of the failure is the quickest diagnosis.
        if let Ok(png) = session.screenshot().await {
            let _ = std::fs::write(output_dir().join("demo-e2e-failure.png"), png);
        }
    }
    let _ = session.delete().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the demo built by trunk; run by scripts/e2e.sh"]
async fn demo_page_streams_recovers_from_an_outage_and_renders_server_text_as_text() {
    // Pins the demo end to end: page served with --static-dir, live board after a dispatch,
    // badge reconnecting → connected across a 503 outage, hostile activity text stays text,
    // every chaos button accepted by the server.
    let quick = ["--no-ambient", "--tick-ms", "150", "--heartbeat-secs", "2"];
    with_demo(&quick, Scenario::EndToEnd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes the README picture; run with DEMO_SCREENSHOT=docs/demo.png"]
async fn demo_screenshot_for_the_docs() {
    // Not a check: regenerates the README's picture of a busy board after an outage
    // (`DEMO_SCREENSHOT=docs/demo.png`, relative to the repository root); skipped without it.
    let Some(target) = std::env::var_os("DEMO_SCREENSHOT") else {
        eprintln!("DEMO_SCREENSHOT not set; skipping");
        return;
    };
    let target = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(target);
    with_demo(&["--seed", "7"], Scenario::DocsScreenshot(target)).await;
}
