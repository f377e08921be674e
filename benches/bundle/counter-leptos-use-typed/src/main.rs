//! Bundle-size benchmark: the counter plus leptos-use's `use_event_source` decoding the
//! protocol's `task` events into `Task` with serde_json, showing its ready state and the last
//! task's title: the typed decoding `use_task_stream` does, done the way leptos-use offers it.

// leptos-use 0.20 deprecates its umbrella re-exports in favour of micro crates; see
// counter-leptos-use.
#![allow(deprecated)]

use codee::string::JsonSerdeCodec;
use leptos::prelude::*;
use leptos_use::{use_event_source_with_options, UseEventSourceOptions, UseEventSourceReturn};
use task_stream_protocol::Task;

fn main() {
    leptos::mount::mount_to_body(|| {
        let (count, set_count) = signal(0);
        let UseEventSourceReturn {
            ready_state, message, ..
        } = use_event_source_with_options::<Task, JsonSerdeCodec>(
            "/api/events",
            UseEventSourceOptions::default().named_events(["task".to_string()]),
        );
        view! {
            <button on:click=move |_| set_count.update(|n| *n += 1)>"Count: " {count}</button>
            <p role="status">{move || ready_state.get().to_string()}</p>
            <p>{move || message.get().map(|m| m.data.title)}</p>
        }
    });
}
