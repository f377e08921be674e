//! Decoding of the protocol's JSON payloads without serde, for the browser build.
//!
//! `serde_json` with derived `Deserialize` impls costs tens of kilobytes of wasm (its parser, its
//! error messages, float formatting for them); this reader is a fraction of that. It accepts and
//! refuses exactly what `serde_json::from_str` with the protocol's derives does:
//!
//! * a struct is a map of its fields (unknown fields are skipped, whatever they hold; a field
//!   given twice is an error; a missing field without a default is an error) or, as serde allows,
//!   a sequence of its fields in declaration order;
//! * a unit enum is its lowercase name as a string, or a one-entry map `{"name": null}`;
//! * `u64` is an integer without sign, fraction or exponent that fits; `Option<f64>` is `null` or
//!   any number with a finite value; strings refuse control characters and lone surrogates;
//! * whitespace is JSON's (space, tab, CR, LF), and nothing but whitespace may follow the value.
//!
//! Numbers are converted to `f64` correctly rounded (exactly in Rust for up to 15 digits without
//! an exponent, by the browser's `parseFloat` otherwise), as serde_json does with its
//! `float_roundtrip` feature, which the tests compare against: the values agree to the bit.
//! serde_json's default, faster conversion can be one bit off, and so can disagree on numbers
//! within an ulp of the overflow threshold (`1.7976931348623158e308`): this reader takes it as
//! `f64::MAX`, as the browser's `JSON.parse` does. Error messages name the problem and its
//! position, as serde_json's do, in slightly different words.
//!
//! Native builds (the server, SSR, tests) decode with serde; the tests (`json/tests.rs` natively,
//! `json/tests_browser.rs` in headless Chromium) hold the two to the same verdicts.

use crate::protocol::{
    event_names, truncate_for_display, Activity, DecodeError, End, Heartbeat, Level, Snapshot,
    Task, TaskEvent, TaskRemoved, TaskStatus,
};

/// [`TaskEvent::decode`], without serde in the browser.
#[cfg(target_arch = "wasm32")]
pub(crate) fn decode(name: &str, data: &str) -> Result<TaskEvent, DecodeError> {
    decode_lite(name, data)
}

/// [`TaskEvent::decode`], without serde in the browser.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn decode(name: &str, data: &str) -> Result<TaskEvent, DecodeError> {
    TaskEvent::decode(name, data)
}

/// Decodes like [`TaskEvent::decode`] with the reader of this module.
pub(crate) fn decode_lite(name: &str, data: &str) -> Result<TaskEvent, DecodeError> {
    // One `parse` for every event type (a generic one would be compiled six times).
    let (event, read): (_, fn(&mut Json) -> Res<TaskEvent>) = match name {
        event_names::SNAPSHOT => (event_names::SNAPSHOT, |j| {
            snapshot(j).map(TaskEvent::Snapshot)
        }),
        event_names::TASK => (event_names::TASK, |j| task(j).map(TaskEvent::Task)),
        event_names::TASK_REMOVED => (event_names::TASK_REMOVED, |j| {
            task_removed(j).map(TaskEvent::TaskRemoved)
        }),
        event_names::ACTIVITY => (event_names::ACTIVITY, |j| {
            activity(j).map(TaskEvent::Activity)
        }),
        event_names::HEARTBEAT if data.trim().is_empty() => {
            return Ok(TaskEvent::Heartbeat(Heartbeat::default()))
        }
        event_names::HEARTBEAT => (event_names::HEARTBEAT, |j| {
            heartbeat(j).map(TaskEvent::Heartbeat)
        }),
        event_names::END => (event_names::END, |j| end(j).map(TaskEvent::End)),
        other => {
            return Err(DecodeError::UnknownEvent {
                name: truncate_for_display(other, 64),
            })
        }
    };
    parse(event, data, read)
}

/// An error message in two static parts, such as "missing field \`" and "version": a `String`
/// built at each of the many error sites would be much more code. [`parse`] joins them (closing
/// a backtick that the first part opens) and adds the position.
type Res<T> = Result<T, (&'static str, &'static str)>;

/// Reads one whole payload with `read`, which must consume it all but trailing whitespace.
fn parse(
    event: &'static str,
    data: &str,
    read: fn(&mut Json) -> Res<TaskEvent>,
) -> Result<TaskEvent, DecodeError> {
    let mut json = Json { src: data, pos: 0 };
    let result = read(&mut json).and_then(|value| match json.ws() {
        None => Ok(value),
        Some(_) => Err(("trailing characters", "")),
    });
    result.map_err(|(message, detail)| DecodeError::Malformed {
        event,
        message: json.locate(message, detail),
    })
}

fn task(j: &mut Json) -> Res<Task> {
    let mut t = Task {
        id: String::new(),
        title: String::new(),
        status: TaskStatus::Queued,
        agent: String::new(),
        progress: None,
        version: 0,
        updated_at: String::new(),
    };
    j.object(
        "struct Task",
        &[
            "id",
            "title",
            "status",
            "agent",
            "progress",
            "version",
            "updated_at",
        ],
        1 << 4,
        &mut |j, field| {
            match field {
                0 => t.id = j.string()?,
                1 => t.title = j.string()?,
                2 => t.status = TaskStatus::ALL[j.variant(&STATUSES, STATUSES_EXPECTED)?],
                3 => t.agent = j.string()?,
                4 => t.progress = j.opt_f64()?,
                5 => t.version = j.u64()?,
                _ => t.updated_at = j.string()?,
            }
            Ok(())
        },
    )?;
    Ok(t)
}

const STATUSES: [&str; 5] = ["queued", "running", "blocked", "done", "failed"];
const STATUSES_EXPECTED: &str = "one of `queued`, `running`, `blocked`, `done`, `failed`";
const LEVELS: [Level; 3] = [Level::Info, Level::Warn, Level::Error];

fn snapshot(j: &mut Json) -> Res<Snapshot> {
    let mut tasks = Vec::new();
    j.object("struct Snapshot", &["tasks"], 0, &mut |j, _| {
        if j.ws() != Some(b'[') {
            return Err(j.invalid("a sequence"));
        }
        j.pos += 1;
        let mut first = true;
        while j.next_element(&mut first)? {
            tasks.push(task(j)?);
        }
        j.end_seq()
    })?;
    Ok(Snapshot { tasks })
}

fn task_removed(j: &mut Json) -> Res<TaskRemoved> {
    let mut id = String::new();
    j.object("struct TaskRemoved", &["id"], 0, &mut |j, _| {
        id = j.string()?;
        Ok(())
    })?;
    Ok(TaskRemoved { id })
}

fn activity(j: &mut Json) -> Res<Activity> {
    let mut a = Activity {
        id: String::new(),
        task_id: None,
        agent: String::new(),
        level: Level::Info,
        message: String::new(),
        at: String::new(),
    };
    j.object(
        "struct Activity",
        &["id", "task_id", "agent", "level", "message", "at"],
        1 << 1,
        &mut |j, field| {
            match field {
                0 => a.id = j.string()?,
                1 => a.task_id = j.opt_string()?,
                2 => a.agent = j.string()?,
                3 => {
                    let names = ["info", "warn", "error"];
                    a.level = LEVELS[j.variant(&names, "one of `info`, `warn`, `error`")?];
                }
                4 => a.message = j.string()?,
                _ => a.at = j.string()?,
            }
            Ok(())
        },
    )?;
    Ok(a)
}

fn heartbeat(j: &mut Json) -> Res<Heartbeat> {
    let mut at = None;
    j.object("struct Heartbeat", &["at"], 1, &mut |j, _| {
        at = j.opt_string()?;
        Ok(())
    })?;
    Ok(Heartbeat { at })
}

fn end(j: &mut Json) -> Res<End> {
    let mut reason = String::new();
    j.object("struct End", &["reason"], 0, &mut |j, _| {
        reason = j.string()?;
        Ok(())
    })?;
    Ok(End { reason })
}

/// A JSON reader over a payload.
struct Json<'a> {
    src: &'a str,
    pos: usize,
}

impl Json<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    /// Skips whitespace; the next byte.
    fn ws(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
        self.peek()
    }

    /// `message at line L column C`, for the current position.
    fn locate(&self, message: &str, detail: &str) -> String {
        let before = self.src.as_bytes().get(..self.pos).unwrap_or_default();
        let line = 1 + before.iter().filter(|b| **b == b'\n').count();
        let column = 1 + before.iter().rev().take_while(|b| **b != b'\n').count();
        let close = if message.ends_with('`') { "`" } else { "" };
        format!("{message}{detail}{close} at line {line} column {column}")
    }

    fn eof(what: &'static str) -> (&'static str, &'static str) {
        ("EOF while parsing ", what)
    }

    /// "invalid type: …, expected …" for the value at the current position.
    fn invalid(&self, expected: &'static str) -> (&'static str, &'static str) {
        let found = match self.peek() {
            Some(b'n') => "invalid type: null, expected ",
            Some(b't' | b'f') => "invalid type: a boolean, expected ",
            Some(b'-' | b'0'..=b'9') => "invalid type: a number, expected ",
            Some(b'"') => "invalid type: a string, expected ",
            Some(b'[') => "invalid type: a sequence, expected ",
            Some(b'{') => "invalid type: a map, expected ",
            None => return Self::eof("a value"),
            Some(_) => return ("expected value", ""),
        };
        (found, expected)
    }

    /// The rest of a literal whose first byte was consumed.
    fn literal(&mut self, rest: &[u8]) -> Res<()> {
        for &c in rest {
            match self.peek() {
                Some(b) if b == c => self.pos += 1,
                Some(_) => return Err(("expected ident", "")),
                None => return Err(Self::eof("a value")),
            }
        }
        Ok(())
    }

    /// `null`, when it is next.
    fn null(&mut self) -> Res<bool> {
        if self.ws() != Some(b'n') {
            return Ok(false);
        }
        self.pos += 1;
        self.literal(b"ull")?;
        Ok(true)
    }

    fn digits(&mut self) -> bool {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Scans a number (at `-` or a digit); its text.
    fn number(&mut self) -> Res<&str> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(("invalid number", ""));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(("invalid number", "")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !self.digits() {
                return Err(("invalid number", ""));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !self.digits() {
                return Err(("invalid number", ""));
            }
        }
        Ok(self.src.get(start..self.pos).unwrap_or_default())
    }

    fn u64(&mut self) -> Res<u64> {
        if !matches!(self.ws(), Some(b'-' | b'0'..=b'9')) {
            return Err(self.invalid("u64"));
        }
        // Refuses a sign, a fraction, an exponent and overflow, as serde_json does.
        self.number()?
            .parse()
            .map_err(|_| ("invalid value: not an unsigned integer, expected ", "u64"))
    }

    fn opt_f64(&mut self) -> Res<Option<f64>> {
        if self.null()? {
            return Ok(None);
        }
        if !matches!(self.peek(), Some(b'-' | b'0'..=b'9')) {
            return Err(self.invalid("f64"));
        }
        let value = parse_f64(self.number()?);
        if value.is_finite() {
            Ok(Some(value))
        } else {
            Err(("number out of range", ""))
        }
    }

    fn opt_string(&mut self) -> Res<Option<String>> {
        if self.null()? {
            return Ok(None);
        }
        self.string().map(Some)
    }

    fn string(&mut self) -> Res<String> {
        if self.ws() != Some(b'"') {
            return Err(self.invalid("a string"));
        }
        self.pos += 1;
        let mut out = String::new();
        self.string_body(Some(&mut out))?;
        Ok(out)
    }

    /// The rest of a string whose `"` was consumed, decoded into `out`, or only checked when
    /// `out` is `None` (then, as serde_json does for skipped values, `\u` escapes are not paired).
    fn string_body(&mut self, mut out: Option<&mut String>) -> Res<()> {
        loop {
            let start = self.pos;
            let rest = self.src.as_bytes().get(start..).unwrap_or_default();
            self.pos += rest
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .unwrap_or(rest.len());
            // Runs end at an ASCII byte: whole characters of the (valid UTF-8) payload.
            if let Some(out) = out.as_deref_mut() {
                out.push_str(self.src.get(start..self.pos).unwrap_or_default());
            }
            let Some(c) = self.peek() else {
                return Err(Self::eof("a string"));
            };
            self.pos += 1;
            match c {
                b'"' => return Ok(()),
                b'\\' => self.escape(out.as_deref_mut())?,
                _ => {
                    return Err((
                        "control character (\\u0000-\\u001F) found while parsing a string",
                        "",
                    ))
                }
            }
        }
    }

    fn escape(&mut self, out: Option<&mut String>) -> Res<()> {
        let Some(c) = self.peek() else {
            return Err(Self::eof("a string"));
        };
        self.pos += 1;
        let ch = match c {
            b'"' | b'\\' | b'/' => c as char,
            b'b' => '\x08',
            b'f' => '\x0c',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let n = self.hex4()?;
                let Some(out) = out else { return Ok(()) };
                let code = match n {
                    0xDC00..=0xDFFF => return Err(("lone leading surrogate in hex escape", "")),
                    0xD800..=0xDBFF => {
                        for expected in [b'\\', b'u'] {
                            match self.peek() {
                                Some(b) if b == expected => self.pos += 1,
                                Some(_) => return Err(("unexpected end of hex escape", "")),
                                None => return Err(Self::eof("a string")),
                            }
                        }
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(("lone leading surrogate in hex escape", ""));
                        }
                        0x1_0000 + (((n - 0xD800) << 10) | (low - 0xDC00))
                    }
                    _ => n,
                };
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                return Ok(());
            }
            _ => return Err(("invalid escape", "")),
        };
        if let Some(out) = out {
            out.push(ch);
        }
        Ok(())
    }

    fn hex4(&mut self) -> Res<u32> {
        let Some(hex) = self.src.as_bytes().get(self.pos..self.pos + 4) else {
            self.pos = self.src.len();
            return Err(Self::eof("a string"));
        };
        self.pos += 4;
        let mut n = 0;
        for &h in hex {
            let digit = match h {
                b'0'..=b'9' => h - b'0',
                b'a'..=b'f' => h - b'a' + 10,
                b'A'..=b'F' => h - b'A' + 10,
                _ => return Err(("invalid escape", "")),
            };
            n = n << 4 | u32::from(digit);
        }
        Ok(n)
    }

    /// A unit enum variant: `"name"` or `{"name": null}`; its index in `names`.
    fn variant(&mut self, names: &[&str], expected: &'static str) -> Res<usize> {
        let map = match self.ws() {
            Some(b'"') => false,
            Some(b'{') => {
                self.pos += 1;
                match self.ws() {
                    Some(b'"') => true,
                    Some(b'}') => return Err(("expected value", "")),
                    Some(_) => return Err(("key must be a string", "")),
                    None => return Err(Self::eof("an object")),
                }
            }
            Some(_) => return Err(("expected value", "")),
            None => return Err(Self::eof("a value")),
        };
        let name = self.string()?;
        let Some(index) = names.iter().position(|n| *n == name) else {
            return Err(("unknown variant, expected ", expected));
        };
        if map {
            self.colon()?;
            if !self.null()? {
                return Err(self.invalid("unit"));
            }
            match self.ws() {
                Some(b'}') => self.pos += 1,
                Some(_) => return Err(("expected value", "")),
                None => return Err(Self::eof("an object")),
            }
        }
        Ok(index)
    }

    fn colon(&mut self) -> Res<()> {
        match self.ws() {
            Some(b':') => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(("expected `:`", "")),
            None => Err(Self::eof("an object")),
        }
    }

    /// Before each element of a sequence: whether there is one (consumes the comma).
    fn next_element(&mut self, first: &mut bool) -> Res<bool> {
        match self.ws() {
            Some(b']') => Ok(false),
            Some(_) if *first => {
                *first = false;
                Ok(true)
            }
            Some(b',') => {
                self.pos += 1;
                match self.ws() {
                    Some(b']') => Err(("trailing comma", "")),
                    Some(_) => Ok(true),
                    None => Err(Self::eof("a value")),
                }
            }
            Some(_) => Err(("expected `,` or `]`", "")),
            None => Err(Self::eof("a list")),
        }
    }

    /// After the elements of a sequence: its `]`.
    fn end_seq(&mut self) -> Res<()> {
        match self.ws() {
            Some(b']') => {
                self.pos += 1;
                Ok(())
            }
            Some(b',') => {
                self.pos += 1;
                match self.ws() {
                    Some(b']') => Err(("trailing comma", "")),
                    _ => Err(("trailing characters", "")),
                }
            }
            Some(_) => Err(("trailing characters", "")),
            None => Err(Self::eof("a list")),
        }
    }

    /// Before each entry of a map: whether there is one (consumes the comma, not the key).
    fn next_key(&mut self, first: &mut bool) -> Res<bool> {
        let was_first = std::mem::replace(first, false);
        match self.ws() {
            Some(b'}') => return Ok(false),
            Some(b',') if !was_first => self.pos += 1,
            Some(b'"') if was_first => return Ok(true),
            Some(_) if was_first => return Err(("key must be a string", "")),
            Some(_) => return Err(("expected `,` or `}`", "")),
            None => return Err(Self::eof("an object")),
        }
        match self.ws() {
            Some(b'"') => Ok(true),
            Some(b'}') => Err(("trailing comma", "")),
            Some(_) => Err(("key must be a string", "")),
            None => Err(Self::eof("a value")),
        }
    }

    /// A struct with these fields, as a map or a sequence; `read(self, i)` reads the value of
    /// field `i`. Fields whose bit is set in `optional` may be missing.
    fn object(
        &mut self,
        what: &'static str,
        fields: &[&'static str],
        optional: u32,
        read: &mut dyn FnMut(&mut Self, usize) -> Res<()>,
    ) -> Res<()> {
        let mut seen = 0u32;
        let mut first = true;
        match self.ws() {
            Some(b'{') => {
                self.pos += 1;
                while self.next_key(&mut first)? {
                    self.pos += 1;
                    let start = self.pos;
                    self.string_body(None)?;
                    let raw = self
                        .src
                        .as_bytes()
                        .get(start..self.pos - 1)
                        .unwrap_or_default();
                    let decoded;
                    let key = if raw.contains(&b'\\') {
                        // Escapes: decode (and check) the key as serde_json does.
                        self.pos = start;
                        let mut buf = String::new();
                        self.string_body(Some(&mut buf))?;
                        decoded = buf;
                        decoded.as_bytes()
                    } else {
                        raw
                    };
                    let field = fields.iter().position(|f| f.as_bytes() == key);
                    self.colon()?;
                    match field {
                        Some(i) if seen & (1 << i) != 0 => {
                            return Err(("duplicate field `", fields[i]))
                        }
                        Some(i) => {
                            seen |= 1 << i;
                            read(self, i)?;
                        }
                        None => self.skip()?,
                    }
                }
                self.pos += 1;
            }
            Some(b'[') => {
                self.pos += 1;
                for i in 0..fields.len() {
                    if self.next_element(&mut first)? {
                        seen |= 1 << i;
                        read(self, i)?;
                    } else if optional & (1 << i) == 0 {
                        return Err(("too few elements for ", what));
                    }
                }
                self.end_seq()?;
            }
            _ => return Err(self.invalid(what)),
        }
        match (0..fields.len()).find(|i| (seen | optional) & (1 << i) == 0) {
            Some(i) => Err(("missing field `", fields[i])),
            None => Ok(()),
        }
    }

    /// Skips any value, checking it as serde_json does. Iterative: nesting depth costs heap,
    /// never stack.
    fn skip(&mut self) -> Res<()> {
        let mut open: Vec<u8> = Vec::new();
        loop {
            match self.ws() {
                Some(b'n') => {
                    self.pos += 1;
                    self.literal(b"ull")?;
                }
                Some(b't') => {
                    self.pos += 1;
                    self.literal(b"rue")?;
                }
                Some(b'f') => {
                    self.pos += 1;
                    self.literal(b"alse")?;
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                }
                Some(b'"') => {
                    self.pos += 1;
                    self.string_body(None)?;
                }
                Some(c @ (b'[' | b'{')) => {
                    self.pos += 1;
                    let empty = if c == b'[' { b']' } else { b'}' };
                    if self.ws() == Some(empty) {
                        self.pos += 1;
                    } else {
                        open.push(c);
                        if c == b'{' {
                            self.key()?;
                        }
                        continue;
                    }
                }
                Some(_) => return Err(("expected value", "")),
                None => return Err(Self::eof("a value")),
            }
            // After a value: close what ends here, or move to the next element.
            loop {
                let Some(&frame) = open.last() else {
                    return Ok(());
                };
                let (close, what) = if frame == b'[' {
                    (b']', "a list")
                } else {
                    (b'}', "an object")
                };
                match self.ws() {
                    Some(b',') => {
                        self.pos += 1;
                        if frame == b'{' {
                            self.key()?;
                        }
                        break;
                    }
                    Some(c) if c == close => {
                        self.pos += 1;
                        open.pop();
                    }
                    Some(_) if frame == b'[' => return Err(("expected `,` or `]`", "")),
                    Some(_) => return Err(("expected `,` or `}`", "")),
                    None => return Err(Self::eof(what)),
                }
            }
        }
    }

    /// A skipped map's key and colon.
    fn key(&mut self) -> Res<()> {
        match self.ws() {
            Some(b'"') => self.pos += 1,
            Some(_) => return Err(("key must be a string", "")),
            None => return Err(Self::eof("an object")),
        }
        self.string_body(None)?;
        self.colon()
    }
}

/// The correctly rounded value of a JSON number's text.
fn parse_f64(text: &str) -> f64 {
    // Clinger's fast path, which covers progress values such as `0.4375`: up to 15 digits and
    // no exponent make an integer below 2^53 over a power of ten below 10^23, both exact, so
    // one division rounds correctly.
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mut mantissa, mut count, mut scale, mut point) = (0u64, 0, 0, false);
    for b in digits.bytes() {
        match b {
            b'0'..=b'9' if count < 15 => {
                count += 1;
                mantissa = mantissa * 10 + u64::from(b - b'0');
                scale += u32::from(point);
            }
            b'.' => point = true,
            _ => return parse_f64_slow(text),
        }
    }
    let value = mantissa as f64 / (0..scale).fold(1.0, |p, _| p * 10.0);
    if negative {
        -value
    } else {
        value
    }
}

/// Any other number.
#[cfg(target_arch = "wasm32")]
fn parse_f64_slow(text: &str) -> f64 {
    // The browser's conversion: Rust's own would add its tables to every app.
    js_sys::parse_float(text)
}

/// Any other number.
#[cfg(not(target_arch = "wasm32"))]
fn parse_f64_slow(text: &str) -> f64 {
    text.parse().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod corpus;
// Native: a seeded differential fuzz, and proptest. In the browser: the hand-picked corpus
// through `parseFloat`. All compare with serde_json.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod fuzz;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
#[cfg(all(test, target_arch = "wasm32"))]
mod tests_browser;
