//! Calls to other nodes over persistent, multiplexed connections: one TCP (or TLS)
//! connection per peer, opened on first use with a `Hello`, carrying any number of
//! concurrent calls (each answer finds its caller by envelope id), reopened after it
//! breaks.

use super::tls::{server_name, BoxedIo};
use super::wire::{self, Answer, Call, Envelope, Hello, HelloReply, RemoteError};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsConnector;
use tokio_util::codec::Framed;

/// How long opening a connection (TCP and `Hello`) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Frames queued for one connection's writer before callers wait.
const OUTBOX: usize = 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// No connection could be made (the call was not sent).
    Unreachable(String),
    /// The peer refused this node's `Hello` (the call was not sent).
    Rejected(String),
    /// The connection broke or the answer did not come in time (the call may have been
    /// applied).
    Lost(String),
    /// The peer answered that it could not do it.
    Remote(RemoteError),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Unreachable(reason) => write!(f, "unreachable: {reason}"),
            CallError::Rejected(reason) => write!(f, "refused this node: {reason}"),
            CallError::Lost(reason) => write!(f, "no answer: {reason}"),
            CallError::Remote(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for CallError {}

/// The connection to one peer address, opened lazily (and again after it breaks);
/// the async lock makes concurrent first callers share one connection.
type LinkSlot = Arc<tokio::sync::Mutex<Option<Arc<Link>>>>;

/// This node's connections to the others.
pub struct Peers {
    from: u64,
    token: Arc<str>,
    /// TLS to every peer, when the node has a `[tls]` table.
    tls: Option<TlsConnector>,
    links: Mutex<HashMap<(u64, String), LinkSlot>>,
}

impl Peers {
    pub fn new(from: u64, token: &str, tls: Option<TlsConnector>) -> Peers {
        Peers {
            from,
            token: token.into(),
            tls,
            links: Mutex::new(HashMap::new()),
        }
    }

    /// Sends `call` to node `target` at `address` and waits up to `timeout` for its answer.
    pub async fn call(
        &self,
        target: u64,
        address: &str,
        call: Call,
        timeout: Duration,
    ) -> Result<Answer, CallError> {
        let link = self.link(target, address).await?;
        let answer = link.call(call, timeout).await?;
        match answer {
            Answer::Failed(error) => Err(CallError::Remote(error)),
            answer => Ok(answer),
        }
    }

    async fn link(&self, target: u64, address: &str) -> Result<Arc<Link>, CallError> {
        let slot = {
            let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
            links
                .entry((target, address.to_string()))
                .or_default()
                .clone()
        };
        let mut slot = slot.lock().await;
        if let Some(link) = slot.as_ref().filter(|link| link.is_open()) {
            return Ok(link.clone());
        }
        let link = Link::open(address, self.from, &self.token, self.tls.as_ref()).await?;
        *slot = Some(link.clone());
        Ok(link)
    }
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Answer>>>>;

/// One open connection: a writer task draining `outbox`, a reader task routing answers.
struct Link {
    outbox: mpsc::Sender<Bytes>,
    pending: Pending,
    next_id: AtomicU64,
    open: Arc<AtomicBool>,
}

impl Link {
    async fn open(
        address: &str,
        from: u64,
        token: &str,
        tls: Option<&TlsConnector>,
    ) -> Result<Arc<Link>, CallError> {
        let connect = async {
            let tcp = TcpStream::connect(address)
                .await
                .map_err(|e| CallError::Unreachable(format!("{address}: {e}")))?;
            tcp.set_nodelay(true)
                .map_err(|e| CallError::Unreachable(e.to_string()))?;
            let stream: BoxedIo = match tls {
                None => Box::new(tcp),
                Some(connector) => {
                    let name = server_name(address).map_err(CallError::Unreachable)?;
                    let tls = connector
                        .connect(name, tcp)
                        .await
                        .map_err(|e| CallError::Rejected(format!("{address}: TLS: {e}")))?;
                    Box::new(tls)
                }
            };
            let mut framed = Framed::new(stream, wire::hello_codec());
            let hello = Hello {
                version: wire::PROTOCOL_VERSION,
                from,
                token: token.to_string(),
            };
            framed
                .send(wire::encode(&hello))
                .await
                .map_err(|e| CallError::Unreachable(format!("{address}: {e}")))?;
            match framed.next().await {
                Some(Ok(frame)) => match wire::decode::<HelloReply>(&frame) {
                    Ok(HelloReply::Welcome) => {
                        framed
                            .codec_mut()
                            .set_max_frame_length(wire::MAX_FRAME_BYTES);
                        Ok(framed)
                    }
                    Ok(HelloReply::Rejected(reason)) => Err(CallError::Rejected(reason)),
                    Err(error) => Err(CallError::Unreachable(format!("{address}: {error}"))),
                },
                Some(Err(e)) => Err(CallError::Unreachable(format!("{address}: {e}"))),
                None => Err(CallError::Unreachable(format!(
                    "{address}: closed the connection"
                ))),
            }
        };
        let framed = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| CallError::Unreachable(format!("{address}: connect timed out")))??;
        let (mut sink, mut stream) = framed.split();
        let (outbox, mut frames) = mpsc::channel::<Bytes>(OUTBOX);
        let pending: Pending = Arc::default();
        let open = Arc::new(AtomicBool::new(true));

        let writer_open = open.clone();
        tokio::spawn(async move {
            while let Some(frame) = frames.recv().await {
                // Queue everything already waiting, then flush once.
                let mut batch = vec![frame];
                while let Ok(more) = frames.try_recv() {
                    batch.push(more);
                }
                let mut failed = false;
                for frame in batch {
                    if sink.feed(frame).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed || sink.flush().await.is_err() {
                    break;
                }
            }
            writer_open.store(false, Ordering::Release);
        });

        let reader_pending = pending.clone();
        let reader_open = open.clone();
        tokio::spawn(async move {
            while let Some(Ok(frame)) = stream.next().await {
                let Ok(envelope) = wire::decode::<Envelope<Answer>>(&frame) else {
                    break;
                };
                let waiter = reader_pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&envelope.id);
                if let Some(waiter) = waiter {
                    let _ = waiter.send(envelope.body);
                }
            }
            reader_open.store(false, Ordering::Release);
            // Dropping the waiters tells every caller the connection is gone.
            reader_pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
        });

        Ok(Arc::new(Link {
            outbox,
            pending,
            next_id: AtomicU64::new(1),
            open,
        }))
    }

    fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire) && !self.outbox.is_closed()
    }

    async fn call(&self, call: Call, timeout: Duration) -> Result<Answer, CallError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer_tx, answer_rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, answer_tx);
        let frame = wire::encode(&Envelope { id, body: call });
        let outcome = tokio::time::timeout(timeout, async {
            self.outbox
                .send(frame)
                .await
                .map_err(|_| CallError::Lost("the connection closed".into()))?;
            answer_rx
                .await
                .map_err(|_| CallError::Lost("the connection closed".into()))
        })
        .await;
        match outcome {
            Ok(result) => result,
            Err(_) => {
                self.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
                Err(CallError::Lost(format!(
                    "no answer within {} ms",
                    timeout.as_millis()
                )))
            }
        }
    }
}
