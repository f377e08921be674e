//! Bundle-size benchmark: the counter plus leptos-use's `use_event_source`, showing its ready
//! state and last message.

// leptos-use 0.20 deprecates its umbrella re-exports in favour of micro crates
// (`leptos-use-event-source`); the benchmark measures the umbrella crate with only this
// function's feature, which compiles the same micro crate.
#![allow(deprecated)]

use codee::string::FromToStringCodec;
use leptos::prelude::*;
use leptos_use::{use_event_source, UseEventSourceReturn};

fn main() {
    leptos::mount::mount_to_body(|| {
        let (count, set_count) = signal(0);
        let UseEventSourceReturn {
            ready_state, message, ..
        } = use_event_source::<String, FromToStringCodec>("/api/events");
        view! {
            <button on:click=move |_| set_count.update(|n| *n += 1)>"Count: " {count}</button>
            <p role="status">{move || ready_state.get().to_string()}</p>
            <p>{move || message.get().map(|m| m.data)}</p>
        }
    });
}
