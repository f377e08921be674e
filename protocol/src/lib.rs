//! The wire protocol of the task stream: the Server-Sent Events that a Strug-style backend sends
//! and `leptos-task-stream` decodes.
//!
//! Every event carries an `event:` name from [`event_names`] and a JSON `data:` payload. Events
//! that change state (`task`, `task_removed`, `activity`, `snapshot`) carry an `id:` that is a
//! strictly increasing sequence number; a client that reconnects sends the last id it saw
//! (`Last-Event-ID` header, or the [`RESUME_QUERY_PARAM`] query parameter) and receives exactly
//! the events after it, or a fresh `snapshot` when the server can no longer resume.
//!
//! ```
//! use task_stream_protocol::{TaskEvent, TaskStatus};
//!
//! let ev = TaskEvent::decode(
//!     "task",
//!     r#"{"id":"t1","title":"Index repo","status":"running","agent":"scout",
//!         "progress":0.5,"version":3,"updated_at":"2026-11-25T14:00:00Z"}"#,
//! )
//! .unwrap();
//! match ev {
//!     TaskEvent::Task(task) => assert_eq!(task.status, TaskStatus::Running),
//!     _ => unreachable!(),
//! }
//! ```
#![deny(missing_docs)]

use serde::{Deserialize, Serialize};

/// Default query parameter that carries the last event id on a reconnect (a new `EventSource`
/// cannot set the `Last-Event-ID` header itself).
pub const RESUME_QUERY_PARAM: &str = "lastEventId";

/// The `event:` names of the protocol.
pub mod event_names {
    /// Full board state, sent first on a connection that cannot be resumed.
    pub const SNAPSHOT: &str = "snapshot";
    /// One task upsert.
    pub const TASK: &str = "task";
    /// A task was removed from the board.
    pub const TASK_REMOVED: &str = "task_removed";
    /// One line of agent activity.
    pub const ACTIVITY: &str = "activity";
    /// Liveness signal (a named event: `EventSource` hides SSE comments from scripts).
    pub const HEARTBEAT: &str = "heartbeat";
    /// The stream is complete; the server closes it and clients must not reconnect.
    pub const END: &str = "end";
    /// Every name above, in protocol order.
    pub const ALL: [&str; 6] = [SNAPSHOT, TASK, TASK_REMOVED, ACTIVITY, HEARTBEAT, END];
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Waiting for an agent.
    Queued,
    /// An agent is working on it.
    Running,
    /// Waiting on something outside the agent.
    Blocked,
    /// Finished successfully.
    Done,
    /// Finished unsuccessfully.
    Failed,
}

impl TaskStatus {
    /// Every status, in board column order.
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Queued,
        TaskStatus::Running,
        TaskStatus::Blocked,
        TaskStatus::Done,
        TaskStatus::Failed,
    ];

    /// The wire name (`"queued"`, `"running"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Blocked => "blocked",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
        }
    }

    /// A human label (`"Queued"`, `"Running"`, …).
    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::Queued => "Queued",
            TaskStatus::Running => "Running",
            TaskStatus::Blocked => "Blocked",
            TaskStatus::Done => "Done",
            TaskStatus::Failed => "Failed",
        }
    }

    /// `true` for `Done` and `Failed`: the task will not move again.
    pub fn is_finished(self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::Failed)
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One task on the board (`task` event payload, and the elements of a `snapshot`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Stable identifier.
    pub id: String,
    /// Short human title.
    pub title: String,
    /// Current status.
    pub status: TaskStatus,
    /// The agent that owns the task.
    pub agent: String,
    /// Progress from 0.0 to 1.0, when the agent reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    /// Monotonic per-task version: an update with a version ≤ the one held is stale.
    pub version: u64,
    /// Time of the last change, RFC 3339.
    pub updated_at: String,
}

/// `snapshot` payload: the whole board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every task the server knows.
    pub tasks: Vec<Task>,
}

/// `task_removed` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRemoved {
    /// Id of the removed task.
    pub id: String,
}

/// Severity of an activity line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Routine progress.
    Info,
    /// Something worth a look.
    Warn,
    /// Something went wrong.
    Error,
}

impl Level {
    /// The wire name (`"info"`, `"warn"`, `"error"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `activity` payload: one line of agent activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// Unique identifier (activity is de-duplicated by it).
    pub id: String,
    /// The task this line is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The agent that produced it.
    pub agent: String,
    /// Severity.
    pub level: Level,
    /// The text (always rendered as text, never as HTML).
    pub message: String,
    /// When it happened, RFC 3339.
    pub at: String,
}

/// `heartbeat` payload.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Server time, RFC 3339, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// `end` payload: the stream is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    /// Why the stream ended (e.g. `"mission complete"`).
    pub reason: String,
}

/// One decoded protocol event.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskEvent {
    /// `snapshot`.
    Snapshot(Snapshot),
    /// `task`.
    Task(Task),
    /// `task_removed`.
    TaskRemoved(TaskRemoved),
    /// `activity`.
    Activity(Activity),
    /// `heartbeat`.
    Heartbeat(Heartbeat),
    /// `end`.
    End(End),
}

/// Why an event could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The event name is not part of the protocol.
    #[error("unknown event type {}", quoted(.name))]
    UnknownEvent {
        /// The name received (truncated to 64 characters).
        name: String,
    },
    /// The payload is not valid JSON, or not of the expected shape.
    #[error("malformed {event} payload: {message}")]
    Malformed {
        /// The event name.
        event: &'static str,
        /// serde's description of the problem.
        message: String,
    },
}

/// `format!("{s:?}")`, without `str`'s `Debug` impl, which brings string slicing's panic path
/// (and its message) into browser builds: `s` in double quotes, escaped with
/// `char::escape_debug`, except that a single quote stays as it is. For error messages that
/// quote received text.
///
/// ```
/// use task_stream_protocol::quoted;
/// assert_eq!(quoted("it's \"x\"\n"), format!("{:?}", "it's \"x\"\n"));
/// ```
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '\'' {
            out.push(c);
        } else {
            out.extend(c.escape_debug());
        }
    }
    out.push('"');
    out
}

/// Cuts `s` to at most `max` characters, marking the cut, so that hostile input cannot make an
/// error message huge.
pub fn truncate_for_display(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((i, _)) => {
            // `get`, not `&s[..i]`: no slicing panic (and its message) in a browser build.
            let mut cut = s.get(..i).unwrap_or_default().to_owned();
            cut.push('…');
            cut
        }
    }
}

impl TaskEvent {
    /// The `event:` name of this event.
    pub fn name(&self) -> &'static str {
        match self {
            TaskEvent::Snapshot(_) => event_names::SNAPSHOT,
            TaskEvent::Task(_) => event_names::TASK,
            TaskEvent::TaskRemoved(_) => event_names::TASK_REMOVED,
            TaskEvent::Activity(_) => event_names::ACTIVITY,
            TaskEvent::Heartbeat(_) => event_names::HEARTBEAT,
            TaskEvent::End(_) => event_names::END,
        }
    }

    /// Decodes an event from its `event:` name and `data:` payload. Never panics.
    ///
    /// A `heartbeat` with an empty payload is accepted (its data is optional).
    pub fn decode(name: &str, data: &str) -> Result<Self, DecodeError> {
        fn parse<T: serde::de::DeserializeOwned>(
            event: &'static str,
            data: &str,
        ) -> Result<T, DecodeError> {
            serde_json::from_str(data).map_err(|e| DecodeError::Malformed {
                event,
                message: e.to_string(),
            })
        }
        Ok(match name {
            event_names::SNAPSHOT => TaskEvent::Snapshot(parse(event_names::SNAPSHOT, data)?),
            event_names::TASK => TaskEvent::Task(parse(event_names::TASK, data)?),
            event_names::TASK_REMOVED => {
                TaskEvent::TaskRemoved(parse(event_names::TASK_REMOVED, data)?)
            }
            event_names::ACTIVITY => TaskEvent::Activity(parse(event_names::ACTIVITY, data)?),
            event_names::HEARTBEAT if data.trim().is_empty() => {
                TaskEvent::Heartbeat(Heartbeat::default())
            }
            event_names::HEARTBEAT => TaskEvent::Heartbeat(parse(event_names::HEARTBEAT, data)?),
            event_names::END => TaskEvent::End(parse(event_names::END, data)?),
            other => {
                return Err(DecodeError::UnknownEvent {
                    name: truncate_for_display(other, 64),
                })
            }
        })
    }

    /// The JSON `data:` payload of this event.
    pub fn data_json(&self) -> String {
        let r = match self {
            TaskEvent::Snapshot(v) => serde_json::to_string(v),
            TaskEvent::Task(v) => serde_json::to_string(v),
            TaskEvent::TaskRemoved(v) => serde_json::to_string(v),
            TaskEvent::Activity(v) => serde_json::to_string(v),
            TaskEvent::Heartbeat(v) => serde_json::to_string(v),
            TaskEvent::End(v) => serde_json::to_string(v),
        };
        // These types hold only strings, integers and finite-or-null floats: serialising cannot fail.
        r.unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(status: TaskStatus) -> Task {
        Task {
            id: "t1".into(),
            title: "Title".into(),
            status,
            agent: "scout".into(),
            progress: Some(0.25),
            version: 7,
            updated_at: "2026-11-25T14:00:00Z".into(),
        }
    }

    #[test]
    fn every_event_round_trips_through_its_name_and_json() {
        let events = vec![
            TaskEvent::Snapshot(Snapshot {
                tasks: vec![task(TaskStatus::Queued), task(TaskStatus::Done)],
            }),
            TaskEvent::Task(task(TaskStatus::Blocked)),
            TaskEvent::TaskRemoved(TaskRemoved { id: "t1".into() }),
            TaskEvent::Activity(Activity {
                id: "a1".into(),
                task_id: Some("t1".into()),
                agent: "scout".into(),
                level: Level::Warn,
                message: "<img src=x onerror=alert(1)> ✓ مرحبا".into(),
                at: "2026-11-25T14:00:00Z".into(),
            }),
            TaskEvent::Heartbeat(Heartbeat {
                at: Some("2026-11-25T14:00:00Z".into()),
            }),
            TaskEvent::End(End {
                reason: "mission complete".into(),
            }),
        ];
        for ev in events {
            let back = TaskEvent::decode(ev.name(), &ev.data_json()).unwrap();
            assert_eq!(back, ev);
        }
    }

    #[test]
    fn status_and_level_use_lowercase_wire_names() {
        for s in TaskStatus::ALL {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(serde_json::to_string(&Level::Error).unwrap(), "\"error\"");
    }

    #[test]
    fn unknown_event_names_are_typed_errors_and_truncated() {
        let long = "x".repeat(10_000);
        match TaskEvent::decode(&long, "{}") {
            Err(DecodeError::UnknownEvent { name }) => assert_eq!(name.chars().count(), 65),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn malformed_and_wrong_shape_payloads_are_typed_errors() {
        for (name, data) in [
            ("task", "{not json"),
            ("task", "[1,2,3]"),
            ("task", r#"{"id":"t1"}"#),
            (
                "task",
                r#"{"id":"t1","title":"x","status":"exploded","agent":"a","version":1,"updated_at":"x"}"#,
            ),
            ("snapshot", r#"{"tasks":{}}"#),
            ("end", ""),
            ("activity", "null"),
        ] {
            assert!(
                matches!(
                    TaskEvent::decode(name, data),
                    Err(DecodeError::Malformed { .. })
                ),
                "{name} {data}"
            );
        }
    }

    #[test]
    fn extra_fields_are_ignored_and_empty_heartbeats_accepted() {
        let ev =
            TaskEvent::decode("task_removed", r#"{"id":"t9","extra":[1,{"a":null}]}"#).unwrap();
        assert_eq!(ev, TaskEvent::TaskRemoved(TaskRemoved { id: "t9".into() }));
        assert_eq!(
            TaskEvent::decode("heartbeat", "").unwrap(),
            TaskEvent::Heartbeat(Heartbeat::default())
        );
    }

    #[test]
    fn quoted_is_debug() {
        for s in [
            "",
            "task",
            "it's \"x\"\n\t\\",
            "\u{301}é\u{0}\u{7f}\u{200d}😀\u{e0001}",
        ] {
            assert_eq!(quoted(s), format!("{s:?}"));
        }
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_for_display("héllo", 2), "hé…");
        assert_eq!(truncate_for_display("hi", 2), "hi");
    }
}
