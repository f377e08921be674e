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

use crate::backoff::{Backoff, BackoffError, JitterRng};
use crate::status::{CloseReason, ConnectionStatus, OfflineReason, Timestamp};

/// Identifies one transport (one `EventSource`, one fetch) the machine asked to open.
pub type ConnId = u64;
/// Identifies one timer the machine asked to start.
pub type TimerId = u64;

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
}

impl MachineConfig {
    /// A configuration with this policy, no stale detection and [`DEFAULT_ONLINE_JITTER`].
    pub fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            stale_after: None,
            online_jitter: DEFAULT_ONLINE_JITTER,
        }
    }

    /// Treat a transport as dead after this long without any event (heartbeats included), or
    /// without opening. `None` (the default here) disables the check.
    pub fn stale_after(mut self, stale_after: Option<Duration>) -> Self {
        self.stale_after = stale_after.filter(|d| !d.is_zero());
        self
    }

    /// Upper bound of the random wait before reconnecting after `online`.
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
    /// The transport `conn` failed or was dropped.
    TransportFailed {
        /// Which transport.
        conn: ConnId,
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
    /// The page became hidden (only sent when pausing on hidden pages is wanted).
    Hidden,
    /// The page became visible again.
    Visible,
    /// The application asked to reconnect now ("Retry now"). Cancels any pending wait. After
    /// giving up, after `close()` or after `end`, it also resets the attempt counter.
    Reconnect,
    /// The application closed the stream. Final until [`Input::Reconnect`].
    Close,
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
    /// `max_attempts` consecutive attempts failed.
    #[error("gave up after {attempts} failed attempts")]
    GaveUp {
        /// How many.
        attempts: u32,
    },
}

/// "850 ms", "6.2 s", "30 s": durations as people read them in error messages. Integer maths
/// only: float formatting would add kilobytes to every app's wasm.
fn human(d: Duration) -> String {
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
}

impl ConnectionMachine {
    /// A machine in the idle state. Fails when the backoff policy is invalid.
    pub fn new(config: MachineConfig, rng: JitterRng) -> Result<Self, BackoffError> {
        config.backoff.validate()?;
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
            Phase::Connecting { .. } => ConnectionStatus::Connecting,
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
                }
                _ => {}
            },
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
                    self.stop_activity(&mut out);
                    self.phase = Phase::Closed(CloseReason::Ended { reason });
                }
            }
            Input::StaleTimerFired { timer } => {
                if self.stale_timer == Some(timer) {
                    self.stale_timer = None;
                    self.check_stale(now, &mut out);
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
                    self.stop_activity(&mut out);
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
                            .duration_between(Duration::ZERO, self.config.online_jitter);
                        self.wait(now, 1, delay, &mut out);
                    } else {
                        self.phase = Phase::Offline(OfflineReason::Hidden);
                    }
                }
            }
            Input::Hidden => {
                self.visible = false;
                if self.is_active() {
                    self.stop_activity(&mut out);
                    self.phase = Phase::Offline(OfflineReason::Hidden);
                }
            }
            Input::Visible => {
                self.visible = true;
                if self.phase == Phase::Offline(OfflineReason::Hidden) {
                    self.start_connect(now, false, self.failures, &mut out);
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
                }
                self.stop_activity(&mut out);
                // An explicit request overrides `navigator.onLine` and visibility: people press
                // "Retry now" precisely when they believe the browser is wrong.
                self.start_connect(now, true, self.failures, &mut out);
            }
            Input::Close => {
                if !matches!(self.phase, Phase::Closed(_)) {
                    self.stop_activity(&mut out);
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
            Phase::Connecting { .. } | Phase::Connected { .. } | Phase::Waiting { .. }
        )
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    /// Closes the transport and cancels every timer, leaving the phase to the caller.
    fn stop_activity(&mut self, out: &mut Vec<Command>) {
        match self.phase {
            Phase::Connecting { conn } | Phase::Connected { conn, .. } => {
                out.push(Command::CloseTransport { conn });
            }
            Phase::Waiting { timer, .. } => out.push(Command::CancelRetryTimer { timer }),
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
        if let Phase::Connected { since, .. } = self.phase {
            // Only a connection that stayed up for the whole window earns a fresh start; one
            // that opens and drops at once keeps the streak growing.
            if now.saturating_duration_since(since) >= self.config.backoff.reset_window() {
                self.failures = 0;
                self.previous_delay = None;
            }
        }
        self.stop_activity(out);
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
        let delay = match backoff.first_spread() {
            Some(spread) if attempt == 1 => self
                .rng
                .duration_between(Duration::ZERO, spread.min(backoff.cap())),
            _ => backoff.delay(attempt, self.previous_delay, &mut self.rng),
        };
        self.previous_delay = Some(delay);
        if report {
            out.push(Command::ReportError(ConnectionError::Lost {
                next_attempt: attempt,
                delay,
            }));
        }
        self.wait(now, attempt, delay, out);
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
