//! The components mounted in headless Chromium against the real `strug-dev-server`: DOM
//! structure, counts, moves, fine-grained updates, the feed's cap and scroll rule, the badge's
//! countdown and "Retry now", one connection per URL, and hostile strings rendered as text.
//!
//! Run by `scripts/browser-tests.sh`; see `tests/browser.rs` for the setup.
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use leptos::prelude::*;
use leptos_task_stream::{
    shared_stream_count, use_event_stream, use_shared_task_stream, use_task_stream, Backoff,
    ConnectionBadge, EventStreamOptions, FetchOptions, Jitter, StreamMessage, StrugStream,
    TaskBoard, TaskStreamOptions, TaskStreamProvider, Transport,
};
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

mod web_support;
use web_support::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn wait_badge(m: &Mount, status: &str) {
    wait_until(&format!("badge {status}"), 8_000, || {
        m.attr(".lts-badge", "data-status").as_deref() == Some(status)
    })
    .await;
}

/// A `TaskBoard` under its own provider, on a fresh client tag; returns the mount and the tag.
fn mount_board(name: &str) -> (Mount, String) {
    let client = tag(name);
    let url = url_for(&client);
    let m = Mount::new(move || {
        view! { <TaskStreamProvider url=url options=fast_options()><TaskBoard/></TaskStreamProvider> }
            .into_any()
    });
    (m, client)
}

/// A `StrugStream` under its own provider keeping `capacity` activity lines, on a fresh client
/// tag; returns the mount and the tag.
fn mount_feed(name: &str, capacity: usize) -> (Mount, String) {
    let client = tag(name);
    let url = url_for(&client);
    let m = Mount::new(move || {
        let options = fast_options().activity_capacity(capacity);
        view! { <TaskStreamProvider url=url options=options><StrugStream/></TaskStreamProvider> }
            .into_any()
    });
    (m, client)
}

/// Clicks the badge's "Retry now" while attempt 1 waits: one attempt at once (the server's
/// log has one more), and attempt 2 is scheduled.
async fn retry_now_attempts_at_once(m: &Mount, client: &str) {
    let before = attempts(client).await.len();
    let retry: web_sys::HtmlElement = m.find(".lts-retry").unwrap().unchecked_into();
    retry.click();
    wait_until("attempt 2 scheduled", 3_000, || {
        m.text(".lts-badge-text").ends_with("(attempt 2)")
    })
    .await;
    assert_eq!(
        attempts(client).await.len(),
        before + 1,
        "Retry now must attempt at once"
    );
}

/// A `ConnectionBadge` under its own provider on `url`.
fn mount_badge(url: String, options: TaskStreamOptions) -> Mount {
    Mount::new(move || {
        view! { <TaskStreamProvider url=url options=options><ConnectionBadge/></TaskStreamProvider> }
            .into_any()
    })
}

#[wasm_bindgen_test]
async fn task_board_renders_columns_counts_and_moves_cards_in_place() {
    // Pins: five columns in order with counts that match their cards; a task changes column
    // on a status change; an update re-renders only its own card (the DOM nodes of other cards
    // survive); a stale version changes nothing.
    let (m, client) = mount_board("board");
    let statuses: Vec<String> = m
        .all(".lts-column")
        .iter()
        .map(|c| c.get_attribute("data-status").unwrap_or_default())
        .collect();
    assert_eq!(statuses, ["queued", "running", "blocked", "done", "failed"]);
    assert_eq!(
        m.text(".lts-column[data-status=running] .lts-column-name"),
        "Running"
    );
    wait_stream_open(&client).await;

    let a = format!("{client}-a");
    let b = format!("{client}-b");
    inject(&client, "task", task(&a, "Alpha", "queued", 1)).await;
    inject(&client, "task", task(&b, "Beta", "queued", 1)).await;
    let card_a = wait_for(
        &m,
        &format!(".lts-column[data-status=queued] [data-task-id='{a}']"),
    )
    .await;
    let card_b = wait_for(
        &m,
        &format!(".lts-column[data-status=queued] [data-task-id='{b}']"),
    )
    .await;
    assert_eq!(
        card_a
            .query_selector(".lts-card-title")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "Alpha"
    );
    assert!(card_a.query_selector("progress").unwrap().is_some());

    // Update B in place: same node, new title; A untouched.
    inject(&client, "task", task(&b, "Beta v2", "queued", 2)).await;
    wait_until("B retitled", 5_000, || {
        card_b
            .text_content()
            .unwrap_or_default()
            .contains("Beta v2")
    })
    .await;
    let b_now = m.find(&format!("[data-task-id='{b}']")).unwrap();
    assert!(b_now.is_same_node(Some(&card_b)), "B must update in place");
    let a_now = m.find(&format!("[data-task-id='{a}']")).unwrap();
    assert!(
        a_now.is_same_node(Some(&card_a)),
        "A must not be re-rendered"
    );

    // A stale version (a replay) is ignored.
    inject(&client, "task", task(&b, "Beta OLD", "failed", 1)).await;
    sleep(300).await;
    assert!(m
        .find(&format!(
            ".lts-column[data-status=queued] [data-task-id='{b}']"
        ))
        .is_some());
    assert!(!m.text(&format!("[data-task-id='{b}']")).contains("OLD"));

    // A moves to Running.
    inject(&client, "task", task(&a, "Alpha", "running", 2)).await;
    wait_for(
        &m,
        &format!(".lts-column[data-status=running] [data-task-id='{a}']"),
    )
    .await;
    assert!(m
        .find(&format!(
            ".lts-column[data-status=queued] [data-task-id='{a}']"
        ))
        .is_none());
    assert!(m
        .find(&format!("[data-task-id='{b}']"))
        .unwrap()
        .is_same_node(Some(&card_b)));

    // Every count equals the number of cards in its column.
    sleep(200).await;
    for column in m.all(".lts-column") {
        let cards = column.query_selector_all(".lts-card").unwrap().length();
        let count = column
            .query_selector(".lts-count")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap();
        assert_eq!(count, cards.to_string());
    }
}

/// Starts sampling the card count in `selector` once per animation frame, until `until` cards
/// are there (or 10 s pass); the future yields the counts: the frame-by-frame growth of a column.
/// Sampling starts at the call, not at the first poll.
fn cards_per_frame(
    root: &web_sys::HtmlElement,
    selector: &str,
    until: u32,
) -> impl std::future::Future<Output = Vec<u32>> {
    let sampler = js_sys::Function::new_with_args(
        "root, selector, until",
        "return new Promise(resolve => {
           const counts = [];
           const t0 = performance.now();
           const tick = () => {
             const n = root.querySelectorAll(selector).length;
             counts.push(n);
             if (n >= until || performance.now() - t0 > 10000) resolve(counts);
             else requestAnimationFrame(tick);
           };
           requestAnimationFrame(tick);
         });",
    );
    let promise: js_sys::Promise = sampler
        .call3(
            &wasm_bindgen::JsValue::NULL,
            root,
            &selector.into(),
            &until.into(),
        )
        .unwrap()
        .unchecked_into();
    async move {
        let counts = wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
        js_sys::Array::from(&counts)
            .iter()
            .map(|v| v.as_f64().unwrap_or(0.0) as u32)
            .collect()
    }
}

/// Injects a snapshot of tasks `ids`, the i-th in `statuses[i % len]`, and samples `selector`'s
/// card count per frame in `m` until `until` are there; asserts that no frame added more than
/// 64. Returns the counts.
async fn snapshot_frame_by_frame(
    m: &Mount,
    client: &str,
    ids: &[String],
    statuses: &[&str],
    selector: &str,
    until: u32,
) -> Vec<u32> {
    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| task(id, "bulk", statuses[i % statuses.len()], 1))
        .collect();
    let sampling = cards_per_frame(&m.root, selector, until);
    inject(client, "snapshot", json!({ "tasks": tasks })).await;
    let counts = sampling.await;
    assert_eq!(counts.last().copied(), Some(until), "{counts:?}");
    for pair in counts.windows(2) {
        assert!(
            pair[1].saturating_sub(pair[0]) <= 64,
            "more than 64 new cards in one frame: {counts:?}"
        );
    }
    counts
}

#[wasm_bindgen_test]
async fn a_large_snapshot_renders_over_several_frames_in_order() {
    // Pins: 300 new tasks at once do not become one long task: a column adds at most 64 cards
    // per frame, its count shows all 300 from the start, and every card arrives, in the
    // column's order. (The stream is the dev server's global one: other tests' missions may
    // add their own cards, so only this test's ids are counted.)
    let (m, client) = mount_board("big-snapshot");
    wait_stream_open(&client).await;
    let ids: Vec<String> = (0..300).map(|i| format!("{client}-{i:03}")).collect();
    let selector = &format!(".lts-column[data-status=queued] [data-task-id^='{client}-']");
    let counts = snapshot_frame_by_frame(&m, &client, &ids, &["queued"], selector, 300).await;
    assert!(
        counts.iter().filter(|&&n| n > 0 && n < 300).count() >= 4,
        "rendered progressively: {counts:?}"
    );
    let count: usize = m
        .text(".lts-column[data-status=queued] .lts-count")
        .parse()
        .unwrap();
    assert!(count >= 300, "{count}");
    let shown: Vec<String> = m
        .all(selector)
        .iter()
        .map(|c| c.get_attribute("data-task-id").unwrap_or_default())
        .collect();
    assert_eq!(shown, ids);

    // A snapshot that replaces all 300 cards with 300 others (a server restart, heavy churn
    // between reconnects) is bounded the same way: the limit counts cards to build, not the
    // column's length, which did not change.
    let others: Vec<String> = (0..300).map(|i| format!("{client}-new-{i:03}")).collect();
    let selector = format!(".lts-column[data-status=queued] [data-task-id^='{client}-new-']");
    snapshot_frame_by_frame(&m, &client, &others, &["queued"], &selector, 300).await;
    let own = format!(".lts-column[data-status=queued] [data-task-id^='{client}-']");
    assert_eq!(m.all(&own).len(), 300);
}

#[wasm_bindgen_test]
async fn the_columns_share_one_card_budget_per_frame_and_keep_their_cards() {
    // Pins: the 64-cards-per-frame bound is the board's, not each column's (four columns each
    // building 64 cards in one frame took 50–80 ms on this VM: a long task), and cards already
    // shown stay in place while new ones ahead of them wait for their frame. (Only this
    // test's ids are counted: other tests' missions may add cards to the global stream.)
    let (m, client) = mount_board("shared-budget");
    wait_stream_open(&client).await;
    let statuses = ["queued", "running", "blocked", "done"];
    let kept: Vec<String> = (0..8).map(|i| format!("{client}-kept-{i}")).collect();
    let own = format!("[data-task-id^='{client}-']");
    snapshot_frame_by_frame(&m, &client, &kept, &statuses, &own, 8).await;
    // Mark the shown cards' nodes: a card rebuilt later would come back unmarked.
    for card in m.all(&own) {
        js_sys::Reflect::set(&card, &"ltsKept".into(), &true.into()).unwrap();
    }

    // 400 new tasks over four columns, listed before the kept ones in every column.
    let mut ids: Vec<String> = (0..400).map(|i| format!("{client}-new-{i:03}")).collect();
    ids.extend(kept.iter().cloned());
    let counts = snapshot_frame_by_frame(&m, &client, &ids, &statuses, &own, 408).await;
    assert!(
        counts.iter().filter(|&&n| n > 8 && n < 408).count() >= 6,
        "rendered progressively: {counts:?}"
    );
    for status in statuses {
        let column = format!(".lts-column[data-status={status}] {own}");
        let shown: Vec<String> = m
            .all(&column)
            .iter()
            .map(|c| c.get_attribute("data-task-id").unwrap_or_default())
            .collect();
        let want: Vec<String> = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| statuses[i % 4] == status)
            .map(|(_, id)| id.clone())
            .collect();
        assert_eq!(shown, want, "{status}: every card, in the column's order");
    }
    for id in &kept {
        let card = m.find(&format!("[data-task-id='{id}']")).unwrap();
        let marked = js_sys::Reflect::get(&card, &"ltsKept".into()).unwrap();
        assert_eq!(marked.as_bool(), Some(true), "{id} was rebuilt");
    }
}

#[wasm_bindgen_test]
async fn a_card_follows_its_task_after_a_removal_and_return_flushed_in_one_go() {
    // Pins: `TaskStore::flush` twice in one go (remove, flush, re-add, flush) leaves the card
    // bound to the task's live signal. The column's id list ends as it began, so the board
    // keeps the card; it must not keep the signal that the removal dropped, or it would show
    // the old task forever.
    let store = std::rc::Rc::new(std::cell::Cell::new(None));
    let out = store.clone();
    let m = Mount::new(move || {
        let stream = use_task_stream(
            format!("{SERVER}/api/events?client={}", tag("reborn")),
            TaskStreamOptions::default().immediate(false),
        );
        out.set(Some(stream.tasks));
        view! { <TaskBoard stream/> }.into_any()
    });
    let tasks = store.get().unwrap();
    let decode = |v: serde_json::Value| serde_json::from_value(v).unwrap();
    let id = tag("reborn-task");
    tasks.apply_task(decode(task(&id, "first", "running", 1)));
    tasks.flush();
    let card = format!("[data-task-id='{id}'] .lts-card-title");
    wait_until("first card", 3_000, || {
        m.find(&card).map(|e| e.text_content()) == Some(Some("first".into()))
    })
    .await;

    assert!(tasks.remove(&id));
    tasks.flush();
    assert!(tasks.apply_task(decode(task(&id, "second", "running", 2))));
    tasks.flush();
    sleep(100).await;
    assert_eq!(m.text(&card), "second");
    // And it keeps following.
    tasks.apply_task(decode(task(&id, "third", "running", 3)));
    wait_until("third", 3_000, || m.text(&card) == "third").await;
}

#[wasm_bindgen_test]
async fn the_feed_shows_lines_of_a_restarted_server_that_reuses_ids() {
    // Pins: a server that restarted and counts its activity ids from the start again loses no
    // line: same id, other content is a new line, and both render (the feed is keyed by
    // arrival, not by id); an exact replay is still dropped.
    let (m, client) = mount_feed("reused-ids", 50);
    wait_stream_open(&client).await;
    let id = format!("{client}-a1");
    let selector = format!("[data-activity-id='{id}']");
    inject(
        &client,
        "activity",
        activity(&id, "info", "before the restart"),
    )
    .await;
    wait_for(&m, &selector).await;
    let mut again = activity(&id, "info", "after the restart");
    again["at"] = json!("2026-11-25T15:00:00Z");
    inject(&client, "activity", again.clone()).await;
    wait_until("both lines", 3_000, || m.all(&selector).len() == 2).await;
    inject(&client, "activity", again).await;
    sleep(200).await;
    let texts: Vec<String> = m
        .all(&format!("{selector} .lts-line-message"))
        .iter()
        .map(|e| e.text_content().unwrap_or_default())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].ends_with("before the restart"), "{texts:?}");
    assert!(texts[1].ends_with("after the restart"), "{texts:?}");
}

/// An RFC 3339 time `secs_ago` seconds before now, from the browser's clock.
fn iso_secs_ago(secs_ago: f64) -> String {
    js_sys::Date::new(&(js_sys::Date::now() - secs_ago * 1_000.0).into())
        .to_iso_string()
        .into()
}

#[wasm_bindgen_test]
async fn cards_and_lines_show_their_age_and_it_moves() {
    // Pins the relative times: a card shows its task's age ("5 s ago") and a feed line its
    // line's, each in a <time datetime=…> holding the server's timestamp, and both move on
    // with the clock without any new event.
    let client = tag("ages");
    let url = url_for(&client);
    let m = Mount::dashboard(url);
    wait_stream_open(&client).await;
    let at = iso_secs_ago(5.0);
    let id = format!("{client}-t");
    let mut t = task(&id, "aged", "running", 1);
    t["updated_at"] = json!(at);
    inject(&client, "task", t).await;
    let line = format!("{client}-l");
    let mut a = activity(&line, "info", "aged line");
    a["at"] = json!(at);
    inject(&client, "activity", a).await;
    let card_age = format!("[data-task-id='{id}'] .lts-age");
    let line_age = format!("[data-activity-id='{line}'] .lts-line-time");
    wait_for(&m, &card_age).await;
    wait_for(&m, &line_age).await;
    let secs = |text: String| -> u64 {
        text.strip_suffix(" s ago")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("not an age in seconds: {text:?}"))
    };
    // The clock ticks once a second, so a shown age may lag by up to one.
    let mut first = Vec::new();
    for selector in [&card_age, &line_age] {
        assert_eq!(m.attr(selector, "datetime").as_deref(), Some(at.as_str()));
        let age = secs(m.text(selector));
        assert!((4..=7).contains(&age), "{age}");
        first.push(age);
    }
    sleep(2_200).await;
    for (selector, before) in [&card_age, &line_age].into_iter().zip(first) {
        let age = secs(m.text(selector));
        assert!(age > before && age <= 10, "{before} then {age}");
    }
}

#[wasm_bindgen_test]
async fn the_badge_says_offline_offers_retry_and_is_a_polite_live_region() {
    // Pins the badge through the browser's offline/online events: "Offline" with a "Retry
    // now" while offline, "Live" and no button once back; the badge is a polite live region
    // so a screen reader hears the change.
    let client = tag("badge-offline");
    let m = mount_badge(url_for(&client), fast_options());
    wait_badge(&m, "connected").await;
    assert_eq!(m.attr(".lts-badge", "aria-live").as_deref(), Some("polite"));
    let fire = |name: &str| {
        let event = web_sys::Event::new(name).unwrap();
        web_sys::window().unwrap().dispatch_event(&event).unwrap();
    };
    fire("offline");
    wait_badge(&m, "offline").await;
    assert_eq!(m.text(".lts-badge-text"), "Offline");
    assert!(m.find(".lts-retry").is_some());
    fire("online");
    wait_badge(&m, "connected").await;
    assert_eq!(m.text(".lts-badge-text"), "Live");
    assert!(m.find(".lts-retry").is_none());
}

#[wasm_bindgen_test]
async fn task_board_shows_an_empty_state() {
    // Pins: a board with no tasks says so.
    let m = Mount::new(|| {
        let options = TaskStreamOptions::default().immediate(false);
        view! {
            <TaskStreamProvider url=format!("{SERVER}/api/events?client={}", tag("empty")) options=options>
                <TaskBoard empty_text="Nothing to do"/>
            </TaskStreamProvider>
        }
        .into_any()
    });
    sleep(50).await;
    assert_eq!(m.text(".lts-empty"), "Nothing to do");
    assert!(m.all(".lts-card").is_empty());
}

#[wasm_bindgen_test]
async fn strug_stream_says_when_it_is_empty_and_when_the_filters_hide_everything() {
    // Pins: an empty feed shows its `empty_text`; lines replace it; filters that hide every
    // line show `no_match_text`; clearing them brings the lines back.
    let client = tag("feed-empty");
    let url = url_for(&client);
    let m = Mount::new(move || {
        view! {
            <TaskStreamProvider url=url options=fast_options()>
                <StrugStream empty_text="Waiting for the agents" no_match_text="Nothing matches"/>
            </TaskStreamProvider>
        }
        .into_any()
    });
    sleep(50).await;
    assert_eq!(m.text(".lts-empty"), "Waiting for the agents");
    wait_stream_open(&client).await;
    // An agent no mission uses: its lines are the only ones it can filter for.
    let agent = format!("solo-{client}");
    let id = format!("{client}-1");
    let mut line = activity(&id, "info", "hello");
    line["agent"] = json!(agent);
    inject(&client, "activity", line).await;
    wait_for(&m, &format!("[data-activity-id='{id}']")).await;
    assert!(m.find(".lts-empty").is_none());

    m.choose(".lts-filter-agent", &agent);
    m.choose(".lts-filter-level", "error");
    wait_until("no-match text", 3_000, || m.find(".lts-empty").is_some()).await;
    assert_eq!(m.text(".lts-empty"), "Nothing matches");
    assert!(m.all(".lts-line").is_empty());
    m.choose(".lts-filter-level", "");
    wait_for(&m, &format!("[data-activity-id='{id}']")).await;
    assert!(m.find(".lts-empty").is_none());
}

#[wasm_bindgen_test]
async fn the_agent_filter_survives_its_agent_leaving_the_log() {
    // Pins: filtering on an agent whose lines have all been evicted keeps that agent selected
    // (its option stays), so the select never reads "All" over a filtered feed; "All" then
    // shows everything again.
    let (m, client) = mount_feed("feed-agent", 3);
    wait_stream_open(&client).await;
    let line = |n: usize, agent: &str| {
        let mut line = activity(&format!("{client}-{n}"), "info", "hello");
        line["agent"] = json!(agent);
        line
    };
    inject(&client, "activity", line(0, "bob")).await;
    wait_for(&m, &format!("[data-activity-id='{client}-0']")).await;
    m.choose(".lts-filter-agent", "bob");
    for n in 1..=4 {
        inject(&client, "activity", line(n, "ann")).await;
    }
    wait_until("bob's line evicted", 3_000, || {
        m.find(".lts-empty").is_some()
    })
    .await;
    let select: web_sys::HtmlSelectElement = m.find(".lts-filter-agent").unwrap().unchecked_into();
    assert_eq!(select.value(), "bob");
    assert_eq!(m.text(".lts-empty"), "No lines match the filters");
    m.choose(".lts-filter-agent", "");
    wait_until("all lines", 3_000, || m.all(".lts-line").len() == 3).await;
    // Once nothing filters on bob, his option goes with his lines.
    assert!(m.find(".lts-filter-agent option[value='bob']").is_none());
}

#[wasm_bindgen_test]
async fn strug_stream_is_bounded_follows_new_lines_and_pauses_when_scrolled_up() {
    // Pins: at most activity_capacity lines; newest at the bottom and kept in view while
    // following; scrolling up stops following and shows "Jump to latest", which resumes it;
    // level colouring and the level filter.
    let (m, client) = mount_feed("feed", 30);
    wait_stream_open(&client).await;
    for i in 0..50 {
        let level = if i % 10 == 0 { "error" } else { "info" };
        inject(
            &client,
            "activity",
            activity(&format!("{client}-{i}"), level, &format!("line {i}")),
        )
        .await;
    }
    let last = format!("[data-activity-id='{client}-49']");
    wait_for(&m, &last).await;
    sleep(100).await;
    assert_eq!(m.all(".lts-line").len(), 30);
    let lines = m.all(".lts-line");
    assert_eq!(
        lines
            .last()
            .unwrap()
            .get_attribute("data-activity-id")
            .unwrap(),
        format!("{client}-49")
    );
    assert_eq!(
        m.attr(&format!("[data-activity-id='{client}-40']"), "data-level")
            .as_deref(),
        Some("error")
    );
    // The level is in words too, not only in colour: a visible tag on warnings and errors, a
    // screen-reader one on the rest.
    assert_eq!(
        m.text(&format!("[data-activity-id='{client}-40'] .lts-line-level")),
        "error"
    );
    assert_eq!(
        m.text(&format!("[data-activity-id='{client}-41'] .lts-sr-only")),
        "info"
    );

    let list: web_sys::HtmlElement = m.find(".lts-feed-lines").unwrap().unchecked_into();
    let at_bottom =
        |l: &web_sys::HtmlElement| l.scroll_top() + l.client_height() >= l.scroll_height() - 2;
    assert!(
        list.scroll_height() > list.client_height(),
        "the feed must overflow for this test"
    );
    let start = js_sys::Date::now();
    while !at_bottom(&list) {
        assert!(
            js_sys::Date::now() - start < 3_000.0,
            "not following the newest line: top {} client {} scroll {}",
            list.scroll_top(),
            list.client_height(),
            list.scroll_height()
        );
        sleep(20).await;
    }
    assert!(m.find(".lts-jump").is_none());

    // The reader scrolls up: following stops.
    list.set_scroll_top(0);
    wait_until("jump button", 3_000, || m.find(".lts-jump").is_some()).await;
    inject(
        &client,
        "activity",
        activity(&format!("{client}-50"), "warn", "line 50"),
    )
    .await;
    wait_for(&m, &format!("[data-activity-id='{client}-50']")).await;
    sleep(150).await;
    assert_eq!(list.scroll_top(), 0, "must not yank the reader back down");

    // Scrolled up, the browser's scroll anchoring holds the lines being read in place while
    // lines above are evicted; while following it is off.
    assert_eq!(
        list.style().get_property_value("overflow-anchor").unwrap(),
        "auto"
    );

    // "Jump to latest" resumes following, and keeps keyboard focus in the feed.
    let jump: web_sys::HtmlElement = m.find(".lts-jump").unwrap().unchecked_into();
    jump.focus().unwrap();
    jump.click();
    wait_until("back at the bottom", 3_000, || at_bottom(&list)).await;
    wait_until("jump button hidden", 3_000, || {
        m.find(".lts-jump").is_none()
    })
    .await;
    assert_eq!(
        list.style().get_property_value("overflow-anchor").unwrap(),
        "none"
    );
    let focused = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .active_element();
    assert_eq!(
        focused.as_ref(),
        Some(list.unchecked_ref::<web_sys::Element>())
    );

    // Filter by level.
    m.choose(".lts-filter-level", "error");
    wait_until("only errors", 3_000, || {
        let lines = m.all(".lts-line");
        !lines.is_empty()
            && lines
                .iter()
                .all(|l| l.get_attribute("data-level").as_deref() == Some("error"))
    })
    .await;
}

/// Starts counting the page's live `setInterval` timers (created from now on, not cleared).
fn track_intervals() {
    js_sys::Function::new_no_args(
        "if (!window.__ltsLive) {
           window.__ltsLive = new Set();
           const set = window.setInterval.bind(window);
           const clear = window.clearInterval.bind(window);
           window.setInterval = (...args) => { const id = set(...args); window.__ltsLive.add(id); return id; };
           window.clearInterval = id => { window.__ltsLive.delete(id); clear(id); };
         }
         window.__ltsLive.clear();",
    )
    .call0(&wasm_bindgen::JsValue::NULL)
    .unwrap();
}

/// Live `setInterval` timers since [`track_intervals`].
fn live_intervals() -> u32 {
    js_sys::Function::new_no_args("return window.__ltsLive.size;")
        .call0(&wasm_bindgen::JsValue::NULL)
        .unwrap()
        .as_f64()
        .unwrap_or(-1.0) as u32
}

#[wasm_bindgen_test]
async fn connection_badge_counts_down_and_retries_now() {
    // Pins: "Live" when connected; during an outage "Reconnecting in N s (attempt k)" with a
    // countdown that moves, a "Retry now" button that makes an attempt at once, and the
    // status for screen readers; back to "Live" after recovery. The countdown's timer runs
    // only while a retry is pending.
    track_intervals();
    let client = tag("badge");
    let m = mount_badge(
        url_for(&client),
        TaskStreamOptions::default().backoff(
            Backoff::default()
                .initial(Duration::from_secs(4))
                .jitter(Jitter::Equal),
        ),
    );
    wait_badge(&m, "connected").await;
    assert_eq!(m.text(".lts-badge-text"), "Live");
    assert_eq!(m.attr(".lts-badge", "role").as_deref(), Some("status"));
    assert!(m.find(".lts-retry").is_none());
    assert_eq!(live_intervals(), 0, "a connected badge sets no timer");

    chaos("outage", json!({ "secs": 30.0, "client": client })).await;
    wait_badge(&m, "reconnecting").await;
    sleep(100).await;
    let first = m.text(".lts-badge-text");
    assert!(
        first.starts_with("Reconnecting in ") && first.ends_with(" s (attempt 1)"),
        "{first}"
    );
    let secs = |t: &str| -> u64 {
        t["Reconnecting in ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!((2..=4).contains(&secs(&first)), "{first}");
    // The text renders on a 250 ms ticker, so "a second later" can still read the old figure
    // for up to one tick; wait for the move, well before the 4 s retry could fire.
    wait_until("countdown moves", 2_000, || {
        let later = m.text(".lts-badge-text");
        later.ends_with(" s (attempt 1)") && secs(&later) < secs(&first)
    })
    .await;
    assert_eq!(m.text(".lts-sr-only"), "Reconnecting (attempt 1)");
    assert_eq!(live_intervals(), 1, "one countdown timer");

    retry_now_attempts_at_once(&m, &client).await;

    chaos("heal", json!({})).await;
    let retry: web_sys::HtmlElement = m.find(".lts-retry").unwrap().unchecked_into();
    retry.focus().unwrap();
    retry.click();
    wait_badge(&m, "connected").await;
    assert_eq!(m.text(".lts-badge-text"), "Live");
    assert!(m.find(".lts-retry").is_none());
    wait_until("countdown timer stopped", 1_000, || live_intervals() == 0).await;
    // The button is gone; keyboard focus stayed on the badge instead of falling to the page.
    let focused = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .active_element();
    assert_eq!(focused, m.find(".lts-badge"));
}

#[wasm_bindgen_test]
async fn connection_badge_shows_a_use_event_stream_and_retries_it() {
    // Pins: the badge takes the handle of the generic hook, not only a task stream: it shows
    // that stream's status, and its "Retry now" reconnects that stream at once. (No resume, so
    // every connection starts with a snapshot: the callback counts connections.)
    let client = tag("badge-generic");
    let url = url_for(&client);
    let snapshots = ArcRwSignal::new(0_usize);
    let counted = snapshots.clone();
    let m = Mount::new(move || {
        let options = EventStreamOptions::default()
            .events(["snapshot"])
            .resume(None)
            .backoff(Backoff::default().initial(Duration::from_secs(4)));
        let prices = use_event_stream(url, options, move |_: StreamMessage<serde_json::Value>| {
            *counted.write() += 1;
        });
        view! { <ConnectionBadge stream=prices/> }.into_any()
    });
    wait_badge(&m, "connected").await;
    assert_eq!(m.text(".lts-badge-text"), "Live");
    wait_until("the snapshot reaches the callback", 4_000, || {
        snapshots.get_untracked() == 1
    })
    .await;

    chaos("outage", json!({ "secs": 30.0, "client": client })).await;
    wait_badge(&m, "reconnecting").await;
    assert!(
        m.text(".lts-badge-text").ends_with("(attempt 1)"),
        "{}",
        m.text(".lts-badge-text")
    );
    retry_now_attempts_at_once(&m, &client).await;

    chaos("heal", json!({})).await;
    let retry: web_sys::HtmlElement = m.find(".lts-retry").unwrap().unchecked_into();
    retry.click();
    wait_badge(&m, "connected").await;
    wait_until("the new connection's snapshot", 4_000, || {
        snapshots.get_untracked() == 2
    })
    .await;
}

#[wasm_bindgen_test]
async fn connection_badge_says_why_a_stream_stopped() {
    // Pins: a stopped stream's reason reaches people: the badge's title and its screen-reader
    // text carry `ConnectionStatus::detail()`. Invalid options (the factor written by the
    // browser-side float formatting), then a server refusal through the fetch transport.
    let m = mount_badge(
        url_for(&tag("badge-bad")),
        fast_options().backoff(fast_backoff().factor(0.5)),
    );
    wait_badge(&m, "closed").await;
    let why = "backoff factor must be a finite number ≥ 1.0, got 0.5";
    assert_eq!(m.text(".lts-badge-text"), "Misconfigured");
    assert_eq!(m.attr(".lts-badge", "title").as_deref(), Some(why));
    assert_eq!(m.text(".lts-badge-detail"), why);
    assert_eq!(m.text(".lts-sr-only"), format!("Misconfigured: {why}"));
    drop(m);

    let m = mount_badge(
        format!("{}&auth=bearer", url_for(&tag("badge-401"))),
        fast_options().transport(Transport::Fetch(FetchOptions::default())),
    );
    wait_badge(&m, "offline").await;
    assert_eq!(m.text(".lts-badge-text"), "Refused by server");
    assert_eq!(
        m.attr(".lts-badge", "title").as_deref(),
        Some("HTTP 401 Unauthorized")
    );
    assert_eq!(
        m.text(".lts-sr-only"),
        "Refused by server: HTTP 401 Unauthorized"
    );
    // "Retry now" stays offered, and a live stream has no title.
    assert!(m.find(".lts-retry").is_some());
    drop(m);
    let m = mount_badge(url_for(&tag("badge-live")), fast_options());
    wait_badge(&m, "connected").await;
    assert_eq!(m.attr(".lts-badge", "title"), None);
    assert!(m.find(".lts-badge-detail").is_none());
}

#[wasm_bindgen_test]
async fn components_on_one_url_share_one_connection() {
    // Pins: a badge, a board and a feed under two providers of the same URL open exactly one
    // stream on the server; it closes when the last of them unmounts.
    let client = tag("shared");
    let (u1, u2) = (url_for(&client), url_for(&client));
    let first = Mount::new(move || {
        view! {
            <TaskStreamProvider url=u1 options=fast_options()>
                <ConnectionBadge/>
                <TaskBoard/>
            </TaskStreamProvider>
        }
        .into_any()
    });
    let second = Mount::new(move || {
        view! { <TaskStreamProvider url=u2 options=fast_options()><StrugStream/><ConnectionBadge/></TaskStreamProvider> }
            .into_any()
    });
    wait_badge(&first, "connected").await;
    wait_badge(&second, "connected").await;
    sleep(300).await;
    assert_eq!(open_streams(&client).await, 1);
    assert_eq!(attempts(&client).await.len(), 1);
    drop(first);
    sleep(300).await;
    assert_eq!(
        open_streams(&client).await,
        1,
        "the second user still needs it"
    );
    assert_eq!(
        second.attr(".lts-badge", "data-status").as_deref(),
        Some("connected")
    );
    drop(second);
    wait_no_open_streams(&client).await;
}

#[wasm_bindgen_test]
async fn a_shared_stream_asked_for_outside_a_component_is_not_kept_open() {
    // Pins: with no reactive owner nothing could ever release a share, so the stream is not
    // registered (it would stay open for the page's life); it closes at once, like an unowned
    // `use_task_stream`, and leaves nothing open on the server.
    assert!(Owner::current().is_none());
    let client = tag("unowned-shared");
    let before = shared_stream_count();
    let s = use_shared_task_stream(url_for(&client), fast_options());
    assert_eq!(shared_stream_count(), before, "not registered");
    sleep(500).await;
    assert_eq!(open_streams(&client).await, 0);
    assert!(s
        .status
        .try_get_untracked()
        .is_none_or(|s| !s.is_connected()));
}

#[wasm_bindgen_test]
async fn hostile_strings_are_rendered_as_text() {
    // Pins: markup and script in every text field appear as text; no element, attribute or
    // handler results.
    let client = tag("xss");
    let url = url_for(&client);
    let m = Mount::dashboard(url);
    wait_stream_open(&client).await;
    let evil = "<img src=x onerror=alert(1)>";
    let id = format!("{client}-x");
    let mut t = task(&id, evil, "running", 1);
    t["agent"] = json!("<b onclick=alert(2)>agent</b>");
    inject(&client, "task", t).await;
    let mut a = activity(
        &format!("{client}-line"),
        "warn",
        &format!("{evil} \u{202E}rtl <script>alert(3)</script>"),
    );
    a["agent"] = json!("<svg onload=alert(4)>");
    inject(&client, "activity", a).await;
    let card = wait_for(&m, &format!("[data-task-id='{id}']")).await;
    let line = wait_for(&m, &format!("[data-activity-id='{client}-line']")).await;
    assert_eq!(
        card.query_selector(".lts-card-title")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        evil
    );
    assert_eq!(
        card.query_selector(".lts-agent")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "<b onclick=alert(2)>agent</b>"
    );
    assert!(line
        .text_content()
        .unwrap()
        .contains("<script>alert(3)</script>"));
    for tag in ["img", "b", "script", "svg"] {
        assert!(
            m.find(tag).is_none(),
            "a <{tag}> element was created from server text"
        );
    }
}
