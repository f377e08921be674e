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

/// What a successful answer did, in words: "mission m3, 8 tasks", "Retry-After 8 s, 2 open
/// streams dropped", "done". `None` when the body is not a JSON object (then the raw body is shown).
fn describe_success(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let answer = value.as_object()?;
    let number = |key: &str| answer.get(key).and_then(serde_json::Value::as_f64);
    let mut parts = Vec::new();
    if let Some(id) = answer.get("mission_id").and_then(|v| v.as_str()) {
        let tasks = answer
            .get("task_ids")
            .and_then(|v| v.as_array())
            .map_or(0, Vec::len);
        let plural = if tasks == 1 { "" } else { "s" };
        parts.push(format!(
            "mission {}, {tasks} task{plural}",
            truncate_for_display(id, 64)
        ));
    }
    if let Some(secs) = number("retry_after") {
        parts.push(format!("Retry-After {secs} s"));
    }
    if let Some(ms) = number("after_ms") {
        parts.push(format!("each new stream dropped {ms} ms after it opens"));
    }
    if let Some(dropped) = number("dropped") {
        let plural = if dropped == 1.0 { "" } else { "s" };
        parts.push(format!("{dropped} open stream{plural} dropped"));
    }
    Some(if parts.is_empty() {
        "done".to_owned()
    } else {
        parts.join(", ")
    })
}

/// A one-line summary of an answer (rendered as text, like everything from the server).
fn summarize(label: &str, answer: Result<api::Answer, String>) -> Outcome {
    match answer {
        Ok(a) if a.is_success() => Outcome::Done {
            ok: true,
            text: format!(
                "{label}: {}",
                describe_success(&a.body).unwrap_or_else(|| format!(
                    "{} {}",
                    a.status,
                    truncate_for_display(a.body.trim(), MAX_RESULT_CHARS)
                ))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(status: u16, body: &str) -> Result<api::Answer, String> {
        Ok(api::Answer {
            status,
            body: body.to_owned(),
        })
    }

    fn text(outcome: Outcome) -> (bool, String) {
        match outcome {
            Outcome::Done { ok, text } => (ok, text),
            Outcome::Pending(_) => panic!("pending"),
        }
    }

    #[test]
    fn answers_are_said_in_words() {
        // Pins the chaos panel's line for each kind of answer the dev server gives.
        let cases = [
            (
                r#"{"mission_id":"m3","task_ids":["a","b","c","d","e","f","g","h"]}"#,
                "mission m3, 8 tasks",
            ),
            (
                r#"{"client":null,"dropped":1,"ok":true,"retry_after":10,"secs":10.0}"#,
                "Retry-After 10 s, 1 open stream dropped",
            ),
            (
                r#"{"client":null,"content_type":null,"drop":true,"dropped":2,"ok":true,"retry_after":null,"secs":10.0,"status":401}"#,
                "2 open streams dropped",
            ),
            (
                r#"{"secs":10,"after_ms":300,"client":null}"#,
                "each new stream dropped 300 ms after it opens",
            ),
            (r#"{"secs":10,"client":null}"#, "done"),
            ("{}", "done"),
        ];
        for (body, said) in cases {
            assert_eq!(
                text(summarize("X", ok(200, body))),
                (true, format!("X: {said}")),
                "{body}"
            );
        }
    }

    #[test]
    fn odd_answers_are_shown_as_they_came_and_failures_say_so() {
        // Pins: a success that is not a JSON object shows status and (bounded) body; errors,
        // 404 (no --chaos) and network failures are marked not ok.
        assert_eq!(
            text(summarize("X", ok(200, "fine"))),
            (true, "X: 200 fine".to_owned())
        );
        let (good, long) = text(summarize("X", ok(200, &"y".repeat(10_000))));
        assert!(
            good && long.chars().count() < MAX_RESULT_CHARS + 20,
            "{long}"
        );
        assert_eq!(
            text(summarize("X", ok(404, ""))),
            (
                false,
                "X: 404, is the dev server running with --chaos?".to_owned()
            )
        );
        let (good, said) = text(summarize("X", ok(400, r#"{"error":"secs must be > 0"}"#)));
        assert!(!good && said.starts_with("X failed: 400"), "{said}");
        assert_eq!(
            text(summarize("X", Err("network down".into()))),
            (false, "X failed: network down".to_owned())
        );
        // Hostile mission ids are bounded (and rendered as text by the view).
        let body = format!(r#"{{"mission_id":"{}","task_ids":[]}}"#, "<b>".repeat(100));
        let (_, said) = text(summarize("X", ok(201, &body)));
        assert!(said.chars().count() < 100, "{said}");
    }
}
