//! The page: header with the connection badge, the chaos buttons, then the board beside a
//! column holding the activity feed, the connection-attempts chart and the tab's own counters.

use std::time::Duration;

use leptos::prelude::*;
use leptos_task_stream::{
    use_task_stream_context, Backoff, ConnectionBadge, Jitter, StreamStats, StrugStream, TaskBoard,
    TaskStreamOptions, TaskStreamProvider,
};

use crate::chaos::ChaosPanel;
use crate::chart::AttemptsChart;

/// Same origin: `trunk serve` proxies `/api` to the dev server, and `strug-dev-server
/// --static-dir` serves the page and the API together.
const STREAM_URL: &str = "/api/events";

/// The library's defaults written out, so a reader of the demo sees the policy being shown
/// off: 1 s, 2 s, 4 s … capped at 30 s, equal jitter (each wait is uniform in [base/2, base]) so
/// a fleet of tabs spreads its retries, and a connection silent for 45 s counts as dead.
fn stream_options() -> TaskStreamOptions {
    TaskStreamOptions::default()
        .backoff(
            Backoff::default()
                .initial(Duration::from_secs(1))
                .max_delay(Duration::from_secs(30))
                .jitter(Jitter::Equal),
        )
        .stale_after(Some(Duration::from_secs(45)))
}

/// The whole demo page.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <TaskStreamProvider url=STREAM_URL options=stream_options()>
            <div class="demo-page">
                <header class="demo-header">
                    <div class="demo-title">
                        <h1>"Strug Central"</h1>
                        <p class="demo-subtitle">"Agents at work, streamed live over SSE"</p>
                    </div>
                    <ConnectionBadge/>
                </header>
                // The fault buttons sit above the fold, next to what they disturb.
                <ChaosPanel/>
                <main class="demo-main">
                    <div class="demo-board">
                        <TaskBoard/>
                    </div>
                    <aside class="demo-side">
                        <StrugStream/>
                        <section class="demo-observe" aria-label="Connection health">
                            <AttemptsChart/>
                            <ClientStats/>
                        </section>
                    </aside>
                </main>
            </div>
        </TaskStreamProvider>
    }
}

/// This tab's own view of the connection: how often it (re)connected and resumed.
#[component]
fn ClientStats() -> impl IntoView {
    let stream = use_task_stream_context();
    let stat = move |name: &'static str, hint: &'static str, value: fn(&StreamStats) -> u64| {
        view! {
            <div title=hint>
                <dt>{name}</dt>
                <dd>{move || stream.stats.with(value)}</dd>
            </div>
        }
    };
    view! {
        <dl class="demo-stats" aria-label="This tab">
            {stat("Connects", "Streams opened, the first one included", |s| s.connects)}
            {stat("Reconnects", "Streams opened after the first one", |s| s.reconnects)}
            {stat("Resumes", "Reconnects that sent the last event id, so nothing was missed", |s| s.resumes)}
            {stat("Events", "Events received, heartbeats included", |s| s.events)}
            {stat("Stale", "Events ignored as stale: older task versions, duplicate lines", |s| s.stale_ignored)}
        </dl>
        <p class="demo-last-error">
            {move || stream.last_error.get().map(|e| format!("Last problem: {e}"))}
        </p>
    }
}
