//! Ready-made components: [`TaskBoard`], [`StrugStream`], [`ConnectionBadge`], and the
//! [`TaskStreamProvider`] that lets them share one connection.
//!
//! Styling: every element carries an `lts-`-prefixed class and the shipped stylesheet
//! ([`STYLESHEET`], also at `style/leptos-task-stream.css`) themes them through CSS custom
//! properties (`--lts-bg`, `--lts-fg`, `--lts-accent`, `--lts-ok`, `--lts-warn`, `--lts-error`…).
//! All text from the server is rendered as text, never as HTML.

mod badge;
mod board;
mod clock;
mod feed;
mod shared;

pub use badge::ConnectionBadge;
pub use board::TaskBoard;
pub use feed::StrugStream;
pub use shared::{
    provide_task_stream, shared_stream_count, use_shared_task_stream, use_task_stream_context,
    TaskStreamProvider,
};

/// The components' stylesheet, for apps that inline it (`<style>{STYLESHEET}</style>`) rather
/// than linking `style/leptos-task-stream.css`.
pub const STYLESHEET: &str = include_str!("../../style/leptos-task-stream.css");
