//! The accept loop. It is hand-written (tokio listener + hyper per connection) rather than
//! `axum::serve` because `/api/chaos/refuse` must close the listening socket and reopen it on
//! the same port, and shutdown must end open streams instead of waiting for them forever.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::time::{sleep, sleep_until, Instant};
use tokio_util::task::TaskTracker;

use crate::{app, AppState};

/// How long shutdown waits for connections to finish before returning anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(800);

/// Binds a listener with `SO_REUSEADDR`, so the port can be re-bound after `refuse` even while
/// old connections linger in `TIME_WAIT`. Use it (rather than `TcpListener::bind`) for
/// [`serve`]; port 0 picks an ephemeral port.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Serves [`app`] on `listener` (and runs the simulator) until `shutdown` resolves; then stops
/// accepting, ends open streams cleanly (no `end` event: clients should reconnect to the next
/// server) and returns within about a second.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let addr = listener.local_addr()?;
    let simulator = state.spawn_simulator();
    let router = app(state.clone());
    let tracker = TaskTracker::new();
    // Bumped to make every open connection shut down gracefully (refuse, shutdown).
    let (close_tx, _) = watch::channel(0u64);
    let mut refuse = state.inner.refuse.subscribe();
    let mut listener = Some(listener);
    tokio::pin!(shutdown);

    loop {
        let refuse_until = (*refuse.borrow_and_update()).filter(|u| *u > Instant::now());
        match (&listener, refuse_until) {
            (Some(_), Some(_)) => {
                // Refuse started: close the port and every connection (idle keep-alive ones
                // too, or a client could slip through on a pooled connection).
                listener = None;
                close_tx.send_modify(|g| *g = g.wrapping_add(1));
                continue;
            }
            (None, None) => {
                match bind(addr) {
                    Ok(l) => listener = Some(l),
                    Err(e) => {
                        eprintln!("strug-dev-server: rebinding {addr} failed ({e}); retrying");
                        tokio::select! {
                            _ = &mut shutdown => break,
                            _ = sleep(Duration::from_millis(100)) => {}
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        let accept = async {
            match &listener {
                Some(l) => l.accept().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            _ = refuse.changed() => {}
            _ = sleep_until(refuse_until.unwrap_or_else(Instant::now)), if refuse_until.is_some() => {}
            accepted = accept => match accepted {
                Ok((io, _peer)) => {
                    // SSE frames are small and latency matters more than packet count.
                    let _ = io.set_nodelay(true);
                    let service = TowerToHyperService::new(router.clone());
                    let mut close = close_tx.subscribe();
                    tracker.spawn(async move {
                        let conn = hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            .serve_connection(TokioIo::new(io), service);
                        tokio::pin!(conn);
                        tokio::select! {
                            _ = conn.as_mut() => {}
                            _ = close.changed() => {
                                conn.as_mut().graceful_shutdown();
                                let _ = conn.as_mut().await;
                            }
                        }
                    });
                }
                Err(e) => {
                    // Typically EMFILE: back off briefly instead of spinning.
                    eprintln!("strug-dev-server: accept failed: {e}");
                    sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }

    drop(listener);
    state.begin_shutdown();
    close_tx.send_modify(|g| *g = g.wrapping_add(1));
    tracker.close();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await;
    simulator.abort();
    Ok(())
}
