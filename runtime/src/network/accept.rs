//! Accepting connections without spinning: when `accept` fails (no file descriptors
//! left, most often), wait before trying again, doubling the wait up to a second, and
//! say so in the log. Both listeners, Raft and the API, accept through this.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

const BACKOFF_FIRST: Duration = Duration::from_millis(10);
const BACKOFF_MOST: Duration = Duration::from_secs(1);

/// The next connection on `listener`; `what` names it in the log (`a Raft connection`).
pub async fn accept_with_backoff(listener: &TcpListener, what: &str) -> (TcpStream, SocketAddr) {
    let mut backoff = BACKOFF_FIRST;
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(error) => {
                tracing::warn!(
                    retry_in_ms = backoff.as_millis() as u64,
                    "cannot accept {what}: {error}"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MOST);
            }
        }
    }
}
