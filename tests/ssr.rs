//! The hooks on the server (SSR) and on native targets: inert signals, nothing opened, no panic.
#![cfg(not(target_arch = "wasm32"))] // Native tests; tests/browser.rs is the wasm suite.

use std::time::Duration;

use leptos::prelude::*;
use leptos_task_stream::{
    protocol::TaskStatus, provide_task_stream, shared_stream_count, use_event_stream,
    use_shared_task_stream, use_task_stream, use_task_stream_context, use_text_stream, Backoff,
    BackoffError, CloseReason, ConnectionBadge, ConnectionStatus, EventStreamOptions, StreamError,
    StreamMessage, StrugStream, TaskBoard, TaskStreamOptions, TaskStreamProvider,
};

#[test]
fn use_task_stream_is_inert_off_the_browser() {
    // Pins: SSR renders a "connecting" status and an empty board, and the controls are no-ops.
    let owner = Owner::new();
    owner.with(|| {
        let s = use_task_stream("/api/events", TaskStreamOptions::default());
        assert_eq!(s.status.get_untracked(), ConnectionStatus::Connecting);
        assert!(s.tasks.snapshot_untracked().is_empty());
        assert_eq!(
            s.tasks.column(TaskStatus::Running).get_untracked(),
            Vec::<String>::new()
        );
        assert!(s.activity.with_untracked(|a| a.is_empty()));
        assert_eq!(s.last_error.get_untracked(), None);
        s.reconnect();
        s.close();
        assert_eq!(s.status.get_untracked(), ConnectionStatus::Connecting);
    });
    owner.cleanup();
}

#[test]
fn use_text_stream_is_inert_off_the_browser_and_checks_its_options() {
    // Pins: the text hook renders "connecting" on the server, never calls back, and reports
    // invalid options as the other hooks do.
    let owner = Owner::new();
    owner.with(|| {
        let s = use_text_stream(
            "/api/log",
            EventStreamOptions::default(),
            |_: StreamMessage<String>| panic!("no message on the server"),
        );
        assert_eq!(s.status.get_untracked(), ConnectionStatus::Connecting);
        s.reconnect();
        assert_eq!(s.status.get_untracked(), ConnectionStatus::Connecting);
        let bad = use_text_stream(
            "/api/log",
            EventStreamOptions::default().backoff(Backoff::default().factor(0.5)),
            |_: StreamMessage<String>| {},
        );
        assert!(
            matches!(
                bad.last_error.get_untracked(),
                Some(StreamError::InvalidOptions(_))
            ),
            "{:?}",
            bad.last_error.get_untracked()
        );
    });
    owner.cleanup();
}

#[test]
fn not_immediate_renders_not_started() {
    // Pins: with immediate(false) server and client both start from Closed { NotStarted }.
    let owner = Owner::new();
    owner.with(|| {
        let s = use_task_stream("/api/events", TaskStreamOptions::default().immediate(false));
        assert_eq!(
            s.status.get_untracked(),
            ConnectionStatus::Closed {
                reason: CloseReason::NotStarted
            }
        );
    });
}

#[test]
fn invalid_options_are_reported_on_the_server_too() {
    // Pins: a bad policy is a visible, typed error everywhere, never a panic.
    let owner = Owner::new();
    owner.with(|| {
        let s = use_event_stream(
            "/api/prices",
            EventStreamOptions::default().backoff(Backoff::default().factor(-1.0)),
            |_: StreamMessage<serde_json::Value>| {},
        );
        // The status carries the typed error (its text is written when shown, not before).
        let ConnectionStatus::Closed {
            reason: CloseReason::Misconfigured { error },
        } = s.status.get_untracked()
        else {
            panic!(
                "expected Closed(Misconfigured), got {:?}",
                s.status.get_untracked()
            );
        };
        assert!(matches!(error, BackoffError::BadFactor(f) if f.value() == -1.0));
        assert_eq!(
            error.to_string(),
            "backoff factor must be a finite number ≥ 1.0, got -1"
        );
        assert_eq!(
            s.last_error.get_untracked(),
            Some(StreamError::InvalidOptions(error))
        );
    });
}

#[test]
fn every_setting_the_browser_refuses_is_refused_on_the_server_too() {
    // Pins: the server renders `Closed { Misconfigured }` for the same options as the browser
    // driver, not only for a bad backoff, so hydration finds what the server rendered.
    let day = Duration::from_secs(24 * 3600);
    let cases = [
        (
            "stale_after",
            TaskStreamOptions::default().stale_after(Some(day * 2)),
        ),
        (
            "online_jitter",
            TaskStreamOptions::default().online_jitter(day * 2),
        ),
        (
            "max_retry_after",
            TaskStreamOptions::default().max_retry_after(day * 2),
        ),
    ];
    for (field, options) in cases {
        let owner = Owner::new();
        owner.with(|| {
            let s = use_task_stream("/api/events", options);
            match s.status.get_untracked() {
                ConnectionStatus::Closed {
                    reason: CloseReason::Misconfigured { error },
                } => assert!(
                    matches!(error, BackoffError::TooLong { field: f, .. } if f == field),
                    "{field}: {error:?}"
                ),
                other => panic!("{field}: expected Closed(Misconfigured), got {other:?}"),
            }
        });
        owner.cleanup();
    }
    // Within bounds: not refused.
    let owner = Owner::new();
    owner.with(|| {
        let s = use_task_stream(
            "/api/events",
            TaskStreamOptions::default().stale_after(Some(day)),
        );
        assert_eq!(s.status.get_untracked(), ConnectionStatus::Connecting);
    });
}

#[test]
fn shared_streams_are_not_shared_on_the_server() {
    // Pins: on the server every caller gets its own inert stream under its own owner. A
    // registry there would be shared by concurrent requests, and its detached owner would live
    // outside the request's arena (leptos' server integrations sandbox arenas per request), so
    // the request could not read the stream's signals.
    let owner = Owner::new();
    owner.with(|| {
        let a = use_shared_task_stream("/api/events", TaskStreamOptions::default());
        let b = provide_task_stream("/api/events", TaskStreamOptions::default());
        assert_eq!(shared_stream_count(), 0);
        assert_eq!(a.status.get_untracked(), ConnectionStatus::Connecting);
        assert_eq!(b.status.get_untracked(), ConnectionStatus::Connecting);
        assert_eq!(
            use_task_stream_context().status.get_untracked(),
            ConnectionStatus::Connecting
        );
    });
    owner.cleanup();
    assert_eq!(shared_stream_count(), 0);
}

#[test]
fn the_components_render_on_the_server() {
    // Pins: the components render to HTML on the server without panicking, with what a
    // hydrating client first shows: "Connecting…", empty-state texts, five columns, the
    // badge's live region. Nothing is opened.
    let owner = Owner::new();
    owner.with(|| {
        let html = view! {
            <TaskStreamProvider url="/api/events">
                <ConnectionBadge/>
                <TaskBoard/>
                <StrugStream/>
            </TaskStreamProvider>
        }
        .to_html();
        assert!(html.contains("Connecting…"), "{html}");
        assert!(html.contains(r#"data-status="connecting""#), "{html}");
        assert!(html.contains(r#"role="status""#), "{html}");
        assert!(html.contains("No tasks yet"), "{html}");
        assert!(html.contains("No activity yet"), "{html}");
        assert_eq!(html.matches(r#"class="lts-column""#).count(), 5, "{html}");
        assert!(!html.contains("lts-card\""), "{html}");
        assert_eq!(shared_stream_count(), 0);
    });
    owner.cleanup();
}
