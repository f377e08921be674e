use std::collections::BTreeSet;
use std::time::Duration;

use leptos::html::Ol;
use leptos::prelude::*;

use super::clock::use_ticker;
use super::shared::use_task_stream_context;
use crate::protocol::{Activity, Level};
use crate::time::{format_age, parse_rfc3339_ms, wall_clock_ms};
use crate::use_task_stream::UseTaskStream;

/// How close to the bottom (in CSS pixels) still counts as "at the bottom".
const FOLLOW_SLACK_PX: i32 = 24;

/// The Strug Stream: the live activity feed, newest at the bottom.
///
/// Follows new lines while the reader is at the bottom; scrolling up pauses following and shows
/// a "Jump to latest" button. Lines are coloured by level (`data-level`), can be filtered by
/// agent and level, show relative timestamps, and are bounded by the stream's
/// `activity_capacity` (and `max_lines`, if smaller). An empty feed says so (`empty_text`), and
/// so does a filter that hides every line (`no_match_text`), in `<p class="lts-empty">`.
/// Renders `<section class="lts-feed">` with `<li class="lts-line" data-level="info|warn|error">`.
///
/// ```no_run
/// use leptos::prelude::*;
/// use leptos_task_stream::{StrugStream, TaskStreamProvider};
///
/// #[component]
/// fn Feed() -> impl IntoView {
///     view! {
///         <TaskStreamProvider url="/api/events">
///             <StrugStream max_lines=100 empty_text="Waiting for the agents…"/>
///         </TaskStreamProvider>
///     }
/// }
/// ```
#[component]
pub fn StrugStream(
    /// The stream whose activity to show. Defaults to the one provided by the nearest
    /// [`TaskStreamProvider`](crate::TaskStreamProvider).
    #[prop(optional)]
    stream: Option<UseTaskStream>,
    /// Show at most this many of the newest lines. Defaults to all the stream keeps.
    #[prop(optional)]
    max_lines: Option<usize>,
    /// Text shown while there is no activity. Defaults to "No activity yet".
    #[prop(optional, into)]
    empty_text: Option<String>,
    /// Text shown when the agent and level filters hide every line. Defaults to
    /// "No lines match the filters".
    #[prop(optional, into)]
    no_match_text: Option<String>,
) -> impl IntoView {
    let stream = stream.unwrap_or_else(use_task_stream_context);
    let activity = stream.activity;
    let empty_text = empty_text.unwrap_or_else(|| "No activity yet".to_owned());
    let no_match_text = no_match_text.unwrap_or_else(|| "No lines match the filters".to_owned());
    let now = use_ticker(Duration::from_secs(1), wall_clock_ms);
    let agent_filter = RwSignal::new(String::new());
    let level_filter = RwSignal::new(String::new());
    let following = RwSignal::new(true);
    let list = NodeRef::<Ol>::new();

    // The agents in the log, and the one being filtered on even when its lines have scrolled
    // out: its option must stay, or the select would show "All" over a filtered feed. An empty
    // name would duplicate "All".
    let agents = Memo::new(move |_| {
        let mut agents =
            activity.with(|log| log.iter().map(|a| a.agent.clone()).collect::<BTreeSet<_>>());
        agents.insert(agent_filter.get());
        agents.remove("");
        agents.into_iter().collect::<Vec<_>>()
    });
    let shown = move |a: &Activity, agent: &str, level: &str| {
        (agent.is_empty() || a.agent == agent) && (level.is_empty() || a.level.as_str() == level)
    };
    // The arrival numbers of the lines shown. Numbers, not lines: this runs on every change of
    // the log, and `<For>` builds a view only for a new number, which then looks its line up.
    let lines = move || {
        let agent = agent_filter.get();
        let level = level_filter.get();
        activity.with(|log| {
            let mut kept: Vec<u64> = log
                .numbered()
                .filter(|(_, a)| shown(a, &agent, &level))
                .map(|(n, _)| n)
                .collect();
            let skip = max_lines.map_or(0, |m| kept.len().saturating_sub(m));
            kept.drain(..skip);
            kept
        })
    };
    // Why no line shows, if none does.
    let nothing_shown = move || {
        let agent = agent_filter.get();
        let level = level_filter.get();
        activity.with(|log| {
            if log.is_empty() {
                Some(empty_text.clone())
            } else if log.iter().any(|a| shown(a, &agent, &level)) {
                None
            } else {
                Some(no_match_text.clone())
            }
        })
    };

    // Where our own auto-scroll left the list: a scroll event at or below it is ours (or
    // content growing under it), one clearly above it is the reader scrolling up.
    let auto_top = StoredValue::new(0i32);
    let scroll_to_bottom = move || {
        // try_: this runs on a later animation frame, possibly after the feed was unmounted.
        if let Some(Some(el)) = list.try_get_untracked() {
            el.set_scroll_top(el.scroll_height());
            auto_top.set_value(el.scroll_top());
        }
    };
    // After new lines render, keep the newest in view unless the reader scrolled up.
    Effect::new(move |_| {
        activity.track();
        agent_filter.track();
        level_filter.track();
        if following.get_untracked() {
            request_animation_frame(scroll_to_bottom);
        }
    });
    let on_scroll = move |_| {
        if let Some(el) = list.get_untracked() {
            let top = el.scroll_top();
            if top + el.client_height() >= el.scroll_height() - FOLLOW_SLACK_PX {
                if !following.get_untracked() {
                    following.set(true);
                }
            } else if top < auto_top.get_value() - FOLLOW_SLACK_PX && following.get_untracked() {
                following.set(false);
            }
        }
    };
    let jump = move |_| {
        following.set(true);
        scroll_to_bottom();
        // The button goes away: keep keyboard focus in the feed, not on the page body.
        if let Some(el) = list.get_untracked() {
            let _ = el.focus();
        }
    };

    view! {
        <section class="lts-feed" aria-label="Activity">
            <div class="lts-feed-toolbar">
                <label class="lts-filter">
                    <span>"Agent"</span>
                    <select
                        class="lts-filter-agent"
                        prop:value=move || agent_filter.get()
                        on:change=move |ev| agent_filter.set(event_target_value(&ev))
                    >
                        <option value="">"All"</option>
                        <For each=move || agents.get() key=|a| a.clone() let:agent>
                            <option value=agent.clone()>{agent.clone()}</option>
                        </For>
                    </select>
                </label>
                <label class="lts-filter">
                    <span>"Level"</span>
                    <select
                        class="lts-filter-level"
                        prop:value=move || level_filter.get()
                        on:change=move |ev| level_filter.set(event_target_value(&ev))
                    >
                        <option value="">"All"</option>
                        {[Level::Info, Level::Warn, Level::Error]
                            .into_iter()
                            .map(|l| view! { <option value=l.as_str()>{l.as_str()}</option> })
                            .collect_view()}
                    </select>
                </label>
            </div>
            // Scroll anchoring is behaviour, not theming. While following it is off: the browser
            // would move scrollTop when capped lines are evicted from the top, which would read as
            // the reader scrolling up. While the reader is scrolled up it is on, so that evicting
            // lines above does not slide the text being read. Focusable (tabindex) so that the
            // keyboard can scroll it in every browser.
            <ol
                class="lts-feed-lines"
                style:overflow-anchor=move || if following.get() { "none" } else { "auto" }
                tabindex="0"
                aria-label="Activity lines"
                node_ref=list
                on:scroll=on_scroll
            >
                // Keyed by arrival number: unique even when a restarted server reuses ids.
                <For
                    each=lines
                    key=|n| *n
                    children=move |n| {
                        activity
                            .with_untracked(|log| log.get(n).cloned())
                            .map(|line| view! { <Line line now/> })
                    }
                />
            </ol>
            {move || nothing_shown().map(|text| view! { <p class="lts-empty lts-feed-empty">{text}</p> })}
            <Show when=move || !following.get()>
                <button class="lts-jump" type="button" on:click=jump>
                    "Jump to latest"
                </button>
            </Show>
        </section>
    }
}

#[component]
fn Line(line: Activity, now: ReadSignal<i64>) -> impl IntoView {
    let at = parse_rfc3339_ms(&line.at);
    let age = move || at.map(|at| format_age(now.get() - at)).unwrap_or_default();
    let level = line.level.as_str();
    // The level in words, not only in colour: a visible tag for warnings and errors, and for
    // screen readers on every line.
    let tag = if line.level == Level::Info {
        "lts-sr-only"
    } else {
        "lts-line-level"
    };
    view! {
        <li class="lts-line" data-level=level data-activity-id=line.id>
            <time class="lts-line-time" datetime=line.at>{age}</time>
            <span class="lts-line-agent">{line.agent}</span>
            <span class="lts-line-message">
                <span class=tag>{level}</span>
                {line.message}
            </span>
        </li>
    }
}
