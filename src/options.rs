//! Options of [`use_event_stream`](crate::use_event_stream) and
//! [`use_task_stream`](crate::use_task_stream).

use std::time::Duration;

use crate::backoff::Backoff;
use crate::board::DEFAULT_ACTIVITY_CAPACITY;
use crate::machine::DEFAULT_MAX_RETRY_AFTER;
use crate::protocol::{event_names, RESUME_QUERY_PARAM};
use crate::transport::Transport;

/// Default `stale_after`: three times the reference server's 15 s heartbeat.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(45);

/// Default `max_event_bytes`: 4 MiB, enough for a snapshot of tens of thousands of tasks.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// Options of [`use_event_stream`](crate::use_event_stream), with chainable setters.
///
/// ```
/// use std::time::Duration;
/// use leptos_task_stream::{Backoff, EventStreamOptions};
///
/// let options = EventStreamOptions::default()
///     .events(["price", "trade"])
///     .backoff(Backoff::default().initial(Duration::from_millis(500)))
///     .stale_after(Some(Duration::from_secs(20)))
///     .with_credentials(true);
/// assert_eq!(options.event_names(), ["price", "trade"]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EventStreamOptions {
    pub(crate) backoff: Backoff,
    pub(crate) resume: Option<String>,
    pub(crate) with_credentials: bool,
    pub(crate) stale_after: Option<Duration>,
    pub(crate) pause_when_hidden: bool,
    pub(crate) immediate: bool,
    pub(crate) events: Vec<String>,
    pub(crate) heartbeat_event: Option<String>,
    pub(crate) end_event: Option<String>,
    pub(crate) max_event_bytes: usize,
    pub(crate) online_jitter: Duration,
    pub(crate) transport: Transport,
    pub(crate) max_retry_after: Duration,
    /// Deliver events of every name, not only `events`' (set by `use_task_stream`, whose
    /// decoder reports names outside the protocol). Only a transport that sees every event
    /// can: the fetch transport. An `EventSource` dispatches only the names listened to.
    pub(crate) every_event: bool,
}

impl Default for EventStreamOptions {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            resume: Some(RESUME_QUERY_PARAM.to_owned()),
            with_credentials: false,
            stale_after: Some(DEFAULT_STALE_AFTER),
            pause_when_hidden: false,
            immediate: true,
            events: vec!["message".to_owned()],
            heartbeat_event: Some(event_names::HEARTBEAT.to_owned()),
            end_event: Some(event_names::END.to_owned()),
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            online_jitter: crate::machine::DEFAULT_ONLINE_JITTER,
            transport: Transport::EventSource,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            every_event: false,
        }
    }
}

impl EventStreamOptions {
    /// The reconnect policy. Defaults to [`Backoff::default`] (1 s ×2 up to 30 s, equal jitter).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Name of the query parameter that carries the last event id on reconnect (a new
    /// `EventSource` cannot set the `Last-Event-ID` header). `None` disables resuming.
    /// Defaults to `Some("lastEventId")`. [`Transport::Fetch`] sends the standard
    /// `Last-Event-ID` header instead (unless this is `None`). An empty name, `Some("")`, counts
    /// as `None`: no resuming with either transport.
    ///
    /// ```
    /// use leptos_task_stream::EventStreamOptions;
    /// let custom = EventStreamOptions::default().resume(Some("since"));
    /// let off = EventStreamOptions::default().resume(None);
    /// assert_ne!(custom, off);
    /// ```
    pub fn resume(mut self, param: Option<&str>) -> Self {
        self.resume = param.filter(|p| !p.is_empty()).map(str::to_owned);
        self
    }

    /// Send cookies on cross-origin requests (`EventSource` `withCredentials`). Defaults to `false`.
    pub fn with_credentials(mut self, with_credentials: bool) -> Self {
        self.with_credentials = with_credentials;
        self
    }

    /// Treat the connection as dead after this long without any event or heartbeat (and bound
    /// the time an attempt may take to open). Defaults to 45 s (3 × a 15 s heartbeat); `None`
    /// disables the check, and so does `Some(Duration::ZERO)`.
    ///
    /// With [`Transport::Fetch`], any bytes received count, so a large event crossing a slow
    /// link is not taken for silence. An `EventSource` shows scripts whole events only: with it,
    /// keep `stale_after` above the time your largest event (a big snapshot) takes to arrive.
    pub fn stale_after(mut self, stale_after: Option<Duration>) -> Self {
        self.stale_after = stale_after;
        self
    }

    /// Close the connection while the page is hidden and reconnect when it is visible again.
    /// Defaults to `false`: background dashboards usually want to stay current. Either way,
    /// navigating away (`pagehide`) closes the connection, and a page restored from the
    /// back/forward cache (`pageshow`) reconnects.
    pub fn pause_when_hidden(mut self, pause: bool) -> Self {
        self.pause_when_hidden = pause;
        self
    }

    /// Connect on mount. Defaults to `true`; with `false`, call `reconnect()` to start.
    pub fn immediate(mut self, immediate: bool) -> Self {
        self.immediate = immediate;
        self
    }

    /// Event names delivered to the callback. Defaults to `["message"]` (unnamed events). The
    /// [`heartbeat_event`](Self::heartbeat_event) and [`end_event`](Self::end_event) are
    /// handled by the hook and never reach the callback, even when listed here.
    pub fn events<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.events = names.into_iter().map(Into::into).collect();
        self
    }

    /// Event name that only proves liveness. Defaults to `Some("heartbeat")`; `None` treats no
    /// event as a heartbeat.
    ///
    /// ```
    /// use leptos_task_stream::EventStreamOptions;
    /// let options = EventStreamOptions::default()
    ///     .heartbeat_event(Some("ping"))
    ///     .end_event(None);
    /// # let _ = options;
    /// ```
    pub fn heartbeat_event(mut self, name: Option<&str>) -> Self {
        self.heartbeat_event = name.map(str::to_owned);
        self
    }

    /// Event name with which the server says the stream is complete (the hook closes and never
    /// reconnects on its own). Defaults to `Some("end")`; `None` treats no event as the end.
    pub fn end_event(mut self, name: Option<&str>) -> Self {
        self.end_event = name.map(str::to_owned);
        self
    }

    /// Events larger than this (in UTF-8 bytes) are dropped unparsed. Defaults to 4 MiB.
    ///
    /// With [`Transport::EventSource`] the limit applies to an event's data once the browser
    /// has received it, and an event over it gives
    /// [`StreamError::TooLarge`](crate::StreamError::TooLarge); its data is never copied into
    /// the wasm module's memory (which never shrinks). With [`Transport::Fetch`] the
    /// SSE parser applies it while the event streams in (to the data read so far plus the line
    /// being read, whatever its field), and the error is
    /// [`StreamError::Stream`](crate::StreamError::Stream)`(`[`SseError::EventTooLarge`](crate::SseError::EventTooLarge)` { .. })`,
    /// which has no byte count.
    ///
    /// `0` rejects every event with non-empty data. With `EventSource` the heartbeat and end
    /// events still get through (they are handled before the limit is checked; an end event
    /// over the limit may end the stream without its reason); with the fetch
    /// transport the parser rejects every non-blank line, so every event is dropped, those
    /// included.
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self
    }

    /// Upper bound of the random wait before reconnecting when the browser comes back online.
    /// Defaults to 1 s.
    pub fn online_jitter(mut self, jitter: Duration) -> Self {
        self.online_jitter = jitter;
        self
    }

    /// The transport: [`Transport::EventSource`] (the default) or [`Transport::Fetch`] for
    /// headers, methods, HTTP status codes, `Retry-After` and `retry:`. See [`Transport`] for
    /// how they differ.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The longest wait a server can impose with `Retry-After` (on 429, 502, 503 and 504) or
    /// `retry:` ([`Transport::Fetch`] only; `EventSource` hides both). Defaults to 5 minutes.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The configured transport.
    pub fn transport_kind(&self) -> &Transport {
        &self.transport
    }

    /// The configured backoff policy.
    pub fn backoff_policy(&self) -> &Backoff {
        &self.backoff
    }

    /// The configured event names.
    pub fn event_names(&self) -> &[String] {
        &self.events
    }
}

/// Options of [`use_task_stream`](crate::use_task_stream): the stream options plus the
/// activity buffer size.
///
/// ```
/// use std::time::Duration;
/// use leptos_task_stream::{Backoff, TaskStreamOptions};
///
/// let options = TaskStreamOptions::default()
///     .backoff(Backoff::default().max_delay(Duration::from_secs(60)))
///     .activity_capacity(500);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStreamOptions {
    pub(crate) stream: EventStreamOptions,
    pub(crate) activity_capacity: usize,
}

impl Default for TaskStreamOptions {
    fn default() -> Self {
        Self {
            stream: EventStreamOptions::default(),
            activity_capacity: DEFAULT_ACTIVITY_CAPACITY,
        }
    }
}

impl TaskStreamOptions {
    /// See [`EventStreamOptions::backoff`].
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.stream = self.stream.backoff(backoff);
        self
    }

    /// See [`EventStreamOptions::resume`].
    pub fn resume(mut self, param: Option<&str>) -> Self {
        self.stream = self.stream.resume(param);
        self
    }

    /// See [`EventStreamOptions::with_credentials`].
    pub fn with_credentials(mut self, with_credentials: bool) -> Self {
        self.stream = self.stream.with_credentials(with_credentials);
        self
    }

    /// See [`EventStreamOptions::stale_after`].
    pub fn stale_after(mut self, stale_after: Option<Duration>) -> Self {
        self.stream = self.stream.stale_after(stale_after);
        self
    }

    /// See [`EventStreamOptions::pause_when_hidden`].
    pub fn pause_when_hidden(mut self, pause: bool) -> Self {
        self.stream = self.stream.pause_when_hidden(pause);
        self
    }

    /// See [`EventStreamOptions::immediate`].
    pub fn immediate(mut self, immediate: bool) -> Self {
        self.stream = self.stream.immediate(immediate);
        self
    }

    /// See [`EventStreamOptions::max_event_bytes`].
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.stream = self.stream.max_event_bytes(bytes);
        self
    }

    /// See [`EventStreamOptions::online_jitter`].
    pub fn online_jitter(mut self, jitter: Duration) -> Self {
        self.stream = self.stream.online_jitter(jitter);
        self
    }

    /// See [`EventStreamOptions::transport`].
    pub fn transport(mut self, transport: Transport) -> Self {
        self.stream = self.stream.transport(transport);
        self
    }

    /// See [`EventStreamOptions::max_retry_after`].
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.stream = self.stream.max_retry_after(max);
        self
    }

    /// How many recent activity lines to keep. Defaults to 200. At least one is kept: `0`
    /// counts as `1`.
    pub fn activity_capacity(mut self, capacity: usize) -> Self {
        self.activity_capacity = capacity;
        self
    }

    /// The underlying stream options.
    pub fn stream_options(&self) -> &EventStreamOptions {
        &self.stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_defaults() {
        // Pins every default the docs and the README's options table promise.
        let o = EventStreamOptions::default();
        assert_eq!(o.backoff, Backoff::default());
        assert_eq!(o.resume.as_deref(), Some("lastEventId"));
        assert!(!o.with_credentials);
        assert_eq!(o.stale_after, Some(Duration::from_secs(45)));
        assert!(!o.pause_when_hidden);
        assert!(o.immediate);
        assert_eq!(o.events, ["message"]);
        assert_eq!(o.heartbeat_event.as_deref(), Some("heartbeat"));
        assert_eq!(o.end_event.as_deref(), Some("end"));
        assert_eq!(o.max_event_bytes, 4 * 1024 * 1024);
        assert_eq!(o.online_jitter, Duration::from_secs(1));
        assert_eq!(o.max_retry_after, Duration::from_secs(300));
        assert!(matches!(o.transport, Transport::EventSource));
        assert!(!o.every_event);
        let t = TaskStreamOptions::default();
        assert_eq!(t.stream, o);
        assert_eq!(t.activity_capacity, 200);
        // And the setters that adjust their input.
        assert_eq!(o.clone().resume(Some("")).resume, None);
        assert_eq!(o.clone().resume(None).resume, None);
        assert_eq!(o.clone().heartbeat_event(None).heartbeat_event, None);
        assert_eq!(o.end_event(Some("done")).end_event.as_deref(), Some("done"));
    }
}
