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
/// It is `Copy`: pass it to child components or closures freely.
#[derive(Clone, Copy)]
pub struct UseEventStream {
    /// Connection health.
    pub status: Signal<ConnectionStatus>,
    /// The most recent problem (decode failure, lost connection…), until the next one.
    pub last_error: Signal<Option<StreamError>>,
    /// Counters: events, decode errors, connects, reconnects, resumes.
    pub stats: Signal<StreamStats>,
    /// The last event id received, which the next reconnect resumes from.
    pub last_event_id: Signal<Option<String>>,
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

/// The signals a driver writes (one set per stream, owned by the hook's owner).
#[derive(Clone, Copy)]
pub(crate) struct Signals {
    pub status: RwSignal<ConnectionStatus>,
    pub last_error: RwSignal<Option<StreamError>>,
    pub stats: RwSignal<StreamStats>,
    pub last_event_id: RwSignal<Option<String>>,
}

/// Decodes `(event name, data)` into a message, for [`use_stream_with`].
pub(crate) type Decoder<T> = Rc<dyn Fn(&str, &str) -> Result<T, StreamError>>;
/// Receives decoded messages; returns `false` when the message was stale and ignored.
pub(crate) type Sink<T> = Rc<dyn Fn(StreamMessage<T>) -> bool>;

/// Opens a Server-Sent Events stream at `url` and calls `on_message` with every event whose name
/// is in [`EventStreamOptions::events`], its `data` decoded from JSON into `T`.
///
/// Reconnects with capped, jittered exponential backoff (see [`Backoff`](crate::Backoff)),
/// resumes from the last event id, detects silent connections, pauses while the browser is
/// offline, stops for good on the server's `end` event, and closes everything when the owning
/// component is unmounted. Decode failures set `last_error` and never stop the stream.
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
    let decode: Decoder<T> = Rc::new(|name: &str, data: &str| {
        serde_json::from_str::<T>(data).map_err(|e| {
            StreamError::Decode(crate::protocol::DecodeError::Malformed {
                event: "message",
                message: format!(
                    "{} (event \"{}\")",
                    e,
                    crate::protocol::truncate_for_display(name, 64)
                ),
            })
        })
    });
    let sink: Sink<T> = Rc::new(move |m| {
        on_message(m);
        true
    });
    use_stream_with(url.into(), options, decode, sink)
}

/// The shared implementation: any decoder, any sink.
pub(crate) fn use_stream_with<T: 'static>(
    url: String,
    options: EventStreamOptions,
    decode: Decoder<T>,
    sink: Sink<T>,
) -> UseEventStream {
    let initial = if options.immediate {
        ConnectionStatus::Connecting
    } else {
        ConnectionStatus::Closed {
            reason: CloseReason::NotStarted,
        }
    };
    let signals = Signals {
        status: RwSignal::new(initial),
        last_error: RwSignal::new(None),
        stats: RwSignal::new(StreamStats::default()),
        last_event_id: RwSignal::new(None),
    };
    let control = driver::start(url, options, decode, sink, signals);
    UseEventStream {
        status: signals.status.into(),
        last_error: signals.last_error.into(),
        stats: signals.stats.into(),
        last_event_id: signals.last_event_id.into(),
        control: StoredValue::new_local(control),
    }
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

    pub(crate) fn start<T: 'static>(
        _url: String,
        options: EventStreamOptions,
        _decode: Decoder<T>,
        _sink: Sink<T>,
        signals: Signals,
    ) -> Option<Control> {
        if let Err(e) = options.backoff.validate() {
            signals.status.set(ConnectionStatus::Closed {
                reason: CloseReason::Misconfigured {
                    message: e.to_string(),
                },
            });
            signals.last_error.set(Some(StreamError::InvalidOptions(e)));
        }
        None
    }
}

#[cfg(target_arch = "wasm32")]
#[path = "driver_web.rs"]
mod driver;
