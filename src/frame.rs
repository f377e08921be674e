//! "Run this before the next paint": the batching point for signal updates.

/// Runs `f` before the next animation frame in the browser (so a burst of events costs one
/// render), and at once elsewhere (SSR and native tests, where nothing paints).
///
/// Browsers give hidden tabs no animation frames: there a timer runs `f` instead (browsers
/// throttle it to about once a second), so that the store, the counts and the effects that
/// watch them (a title counter, a notification) stay current in a background tab, and what
/// waits for the flush stays bounded. Whichever comes first runs `f`, once.
pub(crate) fn on_next_frame(f: impl FnOnce() + 'static) {
    next_frame_boxed(Box::new(f));
}

/// The timer's delay: far beyond a visible tab's frame, so there the frame comes first and the
/// timer finds nothing left to run (unless the page is too busy to paint for that long).
#[cfg(target_arch = "wasm32")]
const HIDDEN_TAB_DELAY: std::time::Duration = std::time::Duration::from_millis(250);

/// Boxed, so that the browser callback is compiled once rather than once per caller.
fn next_frame_boxed(f: Box<dyn FnOnce()>) {
    #[cfg(target_arch = "wasm32")]
    {
        let slot = std::rc::Rc::new(std::cell::Cell::new(Some(f)));
        let timer_slot = slot.clone();
        leptos::prelude::request_animation_frame(move || {
            if let Some(f) = slot.take() {
                f();
            }
        });
        leptos::prelude::set_timeout(
            move || {
                if let Some(f) = timer_slot.take() {
                    f();
                }
            },
            HIDDEN_TAB_DELAY,
        );
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        f();
    }
}
