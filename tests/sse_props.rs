//! Property tests of the SSE parser: the result never depends on how the stream is chunked, it
//! matches a literal whole-stream reading of the WHATWG rules, it never panics, and re-encoding
//! what it parsed parses back to the same thing.
#![cfg(not(target_arch = "wasm32"))]

use leptos_task_stream::sse::{SseError, SseEvent, SseItem, SseParser};
use proptest::prelude::*;
use proptest::sample::Index;

type Items = Vec<Result<SseItem, SseError>>;

/// Pieces that stress the parser: separators, NUL, BOMs, multi-byte and invalid UTF-8, line ends.
const PIECES: &[&[u8]] = &[
    b"a",
    b"x y",
    b" ",
    b"  ",
    b":",
    b": ",
    b"\0",
    b"\xEF\xBB\xBF",
    b"\xEF\xBB",
    "é".as_bytes(),
    "€".as_bytes(),
    "😀".as_bytes(),
    b"\xF0\x9F",
    b"\xFF",
    b"\xE2\x82",
    b"\r",
    b"\n",
    b"\r\n",
    b"0",
    b"7",
    b"123",
    b"+5",
    b"-",
    b"data",
    b"id",
    b"\t",
];

const NAMES: &[&[u8]] = &[
    b"data",
    b"data",
    b"data",
    b"event",
    b"id",
    b"retry",
    b"",
    b"foo",
    b"dat",
    b"DATA",
    b"\xEF\xBB\xBFdata",
];

const ENDINGS: &[&[u8]] = &[b"\n", b"\r", b"\r\n"];

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(PIECES), 0..5).prop_map(|p| p.concat())
}

/// One line with its terminator: a field (with or without colon and space), a comment or blank.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let field = (
        prop::sample::select(NAMES),
        prop_oneof![Just(&b""[..]), Just(&b":"[..]), Just(&b": "[..])],
        value(),
    )
        .prop_map(|(name, sep, value)| [name, sep, &value[..]].concat());
    let body = prop_oneof![
        6 => field,
        1 => value().prop_map(|v| [&b":"[..], &v].concat()),
        2 => Just(Vec::new()),
    ];
    (body, prop::sample::select(ENDINGS)).prop_map(|(body, end)| [&body[..], end].concat())
}

/// How a stream may start: nothing, a BOM, a BOM cut short, two BOMs.
const STARTS: &[&[u8]] = &[
    b"",
    b"",
    b"\xEF\xBB\xBF",
    b"\xEF\xBB\xBF",
    b"\xEF",
    b"\xEF\xBB",
    b"\xEF\xBB\xBF\xEF\xBB\xBF",
];

/// A stream: maybe a (partial) BOM, lines, maybe an unterminated tail.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(STARTS),
        prop::collection::vec(line(), 0..40),
        prop::option::of(value()),
    )
        .prop_map(|(start, lines, tail)| {
            let mut out = start.to_vec();
            for l in lines {
                out.extend_from_slice(&l);
            }
            out.extend_from_slice(&tail.unwrap_or_default());
            out
        })
}

/// Everything observable after a stream: the items, then the state kept for a reconnect.
#[derive(Debug, PartialEq)]
struct Outcome {
    items: Items,
    last_event_id: String,
    retry: Option<std::time::Duration>,
    discarded_tail: bool,
}

fn run(limit: usize, chunks: &[&[u8]]) -> Outcome {
    let mut parser = SseParser::with_max_event_bytes(limit);
    let mut items = Vec::new();
    for chunk in chunks {
        parser.feed_into(chunk, &mut items);
    }
    let discarded_tail = parser.end_of_stream();
    Outcome {
        items,
        last_event_id: parser.last_event_id().to_owned(),
        retry: parser.retry(),
        discarded_tail,
    }
}

/// Cuts `bytes` at the given points (any order, duplicates allowed: empty chunks are fed too).
fn split<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in at {
        chunks.push(&bytes[start..cut]);
        start = cut;
    }
    chunks.push(&bytes[start..]);
    chunks
}

/// A literal reading of the specification over the whole stream: decode it all first (as a
/// browser's streaming decoder does), strip the BOM, split into lines, interpret. No size limit.
fn reference(bytes: &[u8]) -> (Vec<SseItem>, String) {
    let decoded = String::from_utf8_lossy(bytes);
    let text = decoded.strip_prefix('\u{FEFF}').unwrap_or(&decoded);
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut current));
            }
            '\n' => lines.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    // `current` is the unterminated tail: discarded.
    // `id` is the last event id *buffer*; a blank line commits it to `last_id`.
    let (mut items, mut data, mut event, mut id, mut last_id) = (
        Vec::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    );
    for line in lines {
        if line.is_empty() {
            let changed = id != last_id;
            last_id.clone_from(&id);
            if data.is_empty() {
                if changed {
                    items.push(SseItem::LastEventId(last_id.clone()));
                }
                event.clear();
                continue;
            }
            data.pop();
            items.push(SseItem::Event(SseEvent {
                event: if event.is_empty() {
                    "message".into()
                } else {
                    std::mem::take(&mut event)
                },
                data: std::mem::take(&mut data),
                id: last_id.clone(),
            }));
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match name {
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "event" => event = value.to_owned(),
            "id" if !value.contains('\0') => id = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse::<u64>() {
                    items.push(SseItem::Retry(std::time::Duration::from_millis(ms)));
                }
            }
            _ => {}
        }
    }
    (items, last_id)
}

/// The canonical encoding of parsed items. Parsed values never contain CR or LF (they end lines)
/// and ids never contain NUL, so every item is representable; `id:` is always written, because
/// the id of an event is the persistent buffer, which may have been reset to empty.
fn encode(items: &[SseItem]) -> Vec<u8> {
    let mut out = String::new();
    for item in items {
        match item {
            SseItem::Retry(d) => out.push_str(&format!("retry: {}\n", d.as_millis())),
            SseItem::LastEventId(id) => out.push_str(&format!("id: {id}\n\n")),
            SseItem::Event(e) => {
                out.push_str(&format!("event: {}\nid: {}\n", e.event, e.id));
                for line in e.data.split('\n') {
                    out.push_str(&format!("data: {line}\n"));
                }
                out.push('\n');
            }
            other => panic!("unexpected item {other:?}"),
        }
    }
    out.into_bytes()
}

fn ok_items(items: Items) -> Vec<SseItem> {
    items
        .into_iter()
        .map(|i| i.expect("no error expected under the default limit"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Chunking never changes the result: items, errors, last id, retry, discarded tail.
    #[test]
    fn chunking_does_not_matter(
        bytes in stream(),
        cuts in prop::collection::vec(any::<Index>(), 0..24),
        limit in prop_oneof![Just(leptos_task_stream::DEFAULT_MAX_EVENT_BYTES), 0usize..48],
    ) {
        let whole = run(limit, &[&bytes]);
        prop_assert_eq!(&run(limit, &split(&bytes, &cuts)), &whole);
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(&run(limit, &bytewise), &whole);
    }

    /// The incremental parser agrees with a literal whole-stream reading of the specification.
    #[test]
    fn matches_the_reference_reading(
        bytes in stream(),
        cuts in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        let (expected, expected_id) = reference(&bytes);
        let got = run(leptos_task_stream::DEFAULT_MAX_EVENT_BYTES, &split(&bytes, &cuts));
        prop_assert_eq!(ok_items(got.items), expected);
        prop_assert_eq!(got.last_event_id, expected_id);
    }

    /// Arbitrary bytes never panic, whatever the chunking and limit, and chunking still does not
    /// matter.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        cuts in prop::collection::vec(any::<Index>(), 0..16),
        limit in prop_oneof![Just(leptos_task_stream::DEFAULT_MAX_EVENT_BYTES), 0usize..64],
    ) {
        let whole = run(limit, &[&bytes]);
        prop_assert_eq!(&run(limit, &split(&bytes, &cuts)), &whole);
        // The limit holds for the decoded data (invalid bytes grow to 3-byte U+FFFD), counting
        // the newline each data line adds.
        for item in &whole.items {
            if let Ok(SseItem::Event(e)) = item {
                prop_assert!(e.data.len() < limit, "{} bytes of data, limit {limit}", e.data.len());
            }
        }
    }

    /// Encoding what was parsed and parsing it again gives the same items and last id.
    #[test]
    fn reencoding_round_trips(bytes in stream()) {
        let first = run(leptos_task_stream::DEFAULT_MAX_EVENT_BYTES, &[&bytes]);
        let items = ok_items(first.items);
        let again = run(leptos_task_stream::DEFAULT_MAX_EVENT_BYTES, &[&encode(&items)]);
        prop_assert!(!again.discarded_tail);
        prop_assert_eq!(ok_items(again.items), items);
        // Every change of the last event id is an item (an event's id, or a block without
        // data), so the re-encoded stream ends on the same id.
        prop_assert_eq!(again.last_event_id, first.last_event_id);
    }
}
