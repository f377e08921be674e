//! Wall-clock helpers for relative timestamps ("12 s ago"), pure and tested natively.

/// Milliseconds since the UNIX epoch of an RFC 3339 timestamp such as
/// `2026-11-25T14:21:07.021238349Z` or `2026-11-25T15:21:07+01:00`; `None` when malformed.
/// Never panics, whatever the input.
///
/// ```
/// use leptos_task_stream::time::parse_rfc3339_ms;
/// assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), Some(1_500));
/// assert_eq!(parse_rfc3339_ms("2026-11-25T15:00:00+01:00"), parse_rfc3339_ms("2026-11-25T14:00:00Z"));
/// assert_eq!(parse_rfc3339_ms("<script>"), None);
/// ```
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &s[start..i.min(start + 3)];
        millis = frac.parse::<i64>().ok()? * 10i64.pow(3 - frac.len() as u32);
    }
    let offset_min = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let h = num(i + 1..i + 3)?;
            let m = num(i + 4..i + 6)?;
            let total = h * 60 + m;
            if *sign == b'+' {
                total
            } else {
                -total
            }
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3_600 + min * 60 + sec - offset_min * 60;
    Some(secs * 1_000 + millis)
}

/// "just now", "12 s ago", "3 min ago", "2 h ago", "4 d ago" for an age in milliseconds
/// (negative ages, from clock skew, read "just now").
///
/// ```
/// use leptos_task_stream::time::format_age;
/// assert_eq!(format_age(-500), "just now");
/// assert_eq!(format_age(12_300), "12 s ago");
/// assert_eq!(format_age(185_000), "3 min ago");
/// ```
pub fn format_age(age_ms: i64) -> String {
    let s = age_ms / 1_000;
    match s {
        i64::MIN..=1 => "just now".to_owned(),
        2..=59 => format!("{s} s ago"),
        60..=3_599 => format!("{} min ago", s / 60),
        3_600..=86_399 => format!("{} h ago", s / 3_600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// The wall clock in milliseconds since the UNIX epoch (`Date.now()` in the browser).
pub fn wall_clock_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_formats_the_server_sends() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2000-03-01T00:00:00Z"),
            Some(951_868_800_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-11-25T14:21:07.021238349Z"),
            Some(1_795_616_467_021)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-11-25T14:21:07.5-00:30"),
            Some(1_795_618_267_500)
        );
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "",
            "2026-11-25",
            "2026-13-25T14:21:07Z",
            "2026-11-25T14:21:07",
            "2026-11-25T14:21:07.Z",
            "2026-11-25T14:21:07Zjunk",
            "2026-11-25T14:21:07+0100",
            "２０２６-11-25T14:21:07Z",
            "abcd-ef-ghTij:kl:mnZ",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
        // Any fraction length is valid RFC 3339; only milliseconds are kept.
        assert_eq!(
            parse_rfc3339_ms("1970-01-01T00:00:00.123456789012345678901234567890Z"),
            Some(123)
        );
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(format_age(0), "just now");
        assert_eq!(format_age(59_999), "59 s ago");
        assert_eq!(format_age(3_600_000), "1 h ago");
        assert_eq!(format_age(90_000_000), "1 d ago");
        assert_eq!(format_age(i64::MIN), "just now");
    }
}
