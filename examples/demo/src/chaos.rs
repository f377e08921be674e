//! The chaos panel: one button per fault of `strug-dev-server --chaos`, and the last answer.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_task_stream::protocol::truncate_for_display;

use crate::api;

/// One button: what it is called, where it POSTs and with which body.
struct Action {
    /// `data-action` (stable, used by the e2e test).
    key: &'static str,
    label: &'static str,
    path: &'static str,
    body: &'static str,
    /// Tooltip: what a person should watch for.
    hint: &'static str,
}

const ACTIONS: [Action; 8] = [
    Action {
        key: "dispatch",
        label: "Dispatch mission",
        path: "/api/missions",
        body: r#"{"tasks":8}"#,
        hint: "Start a mission of 8 tasks: cards move queued → running → done.",
    },
    Action {
        key: "drop",
        label: "Drop connections",
        path: "/api/chaos/drop",
        body: "{}",
        hint: "Cut every open stream: the client reconnects after a short jittered wait and resumes without losing events.",
    },
    Action {
        key: "outage",
        label: "503 outage 10 s",
        path: "/api/chaos/outage",
        body: r#"{"secs":10}"#,
        hint: "Answer 503 for 10 s: retries back off (1 s, 2 s, 4 s … with jitter) instead of hammering the server.",
    },
    Action {
        key: "throttle",
        label: "429 Retry-After 8 s",
        path: "/api/chaos/reject",
        body: r#"{"status":429,"secs":12,"retry_after":8,"drop":true}"#,
        hint: "For 12 s answer 429 Too Many Requests with Retry-After: 8. Over fetch the client waits the 8 s it was told; EventSource cannot see the header and backs off on its own schedule.",
    },
    Action {
        key: "refuse",
        label: "401 for 10 s",
        path: "/api/chaos/reject",
        body: r#"{"status":401,"secs":10,"drop":true}"#,
        hint: "For 10 s answer 401 Unauthorized. Over fetch the client stops at once (Refused by server, no retry storm) until you press Retry now; EventSource cannot tell a 401 from an outage and keeps backing off.",
    },
    Action {
        key: "stall",
        label: "Stall 10 s",
        path: "/api/chaos/stall",
        body: r#"{"secs":10}"#,
        hint: "Keep streams open but silent for 10 s; held-back events arrive afterwards.",
    },
    Action {
        key: "flap",
        label: "Flap 10 s",
        path: "/api/chaos/flap",
        body: r#"{"secs":10,"after_ms":300}"#,
        hint: "For 10 s accept new streams and drop them 300 ms later: the backoff does not reset on a short-lived open.",
    },
    Action {
        key: "heal",
        label: "Heal",
        path: "/api/chaos/heal",
        body: "{}",
        hint: "End every fault now.",
    },
];

/// Longest answer shown; the server's answers are short, but a proxy error page may not be.
const MAX_RESULT_CHARS: usize = 240;

/// What the last button press produced.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Pending(&'static str),
    Done { ok: bool, text: String },
}

/// A one-line summary of an answer (rendered as text, like everything from the server).
fn summarize(label: &str, answer: Result<api::Answer, String>) -> Outcome {
    match answer {
        Ok(a) if a.is_success() => Outcome::Done {
            ok: true,
            text: format!(
                "{label}: {} {}",
                a.status,
                truncate_for_display(a.body.trim(), MAX_RESULT_CHARS)
            ),
        },
        Ok(a) if a.status == 404 => Outcome::Done {
            ok: false,
            text: format!("{label}: 404, is the dev server running with --chaos?"),
        },
        Ok(a) => Outcome::Done {
            ok: false,
            text: format!(
                "{label} failed: {} {}",
                a.status,
                truncate_for_display(a.body.trim(), MAX_RESULT_CHARS)
            ),
        },
        Err(e) => Outcome::Done {
            ok: false,
            text: format!("{label} failed: {e}"),
        },
    }
}

/// Buttons that inject faults into the dev server, and the text of the last answer.
#[component]
pub fn ChaosPanel() -> impl IntoView {
    let outcome = RwSignal::new(None::<Outcome>);
    // Only the latest press may write the result: answers can arrive out of order.
    let generation = StoredValue::new(0u64);

    let press = move |action: &'static Action| {
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        outcome.set(Some(Outcome::Pending(action.label)));
        spawn_local(async move {
            let answer = api::post_json(action.path, action.body).await;
            if generation.try_get_value() == Some(mine) {
                outcome.try_set(Some(summarize(action.label, answer)));
            }
        });
    };

    view! {
        <section class="demo-chaos" aria-labelledby="demo-chaos-title">
            <h2 id="demo-chaos-title">"Chaos"</h2>
            <div class="demo-chaos-buttons">
                {ACTIONS
                    .iter()
                    .map(|action| {
                        view! {
                            <button
                                type="button"
                                data-action=action.key
                                title=action.hint
                                class=if action.key == "dispatch" { "demo-primary" } else { "" }
                                on:click=move |_| press(action)
                            >
                                {action.label}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <p
                class="demo-chaos-result"
                role="status"
                data-ok=move || match outcome.get() {
                    Some(Outcome::Done { ok, .. }) => if ok { "true" } else { "false" },
                    _ => "",
                }
            >
                {move || match outcome.get() {
                    None => "Press a button, then watch the badge, the board and the chart.".to_owned(),
                    Some(Outcome::Pending(label)) => format!("{label}…"),
                    Some(Outcome::Done { text, .. }) => text,
                }}
            </p>
        </section>
    }
}
