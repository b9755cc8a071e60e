//! The HTTP connection loop: accepts at most `connections_max` connections at once (more wait in
//! the kernel's backlog), closes a connection whose request headers do not arrive within
//! `header_read_timeout` (a half-sent request, or an idle keep-alive connection), and on shutdown
//! stops accepting and lets the connections in flight finish.
//!
//! axum's own `serve` has none of these bounds; this loop is hyper's HTTP/1 server with them.

use axum::{Extension, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Bounds on what clients may hold of the server.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Open connections at most; further clients wait to be accepted.
    pub connections_max: usize,
    /// A connection whose next request's headers take longer than this is closed.
    pub header_read_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits { connections_max: 4_096, header_read_timeout: Duration::from_secs(10) }
    }
}

/// The peer of a connection, for per-client limits (failed authentication).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub SocketAddr);

/// Serves `router` on `listener` until `shutdown` resolves, then waits for the connections in
/// flight (each finishes its current request and closes).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    assert!(limits.connections_max > 0, "at least one connection");
    let permits = Arc::new(Semaphore::new(limits.connections_max));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(router.clone().layer(Extension(ClientAddress(peer))));
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
