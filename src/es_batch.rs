//! `EventSource` events handed to wasm in batches: one call per browser task, not per event.
//!
//! A listener written in JavaScript (the driver's `lts_listen`) appends each event to a string
//! and posts itself a message; when that message runs, after the browser's task that dispatched
//! the events (which dispatches every event of a network chunk, hundreds of them), the whole
//! batch crosses into wasm in one call and one string copy, instead of a call and two string
//! copies per event. Measured with the ingest benchmark (100,000 events, 15 rounds before, 20
//! after, release builds): throughput did not change beyond this machine's noise (the browser's
//! own parsing and per-event dispatch dominate), but the hook's work left the browser's dispatch
//! task, and the main-thread tasks over 50 ms fell from 2–19 per round to 0–3 (into state) and
//! from 3–21 to 0–7 (into a rendered board): a burst, such as a replay after a reconnect, no
//! longer holds the page for as long.
//!
//! The connection's own `open` and `error` flush the batch at once, after the events before
//! them, so the order the machine sees is the order the browser dispatched. The driver applies
//! a batch for at most 10 ms, then tells the listener it has records left; the listener calls
//! again on a posted message, after the page had its turn, with the events that came meanwhile
//! appended. Closing a connection discards what it had not applied: the last event id still
//! points before it, so the next connection's resume asks for it again.
//!
//! The fields are separated by CR, which an `EventSource` never delivers in an event's type,
//! id or data: in the stream, a CR ends a line (WHATWG "interpreting an event stream").
//! A batch is a sequence of records:
//!
//! * `m<type>` CR `<last event id>` CR `<data>` CR: a `MessageEvent`;
//! * `x<type>` CR `<last event id>` CR `<size>` CR: a `MessageEvent` whose data has more UTF-16
//!   code units than the hook's `max_event_bytes` (so more bytes too), withheld: copied into
//!   wasm, it would grow the module's memory for good, which never shrinks; `size` is its
//!   UTF-8 size in bytes, in decimal;
//! * `o` CR: the connection's `open` (a plain `Event`);
//! * `e` CR: the connection's `error` (a plain `Event`).

/// One record of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Record<'a> {
    /// A `MessageEvent`: its type, the `EventSource`'s last event id (empty when none), its data.
    Message {
        name: &'a str,
        id: &'a str,
        data: &'a str,
    },
    /// A `MessageEvent` whose data was over the size limit and was not handed over: its type,
    /// the last event id, and the data's size in bytes (UTF-8).
    TooLarge {
        name: &'a str,
        id: &'a str,
        bytes: usize,
    },
    /// The connection opened.
    Opened,
    /// The connection failed.
    Failed,
}

/// The record of `batch` that starts at byte `from`, and where the next one starts; `None` at
/// the end. Every field ends with a CR; what does not parse (a record cut short, an unknown
/// kind) is skipped: the batch is written by the driver's own listener, so that never happens,
/// but a malformed batch (or a `from` inside a character) must not panic.
pub(crate) fn next_record(batch: &str, mut from: usize) -> Option<(Record<'_>, usize)> {
    // One field: the text up to the next CR, and where the text after that CR starts. Text
    // after the last CR is a field without its end: not a field.
    let field = |from: usize| -> Option<(&str, usize)> {
        let rest = batch.get(from..)?;
        let (field, _) = rest.split_once('\r')?;
        Some((field, from + field.len() + 1))
    };
    loop {
        let (head, next) = field(from)?;
        // No slicing by index here: its panic path would link the formatting code into every
        // app.
        if let Some(name) = head.strip_prefix('m') {
            let (id, next) = field(next)?;
            let (data, next) = field(next)?;
            return Some((Record::Message { name, id, data }, next));
        }
        if let Some(name) = head.strip_prefix('x') {
            let (id, next) = field(next)?;
            let (size, next) = field(next)?;
            // Written by the listener, so always a decimal number; were it not, it is still too
            // large. By hand: `str::parse` links more code into every app.
            let bytes = size.bytes().try_fold(0usize, |n, b| {
                let digit = b.wrapping_sub(b'0');
                (digit < 10).then(|| n.saturating_mul(10).saturating_add(usize::from(digit)))
            });
            let bytes = bytes.filter(|_| !size.is_empty()).unwrap_or(usize::MAX);
            return Some((Record::TooLarge { name, id, bytes }, next));
        }
        match head {
            "o" => return Some((Record::Opened, next)),
            "e" => return Some((Record::Failed, next)),
            _ => from = next,
        }
    }
}

/// The records of `batch`, in order (see [`next_record`]).
#[cfg(test)]
fn records(batch: &str) -> impl Iterator<Item = Record<'_>> {
    let mut from = 0;
    std::iter::from_fn(move || {
        let (record, next) = next_record(batch, from)?;
        from = next;
        Some(record)
    })
}

/// The names the listener registers, joined by CR for the one call that hands them over. A
/// name containing CR or LF is left out: no `EventSource` event can carry it (a line ends
/// there), and split at the CR it would listen to names nobody asked for.
pub(crate) fn joined_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut joined = String::new();
    for name in names {
        if name.contains(['\r', '\n']) {
            continue;
        }
        if !joined.is_empty() {
            joined.push('\r');
        }
        joined.push_str(name);
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(batch: &str) -> Vec<Record<'_>> {
        records(batch).collect()
    }

    fn message<'a>(name: &'a str, id: &'a str, data: &'a str) -> Record<'a> {
        Record::Message { name, id, data }
    }

    #[test]
    fn records_come_in_order() {
        let batch = "o\rmtask\r7\r{\"a\":1}\rmactivity\r8\rline one\nline two\r\
                     mtask\r\r\re\r";
        assert_eq!(
            all(batch),
            [
                Record::Opened,
                message("task", "7", "{\"a\":1}"),
                message("activity", "8", "line one\nline two"),
                message("task", "", ""),
                Record::Failed,
            ]
        );
    }

    #[test]
    fn names_ids_and_data_keep_any_other_character() {
        // Everything but CR can reach a field: separators of other formats, markers of this
        // one (`m`, `o`, `e` as whole fields), non-ASCII text, NUL.
        let data = "o\ne\nm\u{0}\u{2028}\u{fffd}é漢字🙂\t\"<script>\"";
        let batch = format!("mo\ro\r{data}\rme\re\re\rm\u{1F642}\rmé\r\r");
        assert_eq!(
            all(&batch),
            [
                message("o", "o", data),
                message("e", "e", "e"),
                message("\u{1F642}", "mé", ""),
            ]
        );
    }

    #[test]
    fn withheld_events_carry_their_size() {
        assert_eq!(
            all("xtask\r12\r5000000\rmtask\r13\r{}\rxé\r\rnot a number\r"),
            [
                Record::TooLarge {
                    name: "task",
                    id: "12",
                    bytes: 5_000_000
                },
                message("task", "13", "{}"),
                Record::TooLarge {
                    name: "é",
                    id: "",
                    bytes: usize::MAX
                },
            ]
        );
        // Cut short: nothing. An empty or overflowing size: too large all the same.
        assert_eq!(all("xtask\r12\r"), []);
        let sizes = "xa\r\r\rxb\r\r99999999999999999999999\rxc\r\r-1\r";
        assert!(all(sizes)
            .iter()
            .all(|r| matches!(r, Record::TooLarge { bytes, .. } if *bytes == usize::MAX)));
        assert_eq!(all(sizes).len(), 3);
    }

    #[test]
    fn an_empty_batch_has_no_records() {
        assert_eq!(all(""), []);
        assert_eq!(all("\r\r"), []);
    }

    #[test]
    fn a_malformed_batch_yields_what_parses_and_never_panics() {
        // A record cut short, unknown kinds, markers with trailing text.
        assert_eq!(all("mtask\r1"), []);
        assert_eq!(all("mtask"), []);
        assert_eq!(all("z\rop\ren\ro\r"), [Record::Opened]);
        assert_eq!(all("é\re\r"), [Record::Failed]);
        assert_eq!(all("o\rmtask\r1\r"), [Record::Opened]);
        // Arbitrary text, byte by byte prefixes of a real batch: no panic.
        let batch = "o\rmtask\r7\r{\"é\":1}\rmend\r8\rbye\re\r";
        for (i, _) in batch.char_indices() {
            let _ = all(&batch[..i]);
        }
    }

    #[test]
    fn each_record_says_where_the_next_starts() {
        let batch = "o\rmtask\r7\ré\re\r";
        let (first, at) = next_record(batch, 0).unwrap();
        assert_eq!((first, at), (Record::Opened, 2));
        let (second, at) = next_record(batch, at).unwrap();
        assert_eq!((second, at), (message("task", "7", "é"), 13));
        let (third, at) = next_record(batch, at).unwrap();
        assert_eq!((third, at), (Record::Failed, batch.len()));
        assert_eq!(next_record(batch, at), None);
        // Past the end, or inside a character: nothing, no panic.
        assert_eq!(next_record(batch, batch.len() + 5), None);
        assert_eq!(next_record(batch, 11), None);
    }

    #[test]
    fn names_are_joined_by_cr_without_names_no_event_can_carry() {
        assert_eq!(joined_names([]), "");
        assert_eq!(joined_names(["task"]), "task");
        assert_eq!(
            joined_names(["task", "bad\rname", "activity", "also\nbad", "end"]),
            "task\ractivity\rend"
        );
        assert_eq!(joined_names(["bad\r", "ok"]), "ok");
    }
}
