//! The reconnect delay policy: capped exponential backoff with jitter.
//!
//! Pure: no clock, no global randomness. The caller passes the attempt number, the previous
//! delay (for decorrelated jitter) and a [`JitterRng`].

use std::time::Duration;

/// Delays longer than this are refused by [`Backoff::validate`] and by
/// [`ConnectionMachine::new`](crate::ConnectionMachine::new) (for `max_retry_after`,
/// `stale_after`, `online_jitter`): browser timers take a 32-bit millisecond count, and a day
/// between retries is already a misconfiguration.
pub const MAX_SUPPORTED_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

/// [`BackoffError::TooLong`] for the first of these named delay settings over
/// [`MAX_SUPPORTED_DELAY`].
pub(crate) fn check_delays<const N: usize>(
    delays: [(&'static str, Duration); N],
) -> Result<(), BackoffError> {
    match delays
        .into_iter()
        .find(|(_, value)| *value > MAX_SUPPORTED_DELAY)
    {
        Some((field, value)) => Err(BackoffError::TooLong { field, value }),
        None => Ok(()),
    }
}

/// How randomness is mixed into each delay, after the "Exponential Backoff and Jitter" analysis
/// (AWS Architecture Blog). With `base = min(max_delay, initial · factorⁿ⁻¹)` for attempt `n`:
///
/// | mode | delay drawn from |
/// |---|---|
/// | `None` | exactly `base` |
/// | `Full` | uniform in `[0, base]` |
/// | `Equal` (the default) | uniform in `[base/2, base]` |
/// | `Decorrelated` | uniform in `[initial, min(max_delay, 3 · max(previous, initial))]` (`previous` starts at `initial`; it is the policy's own previous draw, before any server floor raised it) |
///
/// Without jitter, every client dropped at the same instant retries at the same instant, forever:
/// the reconnect storm this crate exists to prevent.
///
/// **Why `Equal` is the default.** In the storm simulation (`docs/benchmarks.md`: 10,000 clients
/// dropped at once, a 120 s outage, the crate's real state machine) equal jitter put the least
/// load on the server of the jittered modes during the outage (about 3N/4C attempts/s against
/// 2N/C for full and more for decorrelated), made the fewest attempts in all, caused the
/// smallest connection spike at recovery, and recovered much sooner after short outages, because
/// full jitter's near-zero draws burn through attempts and escalate to long waits. Its cost is a
/// somewhat later median recovery after long outages; every mode recovers within about the cap.
/// It also never retries sooner than half the base delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Jitter {
    /// No randomness: `base`. Only for tests and single clients.
    None,
    /// Uniform in `[0, base]`: the widest spread, but draws near zero retry almost at once.
    Full,
    /// Uniform in `[base/2, base]`: never retries sooner than half the base (the default).
    #[default]
    Equal,
    /// Uniform in `[initial, 3 · max(previous, initial)]`, capped: grows from the policy's
    /// previous draw (a shorter spread first retry counts as `initial`; a server's `retry:`
    /// floor raises the wait, not the base the next draw grows from).
    Decorrelated,
}

impl Jitter {
    /// Every mode, for tables and tests.
    pub const ALL: [Jitter; 4] = [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ];

    /// Short lowercase name (`"none"`, `"full"`, `"equal"`, `"decorrelated"`).
    pub fn name(self) -> &'static str {
        match self {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
            Jitter::Decorrelated => "decorrelated",
        }
    }
}

impl std::fmt::Display for Jitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a [`Backoff`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackoffError {
    /// `initial` was zero: every retry would be immediate, a tight reconnect loop.
    #[error(
        "backoff initial delay must be greater than zero (a zero delay retries in a tight loop)"
    )]
    ZeroInitial,
    /// `factor` was NaN, infinite or below 1.0.
    #[error("backoff factor must be a finite number ≥ 1.0, got {0}")]
    BadFactor(Factor),
    /// `max_delay` was below `initial`.
    #[error("backoff max_delay ({} ms) must be ≥ initial ({} ms)", millis(.max), millis(.initial))]
    CapBelowInitial {
        /// The configured initial delay.
        initial: Duration,
        /// The configured cap.
        max: Duration,
    },
    /// A delay setting exceeded [`MAX_SUPPORTED_DELAY`]: a backoff delay, or the stream's
    /// `max_retry_after`, `stale_after` or `online_jitter`.
    #[error("{field} ({} s) exceeds the supported maximum of 24 h", .value.as_secs())]
    TooLong {
        /// Which setting, e.g. `"backoff max_delay"` or `"max_retry_after"`.
        field: &'static str,
        /// Its value.
        value: Duration,
    },
    /// `max_attempts` was `Some(0)`: the stream could never reconnect.
    #[error("backoff max_attempts must be at least 1 (use None to retry forever)")]
    ZeroMaxAttempts,
}

/// A refused backoff factor, as it was given (NaN included).
///
/// Its text is written only when it is displayed: formatting it up front would link float
/// formatting into every app, including the apps that never show the error.
///
/// ```
/// use leptos_task_stream::{Backoff, BackoffError};
/// let Err(BackoffError::BadFactor(f)) = Backoff::default().factor(0.5).validate() else {
///     unreachable!()
/// };
/// assert_eq!(f.value(), 0.5);
/// assert_eq!(f.to_string(), "0.5");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Factor(u64);

impl Factor {
    fn new(value: f64) -> Self {
        Factor(value.to_bits())
    }

    /// The factor that was given.
    pub fn value(self) -> f64 {
        f64::from_bits(self.0)
    }
}

impl std::fmt::Display for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::text::display(self.value()))
    }
}

impl std::fmt::Debug for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// `d.as_millis()` as text, without `u128` formatting (which would add kilobytes to every app's
/// wasm): the whole seconds, then the milliseconds as three digits.
fn millis(d: &Duration) -> String {
    match d.as_secs() {
        0 => d.subsec_millis().to_string(),
        secs => format!("{secs}{:03}", d.subsec_millis()),
    }
}

/// A capped exponential backoff policy with jitter.
///
/// Defaults: `initial` 1 s, `factor` 2.0, `max_delay` 30 s, [`Jitter::Equal`], no attempt limit,
/// `reset_after` 10 s, no first-retry spread.
///
/// ```
/// use std::time::Duration;
/// use leptos_task_stream::{Backoff, Jitter};
///
/// let policy = Backoff::default()
///     .initial(Duration::from_millis(500))
///     .max_delay(Duration::from_secs(60))
///     .jitter(Jitter::Equal)
///     .max_attempts(Some(20));
/// assert!(policy.validate().is_ok());
/// // Attempt 4 without jitter would wait 500 ms · 2³ = 4 s; equal jitter draws from [2 s, 4 s].
/// assert_eq!(policy.bounds(4, None), (Duration::from_secs(2), Duration::from_secs(4)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    initial: Duration,
    factor: f64,
    max_delay: Duration,
    jitter: Jitter,
    max_attempts: Option<u32>,
    reset_after: Duration,
    first_retry_spread: Option<Duration>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            factor: 2.0,
            max_delay: Duration::from_secs(30),
            jitter: Jitter::default(),
            max_attempts: None,
            reset_after: Duration::from_secs(10),
            first_retry_spread: None,
        }
    }
}

impl Backoff {
    /// Delay before the first retry, before jitter. Defaults to 1 s.
    pub fn initial(mut self, initial: Duration) -> Self {
        self.initial = initial;
        self
    }

    /// Growth per attempt. Defaults to 2.0 (1 s, 2 s, 4 s, 8 s …).
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// The cap: no delay is ever longer. Defaults to 30 s.
    pub fn max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// Jitter mode. Defaults to [`Jitter::Equal`] (see [`Jitter`] for why).
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Give up (status `Offline { reason: GaveUp }`) when this many retries in a row have
    /// failed. The first attempt is not a retry: `Some(3)` connects at most four times.
    /// Defaults to `None`: never give up. The count resets after a healthy connection (see
    /// [`reset_after`](Self::reset_after)), however it ends, and on `reconnect()` after giving
    /// up or closing; "Retry now" during a wait keeps the streak.
    pub fn max_attempts(mut self, max_attempts: Option<u32>) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// How long a connection must stay up before the attempt counter resets to zero. Defaults
    /// to 10 s. A server that accepts and drops at once therefore keeps clients backing off
    /// instead of pulling them back to the base delay on every open.
    ///
    /// `Duration::ZERO` turns that guard off: every connection that opened resets the counter
    /// when it ends, however briefly it was up, so against such a server every retry is
    /// attempt 1 (the `initial` delay) and [`max_attempts`](Self::max_attempts) never gives up.
    pub fn reset_after(mut self, reset_after: Duration) -> Self {
        self.reset_after = reset_after;
        self
    }

    /// When set, the first retry of every failure streak (after a connection drops, and after a
    /// first connect that fails) waits a uniformly random time in `[0, min(spread, max_delay)]`
    /// instead of the attempt-1 delay. Spreads the first wave after a mass
    /// disconnect (every client of a restarted server dropped in the same millisecond) over a
    /// window. Defaults to `None`.
    pub fn first_retry_spread(mut self, spread: Option<Duration>) -> Self {
        self.first_retry_spread = spread;
        self
    }

    /// The configured initial delay.
    pub fn initial_delay(&self) -> Duration {
        self.initial
    }

    /// The configured factor.
    pub fn growth_factor(&self) -> f64 {
        self.factor
    }

    /// The configured cap.
    pub fn cap(&self) -> Duration {
        self.max_delay
    }

    /// The configured jitter mode.
    pub fn jitter_mode(&self) -> Jitter {
        self.jitter
    }

    /// The configured attempt limit.
    pub fn attempt_limit(&self) -> Option<u32> {
        self.max_attempts
    }

    /// The configured healthy-connection window.
    pub fn reset_window(&self) -> Duration {
        self.reset_after
    }

    /// The configured first-retry spread.
    pub fn first_spread(&self) -> Option<Duration> {
        self.first_retry_spread
    }

    /// Checks the policy, naming the first problem found.
    ///
    /// ```
    /// use std::time::Duration;
    /// use leptos_task_stream::{Backoff, BackoffError};
    ///
    /// assert!(matches!(Backoff::default().factor(f64::NAN).validate(), Err(BackoffError::BadFactor(_))));
    /// assert!(matches!(
    ///     Backoff::default().max_delay(Duration::from_millis(10)).validate(),
    ///     Err(BackoffError::CapBelowInitial { .. })
    /// ));
    /// ```
    pub fn validate(&self) -> Result<(), BackoffError> {
        if self.initial.is_zero() {
            return Err(BackoffError::ZeroInitial);
        }
        if !self.factor.is_finite() || self.factor < 1.0 {
            return Err(BackoffError::BadFactor(Factor::new(self.factor)));
        }
        check_delays([
            ("backoff initial", self.initial),
            ("backoff max_delay", self.max_delay),
            ("backoff reset_after", self.reset_after),
            (
                "backoff first_retry_spread",
                self.first_retry_spread.unwrap_or_default(),
            ),
        ])?;
        if self.max_delay < self.initial {
            return Err(BackoffError::CapBelowInitial {
                initial: self.initial,
                max: self.max_delay,
            });
        }
        if self.max_attempts == Some(0) {
            return Err(BackoffError::ZeroMaxAttempts);
        }
        Ok(())
    }

    /// The un-jittered delay for `attempt` (1-based): `min(max_delay, initial · factor^(attempt-1))`.
    /// Saturates: attempt 10,000 (or `u32::MAX`) gives the cap, never an overflow.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let cap = self.max_delay.as_secs_f64();
        let exp = attempt.saturating_sub(1);
        let raw = self.initial.as_secs_f64() * self.factor.powi(exp.min(i32::MAX as u32) as i32);
        if !raw.is_finite() || raw >= cap {
            self.max_delay
        } else {
            // `try_`: the panicking conversion would link its panic texts into every app.
            Duration::try_from_secs_f64(raw.max(0.0)).unwrap_or(self.max_delay)
        }
    }

    /// The closed range `[lo, hi]` the delay of `attempt` is drawn from, given the previous
    /// actual delay (used by [`Jitter::Decorrelated`]; `None` means "no previous delay").
    pub fn bounds(&self, attempt: u32, previous: Option<Duration>) -> (Duration, Duration) {
        let base = self.base_delay(attempt);
        match self.jitter {
            Jitter::None => (base, base),
            Jitter::Full => (Duration::ZERO, base),
            Jitter::Equal => (base / 2, base),
            Jitter::Decorrelated => {
                let prev = previous.unwrap_or(self.initial).max(self.initial);
                let hi = prev.saturating_mul(3).min(self.max_delay);
                (self.initial.min(hi), hi)
            }
        }
    }

    /// Draws the delay before retry `attempt` (1-based). Always within [`bounds`](Self::bounds),
    /// so never above `max_delay` and never negative.
    pub fn delay(&self, attempt: u32, previous: Option<Duration>, rng: &mut JitterRng) -> Duration {
        let (lo, hi) = self.bounds(attempt, previous);
        rng.duration_between(lo, hi)
    }
}

/// A small, seedable pseudo-random generator (SplitMix64) for jitter.
///
/// Seed it from a random source in production (the browser driver seeds it with two calls to
/// `Math.random`) and from a constant in tests so that every schedule is repeatable.
///
/// ```
/// use leptos_task_stream::JitterRng;
/// let mut a = JitterRng::from_seed(7);
/// let mut b = JitterRng::from_seed(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitterRng {
    state: u64,
}

impl JitterRng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn from_seed(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        // 53 high bits: every value exactly representable.
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform duration in `[lo, hi]` at microsecond resolution (`lo` when `hi <= lo`).
    pub fn duration_between(&mut self, lo: Duration, hi: Duration) -> Duration {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo).as_micros().min(u64::MAX as u128) as u64;
        // Inclusive range: span + 1 possible offsets. Modulo bias is below 2⁻⁴⁰ for spans ≤ 1 day.
        let offset = self.next_u64() % (span.saturating_add(1));
        lo + Duration::from_micros(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn millis_reads_as_as_millis() {
        for secs in [0, 1, 86_400, u64::MAX / 1_000, u64::MAX] {
            for nanos in [0, 999_999, 1_000_000, 7_000_000, 999_999_999] {
                let d = Duration::new(secs, nanos);
                assert_eq!(millis(&d), d.as_millis().to_string(), "{d:?}");
            }
        }
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let b = Backoff::default();
        assert_eq!(b.initial_delay(), secs(1));
        assert_eq!(b.growth_factor(), 2.0);
        assert_eq!(b.cap(), secs(30));
        assert_eq!(b.jitter_mode(), Jitter::Equal);
        assert_eq!(b.attempt_limit(), None);
        assert_eq!(b.reset_window(), secs(10));
        assert_eq!(b.first_spread(), None);
        assert!(b.validate().is_ok());
    }

    #[test]
    fn base_delay_doubles_from_one_second_up_to_the_cap() {
        let b = Backoff::default();
        let got: Vec<u64> = (1..=8).map(|n| b.base_delay(n).as_secs()).collect();
        assert_eq!(got, vec![1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(
            b.base_delay(0),
            secs(1),
            "attempt 0 is treated as the first"
        );
    }

    #[test]
    fn base_delay_saturates_at_huge_attempts() {
        let b = Backoff::default();
        for n in [31, 64, 1_000, 10_000, u32::MAX] {
            assert_eq!(b.base_delay(n), secs(30), "attempt {n}");
        }
        let flat = Backoff::default().factor(1.0);
        assert_eq!(flat.base_delay(10_000), secs(1));
    }

    #[test]
    fn validation_names_each_problem() {
        let d = Backoff::default;
        assert_eq!(
            d().initial(Duration::ZERO).validate(),
            Err(BackoffError::ZeroInitial)
        );
        for f in [f64::NAN, f64::INFINITY, -2.0, 0.0, 0.5] {
            assert!(
                matches!(d().factor(f).validate(), Err(BackoffError::BadFactor(_))),
                "{f}"
            );
        }
        assert!(matches!(
            d().initial(secs(5)).max_delay(secs(2)).validate(),
            Err(BackoffError::CapBelowInitial { .. })
        ));
        assert!(matches!(
            d().max_delay(secs(100_000)).validate(),
            Err(BackoffError::TooLong {
                field: "backoff max_delay",
                ..
            })
        ));
        assert_eq!(
            d().max_attempts(Some(0)).validate(),
            Err(BackoffError::ZeroMaxAttempts)
        );
        assert!(
            d().initial(secs(2)).max_delay(secs(2)).validate().is_ok(),
            "cap == initial is fine"
        );
        let msg = d().factor(f64::NAN).validate().unwrap_err().to_string();
        assert!(msg.contains("factor"), "{msg}");
    }

    #[test]
    fn bounds_follow_each_jitter_definition() {
        let b = Backoff::default();
        assert_eq!(
            b.clone().jitter(Jitter::None).bounds(3, None),
            (secs(4), secs(4))
        );
        assert_eq!(
            b.clone().jitter(Jitter::Full).bounds(3, None),
            (Duration::ZERO, secs(4))
        );
        assert_eq!(
            b.clone().jitter(Jitter::Equal).bounds(3, None),
            (secs(2), secs(4))
        );
        let dec = b.clone().jitter(Jitter::Decorrelated);
        assert_eq!(dec.bounds(1, None), (secs(1), secs(3)));
        assert_eq!(dec.bounds(7, Some(secs(5))), (secs(1), secs(15)));
        assert_eq!(dec.bounds(7, Some(secs(29))), (secs(1), secs(30)), "capped");
    }

    #[test]
    fn delays_stay_in_bounds_and_are_repeatable() {
        for jitter in Jitter::ALL {
            let b = Backoff::default().jitter(jitter);
            let mut r1 = JitterRng::from_seed(42);
            let mut r2 = JitterRng::from_seed(42);
            let mut prev = None;
            for n in 1..=200 {
                let d = b.delay(n, prev, &mut r1);
                assert_eq!(d, b.delay(n, prev, &mut r2), "repeatable");
                let (lo, hi) = b.bounds(n, prev);
                assert!(
                    lo <= d && d <= hi && d <= secs(30),
                    "{jitter} attempt {n}: {d:?}"
                );
                prev = Some(d);
            }
        }
    }

    #[test]
    fn full_jitter_spreads_over_the_whole_range() {
        let b = Backoff::default().jitter(Jitter::Full);
        let mut rng = JitterRng::from_seed(1);
        let draws: Vec<f64> = (0..10_000)
            .map(|_| b.delay(10, None, &mut rng).as_secs_f64())
            .collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 15.0).abs() < 0.5, "mean {mean}");
        assert!(draws.iter().any(|&d| d < 1.0) && draws.iter().any(|&d| d > 29.0));
    }

    #[test]
    fn rng_float_is_in_unit_interval_and_duration_between_is_inclusive() {
        let mut rng = JitterRng::from_seed(0);
        for _ in 0..10_000 {
            let f = rng.next_f64();
            assert!((0.0..1.0).contains(&f));
        }
        assert_eq!(rng.duration_between(secs(3), secs(3)), secs(3));
        assert_eq!(rng.duration_between(secs(3), secs(1)), secs(3));
    }
}
