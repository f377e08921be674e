//! Bundle-size benchmark: the counter plus `use_task_stream`, showing its status label and task count.
use leptos::prelude::*;
use leptos_task_stream::{use_task_stream, TaskStreamOptions};

fn main() {
    leptos::mount::mount_to_body(|| {
        let (count, set_count) = signal(0);
        let stream = use_task_stream("/api/events", TaskStreamOptions::default());
        view! {
            <button on:click=move |_| set_count.update(|n| *n += 1)>"Count: " {count}</button>
            <p role="status">{move || stream.status.get().label()}</p>
            <p>"Tasks: " {move || stream.tasks.len()}</p>
        }
    });
}
