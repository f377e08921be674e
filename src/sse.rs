//! A pure-Rust, incremental Server-Sent Events parser.
//!
//! It follows the WHATWG HTML rules for
//! [interpreting an event stream](https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
//! exactly, whatever the chunking of the bytes: a line ending (CR, LF or CRLF, even with the CR
//! and the LF in different chunks), a UTF-8 character or the byte order mark may be split
//! anywhere, and the result is the same as if the whole stream had arrived at once.
//!
//! It knows nothing of `web-sys`: feed it the bytes of any HTTP body (a `fetch` reader, `reqwest`,
//! a test fixture) and it yields [`SseItem`]s in stream order.
//!
//! ## Usage
//!
//! ```
//! use std::time::Duration;
//! use leptos_task_stream::sse::{SseEvent, SseItem, SseParser};
//!
//! let mut parser = SseParser::new();
//! let mut items = Vec::new();
//! // Chunks split wherever the network likes: here inside "data" and between CR and LF.
//! for chunk in [&b"retry: 500\r\nid: 7\r\nda"[..], b"ta: hello\r", b"\n\r\n: ping\n"] {
//!     parser.feed_into(chunk, &mut items);
//! }
//! assert_eq!(
//!     items,
//!     vec![
//!         Ok(SseItem::Retry(Duration::from_millis(500))),
//!         Ok(SseItem::Event(SseEvent {
//!             event: "message".into(),
//!             data: "hello".into(),
//!             id: "7".into(),
//!         })),
//!     ]
//! );
//! // On disconnect: drop the unterminated tail, keep the id for the `Last-Event-ID` header.
//! parser.end_of_stream();
//! assert_eq!(parser.last_event_id(), "7");
//! ```

use std::borrow::Cow;
use std::time::Duration;

use crate::options::DEFAULT_MAX_EVENT_BYTES;

/// The longest event id kept, in bytes. A longer `id:` is ignored, as one with NUL is, and
/// reported as [`SseError::IdTooLong`]: every reconnect sends the id back (in the
/// `Last-Event-ID` header or the URL), and servers refuse requests whose headers or URLs run to
/// a few kilobytes, which would block every resume for good. Both transports apply it.
pub const MAX_EVENT_ID_BYTES: usize = 1024;

/// The UTF-8 byte order mark, stripped once at the very start of a stream.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// One dispatched event.
///
/// ```
/// use leptos_task_stream::sse::{SseEvent, SseItem, SseParser};
///
/// let items = SseParser::new().feed(b"event: add\ndata: a\ndata: b\n\n");
/// assert_eq!(
///     items,
///     vec![Ok(SseItem::Event(SseEvent {
///         event: "add".into(),
///         data: "a\nb".into(),
///         id: String::new(),
///     }))]
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SseEvent {
    /// The event type: the last `event:` value of the block, or `"message"` when there was none
    /// (or it was empty).
    pub event: String,
    /// The `data:` values of the block joined by `"\n"` (one trailing newline removed).
    pub data: String,
    /// The last event id at dispatch time: the most recent `id:` value of a completed block, this
    /// one or an earlier one. Empty when no id was ever set or an empty `id:` reset it.
    pub id: String,
}

/// What the parser yields, in stream order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SseItem {
    /// A complete event (a block ended by a blank line, with at least one `data` line).
    Event(SseEvent),
    /// A valid `retry:` field set the reconnection time. Reported where it occurred, so a
    /// caller that reconnects after event *n* uses the value in force at that point.
    Retry(Duration),
    /// A block that dispatched nothing (no `data`, e.g. a server's `id: 42` checkpoint) changed
    /// the last event id to this value. With the ids of the events, a caller sees every change
    /// of what a reconnect must send as `Last-Event-ID`, in stream order.
    ///
    /// ```
    /// use leptos_task_stream::sse::{SseItem, SseParser};
    ///
    /// let items = SseParser::new().feed(b"id: 42\n\n");
    /// assert_eq!(items, vec![Ok(SseItem::LastEventId("42".into()))]);
    /// ```
    LastEventId(String),
}

/// Why part of a stream was dropped. The parser always recovers: it resumes normal parsing
/// after the blank line that ends the offending event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// The event being built (its data buffer plus the current line) grew past the limit. The
    /// event is dropped and the rest of it, up to its blank line, is skipped unparsed.
    #[error(
        "SSE event (type {}) exceeds the {limit}-byte limit; skipped to its blank line",
        crate::text::quoted(.event)
    )]
    EventTooLarge {
        /// The configured limit ([`SseParser::with_max_event_bytes`]).
        limit: usize,
        /// The `event:` type set before the limit was crossed, cut to 64 characters; empty if
        /// none had been set yet. (No byte count: where the limit is noticed depends on how the
        /// stream was chunked, and the result must not.)
        event: String,
    },
    /// An `id:` longer than [`MAX_EVENT_ID_BYTES`] was ignored: the last event id stays what it
    /// was, and the next reconnect resumes from it.
    #[error("SSE event id of {bytes} bytes exceeds the {limit}-byte limit; ignored")]
    IdTooLong {
        /// The id's length in bytes, as received.
        bytes: usize,
        /// [`MAX_EVENT_ID_BYTES`].
        limit: usize,
    },
}

/// Progress through the optional BOM at the start of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BomState {
    /// This many leading bytes of the stream matched the BOM so far (0, 1 or 2).
    Matching(u8),
    /// The BOM was stripped, or the stream did not start with one.
    Done,
}

/// An incremental SSE parser: feed it byte chunks as they arrive.
///
/// Memory is bounded: the data buffer plus the line being read never exceed
/// [`max_event_bytes`](Self::with_max_event_bytes) (4 MiB by default, the crate's
/// [`DEFAULT_MAX_EVENT_BYTES`]); a larger event yields one
/// [`SseError::EventTooLarge`] and is skipped, so a hostile server sending an endless line cannot
/// exhaust memory. No input makes it panic.
///
/// The last event id and the reconnection time survive [`end_of_stream`](Self::end_of_stream),
/// as they survive reconnects of a browser's `EventSource`: keep one parser per logical stream
/// and call `end_of_stream` between connections.
///
/// ```
/// use leptos_task_stream::sse::{SseError, SseItem, SseParser};
///
/// let mut parser = SseParser::with_max_event_bytes(16);
/// let items = parser.feed(b"data: far too long for sixteen bytes\n\ndata: ok\n\n");
/// assert!(matches!(items[0], Err(SseError::EventTooLarge { limit: 16, .. })));
/// assert!(matches!(&items[1], Ok(SseItem::Event(e)) if e.data == "ok"));
/// ```
#[derive(Clone)]
pub struct SseParser {
    max_event_bytes: usize,
    /// Bytes of the current line carried over from earlier chunks (without its terminator).
    line: Vec<u8>,
    data: String,
    event_type: String,
    /// The last event id *buffer*: set by `id:`, committed to `last_event_id` by a blank line.
    id_buffer: String,
    /// The last event id *string*: what a reconnect sends.
    last_event_id: String,
    retry: Option<Duration>,
    bom: BomState,
    /// The previous chunk ended with CR: an LF starting the next chunk belongs to it.
    after_cr: bool,
    /// The current event overflowed: ignore lines until the blank line that ends it.
    skipping_event: bool,
    /// The current line is being dropped (overflowed, or inside a skipped event); it is known
    /// to be non-blank, so its bytes need not be kept.
    discarding_line: bool,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SseParser {
    // Lengths only: the buffers can hold megabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseParser")
            .field("max_event_bytes", &self.max_event_bytes)
            .field("pending_line_bytes", &self.line.len())
            .field("data_bytes", &self.data.len())
            .field("event_type", &self.event_type)
            .field("id_buffer", &self.id_buffer)
            .field("last_event_id", &self.last_event_id)
            .field("retry", &self.retry)
            .field("skipping_event", &self.skipping_event)
            .finish_non_exhaustive()
    }
}

impl SseParser {
    /// A parser with the default event size limit of 4 MiB.
    ///
    /// ```
    /// let parser = leptos_task_stream::sse::SseParser::new();
    /// assert_eq!(parser.max_event_bytes(), 4 * 1024 * 1024);
    /// ```
    pub fn new() -> Self {
        Self::with_max_event_bytes(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A parser whose events (data buffer plus the line being read, in bytes) may not exceed
    /// `max_event_bytes`. Lines of other fields and comments count too, so this also bounds the
    /// longest line. A limit of 0 rejects every non-blank line.
    ///
    /// ```
    /// let parser = leptos_task_stream::sse::SseParser::with_max_event_bytes(64 * 1024);
    /// assert_eq!(parser.max_event_bytes(), 65536);
    /// ```
    pub fn with_max_event_bytes(max_event_bytes: usize) -> Self {
        Self {
            max_event_bytes,
            line: Vec::new(),
            data: String::new(),
            event_type: String::new(),
            id_buffer: String::new(),
            last_event_id: String::new(),
            retry: None,
            bom: BomState::Matching(0),
            after_cr: false,
            skipping_event: false,
            discarding_line: false,
        }
    }

    /// Starts with this last event id, e.g. one carried over from an earlier connection.
    ///
    /// ```
    /// use leptos_task_stream::sse::{SseItem, SseParser};
    ///
    /// let items = SseParser::new().with_last_event_id("41").feed(b"data: x\n\n");
    /// assert!(matches!(&items[0], Ok(SseItem::Event(e)) if e.id == "41"));
    /// ```
    pub fn with_last_event_id(mut self, id: impl Into<String>) -> Self {
        self.last_event_id = id.into();
        self.id_buffer.clone_from(&self.last_event_id);
        self
    }

    /// The configured event size limit in bytes.
    pub fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }

    /// The last event id: what a reconnect sends as `Last-Event-ID`. A blank line sets it from
    /// the block's `id:` (or keeps the earlier one), even when the block dispatches nothing; an
    /// `id:` in a block that never ends (the stream stopped first) does not count.
    ///
    /// ```
    /// let mut parser = leptos_task_stream::sse::SseParser::new();
    /// parser.feed(b"id: 9\n\n");
    /// assert_eq!(parser.last_event_id(), "9");
    /// parser.feed(b"id: 10\n"); // the block has not ended yet
    /// assert_eq!(parser.last_event_id(), "9");
    /// ```
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection time from the most recent valid `retry:` field, if any.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut parser = leptos_task_stream::sse::SseParser::new();
    /// parser.feed(b"retry: 2500\nretry: 1e3\n");
    /// assert_eq!(parser.retry(), Some(Duration::from_millis(2500)));
    /// ```
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// Parses `chunk` and returns what it completed. Allocates only when something is returned;
    /// use [`feed_into`](Self::feed_into) to reuse one buffer.
    ///
    /// ```
    /// use leptos_task_stream::sse::{SseItem, SseParser};
    ///
    /// let mut parser = SseParser::new();
    /// assert!(parser.feed(b"data: he").is_empty());
    /// let items = parser.feed(b"llo\n\n");
    /// assert!(matches!(&items[0], Ok(SseItem::Event(e)) if e.data == "hello"));
    /// ```
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Result<SseItem, SseError>> {
        let mut out = Vec::new();
        self.feed_into(chunk, &mut out);
        out
    }

    /// Parses `chunk`, appending what it completed to `out` in stream order.
    ///
    /// ```
    /// use leptos_task_stream::sse::SseParser;
    ///
    /// let mut parser = SseParser::new();
    /// let mut items = Vec::new();
    /// for chunk in [&b"data: 1\n\nda"[..], b"ta: 2\n", b"\n"] {
    ///     parser.feed_into(chunk, &mut items);
    /// }
    /// assert_eq!(items.len(), 2);
    /// ```
    pub fn feed_into(&mut self, chunk: &[u8], out: &mut Vec<Result<SseItem, SseError>>) {
        let mut rest = chunk;
        if let BomState::Matching(matched) = self.bom {
            let mut matched = usize::from(matched);
            while let Some((&byte, tail)) = rest.split_first() {
                if byte != BOM[matched] {
                    // Not a BOM after all: the bytes held back are ordinary stream content.
                    self.bom = BomState::Done;
                    self.parse(&BOM[..matched], out);
                    break;
                }
                rest = tail;
                matched += 1;
                if matched == BOM.len() {
                    self.bom = BomState::Done;
                    break;
                }
            }
            if let BomState::Matching(_) = self.bom {
                // The chunk ended inside a possible BOM: `matched` < 3 here.
                self.bom = BomState::Matching(matched as u8);
                return;
            }
        }
        self.parse(rest, out);
    }

    /// The stream ended (or the connection dropped). Discards the unterminated tail: a partial
    /// line and an event without its blank line are never dispatched, as the specification
    /// requires. Returns whether anything was discarded.
    ///
    /// The parser is then ready for the next connection's stream (which may start with a BOM
    /// again); the last event id of the last *completed* block and the reconnection time are
    /// kept. An `id:` in the discarded tail is forgotten with it, as in a browser: resuming
    /// after an event that was never delivered would lose it.
    ///
    /// ```
    /// use leptos_task_stream::sse::SseParser;
    ///
    /// let mut parser = SseParser::new();
    /// parser.feed(b"id: 2\ndata: delivered\n\n");
    /// assert!(parser.feed(b"id: 3\ndata: never finished\n").is_empty());
    /// assert!(parser.end_of_stream());
    /// assert_eq!(parser.last_event_id(), "2");
    /// assert!(parser.feed(b"\n").is_empty()); // the old data is gone
    /// ```
    pub fn end_of_stream(&mut self) -> bool {
        let discarded = !self.line.is_empty()
            || !self.data.is_empty()
            || !self.event_type.is_empty()
            || self.id_buffer != self.last_event_id
            || self.skipping_event
            || self.discarding_line
            || matches!(self.bom, BomState::Matching(n) if n > 0);
        self.line.clear();
        self.data.clear();
        self.event_type.clear();
        self.id_buffer.clone_from(&self.last_event_id);
        self.bom = BomState::Matching(0);
        self.after_cr = false;
        self.skipping_event = false;
        self.discarding_line = false;
        discarded
    }

    /// Splits `bytes` (BOM already handled) into lines.
    fn parse(&mut self, mut rest: &[u8], out: &mut Vec<Result<SseItem, SseError>>) {
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line_end(&rest[..end], out);
            let terminator = rest[end];
            rest = &rest[end + 1..];
            if terminator == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.partial_line(rest, out);
    }

    /// Bytes of a line whose end has not arrived yet.
    fn partial_line(&mut self, bytes: &[u8], out: &mut Vec<Result<SseItem, SseError>>) {
        if bytes.is_empty() || self.discarding_line {
            return;
        }
        if self.skipping_event {
            self.discarding_line = true;
            return;
        }
        let size = self.data.len() + self.line.len() + bytes.len();
        if size > self.max_event_bytes {
            self.overflow(out);
            self.discarding_line = true;
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    /// A line ended; `tail` is its part in the current chunk.
    fn line_end(&mut self, tail: &[u8], out: &mut Vec<Result<SseItem, SseError>>) {
        if self.discarding_line {
            // A dropped line is never blank, so it cannot end a skipped event.
            self.discarding_line = false;
            return;
        }
        if self.skipping_event {
            // Nothing is buffered while skipping, so an empty tail means a blank line. It ends
            // the dropped event like any other: an id set before the limit was crossed counts
            // (resuming before an event that can never be read would fetch it forever).
            if tail.is_empty() {
                self.skipping_event = false;
                self.commit_id(out);
            }
            return;
        }
        if self.data.len() + self.line.len() + tail.len() > self.max_event_bytes {
            self.overflow(out);
            return;
        }
        if self.line.is_empty() {
            self.process_line(tail, out);
        } else {
            // Taken out so the line can be read while the other buffers change.
            let mut line = std::mem::take(&mut self.line);
            line.extend_from_slice(tail);
            self.process_line(&line, out);
            line.clear();
            self.line = line;
        }
    }

    /// The event grew past the limit: report it once, drop it, skip to its blank line.
    fn overflow(&mut self, out: &mut Vec<Result<SseItem, SseError>>) {
        out.push(Err(SseError::EventTooLarge {
            limit: self.max_event_bytes,
            event: crate::protocol::truncate_for_display(&self.event_type, 64),
        }));
        self.line.clear();
        self.data.clear();
        self.event_type.clear();
        self.skipping_event = true;
    }

    /// One complete line, without its terminator.
    ///
    /// Matching field names and splitting on bytes is the same as decoding first: `:`, space,
    /// NUL and the ASCII field names never occur inside a UTF-8 sequence, and an invalid
    /// sequence decodes to U+FFFD, which never equals them either.
    fn process_line(&mut self, line: &[u8], out: &mut Vec<Result<SseItem, SseError>>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => return, // a comment
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                // Counted again after decoding: each invalid byte becomes a 3-byte U+FFFD.
                let value = decode(value);
                if self.data.len() + value.len() + 1 > self.max_event_bytes {
                    self.overflow(out);
                    return;
                }
                self.data.push_str(&value);
                self.data.push('\n');
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&decode(value));
            }
            // An id with NUL is ignored: it could not be sent back in a `Last-Event-ID` header.
            b"id" if value.len() > MAX_EVENT_ID_BYTES => out.push(Err(SseError::IdTooLong {
                bytes: value.len(),
                limit: MAX_EVENT_ID_BYTES,
            })),
            b"id" if !value.contains(&0) => {
                self.id_buffer.clear();
                self.id_buffer.push_str(&decode(value));
            }
            b"retry" => {
                if let Some(ms) = parse_retry(value) {
                    let retry = Duration::from_millis(ms);
                    self.retry = Some(retry);
                    out.push(Ok(SseItem::Retry(retry)));
                }
            }
            _ => {}
        }
    }

    /// A blank line ends a block: it commits the id buffer, even with no data.
    fn commit_id(&mut self, out: &mut Vec<Result<SseItem, SseError>>) {
        if self.id_buffer == self.last_event_id {
            return;
        }
        self.last_event_id.clone_from(&self.id_buffer);
        if self.data.is_empty() {
            out.push(Ok(SseItem::LastEventId(self.last_event_id.clone())));
        }
    }

    /// A blank line: commit the id, dispatch the event being built if it has data.
    fn dispatch(&mut self, out: &mut Vec<Result<SseItem, SseError>>) {
        self.commit_id(out);
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        self.data.pop(); // the "\n" after the last data line
        let event = if self.event_type.is_empty() {
            "message".to_owned()
        } else {
            std::mem::take(&mut self.event_type)
        };
        out.push(Ok(SseItem::Event(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
            id: self.last_event_id.clone(),
        })));
    }
}

/// UTF-8 with U+FFFD for invalid sequences, as a browser's decoder does; borrows when valid.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// A `retry` value: non-empty, ASCII digits only (no sign, no spaces). A value too large for
/// `u64` is ignored, as Chromium does.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &digit| {
        acc.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds each chunk in turn and returns everything yielded.
    fn parse_chunks(parser: &mut SseParser, chunks: &[&[u8]]) -> Vec<Result<SseItem, SseError>> {
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed_into(chunk, &mut out);
        }
        out
    }

    /// Parses `bytes` in one chunk and, as a cross-check, byte by byte; returns the items.
    fn parse(bytes: &[u8]) -> Vec<Result<SseItem, SseError>> {
        let whole = SseParser::new().feed(bytes);
        let mut bytewise = SseParser::new();
        let single: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(
            parse_chunks(&mut bytewise, &single),
            whole,
            "1-byte chunks differ"
        );
        whole
    }

    fn events(bytes: &[u8]) -> Vec<SseEvent> {
        parse(bytes)
            .into_iter()
            .filter_map(|item| match item {
                Ok(SseItem::Event(e)) => Some(e),
                _ => None,
            })
            .collect()
    }

    fn ev(event: &str, data: &str, id: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
            id: id.into(),
        }
    }

    fn datas(bytes: &[u8]) -> Vec<String> {
        events(bytes).into_iter().map(|e| e.data).collect()
    }

    fn retries(bytes: &[u8]) -> Vec<u64> {
        parse(bytes)
            .into_iter()
            .filter_map(|item| match item {
                Ok(SseItem::Retry(d)) => Some(d.as_millis() as u64),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn lf_line_endings() {
        // Rule: LF ends a line.
        assert_eq!(datas(b"data: a\ndata: b\n\n"), ["a\nb"]);
    }

    #[test]
    fn cr_line_endings() {
        // Rule: a bare CR ends a line (unlike `str::lines`).
        assert_eq!(datas(b"data: a\rdata: b\r\r"), ["a\nb"]);
    }

    #[test]
    fn crlf_line_endings() {
        // Rule: CRLF is one line ending, not a line plus a blank line.
        assert_eq!(datas(b"data: a\r\ndata: b\r\n\r\n"), ["a\nb"]);
    }

    #[test]
    fn mixed_line_endings() {
        // Rule: CR, LF and CRLF may be mixed in one stream; LF CR is two endings.
        assert_eq!(
            datas(b"data: a\rdata: b\ndata: c\r\n\ndata: d\n\rdata: e\r\n\r"),
            ["a\nb\nc", "d", "e"]
        );
    }

    #[test]
    fn crlf_split_across_chunks() {
        // Rule: a CR ending one chunk and an LF starting the next are ONE line ending.
        let mut p = SseParser::new();
        let items = parse_chunks(&mut p, &[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(items, vec![Ok(SseItem::Event(ev("message", "a\nb", "")))]);
    }

    #[test]
    fn cr_then_empty_chunk_then_lf() {
        // Rule: an empty chunk between CR and LF does not break the pair.
        let mut p = SseParser::new();
        let items = parse_chunks(&mut p, &[b"data: a\r", b"", b"\n", b"\n"]);
        assert_eq!(items, vec![Ok(SseItem::Event(ev("message", "a", "")))]);
    }

    #[test]
    fn cr_at_chunk_end_then_other_byte() {
        // Rule: a chunk-final CR followed by a non-LF byte still ended its line.
        let mut p = SseParser::new();
        let items = parse_chunks(&mut p, &[b"data: a\r", b"\r"]);
        assert_eq!(items, vec![Ok(SseItem::Event(ev("message", "a", "")))]);
    }

    #[test]
    fn bom_stripped_once_at_start() {
        // Rule: one leading BOM is stripped; the first field is then recognised.
        assert_eq!(datas(b"\xEF\xBB\xBFdata: a\n\n"), ["a"]);
    }

    #[test]
    fn second_bom_is_kept() {
        // Rule: only the first BOM is stripped; a second one makes "\u{FEFF}data" an unknown field.
        assert_eq!(
            datas(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n"),
            ["b"]
        );
    }

    #[test]
    fn bom_in_the_middle_is_kept() {
        // Rule: a BOM after the start is content: the field name is "\u{FEFF}data", ignored.
        assert_eq!(
            datas(b"data: a\n\n\xEF\xBB\xBFdata: b\n\ndata: c\n\n"),
            ["a", "c"]
        );
        // ... and in a value it is kept as U+FEFF.
        assert_eq!(datas(b"data: \xEF\xBB\xBFx\n\n"), ["\u{FEFF}x"]);
    }

    #[test]
    fn bom_split_across_chunks() {
        // Rule: the BOM is stripped at the byte level even when split across chunks.
        for split in [&[1, 2][..], &[1], &[2], &[1, 1, 1]] {
            let bytes = b"\xEF\xBB\xBFdata: a\n\n";
            let mut chunks = Vec::new();
            let mut at = 0;
            for &len in split {
                chunks.push(&bytes[at..at + len]);
                at += len;
            }
            chunks.push(&bytes[at..]);
            let items = parse_chunks(&mut SseParser::new(), &chunks);
            assert_eq!(items, vec![Ok(SseItem::Event(ev("message", "a", "")))]);
        }
    }

    #[test]
    fn partial_bom_is_content() {
        // Rule: bytes that start like a BOM but are not one are kept: "\xEF\xBBdata" is an
        // unknown field (U+FFFD + "data"), so the first event is not dispatched.
        let mut p = SseParser::new();
        let items = parse_chunks(&mut p, &[b"\xEF\xBB", b"data: a\n\ndata: b\n\n"]);
        assert_eq!(items, vec![Ok(SseItem::Event(ev("message", "b", "")))]);
        assert_eq!(datas(b"\xEFdata: a\n\ndata: b\n\n"), ["b"]);
        // A stream that is only a partial BOM is an unterminated tail.
        let mut p = SseParser::new();
        assert!(p.feed(b"\xEF").is_empty());
        assert!(p.end_of_stream());
    }

    #[test]
    fn multibyte_utf8_split_across_chunks() {
        // Rule: decode per line after splitting, never per chunk.
        let bytes = "data: é€😀\n\n".as_bytes();
        for at in 0..bytes.len() {
            let items = parse_chunks(&mut SseParser::new(), &[&bytes[..at], &bytes[at..]]);
            assert_eq!(items, vec![Ok(SseItem::Event(ev("message", "é€😀", "")))]);
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement_char() {
        // Rule: invalid UTF-8 decodes to U+FFFD (maximal subparts, like a browser).
        assert_eq!(datas(b"data: a\xFFb\xE2\x82\n\n"), ["a\u{FFFD}b\u{FFFD}"]);
        assert_eq!(datas(b"event: \xC3\ndata: x\n\n"), ["x"]);
        assert_eq!(events(b"event: \xC3\ndata: x\n\n")[0].event, "\u{FFFD}");
    }

    #[test]
    fn comments_are_ignored() {
        // Rule: a line starting with ':' is a comment.
        assert_eq!(datas(b": hi\ndata: a\n:data: b\n\n:\n\n"), ["a"]);
    }

    #[test]
    fn one_leading_space_stripped() {
        // Rule: exactly one space after the colon is removed; no more, no tabs.
        assert_eq!(datas(b"data:x\n\n"), ["x"]);
        assert_eq!(datas(b"data: x\n\n"), ["x"]);
        assert_eq!(datas(b"data:  x\n\n"), [" x"]);
        assert_eq!(datas(b"data:\tx\n\n"), ["\tx"]);
        assert_eq!(datas(b"data: x \n\n"), ["x "]);
    }

    #[test]
    fn split_at_first_colon_only() {
        // Rule: the field name ends at the first ':'; later colons are part of the value.
        assert_eq!(datas(b"data: a:b: c\n\n"), ["a:b: c"]);
    }

    #[test]
    fn field_without_colon_has_empty_value() {
        // Rule: "data" with no colon is a data line with an empty value.
        assert_eq!(datas(b"data\n\n"), [""]);
        assert_eq!(datas(b"data\ndata\n\n"), ["\n"]);
        assert_eq!(datas(b"data:\n\n"), [""]);
    }

    #[test]
    fn data_lines_joined_by_newline() {
        // Rule: each data line appends value + "\n"; one trailing "\n" is removed at dispatch.
        assert_eq!(datas(b"data: a\ndata:\ndata: b\n\n"), ["a\n\nb"]);
    }

    #[test]
    fn event_type_defaults_to_message() {
        // Rule: an empty event type buffer dispatches as "message"; the last event: wins.
        let got = events(
            b"data: 1\n\nevent: add\ndata: 2\n\nevent:\ndata: 3\n\nevent: a\nevent: b\ndata: 4\n\n",
        );
        let types: Vec<_> = got.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(types, ["message", "add", "message", "b"]);
    }

    #[test]
    fn blank_line_resets_event_type_without_dispatch() {
        // Rule: a blank line with an empty data buffer still resets the event type.
        assert_eq!(
            events(b"event: add\n\ndata: x\n\n"),
            [ev("message", "x", "")]
        );
    }

    #[test]
    fn unknown_fields_ignored() {
        // Rule: fields other than data/event/id/retry are ignored (names are case-sensitive).
        assert_eq!(
            datas(b"foo: bar\nDATA: no\nData: no\ndata: yes\n\n"),
            ["yes"]
        );
    }

    #[test]
    fn id_persists_across_events_and_resets_when_empty() {
        // Rule: the last event id persists across events; an empty `id:` (or bare `id`) resets it.
        let got = events(
            b"id: 1\ndata: a\n\ndata: b\n\nid:\ndata: c\n\nid: 2\ndata: d\n\nid\ndata: e\n\n",
        );
        let ids: Vec<_> = got.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1", "1", "", "2", ""]);
    }

    #[test]
    fn id_with_nul_is_ignored() {
        // Rule: an id value containing NUL does not change the last event id.
        let got = events(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n");
        assert_eq!(got[1].id, "1");
        let mut p = SseParser::new();
        p.feed(b"id: x\0\n");
        assert_eq!(p.last_event_id(), "");
    }

    #[test]
    fn an_over_long_id_is_ignored_with_an_error_and_the_previous_id_kept() {
        // Ours (the standard has no limit): an id over MAX_EVENT_ID_BYTES would be sent back on
        // every reconnect and get every resume refused; it is ignored, reported, and the event
        // it came with still arrives, under the previous id. At the limit, an id is kept.
        let long = "i".repeat(MAX_EVENT_ID_BYTES + 1);
        let at_limit = "j".repeat(MAX_EVENT_ID_BYTES);
        let input = format!("id: 1\ndata: a\n\nid: {long}\ndata: b\n\nid: {at_limit}\ndata: c\n\n");
        assert_eq!(
            parse(input.as_bytes()),
            vec![
                Ok(SseItem::Event(ev("message", "a", "1"))),
                Err(SseError::IdTooLong {
                    bytes: MAX_EVENT_ID_BYTES + 1,
                    limit: MAX_EVENT_ID_BYTES
                }),
                Ok(SseItem::Event(ev("message", "b", "1"))),
                Ok(SseItem::Event(ev("message", "c", &at_limit))),
            ]
        );
        assert_eq!(
            SseError::IdTooLong {
                bytes: 2000,
                limit: MAX_EVENT_ID_BYTES
            }
            .to_string(),
            "SSE event id of 2000 bytes exceeds the 1024-byte limit; ignored"
        );
    }

    #[test]
    fn id_applies_anywhere_in_the_block() {
        // Rule: the event takes the id buffer at dispatch, even if `id` came after `data`.
        assert_eq!(events(b"data: a\nid: 5\n\n"), [ev("message", "a", "5")]);
    }

    #[test]
    fn id_only_block_updates_last_event_id() {
        // Rule: a block with an id but no data dispatches nothing but sets the last event id.
        let mut p = SseParser::new();
        assert_eq!(
            p.feed(b"id: 7\n\n"),
            vec![Ok(SseItem::LastEventId("7".into()))]
        );
        assert_eq!(p.last_event_id(), "7");
        assert_eq!(
            p.feed(b"data: x\n\n"),
            vec![Ok(SseItem::Event(ev("message", "x", "7")))]
        );
    }

    #[test]
    fn retry_accepts_ascii_digits_only() {
        // Rule: retry is set only when the value is non-empty ASCII digits; no sign, no spaces.
        assert_eq!(retries(b"retry: 007\n"), [7]);
        assert_eq!(retries(b"retry:1000\n"), [1000]);
        assert_eq!(retries(b"retry\n"), Vec::<u64>::new());
        for bad in [
            &b"retry: +5\n"[..],
            b"retry:  5\n",
            b"retry: 5s\n",
            b"retry:\n",
            b"retry: \n",
            b"retry: -1\n",
            b"retry: 5 \n",
            b"retry: 1.5\n",
            b"retry: \xEF\xBC\x95\n", // fullwidth digit five
        ] {
            assert_eq!(
                retries(bad),
                Vec::<u64>::new(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn retry_overflow_ignored() {
        // Rule: a digits-only retry too large for u64 is ignored (Chromium), never a panic.
        assert_eq!(retries(b"retry: 18446744073709551615\n"), [u64::MAX]);
        assert_eq!(retries(b"retry: 18446744073709551616\n"), Vec::<u64>::new());
    }

    #[test]
    fn retry_reported_in_order_and_remembered() {
        // Rule: retry takes effect at its line; the caller sees it between the events around it.
        let mut p = SseParser::new();
        let items = p.feed(b"data: a\n\nretry: 10\ndata: b\n\nretry: x\n");
        assert_eq!(
            items,
            vec![
                Ok(SseItem::Event(ev("message", "a", ""))),
                Ok(SseItem::Retry(Duration::from_millis(10))),
                Ok(SseItem::Event(ev("message", "b", ""))),
            ]
        );
        assert_eq!(p.retry(), Some(Duration::from_millis(10)));
    }

    #[test]
    fn trailing_partial_event_discarded() {
        // Rule: an event without its blank line at end of stream is not dispatched.
        let mut p = SseParser::new();
        assert_eq!(
            p.feed(b"data: a\n\ndata: b\n"),
            vec![Ok(SseItem::Event(ev("message", "a", "")))]
        );
        assert!(p.end_of_stream());
        assert!(!p.end_of_stream());
        // The next stream starts clean (and may have its own BOM).
        assert_eq!(
            p.feed(b"\xEF\xBB\xBF\ndata: c\n\n"),
            vec![Ok(SseItem::Event(ev("message", "c", "")))]
        );
        // A partial last line (no terminator) is dropped too, so it never updates the id.
        let mut p = SseParser::new();
        assert_eq!(
            p.feed(b"id: 1\n\nid: 2"),
            vec![Ok(SseItem::LastEventId("1".into()))]
        );
        assert!(p.end_of_stream());
        assert_eq!(p.last_event_id(), "1");
    }

    #[test]
    fn id_of_an_unfinished_block_is_not_resumed_from() {
        // Rule: `id` sets the last event id *buffer*; only a blank line makes it the last event
        // id. A block cut off by the end of the stream was never delivered: resuming after its
        // id would lose it.
        let mut p = SseParser::new().with_last_event_id("2");
        assert!(p.feed(b"id: 3\ndata: never finished\n").is_empty());
        assert_eq!(p.last_event_id(), "2");
        assert!(p.end_of_stream());
        assert_eq!(p.last_event_id(), "2");
        // An id line alone is a discarded tail too.
        assert!(p.feed(b"id: 4\n").is_empty());
        assert!(p.end_of_stream());
        assert_eq!(p.last_event_id(), "2");
        // The next connection's events carry the resumed id, not the lost one.
        assert_eq!(
            p.feed(b"data: y\n\n"),
            vec![Ok(SseItem::Event(ev("message", "y", "2")))]
        );
    }

    #[test]
    fn a_block_without_data_reports_the_id_it_sets() {
        // Rule: an id change by a block that dispatches nothing is reported once, in order;
        // an id carried by an event is in the event only.
        let got =
            parse(b"id: 1\ndata: a\n\nid: 2\n\nid: 2\n\nevent: x\nid: 3\n\nid\n\ndata: b\n\n");
        assert_eq!(
            got,
            vec![
                Ok(SseItem::Event(ev("message", "a", "1"))),
                Ok(SseItem::LastEventId("2".into())),
                Ok(SseItem::LastEventId("3".into())),
                Ok(SseItem::LastEventId(String::new())),
                Ok(SseItem::Event(ev("message", "b", ""))),
            ]
        );
    }

    #[test]
    fn the_blank_line_after_an_oversized_event_commits_its_id() {
        // An id set before the limit was crossed counts once the dropped event ends; ids in
        // its skipped part are never read.
        let mut p = SseParser::with_max_event_bytes(8);
        let got = p.feed(b"id: 5\ndata: far too long\nid: 6\n\ndata: ok\n\n");
        assert!(matches!(
            got[0],
            Err(SseError::EventTooLarge { limit: 8, .. })
        ));
        assert_eq!(got[1], Ok(SseItem::LastEventId("5".into())));
        assert_eq!(got[2], Ok(SseItem::Event(ev("message", "ok", "5"))));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn invalid_utf8_counts_at_its_decoded_size() {
        // Each invalid byte decodes to U+FFFD (3 bytes): the limit holds for the decoded data,
        // and the blank line still ends the event, so the next one is not lost.
        let mut p = SseParser::with_max_event_bytes(10);
        let got = p.feed(b"data:\xFF\xFF\xFF\xFF\xFF\n\ndata: ok\n\n");
        assert!(matches!(
            got[0],
            Err(SseError::EventTooLarge { limit: 10, .. })
        ));
        assert_eq!(got[1..], [Ok(SseItem::Event(ev("message", "ok", "")))]);
        // At the limit exactly, the decoded data (and its newline) fits.
        let mut p = SseParser::with_max_event_bytes(7);
        let got = p.feed(b"data:\xFF\xFF\n\n");
        assert_eq!(
            got,
            [Ok(SseItem::Event(ev("message", "\u{FFFD}\u{FFFD}", "")))]
        );
        // The data buffer never holds more than the limit.
        let mut p = SseParser::with_max_event_bytes(1000);
        let mut line = b"data:".to_vec();
        line.extend(std::iter::repeat_n(0xFF_u8, 995));
        line.push(b'\n');
        assert!(matches!(
            p.feed(&line)[..],
            [Err(SseError::EventTooLarge { .. })]
        ));
        assert!(
            p.data.len() <= 1000,
            "data buffer holds {} bytes",
            p.data.len()
        );
    }

    #[test]
    fn cr_pending_at_end_of_stream_does_not_eat_next_lf() {
        // Rule: a new stream after end_of_stream does not pair its first LF with an old CR.
        let mut p = SseParser::new();
        assert!(p.feed(b"data: a\r").is_empty());
        p.end_of_stream();
        assert_eq!(p.feed(b"data: b\n\n").len(), 1);
        let mut p = SseParser::new();
        p.feed(b"data: a\n\r");
        p.end_of_stream();
        // The leading LF is a blank line of its own on the new stream (nothing to dispatch).
        assert_eq!(
            p.feed(b"\ndata: b\n\n"),
            vec![Ok(SseItem::Event(ev("message", "b", "")))]
        );
    }

    #[test]
    fn too_large_event_errors_once_then_recovers() {
        // Rule: an oversized event yields one EventTooLarge, is skipped to its blank line, then
        // parsing continues normally.
        let mut p = SseParser::with_max_event_bytes(20);
        let stream: &[u8] = b"data: 0123456789\ndata: 0123456789\ndata: more\nevent: x\nid: 9\n\n\
                              data: ok\n\n";
        let mut out = Vec::new();
        for chunk in stream.chunks(3) {
            p.feed_into(chunk, &mut out);
        }
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(
            out[0],
            Err(SseError::EventTooLarge {
                limit: 20,
                event: String::new()
            })
        );
        // Lines after the overflow (here `event` and `id`) were skipped unparsed.
        assert_eq!(out[1], Ok(SseItem::Event(ev("message", "ok", ""))));
        assert_eq!(p.last_event_id(), "");
        // Same in one chunk.
        assert_eq!(SseParser::with_max_event_bytes(20).feed(stream), out);
    }

    #[test]
    fn too_large_error_names_the_event_type() {
        // Rule: the error says which event type was dropped, when it was set before the overflow.
        let items = SseParser::with_max_event_bytes(32)
            .feed(&[&b"event: snapshot\ndata: "[..], &[b'x'; 64], b"\n\n"].concat());
        assert_eq!(
            items,
            vec![Err(SseError::EventTooLarge {
                limit: 32,
                event: "snapshot".into()
            })]
        );
        assert!(items[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("\"snapshot\""));
    }

    #[test]
    fn event_at_limit_is_accepted() {
        // Rule: the limit is inclusive: data buffer + line bytes == limit is fine.
        let mut p = SseParser::with_max_event_bytes(8);
        assert_eq!(
            p.feed(b"data: ab\n\n"),
            vec![Ok(SseItem::Event(ev("message", "ab", "")))]
        );
        let mut p = SseParser::with_max_event_bytes(7);
        assert!(matches!(
            p.feed(b"data: ab\n\n")[..],
            [Err(SseError::EventTooLarge { .. })]
        ));
    }

    #[test]
    fn endless_line_is_bounded() {
        // Rule: a line that never ends cannot grow memory past the limit; one error, then recovery.
        let mut p = SseParser::with_max_event_bytes(1024);
        let chunk = [b'x'; 4096];
        let mut out = Vec::new();
        p.feed_into(b"data: ", &mut out);
        for _ in 0..1000 {
            p.feed_into(&chunk, &mut out);
        }
        assert_eq!(out.len(), 1);
        assert!(matches!(
            out[0],
            Err(SseError::EventTooLarge { limit: 1024, .. })
        ));
        assert!(
            p.line.capacity() <= 2 * 1024,
            "line buffer grew to {}",
            p.line.capacity()
        );
        // The endless line finally ends; the event is skipped until its blank line.
        p.feed_into(b"\ndata: skipped\n\ndata: ok\n\n", &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], Ok(SseItem::Event(ev("message", "ok", ""))));
    }

    #[test]
    fn endless_comment_is_bounded() {
        // Rule: every line counts toward the limit, comments included (a hostile keep-alive).
        let mut p = SseParser::with_max_event_bytes(100);
        let mut out = Vec::new();
        p.feed_into(b":", &mut out);
        for _ in 0..100 {
            p.feed_into(&[b' '; 1000], &mut out);
        }
        assert_eq!(out.len(), 1);
        p.feed_into(b"\n\ndata: ok\n\n", &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn zero_limit_rejects_every_line() {
        // Rule: a zero limit never panics; blank lines still end the skipped event.
        let items = SseParser::with_max_event_bytes(0).feed(b"data: a\n\ndata: b\n\n");
        assert_eq!(items.len(), 2);
        assert!(items
            .iter()
            .all(|i| matches!(i, Err(SseError::EventTooLarge { limit: 0, .. }))));
    }

    #[test]
    fn seeded_last_event_id() {
        // Rule: a parser can resume with an id carried over from an earlier connection.
        let mut p = SseParser::new().with_last_event_id("41");
        assert_eq!(
            p.feed(b"data: x\n\n"),
            vec![Ok(SseItem::Event(ev("message", "x", "41")))]
        );
    }

    #[test]
    fn debug_output_is_small() {
        // Debug prints sizes, not megabytes of buffered data.
        let mut p = SseParser::new();
        p.feed(&[b'd'; 10_000]);
        assert!(format!("{p:?}").len() < 300);
    }

    #[test]
    #[cfg(not(target_arch = "wasm32"))] // `Instant::now` panics on wasm32-unknown-unknown
    fn throughput_is_reasonable() {
        // Performance: no per-byte allocation; a few MB parse quickly even unoptimised.
        let mut stream = Vec::new();
        while stream.len() < 8 << 20 {
            stream.extend_from_slice(b"id: 12345\nevent: task\ndata: {\"id\":1,\"title\":\"a fairly ordinary task title\"}\n\n");
        }
        let start = std::time::Instant::now();
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for chunk in stream.chunks(16 * 1024) {
            p.feed_into(chunk, &mut out);
            out.clear();
        }
        let elapsed = start.elapsed();
        // Generous: catches quadratic behaviour, not a slow CI machine.
        assert!(elapsed.as_secs() < 10, "8 MiB took {elapsed:?}");
    }
}
