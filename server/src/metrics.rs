//! Connection-attempt accounting: what a client's reconnect loop actually did, as the server saw
//! it. Tests of backoff behaviour read `buckets` and `attempt_log` to check timing.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

/// Width of one `buckets` entry.
pub const BUCKET_MS: u64 = 100;
/// How far back `buckets` reaches.
pub const BUCKET_WINDOW_MS: u64 = 10 * 60 * 1000;
/// How many attempts `attempt_log` keeps.
pub const ATTEMPT_LOG_CAPACITY: usize = 10_000;

/// Result of one attempt to open a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 200 and streaming.
    Accepted,
    /// 200, but a flap fault will drop it after `after_ms` (also counted in `accepted`).
    Flap,
    /// 503: an outage fault is active.
    Outage,
    /// 503: `--max-streams` open streams already.
    MaxStreams,
    /// 404: unknown mission.
    NotFound,
    /// 400: bad query (client tag too long, firehose `n` out of range, bad `retry`,
    /// `chunking`, `bom` or `auth`); 413 for a POST body over the limit.
    BadRequest,
    /// 401: `?auth=bearer` without a well-formed bearer token, or with an unknown or revoked one.
    Unauthorized,
    /// 403: `?auth=bearer` with a token whose scope is `none`.
    Forbidden,
    /// Any status injected by `POST /api/chaos/reject` (even a 200).
    Injected,
}

impl Outcome {
    /// The wire name used in `attempt_log` and as a `rejected` key.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Flap => "flap",
            Outcome::Outage => "outage",
            Outcome::MaxStreams => "max_streams",
            Outcome::NotFound => "not_found",
            Outcome::BadRequest => "bad_request",
            Outcome::Unauthorized => "unauthorized",
            Outcome::Forbidden => "forbidden",
            Outcome::Injected => "injected",
        }
    }

    /// The HTTP status this outcome is usually answered with (`Injected` has none of its own:
    /// 0; `BadRequest` may also be a 413).
    pub fn status(self) -> u16 {
        match self {
            Outcome::Accepted | Outcome::Flap => 200,
            Outcome::Outage | Outcome::MaxStreams => 503,
            Outcome::NotFound => 404,
            Outcome::BadRequest => 400,
            Outcome::Unauthorized => 401,
            Outcome::Forbidden => 403,
            Outcome::Injected => 0,
        }
    }
}

/// One recorded attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// When, in unix milliseconds.
    pub at_ms: u64,
    /// Request method (`GET` or `POST`; `HEAD` for a HEAD request).
    pub method: String,
    /// Request path.
    pub path: String,
    /// The `client` tag, if any.
    pub client: Option<String>,
    /// The resume id as sent (header or query), truncated to 64 characters.
    pub last_event_id: Option<String>,
    /// Where the resume id came from: `"header"` (`Last-Event-ID`) or `"query"`.
    pub resume_via: Option<&'static str>,
    /// The `Accept` header, truncated to 64 characters.
    pub accept: Option<String>,
    /// The request's `X-…` headers (at most 8; names lower-case, values truncated to 64
    /// characters), to check what a client sent.
    pub x_headers: std::collections::BTreeMap<String, String>,
    /// The names (not the values) of the cookies sent, at most 8, each cut to 64 characters:
    /// whether a client sent its credentials.
    pub cookies: Vec<String>,
    /// The bearer token presented in `Authorization`, truncated to 64 characters.
    pub auth: Option<String>,
    /// The first 64 characters of a non-empty POST body (lossy UTF-8).
    pub body: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// The HTTP status answered.
    pub status: u16,
}

/// One `buckets` entry.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Bucket {
    /// Bucket start, unix milliseconds (a multiple of 100).
    pub start_ms: u64,
    /// Attempts in `[start_ms, start_ms + 100)`.
    pub attempts: u64,
}

/// Counters, reset by `POST /api/metrics/reset`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Every attempt on a stream endpoint.
    pub attempts_total: u64,
    /// Attempts answered with 200 (including flaps).
    pub accepted: u64,
    /// Accepted attempts that a flap fault will drop.
    pub flapped: u64,
    /// Refused attempts by reason.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Accepted streams that resumed from the log.
    pub resumes: u64,
    /// Accepted streams that started with a snapshot.
    pub snapshots: u64,
    /// Streams ended because they fell too far behind the live feed.
    pub lagged: u64,
    /// Non-empty buckets, oldest first.
    pub buckets: VecDeque<Bucket>,
    /// The most recent attempts, oldest first.
    pub attempt_log: VecDeque<Attempt>,
}

impl Metrics {
    /// Records one attempt.
    pub fn record(&mut self, attempt: Attempt) {
        self.attempts_total += 1;
        match attempt.outcome {
            Outcome::Accepted => self.accepted += 1,
            Outcome::Flap => {
                self.accepted += 1;
                self.flapped += 1;
            }
            other => *self.rejected.entry(other.as_str()).or_default() += 1,
        }
        let start_ms = attempt.at_ms - attempt.at_ms % BUCKET_MS;
        match self.buckets.back_mut() {
            Some(b) if b.start_ms == start_ms => b.attempts += 1,
            _ => self.buckets.push_back(Bucket {
                start_ms,
                attempts: 1,
            }),
        }
        let horizon = attempt.at_ms.saturating_sub(BUCKET_WINDOW_MS);
        while self.buckets.front().is_some_and(|b| b.start_ms < horizon) {
            self.buckets.pop_front();
        }
        self.attempt_log.push_back(attempt);
        while self.attempt_log.len() > ATTEMPT_LOG_CAPACITY {
            self.attempt_log.pop_front();
        }
    }
}

/// Every key of `rejected`, reported even when zero so clients need no defaults.
pub const REJECTION_KEYS: [Outcome; 7] = [
    Outcome::Outage,
    Outcome::MaxStreams,
    Outcome::NotFound,
    Outcome::BadRequest,
    Outcome::Unauthorized,
    Outcome::Forbidden,
    Outcome::Injected,
];
