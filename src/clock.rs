//! The monotonic clock the driver feeds to the state machine.

use crate::status::Timestamp;

/// Now, on the clock used for [`ConnectionStatus::Reconnecting::retry_at`](crate::ConnectionStatus):
/// `performance.now()` in the browser (monotonic, unaffected by wall-clock changes), and
/// milliseconds since the first call on native targets.
///
/// ```
/// let a = leptos_task_stream::now();
/// let b = leptos_task_stream::now();
/// assert!(b >= a);
/// ```
pub fn now() -> Timestamp {
    imp::now()
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Timestamp;

    thread_local! {
        /// Looked up once: the driver reads the clock on every event, and finding
        /// `window.performance` anew costs four more calls into JavaScript each time.
        static PERFORMANCE: Option<web_sys::Performance> =
            web_sys::window().and_then(|w| w.performance());
    }

    pub fn now() -> Timestamp {
        let ms = PERFORMANCE
            .with(|p| p.as_ref().map(|p| p.now()))
            .unwrap_or_else(js_sys::Date::now);
        Timestamp::from_millis_f64(ms)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::Timestamp;
    use std::sync::OnceLock;
    use std::time::Instant;

    pub fn now() -> Timestamp {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        let origin = *ORIGIN.get_or_init(Instant::now);
        Timestamp::from_millis(u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX))
    }
}
