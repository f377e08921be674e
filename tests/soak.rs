//! Chaos soak: a mission workload while a seeded schedule drops streams, causes 503 outages
//! with `Retry-After`, refuses connections, stalls, flaps and restarts the dev-server process
//! (losing its event log). At the end, with the server healthy, the board must equal the
//! server's `/api/state`, the feed must hold no duplicate ids, the status must be `Connected`,
//! and no attempt may have come sooner than the policy allows.
//!
//! `SOAK_SEED` and `SOAK_SECS` (compile-time, set by `scripts/browser-tests.sh`, which prints
//! them) choose the schedule and its length: replay a failure with
//! `SOAK_SEED=<seed> scripts/browser-tests.sh`.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use leptos_task_stream::{use_task_stream, ConnectionStatus, JitterRng};
use serde_json::json;
use wasm_bindgen_test::*;

mod web_support;
use web_support::*;

wasm_bindgen_test_configure!(run_in_browser);

const SEED: Option<&str> = option_env!("SOAK_SEED");
const SECS: Option<&str> = option_env!("SOAK_SECS");

/// Waits until the server answers again (after a restart or a refused window).
async fn wait_server_up(seed: u64) {
    let start = js_sys::Date::now();
    loop {
        let window = web_sys::window().unwrap();
        let ok = wasm_bindgen_futures::JsFuture::from(
            window.fetch_with_str(&format!("{SERVER}/api/state")),
        )
        .await
        .is_ok();
        if ok {
            return;
        }
        assert!(
            js_sys::Date::now() - start < 15_000.0,
            "[soak seed {seed}] server did not come back"
        );
        sleep(100).await;
    }
}

#[wasm_bindgen_test]
async fn chaos_soak_converges() {
    let seed: u64 = SEED
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| (js_sys::Math::random() * 1e15) as u64);
    let secs: f64 = SECS.and_then(|s| s.parse().ok()).unwrap_or(40.0);
    leptos::logging::log!("soak seed {seed}, {secs} s");
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let client = tag("soak");
    let owner = Owner::new();
    let stream = owner.with(|| use_task_stream(url_for(&client), fast_options()));
    wait_stream_open(&client).await;

    let mut rng = JitterRng::from_seed(seed);
    let mut pick = |n: u64| rng.next_u64() % n;
    let start = js_sys::Date::now();
    let mut faults: Vec<String> = Vec::new();
    let mut restarts = 0;
    while js_sys::Date::now() - start < secs * 1_000.0 {
        let body = |extra: serde_json::Value| {
            let mut b = extra;
            b["client"] = json!(client);
            b
        };
        let secs_in = |lo: u64, hi: u64, r: u64| (lo + r % (hi - lo + 1)) as f64 / 1_000.0;
        let past_middle = js_sys::Date::now() - start > secs * 500.0;
        let roll = if restarts == 0 && past_middle {
            13
        } else {
            pick(14)
        };
        let action = match roll {
            0..=3 => {
                let n = 3 + pick(8) as u32;
                let _ = try_fetch("POST", "/api/missions", Some(json!({ "tasks": n }))).await;
                format!("mission {n}")
            }
            4..=5 => {
                let _ = try_chaos("drop", body(json!({}))).await;
                "drop".into()
            }
            6..=7 => {
                let s = secs_in(500, 3_000, pick(10_000));
                let _ = try_chaos("outage", body(json!({ "secs": s, "retry_after": 1 }))).await;
                format!("outage {s} s")
            }
            8 => {
                let s = secs_in(300, 1_500, pick(10_000));
                let _ = try_chaos("refuse", json!({ "secs": s })).await;
                format!("refuse {s} s")
            }
            9..=10 => {
                let s = secs_in(1_000, 3_000, pick(10_000));
                let _ = try_chaos("stall", body(json!({ "secs": s }))).await;
                format!("stall {s} s")
            }
            11..=12 => {
                let s = secs_in(1_000, 3_000, pick(10_000));
                let after = 50 + pick(300);
                let _ = try_chaos("flap", body(json!({ "secs": s, "after_ms": after }))).await;
                format!("flap {s} s after {after} ms")
            }
            // At least one restart per soak: past the middle of the schedule, force it.
            _ if restarts < 2 => {
                restarts += 1;
                let _ = try_chaos("restart", json!({})).await;
                "restart".into()
            }
            _ => {
                let _ = try_chaos("drop", body(json!({}))).await;
                "drop".into()
            }
        };
        faults.push(action);
        sleep(200 + pick(2_300) as u32).await;
    }

    // Heal, then let the client find its way back on its own.
    wait_server_up(seed).await;
    let _ = try_chaos("heal", json!({})).await;
    let healed_at = js_sys::Date::now();
    let mission = dispatch_mission(3).await;
    let mission = mission["mission_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let what = format!("[soak seed {seed}] faults: {faults:?}");
    wait_until(&format!("Connected after the soak {what}"), 15_000, || {
        stream.status.get_untracked() == ConnectionStatus::Connected
    })
    .await;

    // Converged: same head id and exactly the server's tasks (id, status, version).
    wait_converged(stream.tasks, stream.stream.last_event_id, 20_000.0, &what).await;

    let ids: Vec<String> = stream
        .activity
        .with_untracked(|a| a.iter().map(|l| l.id.clone()).collect());
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "duplicate activity ids {what}");
    // The feed is live after the restarts: the planner's line for the mission dispatched after
    // the heal arrived. (A restarted server counts its missions from m1 again, so an id already
    // seen before a restart must not hide the new line.)
    // Timestamps have whole seconds at worst: allow one.
    let planned = format!("mission {mission} planned");
    wait_until(
        &format!("the planner's line for {mission} {what}"),
        10_000,
        || {
            stream.activity.with_untracked(|a| {
                a.iter().any(|l| {
                    l.message.starts_with(&planned)
                        && js_sys::Date::parse(&l.at) >= healed_at - 1_000.0
                })
            })
        },
    )
    .await;

    // No attempt sooner than the policy allows: every retry waits at least the smallest delay
    // the policy can draw (equal jitter at the 200 ms base: 100 ms) after the previous attempt.
    let (min_delay, _) = fast_backoff().bounds(1, None);
    let log = attempts(&client).await;
    for pair in log.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap + 15.0 >= min_delay.as_millis() as f64,
            "attempt {gap} ms after the previous one (policy minimum {min_delay:?}) {what}"
        );
    }
    let stats = stream.stats.get_untracked();
    let mut kinds = std::collections::BTreeMap::<String, u32>::new();
    for f in &faults {
        let kind = f.split(' ').next().unwrap_or("").to_owned();
        *kinds.entry(kind).or_default() += 1;
    }
    // One machine-readable line for the benchmark report (scripts/bench.sh).
    leptos::logging::log!(
        "BENCH {}",
        json!({
            "bench": "soak", "seed": seed, "secs": secs, "faults": faults.len(),
            "by_kind": kinds, "restarts": restarts, "connects": stats.connects,
            "reconnects": stats.reconnects, "resumes": stats.resumes, "events": stats.events,
            "stale_ignored": stats.stale_ignored, "decode_errors": stats.decode_errors,
            "server_attempts": log.len(), "tasks": stream.tasks.snapshot_untracked().len(),
            "converged": true,
        })
    );
    assert!(stats.reconnects > 0, "the soak injected no failure {what}");
    assert!(restarts >= 1, "the soak restarted no server {what}");
    owner.cleanup();
}
