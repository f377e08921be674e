//! The sans-IO connection state machine.
//!
//! It owns every decision about connecting, backing off and giving up, and performs none of
//! them: [`ConnectionMachine::handle`] takes the current time and one [`Input`] and returns the
//! [`Command`]s a driver must execute (open or close a transport, start or cancel a timer,
//! publish a status). The browser driver in this crate is one such driver; the storm simulator
//! in the benchmarks is another; the tests are a third.
//!
//! Every transport and timer the machine asks for carries a fresh id ([`ConnId`], [`TimerId`]).
//! Inputs that name an id the machine no longer waits for (a late timer, an event from a
//! transport already closed) are ignored, so a driver that races cannot corrupt the state.
//!
//! ```
//! use std::time::Duration;
//! use leptos_task_stream::{
//!     Backoff, Command, ConnectionMachine, ConnectionStatus, Input, Jitter, JitterRng,
//!     MachineConfig, Timestamp,
//! };
//!
//! let config = MachineConfig::new(Backoff::default().jitter(Jitter::None));
//! let mut m = ConnectionMachine::new(config, JitterRng::from_seed(1)).unwrap();
//! let t0 = Timestamp::from_millis(0);
//!
//! let cmds = m.handle(t0, Input::Open);
//! let conn = cmds.iter().find_map(|c| match c {
//!     Command::OpenTransport { conn, .. } => Some(*conn),
//!     _ => None,
//! }).unwrap();
//! m.handle(t0, Input::TransportOpened { conn });
//! assert!(m.status().is_connected());
//!
//! // The connection drops: the machine closes it and schedules attempt 1 in exactly 1 s.
//! let cmds = m.handle(Timestamp::from_millis(500), Input::TransportFailed { conn });
//! assert!(cmds.contains(&Command::CloseTransport { conn }));
//! assert!(matches!(
//!     m.status(),
//!     ConnectionStatus::Reconnecting { attempt: 1, delay, .. } if delay == Duration::from_secs(1)
//! ));
//! ```

use std::time::Duration;

use crate::backoff::{check_delays, Backoff, BackoffError, JitterRng};
use crate::http::{reason_phrase, StatusClass};
use crate::status::{CloseReason, ConnectionStatus, OfflineReason, Timestamp};
use crate::text::quoted;

/// Identifies one transport (one `EventSource`, one fetch) the machine asked to open.
pub type ConnId = u64;
/// Identifies one timer the machine asked to start.
pub type TimerId = u64;
/// Identifies one credential refresh the machine asked for ([`Command::RefreshCredentials`]).
pub type RefreshId = u64;

/// Default cap on a server's `Retry-After` and `retry:` hints: a server that says "come back in
/// a year" (by mistake or malice) is retried after 5 minutes instead.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The lowest floor a server's `retry:` field can set. `retry: 0` (or `retry: 1`) therefore
/// cannot turn a flapping server into a tight reconnect loop; the backoff policy still applies
/// on top of it.
pub const MIN_SERVER_RETRY: Duration = Duration::from_millis(500);

/// Default upper bound of the random wait before reconnecting when the browser comes back
/// online: prompt, but spread so a whole office regaining Wi-Fi does not reconnect in one burst.
pub const DEFAULT_ONLINE_JITTER: Duration = Duration::from_secs(1);

/// What the machine needs to know besides the backoff policy.
///
/// ```
/// use std::time::Duration;
/// use leptos_task_stream::{Backoff, MachineConfig};
/// let cfg = MachineConfig::new(Backoff::default())
///     .stale_after(Some(Duration::from_secs(45)))
///     .online_jitter(Duration::from_millis(500));
/// assert_eq!(cfg.stale_timeout(), Some(Duration::from_secs(45)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MachineConfig {
    backoff: Backoff,
    stale_after: Option<Duration>,
    online_jitter: Duration,
    max_retry_after: Duration,
    refresh_credentials: bool,
}

impl MachineConfig {
    /// A configuration with this policy, no stale detection, [`DEFAULT_ONLINE_JITTER`],
    /// [`DEFAULT_MAX_RETRY_AFTER`] and no credential refresh.
    pub fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            stale_after: None,
            online_jitter: DEFAULT_ONLINE_JITTER,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            refresh_credentials: false,
        }
    }

    /// The longest wait a server's `Retry-After` header or `retry:` field can impose (both are
    /// honoured up to this, plus up to a tenth of spread so that a fleet told the same wait
    /// does not come back at once). At most [`MAX_SUPPORTED_DELAY`](crate::MAX_SUPPORTED_DELAY); defaults to
    /// [`DEFAULT_MAX_RETRY_AFTER`].
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// On HTTP 401/407, ask the driver to refresh credentials
    /// ([`Command::RefreshCredentials`]) and retry once before giving up with
    /// [`OfflineReason::Rejected`]. The refresh must finish within `stale_after`, or 45 s
    /// ([`DEFAULT_STALE_AFTER`](crate::DEFAULT_STALE_AFTER)) when that is off.
    /// Defaults to `false`.
    pub fn refresh_credentials(mut self, refresh: bool) -> Self {
        self.refresh_credentials = refresh;
        self
    }

    /// The cap on server-imposed waits.
    pub fn retry_after_cap(&self) -> Duration {
        self.max_retry_after
    }

    /// Treat a transport as dead after this long without any event (heartbeats included), or
    /// without opening. `None` (the default here) disables the check, and so does
    /// `Some(Duration::ZERO)`. At most
    /// [`MAX_SUPPORTED_DELAY`](crate::MAX_SUPPORTED_DELAY).
    pub fn stale_after(mut self, stale_after: Option<Duration>) -> Self {
        self.stale_after = stale_after.filter(|d| !d.is_zero());
        self
    }

    /// Upper bound of the random wait before reconnecting after `online`. At most
    /// [`MAX_SUPPORTED_DELAY`](crate::MAX_SUPPORTED_DELAY).
    pub fn online_jitter(mut self, online_jitter: Duration) -> Self {
        self.online_jitter = online_jitter;
        self
    }

    /// The backoff policy.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The stale timeout.
    pub fn stale_timeout(&self) -> Option<Duration> {
        self.stale_after
    }
}

/// Something that happened, fed to [`ConnectionMachine::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// Start connecting (on mount, or on first use when not `immediate`). Ignored once started.
    Open,
    /// The transport `conn` is open (`EventSource` `open`, or a 2xx response).
    TransportOpened {
        /// Which transport.
        conn: ConnId,
    },
    /// Any event arrived on `conn`, heartbeats included. `id` is the event's id, if it had one;
    /// an empty id clears the stored last event id, as in the SSE specification.
    Event {
        /// Which transport.
        conn: ConnId,
        /// The event's `id:` field, if present.
        id: Option<String>,
    },
    /// Bytes arrived on `conn` that did not (yet) complete an event: part of a large event on a
    /// slow link. Proof of life for the stale check, and nothing else. The fetch transport sends
    /// it for every chunk; an `EventSource` shows scripts whole events only.
    Progress {
        /// Which transport.
        conn: ConnId,
    },
    /// The transport `conn` failed or was dropped.
    TransportFailed {
        /// Which transport.
        conn: ConnId,
    },
    /// The fetch transport `conn` got an HTTP response that is not a stream: any status other
    /// than a 2xx with `text/event-stream`. The machine decides by [`StatusClass`]: 204 and 205
    /// stop for good; 429, 502, 503 and 504 back off but wait at least `retry_after` (capped by
    /// [`MachineConfig::max_retry_after`]); 408, 425 and other 5xx back off, ignoring
    /// `retry_after`; 401 and 407 refresh credentials once if configured
    /// ([`MachineConfig::refresh_credentials`]); other 4xx, 1xx, 3xx and codes outside
    /// 100..=599 (and 401 and 407 without a refresh) go [`OfflineReason::Rejected`] without
    /// retrying.
    HttpStatus {
        /// Which transport.
        conn: ConnId,
        /// The HTTP status code.
        status: u16,
        /// The parsed `Retry-After` header, if the response had a valid one.
        retry_after: Option<Duration>,
    },
    /// The fetch transport `conn` got a 2xx response whose `Content-Type` is not
    /// `text/event-stream` (a login page, a JSON error from a proxy). Retrying the same request
    /// gives the same answer, so the machine stops with [`OfflineReason::Rejected`].
    NotAStream {
        /// Which transport.
        conn: ConnId,
        /// The `Content-Type` received (empty when absent).
        content_type: String,
    },
    /// The stream on `conn` carried a valid `retry:` field: the server's minimum reconnection
    /// delay. It raises the floor of every later backoff delay, never below
    /// [`MIN_SERVER_RETRY`] and never above [`MachineConfig::max_retry_after`].
    RetryHint {
        /// Which transport.
        conn: ConnId,
        /// The value of the field.
        delay: Duration,
    },
    /// The credential refresh `refresh` finished; `ok` is `false` when it failed.
    CredentialsRefreshed {
        /// Which refresh.
        refresh: RefreshId,
        /// Whether new credentials are in place.
        ok: bool,
    },
    /// The server said the stream is complete (`end`). Final: nothing reconnects on its own.
    ServerEnded {
        /// Which transport.
        conn: ConnId,
        /// The server's reason.
        reason: String,
    },
    /// A stale-check timer fired.
    StaleTimerFired {
        /// Which timer.
        timer: TimerId,
    },
    /// A retry timer fired.
    RetryTimerFired {
        /// Which timer.
        timer: TimerId,
    },
    /// The browser reported `offline`.
    WentOffline,
    /// The browser reported `online`.
    WentOnline,
    /// The page became hidden. The browser driver sends it on every `pagehide` (navigating
    /// away), and also when the tab is hidden if `pause_when_hidden` is set.
    Hidden,
    /// The page became visible again. The browser driver sends it on every `pageshow`, and
    /// also when the tab is shown if `pause_when_hidden` is set.
    Visible,
    /// The application asked to reconnect now ("Retry now"). Cancels any pending wait. After
    /// giving up, after `close()` or after `end`, it also resets the attempt counter.
    Reconnect,
    /// The application closed the stream. Final until [`Input::Reconnect`].
    Close,
    /// The browser refused to create transport `conn` (a malformed URL, an invalid header):
    /// final until [`Input::Reconnect`], since the same request cannot succeed.
    TransportRefused {
        /// Which transport.
        conn: ConnId,
        /// The browser's message.
        message: String,
    },
}

/// Something the driver must do, returned by [`ConnectionMachine::handle`] in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Open a new transport with this id, resuming after `last_event_id` when present.
    OpenTransport {
        /// Id to tag the transport's inputs with.
        conn: ConnId,
        /// Last event id seen, to resume from.
        last_event_id: Option<String>,
        /// 0 for the first connection, n for the n-th retry in the current failure streak.
        attempt: u32,
    },
    /// Close the transport `conn` (and drop its callbacks).
    CloseTransport {
        /// Which transport.
        conn: ConnId,
    },
    /// Start a one-shot retry timer; on expiry send [`Input::RetryTimerFired`].
    StartRetryTimer {
        /// Id to send back.
        timer: TimerId,
        /// How long.
        delay: Duration,
    },
    /// Cancel a retry timer.
    CancelRetryTimer {
        /// Which timer.
        timer: TimerId,
    },
    /// Start a one-shot stale-check timer; on expiry send [`Input::StaleTimerFired`].
    StartStaleTimer {
        /// Id to send back.
        timer: TimerId,
        /// How long.
        delay: Duration,
    },
    /// Cancel a stale-check timer.
    CancelStaleTimer {
        /// Which timer.
        timer: TimerId,
    },
    /// Refresh the credentials (e.g. fetch a new bearer token), then send
    /// [`Input::CredentialsRefreshed`] with this id. Only with
    /// [`MachineConfig::refresh_credentials`].
    RefreshCredentials {
        /// Id to send back.
        refresh: RefreshId,
    },
    /// The status changed.
    PublishStatus(ConnectionStatus),
    /// A connection problem worth showing to people.
    ReportError(ConnectionError),
}

/// A connection problem detected or decided by the machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The transport failed or was dropped.
    #[error("connection lost; retry {next_attempt} in {}", human(*.delay))]
    Lost {
        /// The retry that is now scheduled.
        next_attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
    /// Nothing (not even a heartbeat) arrived for too long.
    #[error("no event or heartbeat for {}; treating the connection as dead", human(*.silent_for))]
    Stale {
        /// How long it was silent.
        silent_for: Duration,
    },
    /// The first attempt and `max_attempts` retries after it all failed.
    #[error("gave up after {attempts} failed retries")]
    GaveUp {
        /// How many retries failed (`max_attempts`), not counting the first attempt.
        attempts: u32,
    },
    /// The server answered with an error status worth retrying: 408, 425, 429 or a 5xx. For
    /// 429, 502, 503 and 504 the retry is scheduled no earlier than the response's
    /// `Retry-After` (capped by [`MachineConfig::max_retry_after`]); the others back off
    /// ignoring it.
    #[error(
        "server answered HTTP {status}{}{}; retry {next_attempt} in {}",
        phrase(*.status),
        retry_after.map(|d| format!(" (Retry-After {})", human(d))).unwrap_or_default(),
        human(*.delay)
    )]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The server's `Retry-After`, as parsed (before the cap); always `None` for the
        /// statuses that do not honour it.
        retry_after: Option<Duration>,
        /// The retry that is now scheduled.
        next_attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
    /// The server refused the stream with a status that retrying cannot fix: a 4xx other than
    /// 408, 425 and 429 (which back off), a 1xx or 3xx that fetch did not resolve, or a code
    /// outside 100..=599. A 401 or 407 is reported here only without a credential refresh
    /// ([`MachineConfig::refresh_credentials`]); with one, the refresh comes first, and if it
    /// does not help the error is [`ConnectionError::Unauthorized`]. Nothing reconnects until
    /// `reconnect()`.
    #[error("server refused the stream: HTTP {status}{}; not retrying", phrase(*.status))]
    Rejected {
        /// The HTTP status code.
        status: u16,
    },
    /// The server answered 2xx with a body that is not `text/event-stream`.
    #[error("server answered {} instead of \"text/event-stream\"; not retrying", quoted(.content_type))]
    NotAStream {
        /// The `Content-Type` received (empty when absent; cut to 64 characters).
        content_type: String,
    },
    /// A 401 or 407 that a credential refresh ([`MachineConfig::refresh_credentials`]) did not
    /// fix: the refresh failed, did not finish within `stale_after` (45 s when that is off), or the retry
    /// with fresh credentials was refused again. Nothing reconnects until `reconnect()`.
    #[error("server refused the stream: HTTP {status}{} even after refreshing credentials; not retrying", phrase(*.status))]
    Unauthorized {
        /// The HTTP status code (401 or 407).
        status: u16,
    },
}

impl ConnectionError {
    /// A short description for a status line, where the `Display` text is a whole sentence:
    /// "HTTP 401 Unauthorized", "not an event stream (text/html)", "connection lost".
    ///
    /// ```
    /// use leptos_task_stream::ConnectionError;
    /// assert_eq!(ConnectionError::Rejected { status: 404 }.summary(), "HTTP 404 Not Found");
    /// assert_eq!(
    ///     ConnectionError::NotAStream { content_type: String::new() }.summary(),
    ///     "not an event stream (no Content-Type)"
    /// );
    /// ```
    pub fn summary(&self) -> String {
        match self {
            ConnectionError::Lost { .. } => "connection lost".into(),
            ConnectionError::Stale { silent_for } => format!("silent for {}", human(*silent_for)),
            ConnectionError::GaveUp { attempts } => format!("gave up after {attempts} retries"),
            ConnectionError::Http { status, .. }
            | ConnectionError::Rejected { status }
            | ConnectionError::Unauthorized { status } => {
                format!("HTTP {status}{}", phrase(*status))
            }
            ConnectionError::NotAStream { content_type } if content_type.is_empty() => {
                "not an event stream (no Content-Type)".into()
            }
            ConnectionError::NotAStream { content_type } => {
                format!("not an event stream ({content_type})")
            }
        }
    }
}

/// `" Unauthorized"` for 401: the reason phrase with a leading space, or nothing if unknown.
fn phrase(status: u16) -> String {
    match reason_phrase(status) {
        "" => String::new(),
        p => format!(" {p}"),
    }
}

/// "850 ms", "6.2 s", "30 s": durations as people read them in error messages. Integer maths
/// only, and in `u64`: float formatting, or `u128` formatting (`as_millis`), would add
/// kilobytes to every app's wasm.
fn human(d: Duration) -> String {
    let (secs, ms) = (d.as_secs(), d.subsec_millis());
    if secs == 0 {
        format!("{ms} ms")
    } else if ms == 0 {
        format!("{secs} s")
    } else {
        // Tenths of a second, rounded half up: 1.950 s is "2.0 s".
        let tenths = (ms + 50) / 100;
        match secs.checked_add(u64::from(tenths / 10)) {
            Some(whole) => format!("{whole}.{} s", tenths % 10),
            None => "18446744073709551616.0 s".into(),
        }
    }
}

/// Why [`ConnectionMachine::fail_with`] runs, for the error it reports.
#[derive(Debug, Clone, Copy)]
enum FailureCause {
    /// The transport failed or dropped: report [`ConnectionError::Lost`].
    Lost,
    /// An HTTP status worth retrying: report [`ConnectionError::Http`].
    Http {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The caller already reported a more specific cause.
    Reported,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Idle,
    Connecting {
        conn: ConnId,
    },
    Connected {
        conn: ConnId,
        since: Timestamp,
    },
    Waiting {
        timer: TimerId,
        attempt: u32,
        delay: Duration,
        retry_at: Timestamp,
    },
    /// Waiting for [`Command::RefreshCredentials`] to finish; shown as `Connecting`.
    Refreshing {
        refresh: RefreshId,
        status: u16,
    },
    Offline(OfflineReason),
    Closed(CloseReason),
}

/// The connection state machine. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct ConnectionMachine {
    config: MachineConfig,
    rng: JitterRng,
    phase: Phase,
    next_id: u64,
    /// Consecutive failed attempts in the current streak (reset after a healthy window).
    failures: u32,
    previous_delay: Option<Duration>,
    last_event_id: Option<String>,
    last_activity: Timestamp,
    stale_timer: Option<TimerId>,
    online: bool,
    visible: bool,
    published: ConnectionStatus,
    /// The server's `retry:` hint, already clamped to `[MIN_SERVER_RETRY, max_retry_after]`.
    server_retry: Option<Duration>,
    /// A credential refresh was already tried since the last successful open.
    refreshed: bool,
    /// The earliest time the server allows the next attempt (`Retry-After`, or its `retry:`
    /// floor), kept while no connection has opened since: coming back from hidden or offline
    /// must not cut the server's wait short.
    not_before: Option<Timestamp>,
}

impl ConnectionMachine {
    /// A machine in the idle state. Fails when the backoff policy is invalid.
    pub fn new(config: MachineConfig, rng: JitterRng) -> Result<Self, BackoffError> {
        config.backoff.validate()?;
        // The machine's own delays, bounded like the backoff's: a longer timer would overflow
        // the browser's (a signed 32-bit millisecond count) and fire at once.
        check_delays([
            ("max_retry_after", config.max_retry_after),
            ("online_jitter", config.online_jitter),
            ("stale_after", config.stale_after.unwrap_or_default()),
        ])?;
        let mut m = Self {
            config,
            rng,
            phase: Phase::Idle,
            next_id: 1,
            failures: 0,
            previous_delay: None,
            last_event_id: None,
            last_activity: Timestamp::default(),
            stale_timer: None,
            online: true,
            visible: true,
            published: ConnectionStatus::Connecting,
            server_retry: None,
            refreshed: false,
            not_before: None,
        };
        m.published = m.status();
        Ok(m)
    }

    /// Starts from a known last event id (e.g. restored from storage), so the first connection
    /// already resumes.
    pub fn with_last_event_id(mut self, id: Option<String>) -> Self {
        self.last_event_id = id.filter(|s| !s.is_empty());
        self
    }

    /// Tells the machine the browser's initial `navigator.onLine` (default `true`).
    pub fn with_online(mut self, online: bool) -> Self {
        self.online = online;
        self
    }

    /// The status as of the last input.
    pub fn status(&self) -> ConnectionStatus {
        match &self.phase {
            Phase::Idle => ConnectionStatus::Closed {
                reason: CloseReason::NotStarted,
            },
            Phase::Connecting { .. } | Phase::Refreshing { .. } => ConnectionStatus::Connecting,
            Phase::Connected { .. } => ConnectionStatus::Connected,
            Phase::Waiting {
                attempt,
                delay,
                retry_at,
                ..
            } => ConnectionStatus::Reconnecting {
                attempt: *attempt,
                delay: *delay,
                retry_at: *retry_at,
            },
            Phase::Offline(reason) => ConnectionStatus::Offline {
                reason: reason.clone(),
            },
            Phase::Closed(reason) => ConnectionStatus::Closed {
                reason: reason.clone(),
            },
        }
    }

    /// The last event id to resume from.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The transport the machine currently listens to, if any. Events from any other transport
    /// must be discarded by the driver.
    pub fn current_conn(&self) -> Option<ConnId> {
        match self.phase {
            Phase::Connecting { conn } | Phase::Connected { conn, .. } => Some(conn),
            _ => None,
        }
    }

    /// The pending retry timer, if any.
    pub fn pending_retry(&self) -> Option<TimerId> {
        match self.phase {
            Phase::Waiting { timer, .. } => Some(timer),
            _ => None,
        }
    }

    /// The pending stale-check timer, if any.
    pub fn pending_stale_check(&self) -> Option<TimerId> {
        self.stale_timer
    }

    /// The credential refresh the machine waits for, if any.
    pub fn pending_refresh(&self) -> Option<RefreshId> {
        match self.phase {
            Phase::Refreshing { refresh, .. } => Some(refresh),
            _ => None,
        }
    }

    /// The floor the server's last `retry:` field put under every backoff delay, if any.
    pub fn server_retry_floor(&self) -> Option<Duration> {
        self.server_retry
    }

    /// Consecutive failed attempts in the current streak.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The configuration.
    pub fn config(&self) -> &MachineConfig {
        &self.config
    }

    /// Feeds one input at time `now`; returns the commands to execute, in order.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Vec<Command> {
        let mut out = Vec::new();
        match input {
            Input::Open => {
                if self.phase == Phase::Idle {
                    self.start_connect(now, false, 0, &mut out);
                }
            }
            Input::TransportOpened { conn } => match self.phase {
                Phase::Connecting { conn: c } if c == conn => {
                    self.phase = Phase::Connected { conn, since: now };
                    self.last_activity = now;
                    self.refreshed = false;
                    self.not_before = None;
                }
                _ => {}
            },
            Input::HttpStatus {
                conn,
                status,
                retry_after,
            } => {
                if self.current_conn() == Some(conn) {
                    self.http_status(now, status, retry_after, &mut out);
                }
            }
            Input::NotAStream { conn, content_type } => {
                if self.current_conn() == Some(conn) {
                    self.stop_activity(now, &mut out);
                    self.reject(
                        ConnectionError::NotAStream {
                            content_type: crate::protocol::truncate_for_display(&content_type, 64),
                        },
                        &mut out,
                    );
                }
            }
            Input::RetryHint { conn, delay } => {
                if self.current_conn() == Some(conn) {
                    self.server_retry = Some(delay.clamp(
                        MIN_SERVER_RETRY,
                        self.config.max_retry_after.max(MIN_SERVER_RETRY),
                    ));
                }
            }
            Input::CredentialsRefreshed { refresh, ok } => {
                if let Phase::Refreshing { refresh: r, status } = self.phase {
                    if r == refresh {
                        self.stop_activity(now, &mut out);
                        // This refresh was used: a 401 after it is final.
                        self.refreshed = true;
                        if ok {
                            self.start_connect(now, false, self.failures, &mut out);
                        } else {
                            self.reject(ConnectionError::Unauthorized { status }, &mut out);
                        }
                    }
                }
            }
            Input::Progress { conn } => {
                if self.current_conn() == Some(conn) {
                    self.last_activity = now;
                }
            }
            Input::Event { conn, id } => {
                if self.current_conn() == Some(conn) {
                    self.last_activity = now;
                    if let Some(id) = id {
                        self.last_event_id = Some(id).filter(|s| !s.is_empty());
                    }
                    // An event proves the transport is open even if `open` was missed.
                    if matches!(self.phase, Phase::Connecting { .. }) {
                        self.phase = Phase::Connected { conn, since: now };
                    }
                }
            }
            Input::TransportFailed { conn } => {
                if self.current_conn() == Some(conn) {
                    self.fail(now, true, &mut out);
                }
            }
            Input::ServerEnded { conn, reason } => {
                if self.current_conn() == Some(conn) {
                    self.stop_activity(now, &mut out);
                    self.phase = Phase::Closed(CloseReason::Ended { reason });
                }
            }
            Input::StaleTimerFired { timer } => {
                if self.stale_timer == Some(timer) {
                    self.stale_timer = None;
                    if let Phase::Refreshing { status, .. } = self.phase {
                        // A refresh that never finishes must not leave "Connecting…" forever.
                        self.stop_activity(now, &mut out);
                        self.reject(ConnectionError::Unauthorized { status }, &mut out);
                    } else {
                        self.check_stale(now, &mut out);
                    }
                }
            }
            Input::RetryTimerFired { timer } => {
                if let Phase::Waiting {
                    timer: t, attempt, ..
                } = self.phase
                {
                    if t == timer {
                        self.start_connect(now, false, attempt, &mut out);
                    }
                }
            }
            Input::WentOffline => {
                self.online = false;
                if self.is_active() {
                    self.stop_activity(now, &mut out);
                    self.phase = Phase::Offline(OfflineReason::Network);
                }
            }
            Input::WentOnline => {
                self.online = true;
                if self.phase == Phase::Offline(OfflineReason::Network) {
                    if self.visible {
                        // The streak was the network's fault, not the server's.
                        self.failures = 0;
                        self.previous_delay = None;
                        let delay = self
                            .rng
                            .duration_between(Duration::ZERO, self.config.online_jitter)
                            .max(self.server_wait_left(now));
                        self.wait(now, 1, delay, &mut out);
                    } else {
                        self.phase = Phase::Offline(OfflineReason::Hidden);
                    }
                }
            }
            Input::Hidden => {
                self.visible = false;
                if self.is_active() {
                    self.stop_activity(now, &mut out);
                    self.phase = Phase::Offline(OfflineReason::Hidden);
                }
            }
            Input::Visible => {
                self.visible = true;
                if self.phase == Phase::Offline(OfflineReason::Hidden) {
                    match self.server_wait_left(now) {
                        Duration::ZERO => self.start_connect(now, false, self.failures, &mut out),
                        left => self.wait(now, self.failures.max(1), left, &mut out),
                    }
                }
            }
            Input::Reconnect => {
                let fresh = matches!(
                    self.phase,
                    Phase::Idle
                        | Phase::Closed(_)
                        | Phase::Offline(OfflineReason::GaveUp { .. })
                        | Phase::Offline(OfflineReason::Rejected { .. })
                );
                if fresh {
                    self.failures = 0;
                    self.previous_delay = None;
                    self.refreshed = false;
                }
                // People override the server's wait too: "Retry now" means now.
                self.not_before = None;
                self.stop_activity(now, &mut out);
                // An explicit request overrides `navigator.onLine` and visibility: people press
                // "Retry now" precisely when they believe the browser is wrong.
                self.start_connect(now, true, self.failures, &mut out);
            }
            Input::TransportRefused { conn, message } => {
                if self.current_conn() == Some(conn) {
                    self.stop_activity(now, &mut out);
                    self.phase = Phase::Closed(CloseReason::Refused { message });
                }
            }
            Input::Close => {
                if !matches!(self.phase, Phase::Closed(_)) {
                    self.stop_activity(now, &mut out);
                    self.phase = Phase::Closed(CloseReason::ByApp);
                }
            }
        }
        let status = self.status();
        if status != self.published {
            self.published = status.clone();
            out.push(Command::PublishStatus(status));
        }
        out
    }

    fn is_active(&self) -> bool {
        matches!(
            self.phase,
            Phase::Connecting { .. }
                | Phase::Connected { .. }
                | Phase::Waiting { .. }
                | Phase::Refreshing { .. }
        )
    }

    /// A non-stream HTTP answer on the current transport.
    fn http_status(
        &mut self,
        now: Timestamp,
        status: u16,
        retry_after: Option<Duration>,
        out: &mut Vec<Command>,
    ) {
        match StatusClass::of(status) {
            StatusClass::Stop => {
                self.stop_activity(now, out);
                // Static text: formatting the status here would link the reason-phrase table
                // into every app, fetch transport or not (this match is reachable from all).
                let reason = if status == 204 {
                    "HTTP 204 No Content (do not reconnect)"
                } else {
                    "HTTP 205 Reset Content (do not reconnect)"
                };
                self.phase = Phase::Closed(CloseReason::Ended {
                    reason: reason.into(),
                });
            }
            StatusClass::Unauthorized if self.config.refresh_credentials && !self.refreshed => {
                self.stop_activity(now, out);
                self.refreshed = true;
                let refresh = self.next_id();
                self.phase = Phase::Refreshing { refresh, status };
                out.push(Command::RefreshCredentials { refresh });
                // The stale timeout also bounds the refresh, and with stale detection off the
                // default one does: a refresh that never finishes must not leave "Connecting…"
                // for good.
                let delay = self
                    .config
                    .stale_after
                    .unwrap_or(crate::options::DEFAULT_STALE_AFTER);
                let timer = self.next_id();
                self.stale_timer = Some(timer);
                out.push(Command::StartStaleTimer { timer, delay });
            }
            StatusClass::Unauthorized if self.config.refresh_credentials => {
                self.stop_activity(now, out);
                self.reject(ConnectionError::Unauthorized { status }, out);
            }
            StatusClass::Unauthorized | StatusClass::Rejected => {
                self.stop_activity(now, out);
                self.reject(ConnectionError::Rejected { status }, out);
            }
            StatusClass::Throttled => {
                let floor = retry_after.map(|d| d.min(self.config.max_retry_after));
                self.fail_with(
                    now,
                    FailureCause::Http {
                        status,
                        retry_after,
                    },
                    floor,
                    out,
                );
            }
            // `Stream` cannot reach here from a correct driver (a 2xx stream is
            // `TransportOpened`); treat anything else as transient.
            _ => self.fail_with(
                now,
                FailureCause::Http {
                    status,
                    retry_after: None,
                },
                None,
                out,
            ),
        }
    }

    /// Stops for good (until `reconnect()`) with `error` as the status and the reported error.
    fn reject(&mut self, error: ConnectionError, out: &mut Vec<Command>) {
        self.phase = Phase::Offline(OfflineReason::Rejected {
            error: error.clone(),
        });
        out.push(Command::ReportError(error));
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    /// Closes the transport and cancels every timer, leaving the phase to the caller.
    /// Closes the transport or cancels the wait, whatever the phase; the phase becomes `Idle`.
    fn stop_activity(&mut self, now: Timestamp, out: &mut Vec<Command>) {
        match self.phase {
            Phase::Connected { conn, since } => {
                // Only a connection that stayed up for the whole window earns a fresh start,
                // however it ends (a failure, hidden, offline, `reconnect()`); one that opens
                // and drops at once keeps the streak growing.
                if now.saturating_duration_since(since) >= self.config.backoff.reset_window() {
                    self.failures = 0;
                    self.previous_delay = None;
                }
                out.push(Command::CloseTransport { conn });
            }
            Phase::Connecting { conn } => out.push(Command::CloseTransport { conn }),
            Phase::Waiting { timer, .. } => out.push(Command::CancelRetryTimer { timer }),
            // The refresh itself cannot be cancelled; its answer no longer matches and is
            // ignored. Unused, it does not count: a later 401 may refresh again.
            Phase::Refreshing { .. } => self.refreshed = false,
            _ => {}
        }
        if let Some(timer) = self.stale_timer.take() {
            out.push(Command::CancelStaleTimer { timer });
        }
        self.phase = Phase::Idle;
    }

    fn start_connect(
        &mut self,
        now: Timestamp,
        forced: bool,
        attempt: u32,
        out: &mut Vec<Command>,
    ) {
        if !forced && !self.online {
            self.phase = Phase::Offline(OfflineReason::Network);
            return;
        }
        if !forced && !self.visible {
            self.phase = Phase::Offline(OfflineReason::Hidden);
            return;
        }
        if forced {
            self.online = true;
            self.visible = true;
        }
        let conn = self.next_id();
        self.phase = Phase::Connecting { conn };
        self.last_activity = now;
        out.push(Command::OpenTransport {
            conn,
            last_event_id: self.last_event_id.clone(),
            attempt,
        });
        if let Some(delay) = self.config.stale_after {
            let timer = self.next_id();
            self.stale_timer = Some(timer);
            out.push(Command::StartStaleTimer { timer, delay });
        }
    }

    fn check_stale(&mut self, now: Timestamp, out: &mut Vec<Command>) {
        let Some(limit) = self.config.stale_after else {
            return;
        };
        if self.current_conn().is_none() {
            return;
        }
        let silent = now.saturating_duration_since(self.last_activity);
        if silent >= limit {
            // One failure, one report: the cause (silence) rather than a generic "lost".
            out.push(Command::ReportError(ConnectionError::Stale {
                silent_for: silent,
            }));
            self.fail(now, false, out);
        } else {
            let timer = self.next_id();
            self.stale_timer = Some(timer);
            out.push(Command::StartStaleTimer {
                timer,
                delay: limit - silent,
            });
        }
    }

    /// The current transport failed: close it, then back off or give up. `report` says whether
    /// to report the loss (false when the caller already reported a more specific cause).
    fn fail(&mut self, now: Timestamp, report: bool, out: &mut Vec<Command>) {
        let cause = if report {
            FailureCause::Lost
        } else {
            FailureCause::Reported
        };
        self.fail_with(now, cause, None, out);
    }

    /// [`fail`](Self::fail) with a cause, and a server-imposed minimum wait (`Retry-After`,
    /// already capped) on top of the `retry:` floor.
    fn fail_with(
        &mut self,
        now: Timestamp,
        cause: FailureCause,
        floor: Option<Duration>,
        out: &mut Vec<Command>,
    ) {
        self.stop_activity(now, out);
        self.failures = self.failures.saturating_add(1);
        let attempt = self.failures;
        if let Some(limit) = self.config.backoff.attempt_limit() {
            if attempt > limit {
                self.phase = Phase::Offline(OfflineReason::GaveUp { attempts: limit });
                out.push(Command::ReportError(ConnectionError::GaveUp {
                    attempts: limit,
                }));
                return;
            }
        }
        let backoff = &self.config.backoff;
        let policy = match backoff.first_spread() {
            Some(spread) if attempt == 1 => self
                .rng
                .duration_between(Duration::ZERO, spread.min(backoff.cap())),
            _ => backoff.delay(attempt, self.previous_delay, &mut self.rng),
        };
        // The policy's own delay feeds decorrelated jitter: a server hint must not inflate the
        // next step of the policy itself.
        self.previous_delay = Some(policy);
        let floor = floor.max(self.server_retry);
        self.not_before = floor.map(|floor| now + floor);
        let delay = match floor {
            // A fleet told "Retry-After: 20" must not come back in one burst 20 s later: spread
            // the wait over up to a tenth more.
            Some(floor) if floor > policy => {
                floor.saturating_add(self.rng.duration_between(Duration::ZERO, floor / 10))
            }
            _ => policy,
        };
        match cause {
            FailureCause::Lost => out.push(Command::ReportError(ConnectionError::Lost {
                next_attempt: attempt,
                delay,
            })),
            FailureCause::Http {
                status,
                retry_after,
            } => out.push(Command::ReportError(ConnectionError::Http {
                status,
                retry_after,
                next_attempt: attempt,
                delay,
            })),
            FailureCause::Reported => {}
        }
        self.wait(now, attempt, delay, out);
    }

    /// How much of the server's wait (see `not_before`) is left at `now`.
    fn server_wait_left(&self, now: Timestamp) -> Duration {
        self.not_before
            .map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
    }

    fn wait(&mut self, now: Timestamp, attempt: u32, delay: Duration, out: &mut Vec<Command>) {
        let timer = self.next_id();
        self.phase = Phase::Waiting {
            timer,
            attempt,
            delay,
            retry_at: now + delay,
        };
        out.push(Command::StartRetryTimer { timer, delay });
    }
}

#[cfg(test)]
mod tests {
    use super::human;
    use std::time::Duration;

    /// The `u128` formulation `human` replaces: the text must not change.
    fn reference(d: Duration) -> String {
        let ms = d.as_millis();
        if ms < 1_000 {
            format!("{ms} ms")
        } else if ms % 1_000 == 0 {
            format!("{} s", ms / 1_000)
        } else {
            let tenths = (ms + 50) / 100;
            format!("{}.{} s", tenths / 10, tenths % 10)
        }
    }

    #[test]
    fn human_durations_read_as_before() {
        let mut cases = vec![Duration::MAX, Duration::from_secs(u64::MAX), Duration::ZERO];
        for secs in [0, 1, 9, 59, 86_400, u64::MAX / 10, u64::MAX - 1, u64::MAX] {
            for nanos in [
                0,
                1,
                999_999,
                1_000_000,
                49_999_999,
                50_000_000,
                949_000_000,
                950_000_000,
                999_999_999,
            ] {
                cases.push(Duration::new(secs, nanos));
            }
        }
        for d in cases {
            assert_eq!(human(d), reference(d), "{d:?}");
        }
    }
}
