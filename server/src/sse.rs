//! Server-Sent Events framing, written by hand so that raw and malformed events can be injected
//! and so that every byte on the wire is under this crate's control.

use bytes::Bytes;
use task_stream_protocol::TaskEvent;

/// Encodes one SSE event. `data` is split on every line ending the SSE parser recognises
/// (`\r\n`, `\r`, `\n`) into separate `data:` lines, so a payload can never smuggle in extra
/// fields; the parser rejoins them with `\n`.
pub fn frame(event: Option<&str>, id: Option<&str>, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + 64);
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(id);
        out.push('\n');
    }
    if let Some(event) = event {
        out.push_str("event: ");
        out.push_str(event);
        out.push('\n');
    }
    let mut rest = data;
    loop {
        out.push_str("data: ");
        match rest.find(['\r', '\n']) {
            None => {
                out.push_str(rest);
                out.push('\n');
                break;
            }
            Some(i) => {
                out.push_str(&rest[..i]);
                out.push('\n');
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
        }
    }
    out.push('\n');
    Bytes::from(out)
}

/// Encodes a protocol event, with an `id:` line when `id` is given.
pub fn event_frame(ev: &TaskEvent, id: Option<u64>) -> Bytes {
    let id = id.map(|id| id.to_string());
    frame(Some(ev.name()), id.as_deref(), &ev.data_json())
}

/// `true` when `s` can be written into an `event:` or `id:` field without breaking the framing.
pub fn is_field_safe(s: &str) -> bool {
    !s.contains(['\r', '\n', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_data_becomes_several_data_lines() {
        let f = frame(Some("x"), Some("7"), "a\nb\r\nc\rd");
        assert_eq!(
            &f[..],
            b"id: 7\nevent: x\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
        );
    }

    #[test]
    fn empty_data_still_dispatches() {
        assert_eq!(&frame(None, None, "")[..], b"data: \n\n");
    }
}
