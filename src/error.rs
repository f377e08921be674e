//! Errors the hooks surface in `last_error`, and their counters.

use crate::backoff::BackoffError;
use crate::machine::ConnectionError;
use crate::protocol::DecodeError;
use crate::sse::SseError;

/// Something went wrong with the stream. Shown to people through `last_error`. Decode, size
/// and parse errors never stop the stream; [`StreamError::InvalidOptions`] and
/// [`StreamError::InvalidUrl`] always do, and a [`StreamError::Connection`] error does when
/// the status says so (`GaveUp`, a refusal by the server), otherwise a retry is scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// An event could not be decoded (malformed JSON, wrong shape, unknown name).
    #[error("bad event: {0}")]
    Decode(DecodeError),
    /// An event's data did not decode into the type the generic
    /// [`use_event_stream`](crate::use_event_stream) was asked for (serde_json's message).
    #[error("bad {} event: {message}", crate::text::quoted(.event))]
    Payload {
        /// The event name (cut to 64 characters).
        event: String,
        /// serde_json's description of the problem (cut to 300 characters: it can quote the
        /// payload).
        message: String,
    },
    /// An event's data was larger than `max_event_bytes`; it was dropped without being
    /// decoded. [`Transport::EventSource`] only: with [`Transport::Fetch`] the SSE parser drops
    /// such an event while it streams in, and the error is
    /// [`StreamError::Stream`]`(`[`SseError::EventTooLarge`]` { .. })`, which has no byte count.
    ///
    /// [`Transport::EventSource`]: crate::Transport::EventSource
    /// [`Transport::Fetch`]: crate::Transport::Fetch
    #[error("{event} event of {bytes} bytes exceeds the {limit}-byte limit; dropped")]
    TooLarge {
        /// The event name.
        event: String,
        /// Its data's size in bytes (UTF-8).
        bytes: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Part of the byte stream was dropped by the SSE parser ([`Transport::Fetch`] only; the
    /// browser's `EventSource` drops such input silently).
    ///
    /// [`Transport::Fetch`]: crate::Transport::Fetch
    #[error("bad stream: {0}")]
    Stream(SseError),
    /// The connection was lost, went silent, or the retries were exhausted.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The browser refused to create the transport (e.g. a malformed URL, or for
    /// [`Transport::Fetch`](crate::Transport::Fetch) an invalid header name or value).
    #[error("cannot open {url}: {message}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// The browser's message.
        message: String,
    },
    /// The options are invalid; nothing was opened.
    #[error("invalid stream options: {0}")]
    InvalidOptions(BackoffError),
}

// The wrapped errors are part of the message (`Display`), which is what a page shows, so they
// are not also returned as `source()`: error reporters that walk the chain would print them
// twice. Hence these `From`s by hand instead of `#[from]`.
impl From<DecodeError> for StreamError {
    fn from(e: DecodeError) -> Self {
        StreamError::Decode(e)
    }
}

impl From<SseError> for StreamError {
    fn from(e: SseError) -> Self {
        StreamError::Stream(e)
    }
}

impl From<BackoffError> for StreamError {
    fn from(e: BackoffError) -> Self {
        StreamError::InvalidOptions(e)
    }
}

impl StreamError {
    /// `true` for errors about the payload ([`Decode`](Self::Decode),
    /// [`TooLarge`](Self::TooLarge)) or the byte stream carrying it ([`Stream`](Self::Stream):
    /// input the SSE parser dropped), as opposed to the connection.
    pub fn is_data_error(&self) -> bool {
        matches!(
            self,
            StreamError::Decode(_)
                | StreamError::Payload { .. }
                | StreamError::TooLarge { .. }
                | StreamError::Stream(_)
        )
    }
}

/// Counters for one stream, for dashboards and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamStats {
    /// Events received (heartbeats included), whether or not they decoded.
    pub events: u64,
    /// Heartbeats received.
    pub heartbeats: u64,
    /// Events that failed to decode, were too large, or had an unexpected name, and (with
    /// [`Transport::Fetch`](crate::Transport::Fetch)) input the SSE parser dropped
    /// ([`StreamError::Stream`]).
    pub decode_errors: u64,
    /// Connection attempts: transports the hook opened, the first one included, whether the
    /// server then accepted them or not (a 503 during an outage counts). What a server's
    /// access log sees from this client.
    pub connects: u64,
    /// Connection attempts after the first one.
    pub reconnects: u64,
    /// Reconnect attempts that carried a last event id (resumes rather than fresh starts).
    pub resumes: u64,
    /// Events ignored because they were stale (an older or equal task version, a duplicate
    /// activity line).
    pub stale_ignored: u64,
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn a_wrapped_error_is_in_the_message_once_not_also_the_source() {
        // Pins: every variant's text is complete for a page to show, and a reporter that
        // walks `source()` (anyhow's `{:#}`, tracing) does not print the inner error twice.
        let errors = [
            StreamError::from(DecodeError::UnknownEvent { name: "x".into() }),
            StreamError::from(SseError::EventTooLarge {
                limit: 1,
                event: "task".into(),
            }),
            StreamError::from(
                crate::Backoff::default()
                    .factor(-1.0)
                    .validate()
                    .unwrap_err(),
            ),
            StreamError::from(ConnectionError::GaveUp { attempts: 3 }),
        ];
        for e in errors {
            let text = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                assert!(
                    !text.contains(&s.to_string()),
                    "{text:?} repeats its source"
                );
                source = s.source();
            }
        }
        assert_eq!(
            StreamError::from(DecodeError::UnknownEvent { name: "x".into() }).to_string(),
            "bad event: unknown event type \"x\""
        );
    }
}
