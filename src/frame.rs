//! "Run this before the next paint": the batching point for signal updates.

/// Runs `f` before the next animation frame in the browser (so a burst of events costs one
/// render), and at once elsewhere (SSR and native tests, where nothing paints).
///
/// Browsers pause animation frames in hidden tabs; the work then waits until the tab is shown,
/// which is what a dashboard in a background tab wants.
pub(crate) fn on_next_frame(f: impl FnOnce() + 'static) {
    next_frame_boxed(Box::new(f));
}

/// Boxed, so that the browser callback is compiled once rather than once per caller.
fn next_frame_boxed(f: Box<dyn FnOnce()>) {
    #[cfg(target_arch = "wasm32")]
    {
        leptos::prelude::request_animation_frame(f);
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        f();
    }
}
