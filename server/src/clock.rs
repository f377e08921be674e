//! Wall-clock helpers: RFC 3339 timestamps for payloads and unix milliseconds for metrics.

use std::time::{SystemTime, UNIX_EPOCH};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The current UTC time as RFC 3339 (e.g. `2026-11-25T14:00:00.123456789Z`).
pub fn now_rfc3339() -> String {
    // Formatting only fails for years outside 0..=9999, which a real clock does not produce.
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// Milliseconds since the unix epoch (0 if the clock is before 1970).
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
