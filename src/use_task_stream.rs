//! `use_task_stream`: the task-board hook.

use std::rc::Rc;

use leptos::prelude::*;

use crate::board::ActivityLog;
use crate::error::{StreamError, StreamStats};
use crate::options::TaskStreamOptions;
use crate::protocol::{event_names, TaskEvent};
use crate::status::ConnectionStatus;
use crate::task_store::TaskStore;
use crate::use_event_stream::{use_stream_with, Deliver, UseEventStream};

/// What [`use_task_stream`] returns. `Copy`.
#[derive(Clone, Copy)]
pub struct UseTaskStream {
    /// Connection health.
    pub status: ReadSignal<ConnectionStatus>,
    /// The board: tasks keyed by id, one signal per task and per column.
    pub tasks: TaskStore,
    /// The most recent activity lines, de-duplicated, oldest first, at most
    /// `activity_capacity` of them.
    pub activity: ReadSignal<ActivityLog>,
    /// The most recent problem, until the next one.
    pub last_error: ReadSignal<Option<StreamError>>,
    /// Counters: events, decode errors, reconnects, resumes, stale events ignored.
    pub stats: ReadSignal<StreamStats>,
    /// The underlying stream (last event id, controls).
    pub stream: UseEventStream,
}

impl UseTaskStream {
    /// Reconnects now ("Retry now"); see [`UseEventStream::reconnect`].
    pub fn reconnect(&self) {
        self.stream.reconnect();
    }

    /// Closes the stream; see [`UseEventStream::close`].
    pub fn close(&self) {
        self.stream.close();
    }
}

/// The stream under a task stream, for what takes any stream (a
/// [`ConnectionBadge`](crate::ConnectionBadge), for one).
impl From<UseTaskStream> for UseEventStream {
    fn from(stream: UseTaskStream) -> Self {
        stream.stream
    }
}

/// Subscribes to a task stream (the protocol in [`crate::protocol`]) and keeps a live board,
/// an activity feed and the connection status.
///
/// Applying events is idempotent and order-safe: a `task` with a version ≤ the one held is
/// ignored, a `snapshot` replaces the board, a replayed activity line (same id, same content) is
/// dropped. A resume, a replay
/// or a duplicate never corrupts the board. Malformed events and events the protocol does not
/// have set `last_error`, count in `stats.decode_errors`, and never stop the stream. (With the
/// default `EventSource` transport that covers unnamed events only: an `EventSource` delivers
/// just the event names it listens to, and other named events never reach scripts. With
/// [`Transport::Fetch`](crate::Transport::Fetch) every unknown name is reported.)
///
/// Call it inside a component: the connection closes when the component unmounts.
///
/// ## Usage
///
/// ```no_run
/// use std::time::Duration;
/// use leptos::prelude::*;
/// use leptos_task_stream::{protocol::TaskStatus, use_task_stream, Backoff, TaskStreamOptions};
///
/// #[component]
/// fn Dashboard() -> impl IntoView {
///     let stream = use_task_stream(
///         "/api/events",
///         TaskStreamOptions::default()
///             .backoff(Backoff::default().max_delay(Duration::from_secs(60))),
///     );
///     view! {
///         <header>
///             {move || stream.status.get().label()}
///             <button on:click=move |_| stream.reconnect()>"Retry now"</button>
///         </header>
///         <p>"Running: " {move || stream.tasks.count(TaskStatus::Running)}</p>
///         <p>{move || stream.last_error.get().map(|e| e.to_string())}</p>
///     }
/// }
/// ```
pub fn use_task_stream(url: impl Into<String>, options: TaskStreamOptions) -> UseTaskStream {
    let tasks = TaskStore::new();
    // An `Arc` signal: no arena slot of its own (see `TaskStore`), only the `ReadSignal` below.
    let activity = ArcRwSignal::new(ActivityLog::new(options.activity_capacity));
    let activity_signal = activity.read_only().into();
    let activity_notify = Rc::new(std::cell::Cell::new(false));
    let mut stream_options = options.stream.events([
        event_names::SNAPSHOT,
        event_names::TASK,
        event_names::TASK_REMOVED,
        event_names::ACTIVITY,
        // Unnamed events are not part of the protocol: listen so they are reported, not lost.
        "message",
    ]);
    // With the fetch transport, names the protocol does not have are reported too.
    stream_options.every_event = true;
    let apply = move |event: TaskEvent| match event {
        TaskEvent::Snapshot(s) => {
            tasks.replace(s.tasks);
            true
        }
        TaskEvent::Task(t) => tasks.apply_task(t),
        TaskEvent::TaskRemoved(r) => {
            tasks.remove(&r.id);
            true
        }
        TaskEvent::Activity(a) => {
            // The log is current at once; the feed re-renders at most once per frame.
            let added = activity
                .try_update_untracked(|log| log.push(a))
                .unwrap_or(false);
            if added && !activity_notify.replace(true) {
                let pending = activity_notify.clone();
                let activity = activity.clone();
                crate::frame::on_next_frame(move || {
                    pending.set(false);
                    // The frame may come after unmount: then nothing subscribes any more.
                    activity.notify();
                });
            }
            added
        }
        // Heartbeat and end are handled by the driver before decoding.
        TaskEvent::Heartbeat(_) | TaskEvent::End(_) => true,
    };
    let deliver: Deliver = Rc::new(move |name: &str, _id: Option<String>, data: &str| {
        // `TaskEvent::decode`, without serde_json in the browser (see `crate::json`).
        let event = crate::json::decode(name, data).map_err(StreamError::from)?;
        Ok(apply(event))
    });
    let stream = use_stream_with(url.into(), stream_options, deliver);
    UseTaskStream {
        status: stream.status,
        tasks,
        activity: activity_signal,
        last_error: stream.last_error,
        stats: stream.stats,
        stream,
    }
}
