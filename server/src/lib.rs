//! `strug-dev-server`: the reference Server-Sent Events backend for `leptos-task-stream`.
//!
//! It simulates agents working through missions of tasks, streams the board as SSE with
//! resumable ids (see `docs/protocol.md` at the repository root), records every connection
//! attempt for backoff tests, guards streams with bearer tokens on request (`?auth=bearer`),
//! cuts them into adversarial chunks on request (`?chunking=`), and, with `--chaos`, injects
//! faults on demand: outages, drops, stalls, flaps, injected HTTP answers, refused connections
//! and hand-written (even malformed) events.
//!
//! Run it in-process (as the integration tests do):
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use strug_dev_server::{bind, serve, AppState, Config};
//! let listener = bind("127.0.0.1:0".parse().unwrap())?;
//! let state = AppState::new(Config { chaos: true, ..Config::default() });
//! serve(state, listener, std::future::pending()).await
//! # }
//! ```
#![deny(missing_docs)]
// Helpers return `Result<_, Response>` so handlers can `?`-style bail out with a finished HTTP
// answer; the error path runs once per refused request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod api;
pub mod auth;
mod chaos;
pub mod clock;
pub mod faults;
pub mod metrics;
mod server;
pub mod sse;
mod streams;
pub mod world;
pub mod writer;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::routing::any;
use axum::Router;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};

pub use server::{bind, serve};

use faults::Faults;
use metrics::Metrics;
use streams::Registry;
use world::World;

/// Request bodies above this are refused with 413 (except `POST /api/chaos/inject`).
pub const BODY_LIMIT: usize = 64 * 1024;
/// Body limit of `POST /api/chaos/inject`, which must carry 1 MiB+ events.
pub const INJECT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Exit status of the binary after `POST /api/chaos/restart`: a supervisor (such as
/// `scripts/browser-tests.sh`) starts a fresh process on the same port when it sees it.
pub const RESTART_EXIT_CODE: u8 = 75;

/// Server settings (the CLI maps onto these one to one).
#[derive(Debug, Clone)]
pub struct Config {
    /// Interval between `heartbeat` events on every stream.
    pub heartbeat: Duration,
    /// Simulator seed; `None` picks a random one (see [`AppState::seed`]).
    pub seed: Option<u64>,
    /// Enables `/api/chaos/*`; without it those paths answer 404.
    pub chaos: bool,
    /// Admission control: at most this many open streams (others get 503 + `Retry-After`).
    pub max_streams: Option<usize>,
    /// Events kept in the resumable log.
    pub log_capacity: usize,
    /// Simulator step.
    pub tick: Duration,
    /// Exact origins allowed by CORS in addition to `http://127.0.0.1:*` and `http://localhost:*`.
    pub allow_origins: Vec<String>,
    /// Keep one background mission running so a bare server streams something.
    pub ambient: bool,
    /// How long a completed mission's tasks stay on the board before `task_removed`.
    pub retain: Duration,
    /// Serve this directory (a `trunk build` output) at `/`, with `index.html` for unknown
    /// non-API paths, so the demo and the API share one origin without Trunk's proxy.
    pub static_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            heartbeat: Duration::from_secs(15),
            seed: None,
            chaos: false,
            max_streams: None,
            log_capacity: 10_000,
            tick: Duration::from_millis(300),
            allow_origins: Vec::new(),
            ambient: true,
            retain: Duration::from_secs(300),
            static_dir: None,
        }
    }
}

/// Shared server state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    seed: u64,
    world: Mutex<World>,
    metrics: Mutex<Metrics>,
    events_sent: AtomicU64,
    registry: Mutex<Registry>,
    faults: Mutex<Faults>,
    /// Bearer tokens issued by `POST /api/auth/token`.
    tokens: Mutex<auth::Tokens>,
    /// Bumped on every fault change so stalled streams re-evaluate at once (e.g. on heal).
    fault_gen: watch::Sender<u64>,
    /// `Some(until)` while `/api/chaos/refuse` keeps the listener closed.
    refuse: watch::Sender<Option<Instant>>,
    /// Cancelled on graceful shutdown: streams finish cleanly, the simulator stops.
    shutdown: CancellationToken,
    /// Cancelled by `POST /api/chaos/restart`: the binary shuts down and exits with
    /// [`RESTART_EXIT_CODE`] so that a supervisor starts a fresh process.
    restart: CancellationToken,
}

/// Locks a mutex, ignoring poisoning: every critical section leaves the data consistent, and a
/// dev server must keep serving rather than cascade one panic into every request.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AppState {
    /// Builds the state. Nothing runs until [`serve`] (or [`AppState::spawn_simulator`]).
    pub fn new(config: Config) -> Self {
        let seed = config.seed.unwrap_or_else(|| {
            // RandomState is randomly keyed per process: a dependency-free source of entropy.
            let mut h = RandomState::new().build_hasher();
            h.write_u64(clock::unix_ms());
            h.finish()
        });
        let world = World::new(seed, config.log_capacity, config.ambient, config.retain);
        AppState {
            inner: Arc::new(Inner {
                config,
                seed,
                world: Mutex::new(world),
                metrics: Mutex::new(Metrics::default()),
                events_sent: AtomicU64::new(0),
                registry: Mutex::new(Registry::default()),
                faults: Mutex::new(Faults::default()),
                tokens: Mutex::new(auth::Tokens::default()),
                fault_gen: watch::Sender::new(0),
                refuse: watch::Sender::new(None),
                shutdown: CancellationToken::new(),
                restart: CancellationToken::new(),
            }),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The simulator seed actually used (printed at start so a run can be reproduced).
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// Runs the simulator until shutdown. [`serve`] calls this; call it yourself only when
    /// serving [`app`] some other way.
    pub fn spawn_simulator(&self) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            // First step one period from now, not immediately: a mission created right after
            // start is then predictably untouched for one tick.
            let period = state.config().tick;
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = state.inner.shutdown.cancelled() => return,
                    now = tick.tick() => state.world().step(now),
                }
            }
        })
    }

    /// Asks the process to restart (see [`AppState::restart_requested`]).
    pub fn request_restart(&self) {
        self.inner.restart.cancel();
    }

    /// Resolves once a restart was requested; the binary then shuts down gracefully and exits
    /// with [`RESTART_EXIT_CODE`], losing its state and event log like a crashed backend.
    pub fn restart_requested(&self) -> CancellationToken {
        self.inner.restart.clone()
    }

    /// Ends every stream cleanly and stops the simulator (part of graceful shutdown).
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.cancel();
    }

    fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.inner.world)
    }

    fn metrics(&self) -> MutexGuard<'_, Metrics> {
        lock(&self.inner.metrics)
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        lock(&self.inner.registry)
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.inner.faults)
    }

    fn tokens(&self) -> MutexGuard<'_, auth::Tokens> {
        lock(&self.inner.tokens)
    }

    fn faults_changed(&self) {
        self.inner.fault_gen.send_modify(|g| *g = g.wrapping_add(1));
    }
}

/// `true` for `http://127.0.0.1[:port]`, `http://localhost[:port]` and `http://[::1][:port]`:
/// browser tests serve their pages from an arbitrary local port.
pub fn is_local_origin(origin: &str) -> bool {
    ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|prefix| match origin.strip_prefix(prefix) {
            Some("") => true,
            Some(rest) => rest.strip_prefix(':').is_some_and(|port| {
                !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
            }),
            None => false,
        })
}

fn cors(extra: &[String]) -> CorsLayer {
    let extra: Vec<String> = extra.to_vec();
    CorsLayer::new()
        // Reflects the request origin (never `*`), because EventSource may use credentials.
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin
                .to_str()
                .is_ok_and(|o| is_local_origin(o) || extra.iter().any(|e| e == o))
        }))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        // Mirroring covers Content-Type, Authorization, Last-Event-ID and anything a test adds.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("content-type"),
        ])
        .max_age(Duration::from_secs(600))
}

/// The HTTP application: every endpoint, CORS and body limits.
pub fn app(state: AppState) -> Router {
    let mut router = api::routes().merge(auth::routes());
    if state.config().chaos {
        router = router.merge(chaos::routes());
    }
    let cors = cors(&state.config().allow_origins);
    let router = match &state.config().static_dir {
        Some(dir) => router
            // Unknown API paths keep their JSON 404 instead of getting the page.
            .route("/api", any(api::not_found))
            .route("/api/{*rest}", any(api::not_found))
            // The demo is a single-page app: any other unknown path gets `index.html` (200).
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        None => router.fallback(api::not_found),
    };
    router
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(cors)
        .with_state(state)
}
