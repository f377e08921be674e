//! A ticking clock signal for countdowns and relative timestamps.

use std::time::Duration;

use leptos::prelude::*;

/// A signal holding `read()` refreshed every `period` while the owning component lives.
/// On the server it is read once and never ticks.
pub(crate) fn use_ticker<T>(period: Duration, read: fn() -> T) -> ReadSignal<T>
where
    T: Send + Sync + 'static,
{
    let (value, set_value) = signal(read());
    #[cfg(target_arch = "wasm32")]
    {
        if let Ok(handle) = set_interval_with_handle(move || set_value.set(read()), period) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (period, set_value);
    value
}

/// A trigger notified every `period` while `active()` holds (tracked: the timer starts and
/// stops with it), so that a component idle most of the time sets no timer then. Never
/// notified on the server.
pub(crate) fn use_tick_while(period: Duration, active: impl Fn() -> bool + 'static) -> ArcTrigger {
    let tick = ArcTrigger::new();
    #[cfg(target_arch = "wasm32")]
    {
        let tick = tick.clone();
        Effect::new(move |_| {
            if active() {
                let tick = tick.clone();
                if let Ok(handle) = set_interval_with_handle(move || tick.notify(), period) {
                    // Runs before the effect's next run and when the component goes.
                    on_cleanup(move || handle.clear());
                }
            }
        });
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (period, active);
    tick
}
