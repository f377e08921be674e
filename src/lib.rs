//! # leptos-task-stream
//!
//! Live task boards for [Leptos](https://leptos.dev) 0.8 over Server-Sent Events, with capped,
//! jittered exponential-backoff reconnects and honest connection status.
//!
//! When a backend under load drops its connections, naive clients reconnect at once, again and
//! again: a reconnect storm that keeps it down. This crate waits before each retry (1 s, 2 s,
//! 4 s … up to a cap, with jitter so that thousands of clients never retry in lockstep), resumes
//! from the last event id so that no update is lost, and tells the user what is going on.
//!
//! ## Architecture
//!
//! * [`Backoff`]: the delay policy (pure).
//! * [`ConnectionMachine`]: the connection state machine (pure, sans-IO). Inputs in, [`Command`]s
//!   out; time ([`Timestamp`]) and randomness ([`JitterRng`]) are passed in, so every schedule
//!   is reproducible and tested natively without a browser.
//! * [`protocol`]: the wire types shared with the reference dev server.
//! * The browser driver (`web-sys` `EventSource`, `gloo-timers`, Leptos signals) is a thin shell
//!   that executes the machine's commands. It is compiled only for `wasm32`; on the server (SSR)
//!   and in native builds nothing is opened.
//!
//! ## The connection state machine
//!
//! ```text
//!                open()                     transport opened
//!   (idle) ────────────────▶ Connecting ─────────────────────────▶ Connected
//!                              ▲    │ error / stale                   │ error / stale
//!               retry timer    │    ▼                                 ▼
//!                              └── Reconnecting { attempt, delay, retry_at } ◀──┘
//!                                       │ attempt > max_attempts
//!                                       ▼
//!     offline ⇒ Offline { Network } ── online ⇒ Reconnecting (short jitter)
//!     hidden  ⇒ Offline { Hidden }  ── visible ⇒ Connecting
//!                Offline { GaveUp } ── reconnect() ⇒ Connecting
//!     close() ⇒ Closed { ByApp }    ── reconnect() ⇒ Connecting
//!     `end`   ⇒ Closed { Ended }    (never reconnects on its own)
//! ```
//!
//! Invariants (each pinned by a test): at most one transport open; at most one retry timer
//! pending; a timer or transport event the machine no longer waits for is ignored; `close()` is
//! final until `reconnect()`; offline stops all retries and `online` reconnects promptly (after
//! a small jitter); after `end` nothing reconnects on its own; the last event id survives
//! reconnects; the attempt counter resets only after a connection stayed healthy for
//! [`Backoff::reset_after`], so a server that accepts and drops at once cannot pull clients back
//! to the base delay.
//!
//! ## Usage of the core
//!
//! ```
//! use std::time::Duration;
//! use leptos_task_stream::{Backoff, Jitter, JitterRng};
//!
//! let policy = Backoff::default()
//!     .max_delay(Duration::from_secs(30))
//!     .jitter(Jitter::Full);
//! let mut rng = JitterRng::from_seed(42);
//! for attempt in 1..=8 {
//!     let d = policy.delay(attempt, None, &mut rng);
//!     assert!(d <= policy.base_delay(attempt) && d <= Duration::from_secs(30));
//! }
//! ```
#![deny(missing_docs)]

pub mod backoff;
mod clock;
pub mod machine;
pub mod status;

pub use backoff::{Backoff, BackoffError, Jitter, JitterRng, MAX_SUPPORTED_DELAY};
pub use clock::now;
pub use machine::{
    Command, ConnId, ConnectionError, ConnectionMachine, Input, MachineConfig, TimerId,
    DEFAULT_ONLINE_JITTER,
};
pub use status::{CloseReason, ConnectionStatus, OfflineReason, Timestamp};

/// The wire protocol (re-exported from the `task-stream-protocol` crate).
pub use task_stream_protocol as protocol;
