use std::time::Duration;

use leptos::prelude::*;

use super::clock::use_ticker;
use super::shared::use_task_stream_context;
use crate::hash::FxSet;
use crate::protocol::TaskStatus;
use crate::task_store::TaskStore;
use crate::time::{format_age, parse_rfc3339_ms, wall_clock_ms};
use crate::use_task_stream::UseTaskStream;

/// The task board: columns Queued / Running / Blocked / Done / Failed with counts, and a card
/// per task with its title, agent, progress and age.
///
/// Keyed and fine-grained: a task's update re-renders its own card only; a status change moves
/// that one card to its new column. A large snapshot or a burst of new tasks renders
/// progressively, at most 64 new cards per column per animation frame (the counts are complete
/// at once), so it never turns into one long main-thread task. Renders `<section class="lts-board">` with five
/// `<div class="lts-column" data-status="…">` and `<article class="lts-card" data-task-id="…">`.
///
/// ```no_run
/// use leptos::prelude::*;
/// use leptos_task_stream::{TaskBoard, TaskStreamProvider};
///
/// #[component]
/// fn Board() -> impl IntoView {
///     view! { <TaskStreamProvider url="/api/events"><TaskBoard/></TaskStreamProvider> }
/// }
/// ```
#[component]
pub fn TaskBoard(
    /// The stream whose tasks to show. Defaults to the one provided by the nearest
    /// [`TaskStreamProvider`](crate::TaskStreamProvider).
    #[prop(optional)]
    stream: Option<UseTaskStream>,
    /// Text shown while the board is empty. Defaults to "No tasks yet".
    #[prop(optional, into)]
    empty_text: Option<String>,
) -> impl IntoView {
    let stream = stream.unwrap_or_else(use_task_stream_context);
    let tasks = stream.tasks;
    let now = use_ticker(Duration::from_secs(1), wall_clock_ms);
    let empty_text = empty_text.unwrap_or_else(|| "No tasks yet".to_owned());
    view! {
        <section class="lts-board" aria-label="Task board">
            <Show when=move || tasks.is_empty()>
                <p class="lts-empty">{empty_text.clone()}</p>
            </Show>
            <div class="lts-columns">
                {TaskStatus::ALL
                    .into_iter()
                    .map(|status| view! { <Column tasks status now/> })
                    .collect_view()}
            </div>
        </section>
    }
}

/// Cards a column adds per animation frame in the browser. A snapshot or a burst of thousands
/// of new tasks then renders over a few frames (its first cards at once) instead of in one long
/// main-thread task: building a card takes about 0.1 ms, so 1,000 at once would freeze the page
/// for a tenth of a second.
const CARDS_PER_FRAME: usize = 64;

/// The ids a column renders now: the longest prefix of its ids that holds at most
/// [`CARDS_PER_FRAME`] ids it did not render last time (cards to build), asking for another
/// look next frame while some are still waiting. Counting new ids, not the length, also bounds
/// a snapshot that replaces every card of a long column. New tasks join a column at its end,
/// so the waiting ones are the newest; the column's count is always the full one.
fn growing_ids(
    ids: Signal<Vec<String>>,
    rendered: StoredValue<FxSet<String>>,
    more: ArcTrigger,
) -> impl Fn() -> Vec<String> + Send + Sync + 'static {
    move || {
        more.track();
        ids.with(|all| {
            let budget = if cfg!(target_arch = "wasm32") {
                CARDS_PER_FRAME
            } else {
                usize::MAX
            };
            let mut n = all.len();
            rendered.update_value(|before| {
                let mut fresh = 0;
                for (i, id) in all.iter().enumerate() {
                    if !before.contains(id) {
                        fresh += 1;
                        if fresh > budget {
                            n = i;
                            break;
                        }
                    }
                }
                before.clear();
                before.extend(all[..n].iter().cloned());
            });
            if n < all.len() {
                let more = more.clone();
                crate::frame::on_next_frame(move || more.notify());
            }
            all[..n].to_vec()
        })
    }
}

#[component]
fn Column(tasks: TaskStore, status: TaskStatus, now: ReadSignal<i64>) -> impl IntoView {
    let ids = tasks.column(status);
    let shown = growing_ids(ids, StoredValue::new(FxSet::default()), ArcTrigger::new());
    view! {
        <div class="lts-column" data-status=status.as_str()>
            <h3 class="lts-column-title">
                <span class="lts-column-name">{status.label()}</span>
                <span class="lts-count">{move || ids.with(Vec::len)}</span>
            </h3>
            <div class="lts-cards">
                <For each=shown key=|id| id.clone() let:id>
                    <TaskCard tasks id now/>
                </For>
            </div>
        </div>
    }
}

#[component]
fn TaskCard(tasks: TaskStore, id: String, now: ReadSignal<i64>) -> impl IntoView {
    let Some(task) = tasks.task(&id) else {
        return ().into_any();
    };
    // Owned by this card: freed when the card unmounts.
    let task: Signal<crate::protocol::Task> = task.into();
    let progress = move || {
        task.with(|t| {
            t.progress
                .filter(|p| p.is_finite())
                .map(|p| p.clamp(0.0, 1.0))
        })
    };
    let age = move || {
        task.with(|t| parse_rfc3339_ms(&t.updated_at))
            .map(|at| format_age(now.get() - at))
            .unwrap_or_default()
    };
    view! {
        <article class="lts-card" data-task-id=id data-status=move || task.with(|t| t.status.as_str())>
            <h4 class="lts-card-title">{move || task.with(|t| t.title.clone())}</h4>
            <div class="lts-card-meta">
                <span class="lts-agent">{move || task.with(|t| t.agent.clone())}</span>
                <time class="lts-age" datetime=move || task.with(|t| t.updated_at.clone())>{age}</time>
            </div>
            <Show when=move || progress().is_some()>
                <progress
                    class="lts-progress"
                    aria-label="Progress"
                    max="1"
                    value=move || progress().unwrap_or(0.0)
                ></progress>
            </Show>
        </article>
    }
    .into_any()
}
