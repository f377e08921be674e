use std::time::Duration;

use leptos::html::Div;
use leptos::prelude::*;

use super::clock::use_tick_while;
use super::shared::use_task_stream_context;
use crate::status::ConnectionStatus;
use crate::use_event_stream::UseEventStream;

/// The connection status, with a live countdown to the next retry, the attempt number and a
/// "Retry now" button while reconnecting, offline, or refused by the browser.
///
/// Renders `<div class="lts-badge" data-status="connected|connecting|reconnecting|offline|closed"
/// role="status">`. Screen readers hear the status label (politely, without the per-second
/// countdown); sighted users see e.g. "Reconnecting in 4 s (attempt 3)". When the stream stopped
/// for a reason ([`ConnectionStatus::detail`](crate::ConnectionStatus::detail): "HTTP 401
/// Unauthorized", the server's `end` reason, invalid options), the badge shows it after the
/// label (`<span class="lts-badge-detail">`, cut to one line; whole in the `title`) and screen
/// readers hear it after the label. "Retry now" leaves keyboard focus on the badge, not on the
/// page, when it disappears.
///
/// ```no_run
/// use leptos::prelude::*;
/// use leptos_task_stream::{ConnectionBadge, TaskStreamProvider};
///
/// #[component]
/// fn Header() -> impl IntoView {
///     view! { <TaskStreamProvider url="/api/events"><ConnectionBadge/></TaskStreamProvider> }
/// }
/// ```
///
/// Any stream of this crate can have a badge, also one of your own messages from
/// [`use_event_stream`](crate::use_event_stream):
///
/// ```no_run
/// use leptos::prelude::*;
/// use leptos_task_stream::{use_event_stream, ConnectionBadge, EventStreamOptions, StreamMessage};
///
/// #[component]
/// fn Prices() -> impl IntoView {
///     let (last, set_last) = signal(0_i64);
///     let prices = use_event_stream(
///         "/api/prices",
///         EventStreamOptions::default().events(["price"]),
///         move |msg: StreamMessage<i64>| set_last.set(msg.data),
///     );
///     view! { <ConnectionBadge stream=prices/> <p>{last}</p> }
/// }
/// ```
#[component]
pub fn ConnectionBadge(
    /// The stream to show: a [`UseTaskStream`](crate::UseTaskStream) or a [`UseEventStream`].
    /// Defaults to the one provided by the nearest [`TaskStreamProvider`](crate::TaskStreamProvider).
    #[prop(optional, into)]
    stream: Option<UseEventStream>,
) -> impl IntoView {
    let stream = stream.unwrap_or_else(|| use_task_stream_context().stream);
    let status = stream.status;
    // The countdown re-renders on every tick and every status change, reading the clock then:
    // a tick's time can be up to a period old when a retry is scheduled, and showed a 4 s wait
    // as "5 s". It ticks only while a retry is pending: otherwise the text does not change.
    let tick = use_tick_while(Duration::from_millis(250), move || {
        status.with(|s| matches!(s, ConnectionStatus::Reconnecting { .. }))
    });
    let badge = NodeRef::<Div>::new();
    let retry = move |_| {
        // The button is about to go (the status turns Connecting): keep focus nearby.
        if let Some(el) = badge.get_untracked() {
            let _ = el.focus();
        }
        stream.reconnect();
    };
    view! {
        <div
            node_ref=badge
            tabindex="-1"
            class="lts-badge"
            data-status=move || status.with(|s| s.name())
            role="status"
            aria-live="polite"
            title=move || status.with(|s| s.detail())
        >
            <span class="lts-badge-dot" aria-hidden="true"></span>
            <span class="lts-badge-text" aria-hidden="true">
                {move || {
                    tick.track();
                    status.with(|s| s.describe(crate::now()))
                }}
            </span>
            {move || {
                status
                    .with(|s| s.detail())
                    .map(|detail| {
                        view! {
                            <span class="lts-badge-detail" aria-hidden="true">
                                {detail}
                            </span>
                        }
                    })
            }}
            <span class="lts-sr-only">
                {move || {
                    status.with(|s| match s.detail() {
                        Some(detail) => format!("{}: {detail}", s.label()),
                        None => s.label(),
                    })
                }}
            </span>
            <Show when=move || status.with(|s| s.can_retry_now())>
                <button class="lts-retry" type="button" on:click=retry>
                    "Retry now"
                </button>
            </Show>
        </div>
    }
}
