//! Bundle-size benchmark: the counter plus `use_text_stream` (the connection layer, no decoding),
//! showing its status label and last message: the like-for-like of leptos-use's undecoded
//! `use_event_source`.
use leptos::prelude::*;
use leptos_task_stream::{use_text_stream, EventStreamOptions, StreamMessage};

fn main() {
    leptos::mount::mount_to_body(|| {
        let (count, set_count) = signal(0);
        let (message, set_message) = signal(None::<String>);
        let stream = use_text_stream(
            "/api/events",
            EventStreamOptions::default(),
            move |msg: StreamMessage<String>| set_message.set(Some(msg.data)),
        );
        view! {
            <button on:click=move |_| set_count.update(|n| *n += 1)>"Count: " {count}</button>
            <p role="status">{move || stream.status.get().label()}</p>
            <p>{move || message.get()}</p>
        }
    });
}
