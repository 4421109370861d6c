//! Serving the API over hyper's HTTP/1, plain or — with a `[tls]` table — behind rustls,
//! with the limits a node needs to stay up among misbehaving clients: a cap on the
//! connections served at once, below the open-file limit (more wait in the kernel's
//! backlog, so idle sockets cannot take every file descriptor), a deadline for a request's headers that also closes
//! connections idle between requests, a body announced larger than any route takes
//! refused before it is read (413, not `100 Continue`), and accept errors that back off
//! instead of spinning. On shutdown it stops accepting and lets requests in progress
//! finish.

use crate::network::accept::accept_with_backoff;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers — and how long a connection
/// may stay idle between requests.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for requests in progress.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` until `shutdown` completes, holding at most `max_connections` at once
/// (`fd_limit::connection_cap`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    max_connections: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    let slots = Arc::new(Semaphore::new(max_connections));
    let graceful = GracefulShutdown::new();
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let tcp = tokio::select! {
            (tcp, _) = accept_with_backoff(&listener, "an API connection") => tcp,
            () = &mut shutdown => break,
        };
        let (tls, app, watcher) = (tls.clone(), app.clone(), graceful.watcher());
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => serve_connection(tcp, app, watcher).await,
                Some(acceptor) => {
                    // Not TLS, or too slow: nothing to answer.
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                    {
                        serve_connection(stream, app, watcher).await;
                    }
                }
            }
        });
    }
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
    Ok(())
}

async fn serve_connection<S>(stream: S, app: Router, watcher: hyper_util::server::graceful::Watcher)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    let _ = watcher.watch(connection).await;
}
