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
/// progressively, at most 64 new cards per animation frame across the board (the counts are
/// complete at once), so it never turns into one long main-thread task. Renders `<section class="lts-board">` with five
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
    let budget = StoredValue::new(FrameBudget::new());
    view! {
        <section class="lts-board" aria-label="Task board">
            <Show when=move || tasks.is_empty()>
                <p class="lts-empty">{empty_text.clone()}</p>
            </Show>
            <div class="lts-columns">
                {TaskStatus::ALL
                    .into_iter()
                    .map(|status| view! { <Column tasks status now budget/> })
                    .collect_view()}
            </div>
        </section>
    }
}

/// Cards the whole board builds per animation frame in the browser, shared by its columns. A
/// snapshot or a burst of thousands of new tasks then renders over several frames (its first
/// cards at once) instead of in one long main-thread task. Building a card takes 0.1–0.3 ms, so
/// 64 keep a frame's share well under the 50 ms of a long task, while a budget per column
/// let four columns build 256 cards in one frame: 50–80 ms on a 2-core VM.
const CARDS_PER_FRAME: usize = 64;

/// The cards the board may still build this frame, and the columns waiting for the next
/// frame's budget. One per board; every column takes from it.
struct FrameBudget {
    left: usize,
    waiting: Vec<ArcTrigger>,
    refill_scheduled: bool,
}

impl FrameBudget {
    fn new() -> Self {
        Self {
            left: if cfg!(target_arch = "wasm32") {
                CARDS_PER_FRAME
            } else {
                // Nothing paints outside the browser: render everything at once.
                usize::MAX
            },
            waiting: Vec::new(),
            refill_scheduled: false,
        }
    }
}

/// Refills `budget` next frame and wakes the columns that waited for it, unless that is
/// already scheduled. Refilling only after a frame that spent some keeps the budget per frame.
fn schedule_refill(budget: StoredValue<FrameBudget>) {
    let first = budget
        .try_update_value(|b| !std::mem::replace(&mut b.refill_scheduled, true))
        .unwrap_or(false);
    if first {
        crate::frame::on_next_frame(move || {
            // The frame may come after the board was unmounted.
            let waiting = budget.try_update_value(|b| {
                b.left = CARDS_PER_FRAME;
                b.refill_scheduled = false;
                std::mem::take(&mut b.waiting)
            });
            for column in waiting.into_iter().flatten() {
                column.notify();
            }
        });
    }
}

/// The ids a column renders now: every id it rendered last time that is still in the column,
/// and as many new ones (cards to build) as the board's [`FrameBudget`] has left, in the
/// column's order. A column with ids left over waits for the next frame's budget. Counting new
/// ids, not the length, also bounds a snapshot that replaces every card of a long column; the
/// column's count is always the full one.
fn growing_ids(
    ids: Signal<Vec<String>>,
    rendered: StoredValue<FxSet<String>>,
    budget: StoredValue<FrameBudget>,
    more: ArcTrigger,
) -> impl Fn() -> Vec<String> + Send + Sync + 'static {
    move || {
        more.track();
        let mut built = 0;
        let mut waits = false;
        let shown = ids.with(|all| {
            rendered
                .try_update_value(|before| {
                    let mut left = budget.with_value(|b| b.left);
                    let shown: Vec<String> = all
                        .iter()
                        .filter(|id| {
                            if before.contains(*id) {
                                true
                            } else if left > 0 {
                                left -= 1;
                                built += 1;
                                true
                            } else {
                                waits = true;
                                false
                            }
                        })
                        .cloned()
                        .collect();
                    before.clear();
                    before.extend(shown.iter().cloned());
                    shown
                })
                .unwrap_or_default()
        });
        if cfg!(target_arch = "wasm32") && (built > 0 || waits) {
            budget.update_value(|b| {
                b.left -= built;
                if waits {
                    b.waiting.push(more.clone());
                }
            });
            schedule_refill(budget);
        }
        shown
    }
}

#[component]
fn Column(
    tasks: TaskStore,
    status: TaskStatus,
    now: ReadSignal<i64>,
    budget: StoredValue<FrameBudget>,
) -> impl IntoView {
    let ids: Signal<Vec<String>> = tasks.column(status).into();
    let shown = growing_ids(
        ids,
        StoredValue::new(FxSet::default()),
        budget,
        ArcTrigger::new(),
    );
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
