//! The page: header with the transport switch and the connection badge, the chaos buttons, then
//! the board beside a column holding the activity feed, the connection-attempts chart and the
//! tab's own counters.

use std::time::Duration;

use leptos::prelude::*;
use leptos_task_stream::{
    use_task_stream_context, Backoff, ConnectionBadge, FetchOptions, Jitter, StreamError,
    StreamStats, StrugStream, TaskBoard, TaskStreamOptions, TaskStreamProvider, Transport,
};

use crate::chaos::ChaosPanel;
use crate::chart::AttemptsChart;

/// Which browser API carries the stream; the switch in the header flips it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    EventSource,
    Fetch,
}

impl Via {
    /// `?transport=fetch` in the page URL selects fetch, so a reload keeps the choice.
    fn from_page_url() -> Self {
        let search = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default();
        if search.contains("transport=fetch") {
            Via::Fetch
        } else {
            Via::EventSource
        }
    }

    fn key(self) -> &'static str {
        match self {
            Via::EventSource => "eventsource",
            Via::Fetch => "fetch",
        }
    }

    /// Same origin: `trunk serve` proxies `/api` to the dev server, and `strug-dev-server
    /// --static-dir` serves the page and the API together. Each transport gets its own URL, so
    /// the shared-connection registry never hands one transport's stream to the other.
    fn stream_url(self) -> &'static str {
        match self {
            Via::EventSource => "/api/events",
            Via::Fetch => "/api/events?via=fetch",
        }
    }

    /// The library's defaults written out, so a reader of the demo sees the policy being shown
    /// off: 1 s, 2 s, 4 s … capped at 30 s, equal jitter (each wait is uniform in [base/2,
    /// base]) so a fleet of tabs spreads its retries, and a connection silent for 45 s counts as
    /// dead. Switching to fetch is the one `transport` option.
    fn options(self) -> TaskStreamOptions {
        let options = TaskStreamOptions::default()
            .backoff(
                Backoff::default()
                    .initial(Duration::from_secs(1))
                    .max_delay(Duration::from_secs(30))
                    .jitter(Jitter::Equal),
            )
            .stale_after(Some(Duration::from_secs(45)));
        match self {
            Via::EventSource => options,
            Via::Fetch => options.transport(Transport::Fetch(FetchOptions::default())),
        }
    }
}

/// The whole demo page. Switching the transport closes the stream and opens the other kind.
#[component]
pub fn App() -> impl IntoView {
    let via = RwSignal::new(Via::from_page_url());
    move || {
        let current = via.get();
        view! { <Page via current/> }
    }
}

#[component]
fn Page(via: RwSignal<Via>, current: Via) -> impl IntoView {
    view! {
        <TaskStreamProvider url=current.stream_url() options=current.options()>
            <div class="demo-page" data-transport=current.key()>
                <header class="demo-header">
                    <div class="demo-title">
                        <h1>"Strug Central"</h1>
                        <p class="demo-subtitle">"Agents at work, streamed live over SSE"</p>
                    </div>
                    <div class="demo-header-right">
                        <TransportSwitch via current/>
                        <ConnectionBadge/>
                    </div>
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

/// Two buttons: `EventSource` or `fetch`. The choice goes into the page URL.
#[component]
fn TransportSwitch(via: RwSignal<Via>, current: Via) -> impl IntoView {
    let choose = move |next: Via| {
        if next == current {
            return;
        }
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let url = match next {
                Via::EventSource => "?",
                Via::Fetch => "?transport=fetch",
            };
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
        }
        via.set(next);
    };
    let button = move |option: Via, label: &'static str, hint: &'static str| {
        view! {
            <button
                type="button"
                data-transport=option.key()
                aria-pressed=if option == current { "true" } else { "false" }
                title=hint
                on:click=move |_| choose(option)
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="demo-transport" role="group" aria-label="Transport">
            <span class="demo-transport-label">"Transport"</span>
            {button(
                Via::EventSource,
                "EventSource",
                "The browser's EventSource: no headers, and every HTTP error looks alike.",
            )}
            {button(
                Via::Fetch,
                "fetch",
                "fetch with a streamed body: sees status codes, honours Retry-After and retry:, can send an Authorization header.",
            )}
        </div>
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
            {stat("Attempts", "Connection attempts, the first one included, refused ones too", |s| s.connects)}
            {stat("Reconnects", "Connection attempts after the first one", |s| s.reconnects)}
            {stat("Resumes", "Reconnect attempts that sent the last event id, so nothing was missed", |s| s.resumes)}
            {stat("Events", "Events received, heartbeats included", |s| s.events)}
            {stat("Stale", "Events ignored as stale: older task versions, duplicate lines", |s| s.stale_ignored)}
        </dl>
        <p class="demo-last-error">
            {move || {
                let live = stream.status.with(|s| s.is_connected());
                stream.last_error.with(|e| e.as_ref().map(|e| last_problem(e, live)))
            }}
        </p>
    }
}

/// The "Last problem" line. A connection problem the stream has since recovered from is said
/// briefly ("connection lost", "HTTP 503 Service Unavailable"): its full text ends with a retry
/// countdown that no longer applies.
fn last_problem(error: &StreamError, live: bool) -> String {
    match error {
        StreamError::Connection(e) if live => format!("Recovered from: {}", e.summary()),
        e => format!("Last problem: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos_task_stream::ConnectionError;

    #[test]
    fn a_recovered_connection_problem_drops_its_countdown() {
        // Pins the demo's "Last problem" line while live and while still failing.
        let lost = StreamError::Connection(ConnectionError::Lost {
            next_attempt: 5,
            delay: Duration::from_millis(10_700),
        });
        assert_eq!(last_problem(&lost, true), "Recovered from: connection lost");
        assert_eq!(last_problem(&lost, false), format!("Last problem: {lost}"));
        assert!(last_problem(&lost, false).contains("10.7 s"));
    }
}
