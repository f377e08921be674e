//! HTTP facts the fetch transport needs, kept pure so they are tested natively: how long a
//! `Retry-After` header asks us to wait, whether a `Content-Type` names an event stream, how to
//! treat a response status, and the reason phrase to show for it (HTTP/2 responses carry none).
//!
//! Nothing here does I/O or reads a clock: the current time is a parameter, in unix
//! milliseconds, so tests step time by adding numbers. Every function takes any input, ASCII or
//! not, without panicking.
//!
//! ```
//! use std::time::Duration;
//! use leptos_task_stream::http::{is_event_stream, parse_retry_after, reason_phrase, StatusClass};
//!
//! let now = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT
//! assert_eq!(StatusClass::of(503), StatusClass::Throttled);
//! assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
//! assert_eq!(format!("HTTP 503 {}", reason_phrase(503)), "HTTP 503 Service Unavailable");
//! assert!(is_event_stream("text/event-stream; charset=utf-8"));
//! ```

use std::time::Duration;

/// Short day names, as IMF-fixdate and asctime dates spell them.
const SHORT_DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];

/// Long day names, as obsolete RFC 850 dates spell them.
const LONG_DAYS: [&[u8]; 7] = [
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
    b"Sunday",
];

/// Month names in calendar order: the index plus one is the month number.
const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The first year a result can express: earlier dates would be negative unix times.
const UNIX_EPOCH_YEAR: u32 = 1970;

/// RFC 850 two-digit years below this are 20xx, the others 19xx. A fixed pivot instead of
/// RFC 9110's "more than 50 years in the future" rule keeps parsing independent of the clock; the
/// two agree for every date sent between 2020 and 2069, and servers have sent IMF-fixdates for
/// decades anyway.
const TWO_DIGIT_YEAR_PIVOT: u32 = 70;

/// Parses a `Retry-After` header value (RFC 9110 §10.2.3) and returns how long to wait from
/// `now_unix_ms`.
///
/// The value is either delay-seconds (one or more ASCII digits, nothing else) or an HTTP-date
/// (any format [`parse_http_date`] accepts); spaces and tabs around it are ignored. A date in
/// the past, or equal to `now_unix_ms`, gives [`Duration::ZERO`]. Returns `None` for anything
/// else: empty, signed (`+120`, `-1`), fractional (`1.5`), trailing garbage (`12a`), or an
/// invalid date. A digit string too large for `u64` seconds saturates to `u64::MAX` seconds
/// rather than overflowing, so callers should cap the result.
///
/// ```
/// use std::time::Duration;
/// use leptos_task_stream::http::parse_retry_after;
///
/// let now = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
/// assert_eq!(
///     parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now),
///     Some(Duration::from_secs(120))
/// );
/// assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
/// assert_eq!(parse_retry_after("1.5", now), None);
/// assert_eq!(parse_retry_after("-1", now), None);
/// ```
pub fn parse_retry_after(value: &str, now_unix_ms: u64) -> Option<Duration> {
    let value = trim_ows(value).as_bytes();
    if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
        let seconds = value.iter().fold(0u64, |acc, &digit| {
            acc.saturating_mul(10)
                .saturating_add(u64::from(digit - b'0'))
        });
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date_bytes(value)?;
    Some(Duration::from_millis(at.saturating_sub(now_unix_ms)))
}

/// Parses an HTTP-date in any of the three formats a recipient must accept (RFC 9110 §5.6.7)
/// and returns it in unix milliseconds.
///
/// - IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
/// - obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`. A two-digit year from `00` to `69`
///   means 20xx and from `70` to `99` means 19xx (a fixed pivot, so the result does not depend on
///   the current time; for dates sent between 2020 and 2069 it agrees with RFC 9110's
///   "more than 50 years in the future" rule).
/// - asctime: `Sun Nov  6 08:49:37 1994` (the day padded with a space or a zero).
///
/// Leniencies: spaces and tabs around the value are ignored, and day and month names are
/// compared case-insensitively. A day name must be one of the names the format uses (`Sun` in
/// IMF-fixdate and asctime, `Sunday` in RFC 850) but need not match the date's actual weekday.
/// A leap second (`:60`) counts as `:59`.
///
/// Returns `None` for anything else: a zone other than `GMT` (exactly, as RFC 9110 requires), an
/// impossible date (`30 Feb`, `29 Feb` outside a leap year), an hour above 23, a minute above
/// 59, a second above 60, a year before 1970, extra or missing spaces, or trailing text.
///
/// ```
/// use leptos_task_stream::http::parse_http_date;
///
/// assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777_000));
/// assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777_000));
/// assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(784_111_777_000));
/// assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
/// assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
/// assert_eq!(parse_http_date("Tue, 29 Feb 2023 00:00:00 GMT"), None);
/// ```
pub fn parse_http_date(value: &str) -> Option<u64> {
    parse_http_date_bytes(trim_ows(value).as_bytes())
}

/// `true` when a `Content-Type` header value names `text/event-stream`.
///
/// The media type is compared case-insensitively; parameters (`; charset=utf-8`) and spaces or
/// tabs around the media type are allowed. Anything else, such as `text/event-streamx`,
/// `text/event-stream-foo`, `text/html` or an empty value, is `false`.
///
/// ```
/// use leptos_task_stream::http::is_event_stream;
///
/// assert!(is_event_stream("text/event-stream"));
/// assert!(is_event_stream(" Text/Event-Stream ; charset=utf-8"));
/// assert!(!is_event_stream("text/event-streamx"));
/// assert!(!is_event_stream("text/html"));
/// assert!(!is_event_stream(""));
/// ```
pub fn is_event_stream(content_type: &str) -> bool {
    let media_type = match content_type.split_once(';') {
        Some((media_type, _parameters)) => media_type,
        None => content_type,
    };
    trim_ows(media_type).eq_ignore_ascii_case("text/event-stream")
}

/// The standard reason phrase of an HTTP status code, or `""` for a code without one.
///
/// Covers the codes of RFC 9110, plus 103 (RFC 8297), 418, 425 (RFC 8470), 428, 429, 431 and 511
/// (RFC 6585) and 451 (RFC 7725). Messages such as "HTTP 401 Unauthorized" are built from it
/// because `Response.statusText` is empty over HTTP/2.
///
/// ```
/// use leptos_task_stream::http::reason_phrase;
///
/// assert_eq!(reason_phrase(401), "Unauthorized");
/// assert_eq!(reason_phrase(429), "Too Many Requests");
/// assert_eq!(reason_phrase(503), "Service Unavailable");
/// assert_eq!(reason_phrase(599), "");
/// ```
pub fn reason_phrase(status: u16) -> &'static str {
    // A table rather than a `match`, which compiles to about 1 kB more wasm in every app.
    const CODES: [u16; 52] = [
        100, 101, 103, 200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 305, 307, 308,
        400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417,
        418, 421, 422, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 511,
    ];
    const PHRASES: &str = "Continue|Switching Protocols|Early Hints|OK|Created|Accepted|Non-Authoritative Information|No Content|Reset Content|Partial Content|Multiple Choices|Moved Permanently|Found|See Other|Not Modified|Use Proxy|Temporary Redirect|Permanent Redirect|Bad Request|Unauthorized|Payment Required|Forbidden|Not Found|Method Not Allowed|Not Acceptable|Proxy Authentication Required|Request Timeout|Conflict|Gone|Length Required|Precondition Failed|Content Too Large|URI Too Long|Unsupported Media Type|Range Not Satisfiable|Expectation Failed|I'm a teapot|Misdirected Request|Unprocessable Content|Too Early|Upgrade Required|Precondition Required|Too Many Requests|Request Header Fields Too Large|Unavailable For Legal Reasons|Internal Server Error|Not Implemented|Bad Gateway|Service Unavailable|Gateway Timeout|HTTP Version Not Supported|Network Authentication Required";
    match CODES.iter().position(|c| *c == status) {
        Some(i) => PHRASES.split('|').nth(i).unwrap_or_default(),
        None => "",
    }
}

/// How the fetch transport's state machine should treat an HTTP response status.
///
/// ```
/// use leptos_task_stream::http::StatusClass;
///
/// assert_eq!(StatusClass::of(200), StatusClass::Stream);
/// assert_eq!(StatusClass::of(204), StatusClass::Stop);
/// assert_eq!(StatusClass::of(429), StatusClass::Throttled);
/// assert_eq!(StatusClass::of(500), StatusClass::Transient);
/// assert_eq!(StatusClass::of(401), StatusClass::Unauthorized);
/// assert_eq!(StatusClass::of(404), StatusClass::Rejected);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusClass {
    /// 2xx other than 204 and 205: a stream, if the content type is right.
    Stream,
    /// 204 No Content and 205 Reset Content: the server says "do not reconnect" (the SSE spec's
    /// stop signal).
    Stop,
    /// 429, 502, 503 and 504: the server is overloaded or restarting; honour `Retry-After` and
    /// back off.
    Throttled,
    /// Other 5xx, 408 Request Timeout and 425 Too Early: transient, back off.
    Transient,
    /// 401 and 407: credentials missing or expired; retrying with the same credentials cannot
    /// help (a token refresh can).
    Unauthorized,
    /// 403, 404, 410 and every other 4xx, plus 1xx and 3xx that fetch did not resolve (such as an
    /// opaque redirect) and anything outside 100..=599: retrying cannot help.
    Rejected,
}

impl StatusClass {
    /// Classifies a status code.
    ///
    /// ```
    /// use leptos_task_stream::http::StatusClass;
    ///
    /// assert_eq!(StatusClass::of(206), StatusClass::Stream);
    /// assert_eq!(StatusClass::of(205), StatusClass::Stop);
    /// assert_eq!(StatusClass::of(502), StatusClass::Throttled);
    /// assert_eq!(StatusClass::of(408), StatusClass::Transient);
    /// assert_eq!(StatusClass::of(407), StatusClass::Unauthorized);
    /// assert_eq!(StatusClass::of(302), StatusClass::Rejected);
    /// assert_eq!(StatusClass::of(0), StatusClass::Rejected);
    /// ```
    pub fn of(status: u16) -> Self {
        match status {
            204 | 205 => Self::Stop,
            200..=299 => Self::Stream,
            429 | 502 | 503 | 504 => Self::Throttled,
            408 | 425 | 500..=599 => Self::Transient,
            401 | 407 => Self::Unauthorized,
            _ => Self::Rejected,
        }
    }
}

/// Strips optional whitespace (RFC 9110 OWS: spaces and tabs) from both ends.
fn trim_ows(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

fn parse_http_date_bytes(value: &[u8]) -> Option<u64> {
    imf_fixdate(value)
        .or_else(|| rfc850_date(value))
        .or_else(|| asctime_date(value))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`
fn imf_fixdate(value: &[u8]) -> Option<u64> {
    let mut c = Cursor(value);
    c.name(&SHORT_DAYS)?;
    c.byte(b',')?;
    c.byte(b' ')?;
    let day = c.digits(2)?;
    c.byte(b' ')?;
    let month = c.month()?;
    c.byte(b' ')?;
    let year = c.digits(4)?;
    c.byte(b' ')?;
    let time = c.time_of_day()?;
    c.byte(b' ')?;
    c.gmt()?;
    c.end()?;
    unix_ms(year, month, day, time)
}

/// `Sunday, 06-Nov-94 08:49:37 GMT`
fn rfc850_date(value: &[u8]) -> Option<u64> {
    let mut c = Cursor(value);
    c.name(&LONG_DAYS)?;
    c.byte(b',')?;
    c.byte(b' ')?;
    let day = c.digits(2)?;
    c.byte(b'-')?;
    let month = c.month()?;
    c.byte(b'-')?;
    let two_digit_year = c.digits(2)?;
    c.byte(b' ')?;
    let time = c.time_of_day()?;
    c.byte(b' ')?;
    c.gmt()?;
    c.end()?;
    let century = if two_digit_year < TWO_DIGIT_YEAR_PIVOT {
        2000
    } else {
        1900
    };
    unix_ms(century + two_digit_year, month, day, time)
}

/// `Sun Nov  6 08:49:37 1994`
fn asctime_date(value: &[u8]) -> Option<u64> {
    let mut c = Cursor(value);
    c.name(&SHORT_DAYS)?;
    c.byte(b' ')?;
    let month = c.month()?;
    c.byte(b' ')?;
    let day = if c.byte(b' ').is_some() {
        c.digits(1)?
    } else {
        c.digits(2)?
    };
    c.byte(b' ')?;
    let time = c.time_of_day()?;
    c.byte(b' ')?;
    let year = c.digits(4)?;
    c.end()?;
    unix_ms(year, month, day, time)
}

/// Hour, minute and second, as written (not yet range-checked).
type TimeOfDay = (u32, u32, u32);

/// Reads a date byte by byte; every step returns `None` instead of running past the end, so no
/// input can make it panic or split a UTF-8 character.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn byte(&mut self, expected: u8) -> Option<()> {
        let (&first, rest) = self.0.split_first()?;
        if first != expected {
            return None;
        }
        self.0 = rest;
        Some(())
    }

    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let (head, rest) = self.0.split_at_checked(n)?;
        if !head.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0 = rest;
        // At most four digits are ever asked for, so this cannot overflow.
        Some(
            head.iter()
                .fold(0, |acc, &digit| acc * 10 + u32::from(digit - b'0')),
        )
    }

    /// The run of ASCII letters at the cursor (possibly empty).
    fn word(&mut self) -> &[u8] {
        let len = self
            .0
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let (word, rest) = self.0.split_at(len);
        self.0 = rest;
        word
    }

    /// One of `names`, case-insensitively; returns its index.
    fn name(&mut self, names: &[&[u8]]) -> Option<usize> {
        let word = self.word();
        names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(word))
    }

    /// A month name; returns 1 for January.
    fn month(&mut self) -> Option<u32> {
        let index = self.name(&MONTHS)?;
        u32::try_from(index + 1).ok()
    }

    /// `HH:MM:SS`
    fn time_of_day(&mut self) -> Option<TimeOfDay> {
        let hour = self.digits(2)?;
        self.byte(b':')?;
        let minute = self.digits(2)?;
        self.byte(b':')?;
        let second = self.digits(2)?;
        Some((hour, minute, second))
    }

    /// The zone, which RFC 9110 fixes as `GMT`, case-sensitively.
    fn gmt(&mut self) -> Option<()> {
        (self.word() == b"GMT").then_some(())
    }

    fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
}

/// Validates a UTC date and time and converts it to unix milliseconds.
fn unix_ms(year: u32, month: u32, day: u32, (hour, minute, second): TimeOfDay) -> Option<u64> {
    if year < UNIX_EPOCH_YEAR
        || !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // A leap second is not representable in unix time; the instant before it is close enough.
    let second = second.min(59);
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    let seconds = days * 86_400 + u64::from(hour * 3_600 + minute * 60 + second);
    Some(seconds * 1_000)
}

fn is_leap_year(year: u32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date: Howard Hinnant's `days_from_civil`
/// (<https://howardhinnant.github.io/date_algorithms.html#days_from_civil>), which counts in
/// 400-year eras starting on 1 March so that the leap day falls at the end of a year.
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let month = i64::from(month);
    let day = i64::from(day);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400); // [0, 399]
    let month_from_march = if month > 2 { month - 3 } else { month + 9 }; // [0, 11]
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1; // [0, 365]
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year; // [0, 146096]
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Sun, 06 Nov 1994 08:49:37 GMT`, the example date of RFC 9110.
    const RFC_EXAMPLE_MS: u64 = 784_111_777_000;

    #[test]
    fn each_format_parses_the_rfc_example() {
        // The three formats RFC 9110 §5.6.7 shows all denote the same instant.
        for value in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun Nov 06 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(value), Some(RFC_EXAMPLE_MS), "{value:?}");
        }
        assert_eq!(
            parse_http_date("Thu Nov 16 08:49:37 1994"),
            Some(RFC_EXAMPLE_MS + 10 * 86_400_000)
        );
    }

    #[test]
    fn epoch_and_bounds() {
        // Unix time starts at 1970; earlier dates have no `u64` millisecond value.
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), None);
        assert_eq!(parse_http_date("Mon, 01 Jan 1900 00:00:00 GMT"), None);
        assert_eq!(parse_http_date("Wed Dec 31 23:59:59 1969"), None);
        assert_eq!(
            parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(253_402_300_799_000)
        );
        assert_eq!(
            parse_http_date("Sat, 01 Jan 2000 00:00:00 GMT"),
            Some(946_684_800_000)
        );
    }

    #[test]
    fn rfc850_two_digit_years_pivot_at_70() {
        // 00-69 are 20xx, 70-99 are 19xx: the documented fixed pivot.
        assert_eq!(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT"),
            Some(946_684_800_000)
        );
        assert_eq!(
            parse_http_date("Wednesday, 31-Dec-69 23:59:59 GMT"),
            parse_http_date("Wed, 31 Dec 2069 23:59:59 GMT")
        );
        assert_eq!(
            parse_http_date("Friday, 31-Dec-99 23:59:59 GMT"),
            parse_http_date("Fri, 31 Dec 1999 23:59:59 GMT")
        );
    }

    #[test]
    fn names_are_case_insensitive_but_must_be_real() {
        // Months and day names: any case; the day name is not checked against the date.
        for value in [
            "sun, 06 nov 1994 08:49:37 GMT",
            "SUN, 06 NOV 1994 08:49:37 GMT",
            "Mon, 06 Nov 1994 08:49:37 GMT",
            "SUNDAY, 06-nov-94 08:49:37 GMT",
            "Friday, 06-Nov-94 08:49:37 GMT",
            "sun nOV  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(value), Some(RFC_EXAMPLE_MS), "{value:?}");
        }
        for value in [
            "Sux, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06-Nov-94 08:49:37 GMT",
            "Sunday Nov  6 08:49:37 1994",
            "Sun, 06 November 1994 08:49:37 GMT",
            "Sun, 06 Nvo 1994 08:49:37 GMT",
            ", 06 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(value), None, "{value:?}");
        }
    }

    #[test]
    fn leap_years() {
        // Feb 29 exists in years divisible by 4, except centuries not divisible by 400.
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"),
            Some(951_782_400_000)
        );
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT"),
            Some(1_709_208_000_000)
        );
        assert_eq!(
            parse_http_date("Thursday, 29-Feb-24 12:00:00 GMT"),
            Some(1_709_208_000_000)
        );
        assert_eq!(
            parse_http_date("Thu Feb 29 12:00:00 2024"),
            Some(1_709_208_000_000)
        );
        assert_eq!(parse_http_date("Wed, 29 Feb 2023 00:00:00 GMT"), None);
        assert_eq!(parse_http_date("Mon, 29 Feb 2100 00:00:00 GMT"), None);
        assert_eq!(parse_http_date("Thu, 30 Feb 2024 00:00:00 GMT"), None);
        assert_eq!(
            parse_http_date("Tue, 01 Mar 2000 00:00:00 GMT"),
            Some(951_868_800_000)
        );
    }

    #[test]
    fn day_and_time_ranges() {
        // Impossible calendar days and clock times are rejected, not normalised.
        for value in [
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 32 Dec 1994 08:49:37 GMT",
            "Sun, 31 Apr 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 23:60:00 GMT",
            "Sun, 06 Nov 1994 23:59:61 GMT",
            "Sun, 06 Nov 1994 99:99:99 GMT",
            "Sun Nov  0 08:49:37 1994",
            "Sun Nov 31 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(value), None, "{value:?}");
        }
        assert_eq!(
            parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"),
            parse_http_date("Sat, 31 Dec 2016 23:59:59 GMT")
        );
        assert_eq!(
            parse_http_date("Sun, 31 Dec 1995 23:59:59 GMT"),
            Some(820_454_399_000)
        );
    }

    #[test]
    fn zone_must_be_gmt() {
        // RFC 9110 fixes the zone as the case-sensitive token "GMT".
        for value in [
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37 gmt",
            "Sun, 06 Nov 1994 08:49:37 +0000",
            "Sun, 06 Nov 1994 08:49:37 GMTX",
            "Sun, 06 Nov 1994 08:49:37",
            "Sunday, 06-Nov-94 08:49:37 UTC",
            "Sun Nov  6 08:49:37 1994 GMT",
        ] {
            assert_eq!(parse_http_date(value), None, "{value:?}");
        }
    }

    #[test]
    fn layout_is_strict_apart_from_surrounding_whitespace() {
        // Only OWS around the whole value is tolerated; the inside must match the grammar.
        assert_eq!(
            parse_http_date(" \tSun, 06 Nov 1994 08:49:37 GMT\t "),
            Some(RFC_EXAMPLE_MS)
        );
        for value in [
            "",
            " ",
            "Sun,06 Nov 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06  Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT x",
            "Sun, 06 Nov 1994 08:49:37 GMT\n",
            "Sun, 06 Nov 19940 08:49:37 GMT",
            "Sun, +6 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun Nov   6 08:49:37 1994",
            "Sun Nov 6 08:49:37 1994",
            "Sun Nov  6 08:49:37 94",
            "1994-11-06T08:49:37Z",
            "Sun, 06 Nov 1994 08:49:37 GMT€",
            "Sün, 06 Nov 1994 08:49:37 GMT",
            "Sun, 0é Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(value), None, "{value:?}");
        }
    }

    #[test]
    fn retry_after_delay_seconds() {
        // delay-seconds is 1*DIGIT, with nothing but whitespace around it.
        let now = RFC_EXAMPLE_MS;
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("\t120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("0120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("5", 0), Some(Duration::from_secs(5)));
        for value in [
            "", " ", "+120", "-1", "1.5", "12a", "1 2", "0x10", "1e3", "١٢", "120s", "∞",
        ] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
    }

    #[test]
    fn retry_after_huge_seconds_saturate() {
        // Values past u64 seconds saturate instead of overflowing or panicking.
        assert_eq!(
            parse_retry_after("18446744073709551615", 0),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_retry_after("18446744073709551616", 0),
            Some(Duration::from_secs(u64::MAX))
        );
        let huge = "9".repeat(10_000);
        assert_eq!(
            parse_retry_after(&huge, u64::MAX),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn retry_after_http_date() {
        // A date is relative to `now`; the past (or present) means "retry now".
        let now = RFC_EXAMPLE_MS;
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:38 GMT", now - 250),
            Some(Duration::from_millis(1_250))
        );
        assert_eq!(
            parse_retry_after(" Sunday, 06-Nov-94 09:49:37 GMT ", now),
            Some(Duration::from_secs(3_600))
        );
        assert_eq!(
            parse_retry_after("Mon Nov  7 08:49:37 1994", now),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", u64::MAX),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 UTC", now),
            None
        );
        assert_eq!(
            parse_retry_after("Sun, 31 Nov 1994 08:49:37 GMT", now),
            None
        );
    }

    #[test]
    fn event_stream_content_types() {
        // Only the media type matters, compared case-insensitively; parameters are ignored.
        for value in [
            "text/event-stream",
            "TEXT/EVENT-STREAM",
            "Text/Event-Stream",
            "text/event-stream;charset=utf-8",
            "text/event-stream; charset=utf-8",
            "text/event-stream ; charset=UTF-8",
            " \ttext/event-stream\t ",
            "text/event-stream;",
            "text/event-stream; é=€",
        ] {
            assert!(is_event_stream(value), "{value:?}");
        }
        for value in [
            "",
            " ",
            ";",
            "text/event-streamx",
            "text/event-stream-foo",
            "text/event-stream,text/html",
            "text/html",
            "text/plain; x=text/event-stream",
            "text /event-stream",
            "text/ event-stream",
            "xtext/event-stream",
            "application/json",
            "text/event-stréam",
        ] {
            assert!(!is_event_stream(value), "{value:?}");
        }
    }

    #[test]
    fn reason_phrase_table_is_the_match_it_replaced() {
        fn reference(status: u16) -> &'static str {
            match status {
                100 => "Continue",
                101 => "Switching Protocols",
                103 => "Early Hints",
                200 => "OK",
                201 => "Created",
                202 => "Accepted",
                203 => "Non-Authoritative Information",
                204 => "No Content",
                205 => "Reset Content",
                206 => "Partial Content",
                300 => "Multiple Choices",
                301 => "Moved Permanently",
                302 => "Found",
                303 => "See Other",
                304 => "Not Modified",
                305 => "Use Proxy",
                307 => "Temporary Redirect",
                308 => "Permanent Redirect",
                400 => "Bad Request",
                401 => "Unauthorized",
                402 => "Payment Required",
                403 => "Forbidden",
                404 => "Not Found",
                405 => "Method Not Allowed",
                406 => "Not Acceptable",
                407 => "Proxy Authentication Required",
                408 => "Request Timeout",
                409 => "Conflict",
                410 => "Gone",
                411 => "Length Required",
                412 => "Precondition Failed",
                413 => "Content Too Large",
                414 => "URI Too Long",
                415 => "Unsupported Media Type",
                416 => "Range Not Satisfiable",
                417 => "Expectation Failed",
                418 => "I'm a teapot",
                421 => "Misdirected Request",
                422 => "Unprocessable Content",
                425 => "Too Early",
                426 => "Upgrade Required",
                428 => "Precondition Required",
                429 => "Too Many Requests",
                431 => "Request Header Fields Too Large",
                451 => "Unavailable For Legal Reasons",
                500 => "Internal Server Error",
                501 => "Not Implemented",
                502 => "Bad Gateway",
                503 => "Service Unavailable",
                504 => "Gateway Timeout",
                505 => "HTTP Version Not Supported",
                511 => "Network Authentication Required",
                _ => "",
            }
        }
        for status in 0..=u16::MAX {
            assert_eq!(reason_phrase(status), reference(status), "{status}");
        }
    }

    #[test]
    fn reason_phrases() {
        // The phrases behind messages such as "HTTP 401 Unauthorized".
        for (status, phrase) in [
            (100, "Continue"),
            (200, "OK"),
            (204, "No Content"),
            (304, "Not Modified"),
            (400, "Bad Request"),
            (401, "Unauthorized"),
            (403, "Forbidden"),
            (404, "Not Found"),
            (407, "Proxy Authentication Required"),
            (408, "Request Timeout"),
            (410, "Gone"),
            (413, "Content Too Large"),
            (422, "Unprocessable Content"),
            (425, "Too Early"),
            (429, "Too Many Requests"),
            (451, "Unavailable For Legal Reasons"),
            (500, "Internal Server Error"),
            (502, "Bad Gateway"),
            (503, "Service Unavailable"),
            (504, "Gateway Timeout"),
            (511, "Network Authentication Required"),
        ] {
            assert_eq!(reason_phrase(status), phrase, "{status}");
        }
        for status in [0, 99, 199, 209, 299, 306, 420, 499, 509, 599, 600, u16::MAX] {
            assert_eq!(reason_phrase(status), "", "{status}");
        }
    }

    #[test]
    fn status_class_boundaries() {
        // Each class at and around its edges.
        use StatusClass::*;
        for (status, class) in [
            (0, Rejected),
            (99, Rejected),
            (100, Rejected),
            (199, Rejected),
            (200, Stream),
            (201, Stream),
            (203, Stream),
            (204, Stop),
            (205, Stop),
            (206, Stream),
            (299, Stream),
            (300, Rejected),
            (301, Rejected),
            (304, Rejected),
            (399, Rejected),
            (400, Rejected),
            (401, Unauthorized),
            (402, Rejected),
            (403, Rejected),
            (404, Rejected),
            (406, Rejected),
            (407, Unauthorized),
            (408, Transient),
            (409, Rejected),
            (410, Rejected),
            (418, Rejected),
            (424, Rejected),
            (425, Transient),
            (426, Rejected),
            (428, Rejected),
            (429, Throttled),
            (430, Rejected),
            (451, Rejected),
            (499, Rejected),
            (500, Transient),
            (501, Transient),
            (502, Throttled),
            (503, Throttled),
            (504, Throttled),
            (505, Transient),
            (599, Transient),
            (600, Rejected),
            (999, Rejected),
            (u16::MAX, Rejected),
        ] {
            assert_eq!(StatusClass::of(status), class, "{status}");
        }
    }

    #[test]
    fn status_class_agrees_with_ranges_for_every_code() {
        // No code outside 200..=599 is ever retried or streamed.
        for status in 0..=u16::MAX {
            let class = StatusClass::of(status);
            if !(200..=599).contains(&status) {
                assert_eq!(class, StatusClass::Rejected, "{status}");
            }
            if (500..=599).contains(&status) {
                assert!(
                    matches!(class, StatusClass::Transient | StatusClass::Throttled),
                    "{status}"
                );
            }
            if (200..=299).contains(&status) {
                assert!(
                    matches!(class, StatusClass::Stream | StatusClass::Stop),
                    "{status}"
                );
            }
        }
    }

    /// xorshift64*: enough randomness for a repeatable property test, with no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Howard Hinnant's `civil_from_days`, the inverse of [`days_from_civil`], for formatting.
    fn civil_from_days(days: i64) -> (i64, usize, i64) {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        (year, usize::try_from(month).unwrap(), day)
    }

    /// The three formats of one instant, with the true weekday.
    fn format_all(unix_seconds: u64) -> [String; 3] {
        let days = i64::try_from(unix_seconds / 86_400).unwrap();
        let secs = unix_seconds % 86_400;
        let (h, m, s) = (secs / 3_600, secs / 60 % 60, secs % 60);
        let (year, month, day) = civil_from_days(days);
        // 1970-01-01 was a Thursday, index 3 in the Monday-first tables.
        let weekday = usize::try_from((days + 3).rem_euclid(7)).unwrap();
        let short = std::str::from_utf8(SHORT_DAYS[weekday]).unwrap();
        let long = std::str::from_utf8(LONG_DAYS[weekday]).unwrap();
        let mon = std::str::from_utf8(MONTHS[month - 1]).unwrap();
        [
            format!("{short}, {day:02} {mon} {year} {h:02}:{m:02}:{s:02} GMT"),
            format!(
                "{long}, {day:02}-{mon}-{:02} {h:02}:{m:02}:{s:02} GMT",
                year % 100
            ),
            format!("{short} {mon} {day:>2} {h:02}:{m:02}:{s:02} {year}"),
        ]
    }

    #[test]
    fn random_instants_round_trip_through_every_format() {
        // Formatting any instant 1970..=2069 and parsing it back gives the same milliseconds.
        // 2070-01-01T00:00:00Z, where RFC 850's two-digit years wrap to 1970.
        const END_OF_2069: u64 = 3_155_760_000;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let edges = [0, 59, 86_399, 86_400, 951_782_400, END_OF_2069 - 1];
        let random = (0..20_000).map(|_| rng.below(END_OF_2069));
        for unix_seconds in edges.into_iter().chain(random) {
            for value in format_all(unix_seconds) {
                assert_eq!(
                    parse_http_date(&value),
                    Some(unix_seconds * 1_000),
                    "{value:?}"
                );
            }
        }
        // IMF-fixdate and asctime carry four-digit years, up to 9999.
        for _ in 0..20_000 {
            let unix_seconds = rng.below(253_402_300_800);
            let [imf, _, asctime] = format_all(unix_seconds);
            assert_eq!(parse_http_date(&imf), Some(unix_seconds * 1_000), "{imf:?}");
            assert_eq!(
                parse_http_date(&asctime),
                Some(unix_seconds * 1_000),
                "{asctime:?}"
            );
        }
    }

    #[test]
    fn random_inputs_never_panic() {
        // Mangled dates, digits and non-ASCII text are answered, never a panic.
        const PIECES: [&str; 24] = [
            "Sun",
            "Sunday",
            ", ",
            " ",
            "  ",
            "-",
            ":",
            "06",
            "6",
            "1994",
            "94",
            "Nov",
            "Feb",
            "29",
            "08:49:37",
            "23:59:60",
            "GMT",
            "é",
            "€",
            "😀",
            "\t",
            ";",
            "text/event-stream",
            "99999999999999999999",
        ];
        let mut rng = Rng(42);
        for _ in 0..50_000 {
            let mut value = String::new();
            for _ in 0..rng.below(12) {
                let index = usize::try_from(rng.below(PIECES.len() as u64)).unwrap();
                value.push_str(PIECES[index]);
            }
            let now = rng.next();
            let retry = parse_retry_after(&value, now);
            if let Some(at) = parse_http_date(&value) {
                // Whatever parses as a date also parses as a Retry-After date.
                assert_eq!(
                    retry,
                    Some(Duration::from_millis(at.saturating_sub(now))),
                    "{value:?}"
                );
            }
            let _ = is_event_stream(&value);
            // Random bytes, valid UTF-8 or replaced, at any length.
            let bytes: Vec<u8> = (0..rng.below(40))
                .map(|_| u8::try_from(rng.below(256)).unwrap())
                .collect();
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_retry_after(&text, now);
            let _ = parse_http_date(&text);
            let _ = is_event_stream(&text);
        }
    }
}
