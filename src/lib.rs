//! # leptos-task-stream
//!
//! Live task boards for [Leptos](https://leptos.dev) 0.8 over Server-Sent Events, with capped,
//! jittered exponential-backoff reconnects and honest connection status.
//!
//! When a backend under load drops its connections, naive clients reconnect at once, again and
//! again: a reconnect storm that keeps it down. This crate waits before each retry (1 s, 2 s,
//! 4 s … up to a cap, with jitter so that thousands of clients never retry in lockstep), resumes
//! from the last event id so that no update is lost, and tells the user what is going on.
//!
//! ## Quick start
//!
//! `Cargo.toml` of a client-side-rendered app (built with Trunk):
//!
//! ```toml
//! [dependencies]
//! leptos = { version = "0.8", features = ["csr"] }
//! leptos-task-stream = "0.1"
//! ```
//!
//! The crate ships one small JavaScript module (a wasm-bindgen snippet: the `EventSource`
//! listener that hands events to wasm in batches). Build with wasm-bindgen's `web` or `bundler`
//! target, as Trunk and cargo-leptos do; the `no-modules` target cannot load snippets.
//!
//! `src/main.rs`:
//!
//! ```no_run
//! use std::time::Duration;
//! use leptos::prelude::*;
//! use leptos_task_stream::{
//!     protocol::TaskStatus, use_task_stream, Backoff, TaskStreamOptions,
//! };
//!
//! #[component]
//! fn App() -> impl IntoView {
//!     let stream = use_task_stream(
//!         "/api/events",
//!         // 1 s, 2 s, 4 s … up to 60 s (the default cap is 30 s), with equal jitter.
//!         TaskStreamOptions::default()
//!             .backoff(Backoff::default().max_delay(Duration::from_secs(60))),
//!     );
//!     let now = RwSignal::new(leptos_task_stream::now());
//!     // Refresh the countdown twice a second.
//!     let tick = set_interval_with_handle(
//!         move || now.set(leptos_task_stream::now()),
//!         Duration::from_millis(500),
//!     )
//!     .ok();
//!     on_cleanup(move || {
//!         if let Some(t) = tick {
//!             t.clear();
//!         }
//!     });
//!     view! {
//!         <header>
//!             // "Live", "Reconnecting in 4 s (attempt 3)", "Offline"…
//!             <span role="status">{move || stream.status.get().describe(now.get())}</span>
//!             <Show when=move || stream.status.get().can_retry_now()>
//!                 <button on:click=move |_| stream.reconnect()>"Retry now"</button>
//!             </Show>
//!         </header>
//!         <ul>
//!             {TaskStatus::ALL
//!                 .into_iter()
//!                 .map(|status| view! {
//!                     <li>{status.label()} ": " {move || stream.tasks.count(status)}</li>
//!                 })
//!                 .collect_view()}
//!         </ul>
//!         <ol>
//!             {move || stream.activity.with(|log| {
//!                 log.iter()
//!                     .map(|line| view! { <li>{line.agent.clone()} ": " {line.message.clone()}</li> })
//!                     .collect_view()
//!             })}
//!         </ol>
//!         <p>{move || stream.last_error.get().map(|e| e.to_string())}</p>
//!     }
//! }
//!
//! fn main() {
//!     leptos::mount::mount_to_body(App);
//! }
//! ```
//!
//! Server text (titles, agents, messages) is always rendered as text, never as HTML.
//!
//! ## Three hooks, one connection layer
//!
//! * [`use_task_stream`]: the task board. Decodes the protocol in [`protocol`] and keeps a
//!   [`TaskStore`] and an [`ActivityLog`]; the components ([`TaskBoard`], [`StrugStream`],
//!   [`ConnectionBadge`]) show it, and [`TaskStreamProvider`] shares it.
//! * [`use_event_stream`]: a stream of your own JSON messages, decoded by serde into your type.
//! * [`use_text_stream`]: any stream, each event's `data` as text, undecoded: the smallest.
//!
//! All three reconnect with the same backoff, resume, stale detection, offline and page-hide
//! handling, and report the same [`ConnectionStatus`]; a [`ConnectionBadge`] shows any of them.
//!
//! ## Server-side rendering
//!
//! The browser driver exists only on `wasm32`. On the server the hooks return inert signals
//! (status `Connecting`, or `Closed { NotStarted }` with `immediate(false)`, and an empty board)
//! and open nothing, so server and client render the same first frame; the connection starts
//! when the client hydrates.
//!
//! ## Architecture
//!
//! * [`Backoff`]: the delay policy (pure).
//! * [`ConnectionMachine`]: the connection state machine (pure, sans-IO). Inputs in, [`Command`]s
//!   out; time ([`Timestamp`]) and randomness ([`JitterRng`]) are passed in, so every schedule
//!   is reproducible and tested natively without a browser.
//! * [`protocol`]: the wire types shared with the reference dev server.
//! * The browser driver (`web-sys` `EventSource`, `gloo-timers`, Leptos signals) is a thin shell
//!   that executes the machine's commands. It is compiled only for `wasm32`; on the server (SSR)
//!   and in native builds nothing is opened.
//!
//! ## The connection state machine
//!
//! ```text
//!                open()                     transport opened
//!   (idle) ────────────────▶ Connecting ─────────────────────────▶ Connected
//!                              ▲    │ error / stale                   │ error / stale
//!               retry timer    │    ▼                                 ▼
//!                              └── Reconnecting { attempt, delay, retry_at } ◀──┘
//!                                       │ attempt > max_attempts
//!                                       ▼
//!     offline ⇒ Offline { Network } ── online ⇒ Reconnecting (short jitter)
//!     hidden  ⇒ Offline { Hidden }  ── visible ⇒ Connecting (Reconnecting while a server's
//!                                      Retry-After is still running)
//!                Offline { GaveUp } ── reconnect() ⇒ Connecting
//!     close() ⇒ Closed { ByApp }    ── reconnect() ⇒ Connecting
//!     browser refuses ⇒ Closed { Refused } ── reconnect() ⇒ Connecting
//!     `end`   ⇒ Closed { Ended }    (never reconnects on its own)
//! ```
//!
//! Invariants (each pinned by a test): at most one transport open; at most one retry timer
//! pending; a timer or transport event the machine no longer waits for is ignored; `close()` is
//! final until `reconnect()`; offline stops all retries and `online` reconnects promptly (after
//! a small jitter); after `end` nothing reconnects on its own; the last event id survives
//! reconnects; the attempt counter resets only after a connection stayed healthy for
//! [`Backoff::reset_after`], so a server that accepts and drops at once cannot pull clients back
//! to the base delay.
//!
//! ## Usage of the core
//!
//! ```
//! use std::time::Duration;
//! use leptos_task_stream::{Backoff, JitterRng};
//!
//! let policy = Backoff::default().max_delay(Duration::from_secs(60));
//! let mut rng = JitterRng::from_seed(42);
//! for attempt in 1..=8 {
//!     let d = policy.delay(attempt, None, &mut rng);
//!     // Equal jitter (the default): between half the base delay and the base delay.
//!     let base = policy.base_delay(attempt);
//!     assert!(base / 2 <= d && d <= base && d <= Duration::from_secs(60));
//! }
//! ```
#![deny(missing_docs)]

pub mod backoff;
pub mod board;
mod clock;
mod components;
mod error;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod es_batch;
mod frame;
mod hash;
pub mod http;
// Used by the browser build; native builds decode with serde and test this module against it.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod json;
pub mod machine;
mod options;
pub mod sse;
pub mod status;
mod task_store;
mod text;
pub mod time;
mod transport;
pub mod url;
mod use_event_stream;
mod use_task_stream;

pub use backoff::{Backoff, BackoffError, Factor, Jitter, JitterRng, MAX_SUPPORTED_DELAY};
pub use board::{ActivityLog, Board, DEFAULT_ACTIVITY_CAPACITY};
pub use clock::now;
pub use components::{
    provide_task_stream, shared_stream_count, use_shared_task_stream, use_task_stream_context,
    ConnectionBadge, StrugStream, TaskBoard, TaskStreamProvider, STYLESHEET,
};
pub use error::{StreamError, StreamStats};
pub use machine::{
    Command, ConnId, ConnectionError, ConnectionMachine, Input, MachineConfig, RefreshId, TimerId,
    DEFAULT_MAX_RETRY_AFTER, DEFAULT_ONLINE_JITTER, MIN_SERVER_RETRY,
};
pub use options::{
    EventStreamOptions, TaskStreamOptions, DEFAULT_MAX_EVENT_BYTES, DEFAULT_STALE_AFTER,
};
pub use sse::{SseError, SseEvent, SseItem, SseParser, MAX_EVENT_ID_BYTES};
pub use status::{CloseReason, ConnectionStatus, OfflineReason, Timestamp};
pub use task_store::TaskStore;
pub use transport::{FetchOptions, Transport};
pub use use_event_stream::{use_event_stream, use_text_stream, StreamMessage, UseEventStream};
pub use use_task_stream::{use_task_stream, UseTaskStream};

/// The wire protocol (re-exported from the `task-stream-protocol` crate).
pub use task_stream_protocol as protocol;
