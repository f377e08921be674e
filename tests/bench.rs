//! Browser benchmarks (not part of the test command): run by `scripts/bench.sh` through
//! `scripts/browser-tests.sh` with `--release` and `--nocapture`. Each prints one line
//! `BENCH {json}` that the script turns into the report; the assertions only check that the
//! measurement itself worked.
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use leptos::prelude::*;
use leptos_task_stream::{
    shared_stream_count, use_shared_task_stream, use_task_stream, Backoff, ConnectionBadge,
    ConnectionStatus, FetchOptions, StrugStream, TaskBoard, TaskStreamOptions, TaskStreamProvider,
    Transport,
};
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

mod web_support;
use web_support::*;

wasm_bindgen_test_configure!(run_in_browser);

fn report(bench: &str, figures: Value) {
    let mut line = json!({ "bench": bench });
    if let (Some(l), Some(f)) = (line.as_object_mut(), figures.as_object()) {
        l.extend(f.clone());
    }
    leptos::logging::log!("BENCH {line}");
}

fn js(args: &str, body: &str) -> js_sys::Function {
    js_sys::Function::new_with_args(args, body)
}

fn now_ms() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

/// Starts collecting long tasks (> 50 ms) into `window.__ltsLong`.
fn watch_long_tasks() {
    js(
        "",
        "window.__ltsLong = [];
         if (!window.__ltsObserver) {
           window.__ltsObserver = new PerformanceObserver(list => {
             for (const e of list.getEntries()) window.__ltsLong.push(e.duration);
           });
           window.__ltsObserver.observe({ type: 'longtask' });
         }",
    )
    .call0(&JsValue::NULL)
    .unwrap();
}

/// `(count, longest ms)` of the long tasks since [`watch_long_tasks`].
fn long_tasks() -> (u64, f64) {
    let v = js(
        "",
        "const l = window.__ltsLong || []; return [l.length, l.length ? Math.max(...l) : 0];",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    let a: js_sys::Array = v.unchecked_into();
    (
        a.get(0).as_f64().unwrap_or(0.0) as u64,
        a.get(1).as_f64().unwrap_or(0.0),
    )
}

/// The baseline: a bare EventSource with JSON.parse and no rendering, from creation to `end`.
async fn baseline(url: &str) -> (f64, f64) {
    let promise: js_sys::Promise = js(
        "url",
        "return new Promise(resolve => {
           const t0 = performance.now();
           const es = new EventSource(url);
           let n = 0;
           es.addEventListener('task', e => { JSON.parse(e.data); n++; });
           es.addEventListener('end', () => { es.close(); resolve([n, performance.now() - t0]); });
           es.onerror = () => { es.close(); resolve([n, -1]); };
         });",
    )
    .call1(&JsValue::NULL, &JsValue::from_str(url))
    .unwrap()
    .unchecked_into();
    let a: js_sys::Array = JsFuture::from(promise).await.unwrap().unchecked_into();
    (a.get(0).as_f64().unwrap(), a.get(1).as_f64().unwrap())
}

fn gc() {
    let _ = js("", "if (window.gc) window.gc();").call0(&JsValue::NULL);
}

/// Collects garbage and lets the page settle, so that a measurement does not pay for the
/// previous one's garbage. The settle is long because the browser finishes a full collection
/// (sweeping the previous phase's thousand unmounted cards) on the main thread afterwards:
/// with 50 ms, 5 of 6 paced rounds had one long task (51–65 ms) 120–190 ms after mounting; with
/// 1 s, none of 6 had any.
async fn fresh_heap() {
    gc();
    sleep(1_000).await;
}

fn heap_bytes() -> f64 {
    js(
        "",
        "return (performance.memory && performance.memory.usedJSHeapSize) || 0;",
    )
    .call0(&JsValue::NULL)
    .unwrap()
    .as_f64()
    .unwrap_or(0.0)
}

async fn wait_closed(status: ReadSignal<ConnectionStatus>, timeout_ms: f64) -> f64 {
    let t0 = now_ms();
    while !status.get_untracked().is_closed() {
        assert!(
            now_ms() - t0 < timeout_ms,
            "timed out: {:?}",
            status.get_untracked()
        );
        sleep(2).await;
    }
    now_ms()
}

const N: u64 = 100_000;

/// Rounds of the ingest measurement: one run on this 2-core VM varies by ±20 %, so the report
/// gives the median and the range of each figure.
const INGEST_ROUNDS: usize = 5;

#[wasm_bindgen_test]
async fn ingest_throughput() {
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let mut rounds = Vec::new();
    for _ in 0..INGEST_ROUNDS {
        rounds.push(ingest_round().await);
    }
    report("ingest", json!({ "events": N, "rounds": rounds }));
}

/// One round: the baseline, the hook into state over both transports, the rendered board, and
/// the paced firehose into a rendered board.
async fn ingest_round() -> Value {
    let url = |tag: &str, extra: &str| format!("{SERVER}/api/firehose?n={N}&client={tag}{extra}");

    // Baseline: bare EventSource + JSON.parse.
    fresh_heap().await;
    watch_long_tasks();
    let (count, base_ms) = baseline(&url("bench-baseline", "")).await;
    assert_eq!(count as u64, N);
    let (base_long, base_longest) = long_tasks();

    // The hook into board state, no rendering.
    fresh_heap().await;
    watch_long_tasks();
    let owner = Owner::new();
    let t0 = now_ms();
    let s = owner.with(|| use_task_stream(url("bench-state", ""), TaskStreamOptions::default()));
    let t1 = wait_closed(s.status, 120_000.0).await;
    let state_ms = t1 - t0;
    let stats = s.stats.get_untracked();
    assert_eq!(stats.events, N + 1, "every task event and the end");
    assert_eq!(s.tasks.snapshot_untracked().len(), 1000);
    let (state_long, state_longest) = long_tasks();
    owner.cleanup();

    // The same hook over the fetch transport: one JS call per network chunk instead of one
    // MessageEvent per event, parsed by the crate's SSE parser.
    fresh_heap().await;
    watch_long_tasks();
    let owner = Owner::new();
    let t0 = now_ms();
    let s = owner.with(|| {
        use_task_stream(
            url("bench-state-fetch", ""),
            TaskStreamOptions::default().transport(Transport::Fetch(FetchOptions::default())),
        )
    });
    let t1 = wait_closed(s.status, 120_000.0).await;
    let fetch_ms = t1 - t0;
    assert_eq!(s.stats.get_untracked().events, N + 1);
    assert_eq!(s.tasks.snapshot_untracked().len(), 1000);
    let (fetch_long, fetch_longest) = long_tasks();
    owner.cleanup();

    // The hook plus a rendered Task Board (1,000 cards, each updated 100 times), over each
    // transport.
    let (board_ms, board_long, board_longest) =
        rendered_board(url("bench-board", ""), TaskStreamOptions::default()).await;
    let (board_fetch_ms, board_fetch_long, board_fetch_longest) = rendered_board(
        url("bench-board-fetch", ""),
        TaskStreamOptions::default().transport(Transport::Fetch(FetchOptions::default())),
    )
    .await;

    // Sustained 10,000 events/s into a rendered board for 5 s: long tasks.
    fresh_heap().await;
    watch_long_tasks();
    let paced = format!(
        "{SERVER}/api/firehose?n=50000&rate=10000&client={}",
        tag("bench-paced")
    );
    let t0 = now_ms();
    let m = Mount::new(move || {
        view! { <TaskStreamProvider url=paced><TaskBoard/><ConnectionBadge/></TaskStreamProvider> }
            .into_any()
    });
    while m.attr(".lts-badge", "data-status").as_deref() != Some("closed") {
        assert!(now_ms() - t0 < 60_000.0, "paced ingest timed out");
        sleep(5).await;
    }
    let paced_ms = now_ms() - t0;
    let (paced_long, paced_longest) = long_tasks();
    drop(m);

    let rate = |ms: f64| (N as f64) / (ms / 1000.0);
    json!({
        "events": N,
        "baseline_ms": base_ms, "baseline_eps": rate(base_ms),
        "baseline_long_tasks": base_long, "baseline_longest_ms": base_longest,
        "state_ms": state_ms, "state_eps": rate(state_ms),
        "state_long_tasks": state_long, "state_longest_ms": state_longest,
        "fetch_ms": fetch_ms, "fetch_eps": rate(fetch_ms),
        "fetch_long_tasks": fetch_long, "fetch_longest_ms": fetch_longest,
        "board_ms": board_ms, "board_eps": rate(board_ms),
        "board_long_tasks": board_long, "board_longest_ms": board_longest,
        "board_fetch_ms": board_fetch_ms, "board_fetch_eps": rate(board_fetch_ms),
        "board_fetch_long_tasks": board_fetch_long, "board_fetch_longest_ms": board_fetch_longest,
        "paced_events": 50000, "paced_rate": 10000, "paced_ms": paced_ms,
        "paced_long_tasks": paced_long, "paced_longest_ms": paced_longest,
    })
}

/// The firehose at `url` into a rendered `TaskBoard` (with a badge) on a hook with `options`:
/// wall time from mounting until the stream has ended and all 1,000 cards are in the page, and
/// the long tasks meanwhile. The board builds at most 64 new cards per frame, so a stream that
/// ends sooner than about 16 frames still has cards to build.
async fn rendered_board(url: String, options: TaskStreamOptions) -> (f64, u64, f64) {
    fresh_heap().await;
    watch_long_tasks();
    let t0 = now_ms();
    let m = Mount::new(move || {
        let s = use_task_stream(url.clone(), options.clone());
        view! { <TaskBoard stream=s/><ConnectionBadge stream=s.stream/> }.into_any()
    });
    while m.attr(".lts-badge", "data-status").as_deref() != Some("closed")
        || m.all(".lts-card").len() < 1000
    {
        assert!(now_ms() - t0 < 120_000.0, "board ingest timed out");
        sleep(2).await;
    }
    let ms = now_ms() - t0;
    assert_eq!(m.all(".lts-card").len(), 1000);
    let (long, longest) = long_tasks();
    drop(m);
    (ms, long, longest)
}

/// Immediate reconnects from plain JS EventSources for `ms` milliseconds (bounded).
async fn naive_clients(urls: &[String], ms: u32) {
    let list = js_sys::Array::new();
    for u in urls {
        list.push(&JsValue::from_str(u));
    }
    js(
        "urls, ms",
        "window.__ltsNaiveStop = false;
         for (const url of urls) {
           const open = () => {
             if (window.__ltsNaiveStop) return;
             const es = new EventSource(url);
             es.onerror = () => { es.close(); setTimeout(open, 0); };
           };
           open();
         }
         setTimeout(() => { window.__ltsNaiveStop = true; }, ms);",
    )
    .call2(&JsValue::NULL, &list, &JsValue::from_f64(ms as f64))
    .unwrap();
    sleep(ms + 300).await;
}

/// Attempts per 100 ms from the server's attempt log: (total, per-second mean, peak bucket).
fn histogram(log: &[(f64, String, Option<String>)], from: f64, to: f64) -> (usize, f64, usize) {
    let mut buckets = std::collections::BTreeMap::<i64, usize>::new();
    let mut total = 0;
    for (at, _, _) in log.iter().filter(|a| a.0 >= from && a.0 < to) {
        *buckets.entry((*at / 100.0) as i64).or_default() += 1;
        total += 1;
    }
    let secs = (to - from) / 1000.0;
    (
        total,
        total as f64 / secs,
        buckets.values().copied().max().unwrap_or(0),
    )
}

#[wasm_bindgen_test]
async fn real_browser_storm() {
    // Ten hooks over two origins (127.0.0.1 and localhost: six HTTP/1.1 connections each)
    // through a 20 s outage, then the same number of naive immediate-reconnect clients for 5 s.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let hooks = 10;
    let server_localhost = SERVER.replace("127.0.0.1", "localhost");
    let tag_ours = tag("storm-ours");
    let owner = Owner::new();
    let streams: Vec<_> = (0..hooks)
        .map(|i| {
            let base = if i % 2 == 0 {
                SERVER.to_owned()
            } else {
                server_localhost.clone()
            };
            let url = format!("{base}/api/events?client={tag_ours}&h={i}");
            owner.with(|| use_task_stream(url, TaskStreamOptions::default()))
        })
        .collect();
    wait_until("all hooks connected", 15_000, || {
        streams
            .iter()
            .all(|s| s.status.get_untracked().is_connected())
    })
    .await;
    let outage_secs = 20.0;
    let t_start = js_sys::Date::now();
    chaos("outage", json!({ "secs": outage_secs, "client": tag_ours })).await;
    sleep((outage_secs * 1000.0) as u32).await;
    let t_end = js_sys::Date::now();
    wait_until("all hooks recovered", 40_000, || {
        streams
            .iter()
            .all(|s| s.status.get_untracked().is_connected())
    })
    .await;
    let recovered = js_sys::Date::now() - t_end;
    let log = attempts(&tag_ours).await;
    let (ours_total, ours_rate, ours_peak) = histogram(&log, t_start, t_end);
    owner.cleanup();

    let tag_naive = tag("storm-naive");
    let urls: Vec<String> = (0..hooks)
        .map(|i| {
            let base = if i % 2 == 0 {
                SERVER.to_owned()
            } else {
                server_localhost.clone()
            };
            format!("{base}/api/events?client={tag_naive}&h={i}")
        })
        .collect();
    chaos("outage", json!({ "secs": 10.0, "client": tag_naive })).await;
    let n0 = js_sys::Date::now();
    naive_clients(&urls, 5_000).await;
    let n1 = n0 + 5_000.0;
    let log = attempts(&tag_naive).await;
    let (naive_total, naive_rate, naive_peak) = histogram(&log, n0, n1);
    chaos("heal", json!({})).await;
    report(
        "storm",
        json!({
            "clients": hooks, "outage_s": outage_secs,
            "ours_attempts": ours_total, "ours_per_s": ours_rate, "ours_peak_100ms": ours_peak,
            "ours_recovery_ms": recovered,
            "naive_window_s": 5, "naive_attempts": naive_total, "naive_per_s": naive_rate,
            "naive_peak_100ms": naive_peak,
        }),
    );
    assert!(ours_total > 0 && naive_total > 0);
}

#[wasm_bindgen_test]
async fn connections_per_origin() {
    // K components and K shared hooks on one URL: the server must see exactly one stream.
    let k = 10;
    let client = tag("bench-k");
    let mut mounts = Vec::new();
    for i in 0..k {
        let url = url_for(&client);
        mounts.push(Mount::new(move || match i % 3 {
            0 => view! { <TaskStreamProvider url=url><TaskBoard/></TaskStreamProvider> }.into_any(),
            1 => {
                view! { <TaskStreamProvider url=url><StrugStream/></TaskStreamProvider> }.into_any()
            }
            _ => view! { <TaskStreamProvider url=url><ConnectionBadge/></TaskStreamProvider> }
                .into_any(),
        }));
    }
    let owner = Owner::new();
    for _ in 0..k {
        let url = url_for(&client);
        owner.with(|| use_shared_task_stream(url, TaskStreamOptions::default()));
    }
    wait_stream_open(&client).await;
    sleep(500).await;
    let open = open_streams(&client).await;
    let attempts_seen = attempts(&client).await.len();
    owner.cleanup();
    drop(mounts);
    wait_no_open_streams(&client).await;
    report(
        "connections",
        json!({ "components": k, "hooks": k, "server_streams": open, "attempts": attempts_seen }),
    );
    assert_eq!(open, 1);
}

#[wasm_bindgen_test]
async fn memory_over_mount_cycles() {
    // 1,000 mount/unmount cycles of a board, feed and badge with their stream.
    let client = tag("bench-mem");
    gc();
    sleep(100).await;
    let heap0 = heap_bytes();
    for i in 0..1_000 {
        let url = url_for(&client);
        let m = Mount::new(move || {
            view! {
                <TaskStreamProvider url=url options=TaskStreamOptions::default().backoff(Backoff::default().initial(Duration::from_millis(200)))>
                    <ConnectionBadge/>
                    <TaskBoard/>
                    <StrugStream/>
                </TaskStreamProvider>
            }
            .into_any()
        });
        if i % 20 == 0 {
            sleep(2).await;
        }
        drop(m);
    }
    sleep(1_000).await;
    wait_no_open_streams(&client).await;
    gc();
    sleep(200).await;
    let heap1 = heap_bytes();
    let open = open_streams(&client).await;
    report(
        "memory",
        json!({
            "cycles": 1000, "leaked_streams": open, "shared_streams_left": shared_stream_count(),
            "heap_before": heap0, "heap_after": heap1, "heap_growth": heap1 - heap0,
        }),
    );
    assert_eq!(open, 0);
}
