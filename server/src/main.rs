//! `strug-dev-server` command line: parses flags, binds, prints the listening line, serves
//! until SIGINT/SIGTERM. See `docs/protocol.md`.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use strug_dev_server::{bind, serve, AppState, Config};

/// Reference SSE backend for leptos-task-stream: task simulator, resumable event stream,
/// connection metrics and (with --chaos) fault injection.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port to bind; 0 picks a free one (read it from the first stdout line).
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// Seconds between heartbeat events.
    #[arg(long, default_value_t = 15.0)]
    heartbeat_secs: f64,
    /// Simulator seed (default: random, printed to stderr).
    #[arg(long)]
    seed: Option<u64>,
    /// Enable /api/chaos/* fault injection.
    #[arg(long)]
    chaos: bool,
    /// Refuse new streams with 503 + Retry-After beyond this many open ones.
    #[arg(long)]
    max_streams: Option<usize>,
    /// Events kept for resume.
    #[arg(long, default_value_t = 10_000)]
    log_capacity: usize,
    /// Simulator step in milliseconds.
    #[arg(long, default_value_t = 300)]
    tick_ms: u64,
    /// Extra exact CORS origin (repeatable); http://127.0.0.1:* and http://localhost:* are
    /// always allowed.
    #[arg(long = "allow-origin")]
    allow_origin: Vec<String>,
    /// Do not run the background mission that keeps a bare server busy.
    #[arg(long)]
    no_ambient: bool,
    /// Seconds a completed mission's tasks stay on the board before task_removed.
    #[arg(long, default_value_t = 300.0)]
    retain_secs: f64,
    /// Serve this directory (e.g. the demo's `trunk build` output, `dist/`) at `/`, with
    /// `index.html` for unknown non-API paths.
    #[arg(long, value_name = "DIR")]
    static_dir: Option<PathBuf>,
}

/// The longest period a flag may set: longer ones overflow the clock arithmetic (`Instant +
/// Duration`) in the stream and simulator tasks.
const MAX_PERIOD: Duration = Duration::from_secs(24 * 60 * 60);

fn secs(name: &str, v: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero() && *d <= MAX_PERIOD)
        .ok_or_else(|| format!("--{name} must be a positive number of seconds, at most 86400"))
}

fn config(cli: &Cli) -> Result<Config, String> {
    if cli.tick_ms == 0 || Duration::from_millis(cli.tick_ms) > MAX_PERIOD {
        return Err("--tick-ms must be from 1 to 86400000".into());
    }
    if cli.log_capacity == 0 {
        return Err("--log-capacity must be at least 1".into());
    }
    // Checked up front: ServeDir would otherwise answer every page request with a 404.
    if let Some(dir) = &cli.static_dir {
        if !dir.join("index.html").is_file() {
            return Err(format!(
                "--static-dir {}: no index.html there (run `trunk build` first)",
                dir.display()
            ));
        }
    }
    Ok(Config {
        heartbeat: secs("heartbeat-secs", cli.heartbeat_secs)?,
        seed: cli.seed,
        chaos: cli.chaos,
        max_streams: cli.max_streams,
        log_capacity: cli.log_capacity,
        tick: Duration::from_millis(cli.tick_ms),
        allow_origins: cli.allow_origin.clone(),
        ambient: !cli.no_ambient,
        retain: secs("retain-secs", cli.retain_secs)?,
        static_dir: cli.static_dir.clone(),
    })
}

/// Resolves on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        let term = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match config(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("strug-dev-server: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match bind(SocketAddr::new(cli.bind, cli.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "strug-dev-server: cannot bind {}:{}: {e}",
                cli.bind, cli.port
            );
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("strug-dev-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let state = AppState::new(config);
    // A wildcard bind is reachable on loopback; print that so scripts get a usable URL.
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    eprintln!(
        "strug-dev-server: seed {} chaos {} heartbeat {:?} tick {:?}",
        state.seed(),
        state.config().chaos,
        state.config().heartbeat,
        state.config().tick
    );
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "strug-dev-server listening on http://{host}:{}",
            addr.port()
        );
        let _ = out.flush();
    }
    let restart = state.restart_requested();
    let stop = {
        let restart = restart.clone();
        async move {
            tokio::select! {
                _ = shutdown_signal() => {}
                _ = restart.cancelled() => eprintln!("strug-dev-server: restart requested"),
            }
        }
    };
    match serve(state, listener, stop).await {
        Ok(()) if restart.is_cancelled() => ExitCode::from(strug_dev_server::RESTART_EXIT_CODE),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strug-dev-server: {e}");
            ExitCode::FAILURE
        }
    }
}
