//! `use_event_stream`: the generic, typed Server-Sent Events hook with backoff and status.

use std::rc::Rc;

use leptos::prelude::*;
use serde::de::DeserializeOwned;

use crate::error::{StreamError, StreamStats};
use crate::options::EventStreamOptions;
use crate::status::{CloseReason, ConnectionStatus};

/// One decoded event, as delivered to the `on_message` callback.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamMessage<T> {
    /// The `event:` name (`"message"` for unnamed events).
    pub name: String,
    /// The stream's last event id when this event arrived, if any.
    pub id: Option<String>,
    /// The decoded payload.
    pub data: T,
}

/// What [`use_event_stream`] returns: read-only signals and two controls.
///
/// It is `Copy`: pass it to child components or closures freely. The signals are
/// [`ReadSignal`]s, as `signal()` returns; `.into()` turns one into a [`Signal`] where one is
/// wanted (a component's `#[prop(into)]` does it for you). A `Signal<T>` field would link the
/// code of every kind of signal it can hold (memos, derived closures) into every app.
#[derive(Clone, Copy)]
pub struct UseEventStream {
    /// Connection health.
    pub status: ReadSignal<ConnectionStatus>,
    /// The most recent problem (decode failure, lost connection…), until the next one.
    pub last_error: ReadSignal<Option<StreamError>>,
    /// Counters: events, decode errors, connects, reconnects, resumes.
    pub stats: ReadSignal<StreamStats>,
    /// The last event id received, which the next reconnect resumes from.
    pub last_event_id: ReadSignal<Option<String>>,
    control: StoredValue<Option<driver::Control>, LocalStorage>,
}

impl UseEventStream {
    /// Reconnects now: cancels a pending retry wait ("Retry now"), reopens after `close()`, after
    /// giving up or after the server's `end`. Resumes from the last event id.
    pub fn reconnect(&self) {
        self.send(crate::machine::Input::Reconnect);
    }

    /// Closes the stream and cancels any pending retry. Final until [`reconnect`](Self::reconnect).
    pub fn close(&self) {
        self.send(crate::machine::Input::Close);
    }

    fn send(&self, input: crate::machine::Input) {
        if let Some(Some(control)) = self.control.try_get_value() {
            control.send(input);
        }
    }
}

/// The signals a driver writes (one set per stream). `Arc` signals, shared by the driver and the
/// hook's [`ReadSignal`]s: an arena `RwSignal` behind each of those would be one more slot
/// per signal, and creating one costs code in every app.
#[derive(Clone)]
pub(crate) struct Signals {
    pub status: ArcRwSignal<ConnectionStatus>,
    pub last_error: ArcRwSignal<Option<StreamError>>,
    pub stats: ArcRwSignal<StreamStats>,
    pub last_event_id: ArcRwSignal<Option<String>>,
}

impl Signals {
    /// Invalid options: nothing opens. The status says so and `last_error` holds the error,
    /// for both drivers (the browser's and the inert native one).
    pub fn misconfigured(&self, error: crate::BackoffError) {
        self.status.set(ConnectionStatus::Closed {
            reason: CloseReason::Misconfigured {
                error: error.clone(),
            },
        });
        self.last_error
            .set(Some(StreamError::InvalidOptions(error)));
    }
}

/// Decodes one event (its name, the stream's last event id, its data) and applies it, for
/// [`use_stream_with`]. `Ok(false)` when it was stale and ignored.
///
/// One closure instead of a decoder and a sink generic over the message type: the driver is not
/// generic, so an app gets one copy of it however many message types it streams.
pub(crate) type Deliver = Rc<dyn Fn(&str, Option<String>, &str) -> Result<bool, StreamError>>;

/// Opens a Server-Sent Events stream at `url` and calls `on_message` with every event whose name
/// is in [`EventStreamOptions::events`], its `data` decoded from JSON into `T`.
///
/// Reconnects with capped, jittered exponential backoff (see [`Backoff`](crate::Backoff)),
/// resumes from the last event id, detects silent connections, pauses while the browser is
/// offline, stops for good on the server's `end` event, and closes everything when the owning
/// component is unmounted. Decode failures set `last_error` and never stop the stream.
///
/// Call it inside a component (under a reactive owner): the connection closes when the
/// component unmounts. Called outside one, the stream closes at once (debug builds say so in
/// the console).
///
/// The [`heartbeat_event`](EventStreamOptions::heartbeat_event) and
/// [`end_event`](EventStreamOptions::end_event) (`"heartbeat"` and `"end"` by default) are
/// handled by the hook before the callback, so they never reach `on_message`, even when listed
/// in `events`: a heartbeat only proves the connection alive, and by default the server's `end`
/// closes the stream for good (status `Closed { Ended }`; only `reconnect()` opens it again).
/// Set either to `None` to receive events of that name as data.
///
/// On the server (SSR) and on native targets nothing is opened: the status stays `Connecting`
/// (or `Closed { NotStarted }` when not `immediate`), so server and client render alike.
///
/// ## Usage
///
/// ```no_run
/// use leptos::prelude::*;
/// use leptos_task_stream::{use_event_stream, EventStreamOptions};
///
/// #[derive(serde::Deserialize)]
/// struct Price { symbol: String, cents: i64 }
///
/// #[component]
/// fn Ticker() -> impl IntoView {
///     let (last, set_last) = signal(String::new());
///     let stream = use_event_stream(
///         "/api/prices",
///         EventStreamOptions::default().events(["price"]),
///         move |msg: leptos_task_stream::StreamMessage<Price>| {
///             set_last.set(format!("{} {}", msg.data.symbol, msg.data.cents));
///         },
///     );
///     view! {
///         <p>{move || stream.status.get().label()} " " {last}</p>
///         <button on:click=move |_| stream.reconnect()>"Retry now"</button>
///     }
/// }
/// ```
pub fn use_event_stream<T, F>(
    url: impl Into<String>,
    options: EventStreamOptions,
    on_message: F,
) -> UseEventStream
where
    T: DeserializeOwned + 'static,
    F: Fn(StreamMessage<T>) + 'static,
{
    let deliver: Deliver = Rc::new(move |name: &str, id: Option<String>, data: &str| {
        let data = serde_json::from_str::<T>(data).map_err(|e| StreamError::Payload {
            event: crate::protocol::truncate_for_display(name, 64),
            // serde quotes what it refused (`invalid type: string "…"`), whatever its size.
            message: crate::protocol::truncate_for_display(&e.to_string(), 300),
        })?;
        on_message(StreamMessage {
            name: name.to_owned(),
            id,
            data,
        });
        Ok(true)
    });
    use_stream_with(url.into(), options, deliver)
}

/// Like [`use_event_stream`], with each event's `data` as it arrived: text, not decoded.
///
/// For streams that are not JSON (log lines, CSV rows, plain counters) and for apps that decode
/// payloads their own way. It brings everything of the connection (backoff, resume, stale
/// detection, offline and page-hide handling, status) and no JSON decoder, which makes it the
/// smallest hook of this crate in a release build (see the bundle benchmark in
/// `docs/benchmarks.md`). A multi-line event's `data:` lines arrive joined by `\n`, as the
/// Server-Sent Events standard has it.
///
/// ```no_run
/// use leptos::prelude::*;
/// use leptos_task_stream::{use_text_stream, ConnectionBadge, EventStreamOptions, StreamMessage};
///
/// #[component]
/// fn BuildLog() -> impl IntoView {
///     let (lines, set_lines) = signal(Vec::<String>::new());
///     let log = use_text_stream(
///         "/api/build-log",
///         EventStreamOptions::default().events(["line"]),
///         move |msg: StreamMessage<String>| set_lines.update(|l| l.push(msg.data)),
///     );
///     view! {
///         <ConnectionBadge stream=log/>
///         <pre>{move || lines.get().join("\n")}</pre>
///     }
/// }
/// ```
pub fn use_text_stream<F>(
    url: impl Into<String>,
    options: EventStreamOptions,
    on_message: F,
) -> UseEventStream
where
    F: Fn(StreamMessage<String>) + 'static,
{
    let deliver: Deliver = Rc::new(move |name: &str, id: Option<String>, data: &str| {
        on_message(StreamMessage {
            name: name.to_owned(),
            id,
            data: data.to_owned(),
        });
        Ok(true)
    });
    use_stream_with(url.into(), options, deliver)
}

/// The shared implementation: any decoding, any application of the events.
pub(crate) fn use_stream_with(
    url: String,
    options: EventStreamOptions,
    deliver: Deliver,
) -> UseEventStream {
    let initial = if options.immediate {
        ConnectionStatus::Connecting
    } else {
        ConnectionStatus::Closed {
            reason: CloseReason::NotStarted,
        }
    };
    let signals = Signals {
        status: ArcRwSignal::new(initial),
        last_error: ArcRwSignal::new(None),
        stats: ArcRwSignal::new(StreamStats::default()),
        last_event_id: ArcRwSignal::new(None),
    };
    let status = signals.status.read_only().into();
    let last_error = signals.last_error.read_only().into();
    let stats = signals.stats.read_only().into();
    let last_event_id = signals.last_event_id.read_only().into();
    let control = driver::start(url, options, deliver, signals);
    UseEventStream {
        status,
        last_error,
        stats,
        last_event_id,
        control: StoredValue::new_local(control),
    }
}

/// The state machine's settings from the hook's options (both drivers: the browser's and the
/// inert one on the server, which reports the same configuration errors).
fn machine_config(options: &EventStreamOptions) -> crate::machine::MachineConfig {
    let refresh = matches!(
        &options.transport,
        crate::transport::Transport::Fetch(f) if f.refreshes_credentials()
    );
    crate::machine::MachineConfig::new(options.backoff.clone())
        .stale_after(options.stale_after)
        .online_jitter(options.online_jitter)
        .max_retry_after(options.max_retry_after)
        .refresh_credentials(refresh)
}

#[cfg(not(target_arch = "wasm32"))]
mod driver {
    //! Native / SSR stand-in: opens nothing, never panics.
    use super::*;

    #[derive(Clone)]
    pub(crate) struct Control;

    impl Control {
        pub fn send(&self, _input: crate::machine::Input) {}
    }

    pub(crate) fn start(
        _url: String,
        options: EventStreamOptions,
        _deliver: Deliver,
        signals: Signals,
    ) -> Option<Control> {
        // The browser's checks, so that the server renders what the client will show.
        let rng = crate::backoff::JitterRng::from_seed(0);
        if let Err(e) = crate::machine::ConnectionMachine::new(machine_config(&options), rng) {
            signals.misconfigured(e);
        }
        None
    }
}

#[cfg(target_arch = "wasm32")]
#[path = "driver_web.rs"]
pub(crate) mod driver;
