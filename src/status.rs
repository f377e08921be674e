//! Connection health as the UI sees it.

use std::fmt;
use std::time::Duration;

/// A point on a monotonic millisecond clock.
///
/// The pure core never reads a clock: callers pass `Timestamp`s in. The browser driver uses
/// `performance.now()` (see [`crate::now`]), which does not jump when the wall clock is changed.
///
/// ```
/// use std::time::Duration;
/// use leptos_task_stream::Timestamp;
/// let t = Timestamp::from_millis(1_000);
/// assert_eq!(t + Duration::from_millis(500), Timestamp::from_millis(1_500));
/// assert_eq!(t.saturating_duration_since(Timestamp::from_millis(4_000)), Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// A timestamp `ms` milliseconds after the clock's origin.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// From a float millisecond reading such as `performance.now()`; NaN and negatives give 0.
    pub fn from_millis_f64(ms: f64) -> Self {
        if ms.is_finite() && ms > 0.0 {
            Self(ms.min(u64::MAX as f64) as u64)
        } else {
            Self(0)
        }
    }

    /// Milliseconds since the clock's origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        let ms = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }
}

/// Why the stream is not connected and not retrying on its own schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OfflineReason {
    /// The browser reports no network (`navigator.onLine` is false). Reconnects promptly on `online`.
    Network,
    /// Paused because the page is hidden: always after `pagehide` (navigating away, even when
    /// the browser keeps the page in its back/forward cache), and while the tab is hidden with
    /// `pause_when_hidden`. Reconnects when the page is visible again (`pageshow`, or with
    /// `pause_when_hidden` the tab being shown).
    Hidden,
    /// Gave up: the first attempt and `max_attempts` retries after it all failed. Only
    /// `reconnect()` resumes.
    GaveUp {
        /// How many retries failed (`max_attempts`), not counting the first attempt.
        attempts: u32,
    },
    /// The server refused the stream in a way that retrying cannot fix (e.g. HTTP 401/403/404,
    /// fetch transport only). Only `reconnect()` resumes.
    Rejected {
        /// The refusal, as also reported in `last_error`; [`summary`] gives a short text
        /// ("HTTP 401 Unauthorized").
        ///
        /// [`summary`]: crate::ConnectionError::summary
        error: crate::ConnectionError,
    },
}

/// Why the stream is closed for good (until the app calls `reconnect()`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// Not opened yet: `immediate(false)` and nothing called `reconnect()`. It is also what the
    /// server renders with `immediate(false)`; with `immediate(true)` (the default) the server
    /// renders `Connecting`, as the client does until its connection starts.
    NotStarted,
    /// The application called `close()`. (Unmounting the owning component closes the stream
    /// too, but publishes no status: the signals are disposed with it.)
    ByApp,
    /// The server sent `end`: the stream is complete and must not be reconnected.
    Ended {
        /// The server's reason.
        reason: String,
    },
    /// The options were invalid, so nothing was opened. The error says what to fix (its text
    /// is written only when displayed).
    Misconfigured {
        /// What is wrong.
        error: crate::BackoffError,
    },
    /// The browser refused to open the stream (a malformed URL, an invalid header name or
    /// value): the same request cannot succeed, so nothing retries it. `last_error` holds the
    /// details; `reconnect()` tries again, e.g. after a header signal changed.
    Refused {
        /// The browser's message.
        message: String,
    },
}

/// The health of a stream connection, for status badges and logic.
///
/// ```text
///                open()                     transport opened
///   (idle) ────────────────▶ Connecting ─────────────────────────▶ Connected
///                              ▲    │ error / stale                   │ error / stale
///               retry timer    │    ▼                                 ▼
///                              └── Reconnecting { attempt, delay, retry_at } ◀──┘
///                                       │ attempt > max_attempts
///                                       ▼
///     offline ⇒ Offline { Network } ── online ⇒ Reconnecting (short jitter)
///     hidden  ⇒ Offline { Hidden }  ── visible ⇒ Connecting (Reconnecting while a server's
///                                      Retry-After is still running)
///                Offline { GaveUp } ── reconnect() ⇒ Connecting
///     close() ⇒ Closed { ByApp }    ── reconnect() ⇒ Connecting
///     browser refuses ⇒ Closed { Refused } ── reconnect() ⇒ Connecting
///     `end`   ⇒ Closed { Ended }    (never reconnects on its own)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ConnectionStatus {
    /// An attempt to open the transport is in flight (or about to start).
    #[default]
    Connecting,
    /// The transport is open and delivering events.
    Connected,
    /// The connection failed; the next attempt is scheduled.
    Reconnecting {
        /// 1-based number of the attempt that will run at `retry_at`.
        attempt: u32,
        /// How long the wait is, in total.
        delay: Duration,
        /// When the attempt runs, on the clock passed to the state machine.
        retry_at: Timestamp,
    },
    /// Not connected and not retrying on a timer; see the reason.
    Offline {
        /// Why.
        reason: OfflineReason,
    },
    /// Closed; nothing reconnects automatically.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

impl ConnectionStatus {
    /// `true` only for [`ConnectionStatus::Connected`].
    pub fn is_connected(&self) -> bool {
        matches!(self, ConnectionStatus::Connected)
    }

    /// `true` when a "Retry now" control makes sense: waiting to reconnect, offline, or
    /// refused by the browser (what it refused, a header from a signal say, may have changed).
    pub fn can_retry_now(&self) -> bool {
        matches!(
            self,
            ConnectionStatus::Reconnecting { .. }
                | ConnectionStatus::Offline { .. }
                | ConnectionStatus::Closed {
                    reason: CloseReason::Refused { .. }
                }
        )
    }

    /// `true` for [`ConnectionStatus::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, ConnectionStatus::Closed { .. })
    }

    /// Stable machine-readable name (`"connecting"`, `"connected"`, `"reconnecting"`,
    /// `"offline"`, `"closed"`), e.g. for CSS classes and logs.
    pub fn name(&self) -> &'static str {
        match self {
            ConnectionStatus::Connecting => "connecting",
            ConnectionStatus::Connected => "connected",
            ConnectionStatus::Reconnecting { .. } => "reconnecting",
            ConnectionStatus::Offline { .. } => "offline",
            ConnectionStatus::Closed { .. } => "closed",
        }
    }

    /// A short human label: `"Live"`, `"Connecting…"`, `"Reconnecting (attempt 3)"`,
    /// `"Offline"`, `"Paused"`, `"Gave up after 5 retries"`, `"Closed"`, `"Stream complete"`.
    ///
    /// ```
    /// use leptos_task_stream::ConnectionStatus;
    /// assert_eq!(ConnectionStatus::Connected.label(), "Live");
    /// ```
    pub fn label(&self) -> String {
        match self {
            ConnectionStatus::Connecting => "Connecting…".into(),
            ConnectionStatus::Connected => "Live".into(),
            ConnectionStatus::Reconnecting { attempt, .. } => {
                format!("Reconnecting (attempt {attempt})")
            }
            ConnectionStatus::Offline { reason } => match reason {
                OfflineReason::Network => "Offline".into(),
                OfflineReason::Hidden => "Paused".into(),
                OfflineReason::GaveUp { attempts } => {
                    format!("Gave up after {attempts} retries")
                }
                OfflineReason::Rejected { .. } => "Refused by server".into(),
            },
            ConnectionStatus::Closed { reason } => match reason {
                CloseReason::NotStarted => "Not connected".into(),
                CloseReason::ByApp => "Closed".into(),
                CloseReason::Ended { .. } => "Stream complete".into(),
                CloseReason::Misconfigured { .. } => "Misconfigured".into(),
                CloseReason::Refused { .. } => "Refused by browser".into(),
            },
        }
    }

    /// Why the stream stopped, when there is more to say than the [`label`](Self::label): the
    /// server's refusal (`"HTTP 401 Unauthorized"`), the reason it sent with `end`, or what is
    /// wrong with the options. `None` for every other status. Written when called, so an app that
    /// never shows it does not carry its texts.
    ///
    /// ```
    /// use leptos_task_stream::{CloseReason, ConnectionError, ConnectionStatus, OfflineReason};
    /// let refused = ConnectionStatus::Offline {
    ///     reason: OfflineReason::Rejected { error: ConnectionError::Rejected { status: 403 } },
    /// };
    /// assert_eq!(refused.label(), "Refused by server");
    /// assert_eq!(refused.detail().as_deref(), Some("HTTP 403 Forbidden"));
    /// assert_eq!(ConnectionStatus::Connected.detail(), None);
    /// ```
    pub fn detail(&self) -> Option<String> {
        match self {
            ConnectionStatus::Offline {
                reason: OfflineReason::Rejected { error },
            } => Some(error.summary()),
            ConnectionStatus::Closed {
                reason: CloseReason::Ended { reason },
            } if !reason.is_empty() => Some(reason.clone()),
            ConnectionStatus::Closed {
                reason: CloseReason::Misconfigured { error },
            } => Some(error.to_string()),
            ConnectionStatus::Closed {
                reason: CloseReason::Refused { message },
            } => Some(message.clone()),
            _ => None,
        }
    }

    /// Time left before the scheduled retry at `now`, if one is scheduled.
    pub fn retry_in(&self, now: Timestamp) -> Option<Duration> {
        match self {
            ConnectionStatus::Reconnecting { retry_at, .. } => {
                Some(retry_at.saturating_duration_since(now))
            }
            _ => None,
        }
    }

    /// The label with a live countdown, e.g. `"Reconnecting in 4 s (attempt 3)"`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use leptos_task_stream::{ConnectionStatus, Timestamp};
    /// let s = ConnectionStatus::Reconnecting {
    ///     attempt: 3,
    ///     delay: Duration::from_secs(4),
    ///     retry_at: Timestamp::from_millis(10_000),
    /// };
    /// assert_eq!(s.describe(Timestamp::from_millis(6_200)), "Reconnecting in 4 s (attempt 3)");
    /// ```
    pub fn describe(&self, now: Timestamp) -> String {
        match (self, self.retry_in(now)) {
            (ConnectionStatus::Reconnecting { attempt, .. }, Some(left)) => {
                // Round up: "in 0 s" while a retry is still pending would read as a hang.
                // `left` is whole milliseconds from a `u64` clock: `u64` maths, no `u128` code.
                let secs = (left.as_millis() as u64).div_ceil(1000);
                if secs == 0 {
                    format!("Reconnecting now (attempt {attempt})")
                } else {
                    format!("Reconnecting in {secs} s (attempt {attempt})")
                }
            }
            _ => self.label(),
        }
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_names_for_every_variant() {
        let cases = [
            (ConnectionStatus::Connecting, "connecting", "Connecting…"),
            (ConnectionStatus::Connected, "connected", "Live"),
            (
                ConnectionStatus::Reconnecting {
                    attempt: 2,
                    delay: Duration::from_secs(2),
                    retry_at: Timestamp::from_millis(0),
                },
                "reconnecting",
                "Reconnecting (attempt 2)",
            ),
            (
                ConnectionStatus::Offline {
                    reason: OfflineReason::Network,
                },
                "offline",
                "Offline",
            ),
            (
                ConnectionStatus::Offline {
                    reason: OfflineReason::GaveUp { attempts: 5 },
                },
                "offline",
                "Gave up after 5 retries",
            ),
            (
                ConnectionStatus::Closed {
                    reason: CloseReason::Ended {
                        reason: "done".into(),
                    },
                },
                "closed",
                "Stream complete",
            ),
        ];
        for (status, name, label) in cases {
            assert_eq!(status.name(), name);
            assert_eq!(status.label(), label);
            assert_eq!(status.to_string(), label);
        }
    }

    #[test]
    fn helpers_answer_what_a_badge_needs() {
        assert!(ConnectionStatus::Connected.is_connected());
        assert!(!ConnectionStatus::Connecting.is_connected());
        assert!(ConnectionStatus::Offline {
            reason: OfflineReason::Network
        }
        .can_retry_now());
        assert!(!ConnectionStatus::Connected.can_retry_now());
        assert!(ConnectionStatus::Closed {
            reason: CloseReason::ByApp
        }
        .is_closed());
    }

    #[test]
    fn detail_says_why_a_stream_stopped_and_nothing_otherwise() {
        let closed = |reason| ConnectionStatus::Closed { reason };
        assert_eq!(
            closed(CloseReason::Ended {
                reason: "mission complete".into()
            })
            .detail()
            .as_deref(),
            Some("mission complete")
        );
        assert_eq!(
            closed(CloseReason::Ended { reason: "".into() }).detail(),
            None
        );
        assert_eq!(
            closed(CloseReason::Misconfigured {
                error: crate::BackoffError::ZeroMaxAttempts
            })
            .detail()
            .as_deref(),
            Some("backoff max_attempts must be at least 1 (use None to retry forever)")
        );
        let refused = |error| ConnectionStatus::Offline {
            reason: OfflineReason::Rejected { error },
        };
        assert_eq!(
            refused(crate::ConnectionError::Unauthorized { status: 401 })
                .detail()
                .as_deref(),
            Some("HTTP 401 Unauthorized")
        );
        assert_eq!(
            refused(crate::ConnectionError::NotAStream {
                content_type: "text/html".into()
            })
            .detail()
            .as_deref(),
            Some("not an event stream (text/html)")
        );
        for quiet in [
            ConnectionStatus::Connected,
            ConnectionStatus::Connecting,
            closed(CloseReason::ByApp),
            closed(CloseReason::NotStarted),
            ConnectionStatus::Offline {
                reason: OfflineReason::GaveUp { attempts: 3 },
            },
            ConnectionStatus::Offline {
                reason: OfflineReason::Network,
            },
        ] {
            assert_eq!(quiet.detail(), None, "{quiet:?}");
        }
    }

    #[test]
    fn countdown_rounds_up_and_never_goes_negative() {
        let s = ConnectionStatus::Reconnecting {
            attempt: 1,
            delay: Duration::from_secs(1),
            retry_at: Timestamp::from_millis(5_000),
        };
        assert_eq!(
            s.describe(Timestamp::from_millis(4_001)),
            "Reconnecting in 1 s (attempt 1)"
        );
        assert_eq!(
            s.describe(Timestamp::from_millis(9_000)),
            "Reconnecting now (attempt 1)"
        );
        assert_eq!(
            s.retry_in(Timestamp::from_millis(9_000)),
            Some(Duration::ZERO)
        );
        assert_eq!(
            ConnectionStatus::Connected.describe(Timestamp::from_millis(1)),
            "Live"
        );
    }

    #[test]
    fn timestamps_saturate() {
        assert_eq!(
            Timestamp::from_millis_f64(f64::NAN),
            Timestamp::from_millis(0)
        );
        assert_eq!(Timestamp::from_millis_f64(-5.0), Timestamp::from_millis(0));
        assert_eq!(
            Timestamp::from_millis(u64::MAX) + Duration::from_secs(1),
            Timestamp::from_millis(u64::MAX)
        );
    }
}
