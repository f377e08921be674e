//! Seeded differential fuzzing of [`decode_lite`] against serde_json.
//!
//! Each case generates a payload for one event name (the protocol's six, or an unknown one) and
//! checks with [`agree`] that the reader gives serde_json's verdict and, to the bit, its value.
//! Payloads have numbers at the edges of `u64` and `f64`, escapes and surrogates (paired, lone,
//! broken), control characters, duplicate, missing, extra and `null` fields, wrong types, structs
//! as maps and as sequences, enums as strings and as one-entry maps, JSON and other whitespace,
//! trailing garbage, truncation and other damage, long arrays and deep nesting in unknown fields.
//! A case's noise level sets how often things go wrong: never, once (at a chance picked among
//! those the payload has without noise), or often.
//!
//! By default every seed of [`SEEDS`] runs [`CASES`] cases. `JSON_FUZZ_SEED` runs that one seed
//! instead, `JSON_FUZZ_CASES` sets the number of cases per seed:
//!
//! ```text
//! JSON_FUZZ_SEED=42 JSON_FUZZ_CASES=1000000 \
//!     cargo test -p leptos-task-stream --lib json::fuzz --release --locked
//! ```
//!
//! A divergence, or a panic in the reader, fails the test, which prints the seed, the case
//! number, the event name and the input.

use std::collections::BTreeMap;

use super::corpus::agree;
use super::decode_lite;

/// The seeds run by default.
const SEEDS: [u64; 4] = [1, 2, 3, 4];

/// Cases per seed by default.
const CASES: usize = 5_000;

/// The protocol's events.
const EVENTS: &str = "snapshot|task|task_removed|activity|heartbeat|end";

/// Unknown event names, the last one longer than an error shows.
const UNKNOWN_EVENTS: &str =
    "message||Task|task |ünknown-event-with-a-name-longer-than-sixty-four-bytes-is-truncated-é";

/// A deterministic random source (splitmix64), and when the current case goes wrong.
#[derive(Clone)]
struct Rng {
    state: u64,
    /// How often generators go wrong: 0 never, 1 once (at the `fault`-th chance), 2 at the
    /// stated rates.
    noise: usize,
    /// The chances to go wrong so far in this case.
    chances: usize,
    /// The chance at which a case of noise 1 goes wrong.
    fault: usize,
}

impl Rng {
    /// The next 64 random bits.
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `pct` times in 100.
    fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }

    /// A chance to go wrong, taken `pct` times in 100 at noise 2 (see `noise`).
    fn bad(&mut self, pct: usize) -> bool {
        self.chances += 1;
        match self.noise {
            0 => false,
            1 => self.chances == self.fault,
            _ => self.chance(pct),
        }
    }

    /// One of the `|`-separated `choices`.
    fn one_of<'a>(&mut self, choices: &'a str) -> &'a str {
        let n = self.below(choices.split('|').count());
        choices.split('|').nth(n).unwrap()
    }

    /// `n` random decimal digits.
    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| self.one_of("0|1|2|3|4|5|6|7|8|9")).collect()
    }
}

/// Finite numbers at the edges of `u64`, `i64` and `f64`, and some ordinary ones.
const FINITE_NUMBERS: &str = "0|-0|1|1.0|-1|0.5|1e-400|1E+2|1e2|1.5e-3|18446744073709551615|\
    18446744073709551616|-18446744073709551615|9223372036854775807|9223372036854775808|\
    -9223372036854775808|-9223372036854775809|1.7976931348623157e308|1.7976931348623158e308|\
    4.9406564584124654e-324|2.4703282292062327e-324|2.4703282292062328e-324|5e-324|1e-323|\
    2.2250738585072011e-308|2.2250738585072012e-308|0e99999999999999999999|0.0|-0.0|0e0|\
    1e-99999999999999999999|0.1234567890123456789|123456789012345678901234567890|1.0e0|1E-0|\
    2e-1|4294967296|65536.0|1e23|8.98846567431158e307|9007199254740993|0.30000000000000004|\
    3e-30|3333864018437E74|179769313486231570e291|24703282292062327e-340|\
    24703282292062328e-340";

/// Numbers too large for `f64`, and almost numbers.
const BAD_NUMBERS: &str = "1e400|-1e400|1e99999999999999999999|1.7976931348623159e308|\
    1.79769313486231585e308|17976931348623158080e289|00|01|-01|1.|.5|-|1e|1e+|+1|NaN|Infinity|\
    -Infinity|1_000|0x10|1.5.5|--1|+0";

/// 2^1024 - 2^970, halfway between `f64::MAX` and overflow: rounds to even, so overflows.
const MAX_MIDPOINT: &str = "17976931348623158079372897140530341507993413271003782693617377898\
    0444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820\
    6819089020007083836762738548458177115317644757302700698555713669596228429148198608349364752\
    92719074168444365510704342711559699508093042880177904174497792";

/// `f64::MAX`, the smallest normal and subnormal numbers, and half of the latter, to which to add
/// digits before the exponent.
const LIMITS: &str = "1.7976931348623157e308|1.797693134862315807e308|1.797693134862315808e308|\
    1.79769313486231570814527423731704356798070e308|2.2250738585072011e-308|\
    4.9406564584124654e-324|2.4703282292062327e-324";

/// A number: an edge case, digits near a limit of `f64`, or random digits (up to hundreds).
fn number(r: &mut Rng) -> String {
    let sign = if r.bad(2) { "+" } else { r.one_of("-|||") };
    match r.below(10) {
        _ if r.bad(8) => r.one_of(BAD_NUMBERS).into(),
        0 if r.bad(50) => MAX_MIDPOINT.into(),
        0 => format!("{}1", &MAX_MIDPOINT[..MAX_MIDPOINT.len() - 1]),
        1..=3 => r.one_of(FINITE_NUMBERS).into(),
        4 => {
            let (mantissa, exponent) = r.one_of(LIMITS).split_once('e').unwrap();
            let n = r.below(8);
            format!("{sign}{mantissa}{}e{exponent}", r.digits(n))
        }
        _ => {
            let (lead, n) = match r.below(10) {
                0 if r.bad(50) => (0, 1 + r.below(3)),
                0 => (0, 0),
                1 => (1 + r.below(9), 15 + r.below(400)),
                _ => (1 + r.below(9), r.below(22)),
            };
            let mut s = format!("{sign}{lead}{}", r.digits(n));
            if r.chance(35) {
                let zeros = if r.chance(10) { r.below(330) } else { 0 };
                let n = if r.bad(5) { 0 } else { 1 + r.below(25) };
                s += &format!(".{}{}", "0".repeat(zeros), r.digits(n));
            }
            if r.chance(30) {
                let n = match r.below(20) {
                    _ if r.bad(3) => 0,
                    0 => 12 + r.below(15),
                    _ => 1 + r.below(3),
                };
                s += &format!("{}{}", r.one_of("e|E|e+|E-|e-"), r.digits(n));
            }
            s
        }
    }
}

/// Whitespace, usually none; with noise, sometimes whitespace that JSON does not allow.
fn ws(r: &mut Rng) -> String {
    let n = if r.chance(80) { 0 } else { 1 + r.below(3) };
    (0..n)
        .map(|_| match r.bad(10) {
            true => r.one_of("\u{a0}|\x0b|\x0c|\u{feff}|\u{2028}|\u{3000}"),
            false => r.one_of(" |\t|\n|\r| \r\n\t"),
        })
        .collect()
}

/// Escapes that JSON allows, and surrogate pairs.
const ESCAPES: &str = concat!(
    r#"\"|\\|\/|\b|\f|\n|\r|\t|"#,
    r"\ud83d\ude00|\udbff\udfff|\ud800\udc00|\uD83D\uDE00"
);

/// Escapes that it does not allow, and lone or broken surrogates.
const BAD_ESCAPES: &str = concat!(
    r"\q|\u12|\uZZZZ|\U0041|\x41|\'|\0|\|\u00e|\ud800|\udc00|\ud800\ud800|\udc00\ud800|",
    r"\ud800\u0041|\ud800x|\ud800\n|\ud800\|\ud800\u|\ud800\uDC0",
);

/// Code points worth a `\u` escape: controls, ASCII, the edges of the surrogates and the BMP.
const SPECIAL_CHARS: [usize; 14] = [
    0, 0x1f, 0x41, 0x7f, 0xe9, 0x2028, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfeff,
    0xffff,
];

/// A string of up to `max` characters and escapes; with noise, with bad escapes, lone
/// surrogates and control characters.
fn string(r: &mut Rng, max: usize) -> String {
    let mut s = String::from('"');
    for _ in 0..r.below(max + 1) {
        match r.below(20) {
            0..=5 => s.push(char::from(b'a' + r.below(26) as u8)),
            6 => s.push_str(r.one_of("é|😀|\u{2028}|\u{feff}|中|\u{7f}|\u{80}|\u{10ffff}|'")),
            7 => s.push_str(r.one_of(ESCAPES)),
            8 => {
                let mut c = match r.chance(60) {
                    true => SPECIAL_CHARS[r.below(SPECIAL_CHARS.len())],
                    false => r.below(0x10000),
                };
                if (0xd800..0xe000).contains(&c) && !r.bad(50) {
                    c = 0x41;
                }
                s += &match r.chance(50) {
                    true => format!("\\u{c:04x}"),
                    false => format!("\\u{c:04X}"),
                };
            }
            9 if r.bad(30) => s.push_str(r.one_of(BAD_ESCAPES)),
            10 if r.bad(30) => s.push(char::from(r.below(0x20) as u8)),
            _ => s.push(char::from(b'0' + r.below(10) as u8)),
        }
    }
    s + "\""
}

/// The protocol's field names.
const KEYS: &str =
    "id|title|status|agent|progress|version|updated_at|tasks|task_id|level|message|at|reason";

/// `"key"`, sometimes with the character at a random place written as a `\u` escape.
fn quoted_key(r: &mut Rng, key: &str) -> String {
    if r.chance(85) {
        return format!("\"{key}\"");
    }
    let i = r.below(key.len());
    let (head, c, tail) = (&key[..i], key.as_bytes()[i], &key[i + 1..]);
    format!("\"{head}\\u{c:04X}{tail}\"")
}

/// An object key: one of the protocol's, any string, or (with noise) no string.
fn key(r: &mut Rng) -> String {
    match r.below(10) {
        0..=6 => {
            let key = r.one_of(KEYS);
            quoted_key(r, key)
        }
        7 => string(r, 8),
        8 if r.bad(50) => r
            .one_of(r#""Id"|"id "|" id"|""|"tasks\u0000"|1|null|id|"i\d""#)
            .into(),
        _ => string(r, 4),
    }
}

/// `key: value`, perhaps with whitespace around the colon.
fn member(r: &mut Rng, key: &str, value: &str) -> String {
    format!("{key}{}:{}{value}", ws(r), ws(r))
}

/// The `items` between `open` and `close`, separated by commas and perhaps whitespace; with
/// noise, with a comma after the last one.
fn list(r: &mut Rng, open: char, items: &[String], close: char) -> String {
    let (start, comma) = (ws(r), format!("{},{}", ws(r), ws(r)));
    let comma_after_last = !items.is_empty() && r.bad(4);
    let trailing = if comma_after_last { "," } else { "" };
    format!("{open}{start}{}{trailing}{close}", items.join(&comma))
}

/// Any JSON-ish value, nested up to about `7 - depth` levels.
fn any_value(r: &mut Rng, depth: usize) -> String {
    match r.below(if depth > 6 { 6 } else { 9 }) {
        0 if r.bad(20) => r.one_of("nul|tru|fals|NULL|True").into(),
        0 => r.one_of("null|true|false").into(),
        1 | 2 => number(r),
        3 | 4 => string(r, 8),
        5 => r
            .one_of(r#""queued"|"done"|"info"|"error"|{"done":null}|[]|{}"#)
            .into(),
        6 | 7 => {
            let items: Vec<String> = (0..r.below(5)).map(|_| any_value(r, depth + 1)).collect();
            list(r, '[', &items, ']')
        }
        _ => {
            let items: Vec<String> = (0..r.below(5))
                .map(|_| {
                    let (key, value) = (key(r), any_value(r, depth + 1));
                    member(r, &key, &value)
                })
                .collect();
            list(r, '{', &items, '}')
        }
    }
}

/// A unit enum of one of the `names`: as a string, as a one-entry map, or (with noise) wrong.
fn variant(r: &mut Rng, names: &str) -> String {
    let name = match r.bad(15) {
        true => r.one_of(r"|Done|exploded|queued |info|done|d\u006fne|err\u006fr"),
        false => r.one_of(names),
    };
    let quoted = format!("\"{name}\"");
    match r.below(10) {
        _ if r.bad(10) => any_value(r, 3),
        _ if r.bad(10) => r
            .one_of(r#"{N:1}|{N:null,"x":1}|{}|{N:null|[N]|null|0|{N:[]}|{N:{}}|{N}"#)
            .replace('N', &quoted),
        0 => format!("{{{}}}", member(r, &quoted, "null")),
        _ => quoted,
    }
}

/// The fields of a task and of an activity, in declaration order.
const TASK: &str = "id|title|status|agent|progress|version|updated_at";
const ACTIVITY: &str = "id|task_id|agent|level|message|at";

/// A value for the field `name` (of its type, by name), or (with noise) `null` or any other.
fn field_value(r: &mut Rng, name: &str) -> String {
    match name {
        _ if r.bad(12) => any_value(r, 2),
        _ if r.bad(3) => "null".into(),
        "progress" | "task_id" if r.chance(20) => "null".into(),
        "progress" => number(r),
        "version" if r.bad(50) => number(r),
        "version" => (r.next() >> r.below(64)).to_string(),
        "status" => variant(r, "queued|running|blocked|done|failed"),
        "level" => variant(r, "info|warn|error"),
        "tasks" if r.bad(10) => r.one_of(r#"{}|null|[|[,]|[1]|[[]]|"""#).into(),
        "tasks" => {
            let tasks: Vec<String> = (0..r.below(4)).map(|_| structure(r, TASK, 1)).collect();
            list(r, '[', &tasks, ']')
        }
        _ => string(r, 8),
    }
}

/// A struct with the `fields`: usually a map, with fields missing, duplicated, escaped, swapped
/// or added (deeply nested ones only at `depth` 0); sometimes a sequence of the fields.
fn structure(r: &mut Rng, fields: &str, depth: usize) -> String {
    let fields: Vec<&str> = fields.split('|').collect();
    if r.chance(10) {
        let n = if r.bad(30) { r.below(9) } else { fields.len() };
        let items: Vec<String> = (0..n)
            .map(|i| match fields.get(i) {
                Some(name) => field_value(r, name),
                None => any_value(r, 3),
            })
            .collect();
        return list(r, '[', &items, ']');
    }
    let mut members = Vec::new();
    for name in fields {
        if r.bad(6) {
            continue;
        }
        let (key, value) = (quoted_key(r, name), field_value(r, name));
        members.push(member(r, &key, &value));
        if r.bad(3) {
            let again = field_value(r, name);
            members.push(member(r, &key, &again));
        }
    }
    for _ in 0..if r.chance(30) { 1 + r.below(3) } else { 0 } {
        let n = 1 + r.below(3000);
        let value = match r.below(100) {
            0 if depth == 0 => format!("{}{}", "[".repeat(n), "]".repeat(n)),
            1 if depth == 0 => format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)),
            2 => format!("[{}1]", "1,".repeat(n * 5)),
            _ => any_value(r, 0),
        };
        let (at, key) = (r.below(members.len() + 1), key(r));
        members.insert(at, member(r, &key, &value));
    }
    if members.len() > 1 && r.chance(30) {
        let (a, b) = (r.below(members.len()), r.below(members.len()));
        members.swap(a, b);
    }
    list(r, '{', &members, '}')
}

/// A payload for the event `name`, perhaps with a byte order mark, trailing garbage or damage.
fn payload(r: &mut Rng, name: &str) -> String {
    let body = match name {
        "snapshot" => structure(r, "tasks", 0),
        "task" => structure(r, TASK, 0),
        "task_removed" => structure(r, "id", 0),
        "activity" => structure(r, ACTIVITY, 0),
        "heartbeat" if r.bad(10) => r.one_of("| |\n|\u{2003}|\u{feff}|null|{}|[]").into(),
        "heartbeat" => structure(r, "at", 0),
        "end" => structure(r, "reason", 0),
        _ => any_value(r, 0),
    };
    let bom = if r.bad(3) { "\u{feff}" } else { "" };
    let mut s = format!("{bom}{}{body}{}", ws(r), ws(r));
    if r.bad(3) {
        s.push_str(r.one_of("x|,|}|]|{}| 1|\0|null|\u{feff}|/|//c"));
    }
    if r.bad(40) {
        damage(r, &mut s);
    }
    s
}

/// A random character boundary of `s`.
fn boundary(r: &mut Rng, s: &str) -> usize {
    let n = r.below(s.chars().count() + 1);
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

/// Cuts, deletes, inserts, duplicates or replaces a few pieces of `s`.
fn damage(r: &mut Rng, s: &mut String) {
    for _ in 0..1 + r.below(3) {
        let (i, j) = (boundary(r, s), boundary(r, s));
        let (i, j) = (i.min(j), i.max(j));
        match r.below(7) {
            0 => s.truncate(i),
            1 => s.replace_range(i..j, ""),
            2 => s.insert_str(
                i,
                r.one_of("\"|,|:|{|}|[|]|\\|1|-|.|e| |n|\0|\x1f|é|\\u|\"id\":1,"),
            ),
            3 => {
                let (copy, at) = (s[i..j].to_string(), boundary(r, s));
                s.insert_str(at, &copy);
            }
            4 if i < j => {
                let end = i + s[i..].chars().next().unwrap().len_utf8();
                s.replace_range(i..end, r.one_of("\"|'|0|9|x|\\| |\t|]|}"));
            }
            5 => s.insert_str(i, &number(r)),
            _ => s.insert_str(i, &any_value(r, 2)),
        }
    }
}

/// A case: seed, number, event name and input, printed if the comparison (or the reader) panics
/// while this is alive.
struct Case<'a>(u64, usize, &'a str, &'a str);

impl Drop for Case<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let Case(seed, number, name, data) = self;
            let rerun = format!("JSON_FUZZ_SEED={seed} JSON_FUZZ_CASES={}", *number + 1);
            eprintln!("json fuzz: seed {seed}, case {number} ({rerun}), {name:?} {data:?}");
        }
    }
}

/// A number from the environment variable `var`, if it is set.
fn from_env<T: std::str::FromStr>(var: &str) -> Option<T> {
    let text = std::env::var(var).ok()?;
    let value = text.parse().ok();
    Some(value.unwrap_or_else(|| panic!("{var}={text:?} is not a number")))
}

#[test]
fn reader_agrees_with_serde_on_fuzzed_payloads() {
    let seeds = from_env("JSON_FUZZ_SEED").map_or(SEEDS.to_vec(), |seed| vec![seed]);
    let cases = from_env("JSON_FUZZ_CASES").unwrap_or(CASES);
    for seed in seeds {
        let mut r = Rng {
            state: seed,
            noise: 0,
            chances: 0,
            fault: 0,
        };
        // [refused, accepted] per event name: a weak generator would reach only one.
        let mut verdicts = BTreeMap::new();
        for number in 0..cases {
            let names = if r.chance(95) { EVENTS } else { UNKNOWN_EVENTS };
            let name = r.one_of(names);
            (r.noise, r.chances) = (r.below(3), 0);
            if r.noise == 1 {
                // Count the chances to go wrong without noise, to pick one of them.
                let mut dry_run = Rng {
                    noise: 0,
                    ..r.clone()
                };
                payload(&mut dry_run, name);
                r.fault = 1 + dry_run.below(dry_run.chances);
            }
            let data = payload(&mut r, name);
            let _case = Case(seed, number, name, &data);
            agree(name, &data);
            let accepted = decode_lite(name, &data).is_ok();
            verdicts.entry(name).or_insert([false; 2])[usize::from(accepted)] = true;
        }
        for name in EVENTS.split('|').filter(|_| cases >= 1_000) {
            assert_eq!(verdicts.get(name), Some(&[true; 2]), "seed {seed}: {name}");
        }
    }
}

/// Values nested 100,000 levels deep: arrays, objects, and arrays left open.
fn deep_values() -> [String; 3] {
    let (open, close) = ("[".repeat(100_000), "]".repeat(100_000));
    let object = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    [format!("{open}{close}"), object, open]
}

#[test]
fn deep_nesting_at_the_top_level() {
    for value in deep_values() {
        for name in EVENTS.split('|').chain(["message"]) {
            agree(name, &value);
        }
    }
}

#[test]
fn deep_nesting_in_fields() {
    let fields = r#""title":"x","status":"done","agent":"a","version":1,"updated_at":"u""#;
    for value in deep_values() {
        for name in EVENTS.split('|').chain(["message"]) {
            agree(name, &format!("{{\"x\":{value}}}"));
        }
        agree("task", &format!("{{\"id\":\"t\",\"x\":{value},{fields}}}"));
    }
    agree("snapshot", &format!("{{\"tasks\":{}", "[".repeat(100_000)));
    agree(
        "task",
        &format!("{{\"status\":{}", "{\"done\":".repeat(100_000)),
    );
}
