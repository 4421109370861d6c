//! The Raft endpoint: accepts connections from peers, checks each `Hello` (protocol
//! version, and the token of the node it claims to be) before it reads anything larger
//! than a hello, then answers calls concurrently on the same connection, each admitted
//! first (`admission`: still a member, speaking only for itself). A frame that does not
//! decode ends the connection with a `Malformed` answer; nothing is applied from it.
//! Connections are capped, and accept errors (no file descriptors left) back off
//! instead of spinning.

use super::accept::accept_with_backoff;
use super::admission::{self, Refusal};
use super::snapshot_chunks::{Assembly, Received};
use super::tls::BoxedIo;
use super::wire::{self, Answer, Call, Envelope, Hello, HelloReply, RemoteError};
use crate::member::token_sha256;
use crate::raft_types::TypeConfig;
use crate::storage::StateStore;
use crate::trust::Trust;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use openraft::error::RaftError;
use openraft::{Raft, ReadPolicy};
use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::Framed;

/// How long a new connection may take to say `Hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// Calls one connection may have in progress at once.
const IN_FLIGHT_PER_CONNECTION: usize = 4096;
/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 256;

pub type RaftHandle = Raft<TypeConfig, StateStore>;

/// Serves peers until the task is dropped; with TLS, peers must present a certificate
/// from the cluster's CA.
pub async fn serve(
    listener: TcpListener,
    raft: RaftHandle,
    trust: Arc<Trust>,
    tls: Option<TlsAcceptor>,
) {
    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = connections.clone().acquire_owned().await else {
            return;
        };
        let (tcp, peer) = accept_with_backoff(&listener, "a Raft connection").await;
        let (raft, trust, tls) = (raft.clone(), trust.clone(), tls.clone());
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(reason) = accept(tcp, tls, raft, trust).await {
                tracing::warn!(peer = %peer, "raft connection closed: {reason}");
            }
        });
    }
}

async fn accept(
    tcp: TcpStream,
    tls: Option<TlsAcceptor>,
    raft: RaftHandle,
    trust: Arc<Trust>,
) -> Result<(), String> {
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let stream: BoxedIo = match tls {
        None => Box::new(tcp),
        Some(acceptor) => {
            let handshake = tokio::time::timeout(HELLO_TIMEOUT, acceptor.accept(tcp));
            let tls = handshake
                .await
                .map_err(|_| "no TLS handshake in time".to_string())?
                .map_err(|e| format!("TLS: {e}"))?;
            Box::new(tls)
        }
    };
    connection(stream, raft, trust).await
}

async fn connection(stream: BoxedIo, raft: RaftHandle, trust: Arc<Trust>) -> Result<(), String> {
    // Nothing larger than a hello is read before the token is checked.
    let mut framed = Framed::new(stream, wire::hello_codec());
    let hello = tokio::time::timeout(HELLO_TIMEOUT, framed.next())
        .await
        .map_err(|_| "no hello in time".to_string())?
        .ok_or("closed before hello")?
        .map_err(|e| e.to_string())?;
    // Decoded and its token hashed once: the connection is bound to (from, hash).
    let admitted = match wire::decode::<Hello>(&hello) {
        Err(error) => Err(format!("{error}: expected a hello")),
        Ok(hello) if hello.version != wire::PROTOCOL_VERSION => Err(format!(
            "protocol version {} is not supported (this node speaks {})",
            hello.version,
            wire::PROTOCOL_VERSION
        )),
        Ok(hello) => {
            let hash = token_sha256(&hello.token);
            if trust.member_with(&hash) == Some(hello.from) {
                Ok((hello.from, hash))
            } else {
                Err(format!("the token is not node {}'s token", hello.from))
            }
        }
    };
    let (from, token_hash) = match admitted {
        Ok(bound) => bound,
        Err(reason) => {
            let _ = framed
                .send(wire::encode(&HelloReply::Rejected(reason.clone())))
                .await;
            return Err(reason);
        }
    };
    framed
        .send(wire::encode(&HelloReply::Welcome))
        .await
        .map_err(|e| e.to_string())?;
    framed
        .codec_mut()
        .set_max_frame_length(wire::MAX_FRAME_BYTES);

    let (mut sink, mut frames) = framed.split();
    let (outbox, mut answers) = mpsc::channel::<Bytes>(IN_FLIGHT_PER_CONNECTION);
    let writer = tokio::spawn(async move {
        while let Some(frame) = answers.recv().await {
            let mut batch = vec![frame];
            while let Ok(more) = answers.try_recv() {
                batch.push(more);
            }
            for frame in batch {
                if sink.feed(frame).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let permits = Arc::new(Semaphore::new(IN_FLIGHT_PER_CONNECTION));
    let mut assembly = Assembly::default();
    let result = loop {
        let frame = match frames.next().await {
            None => break Ok(()),
            Some(Err(error)) => break Err(error.to_string()),
            Some(Ok(frame)) => frame,
        };
        let envelope = match wire::decode::<Envelope<Call>>(&frame) {
            Ok(envelope) => envelope,
            Err(error) => {
                reply(
                    &outbox,
                    0,
                    Answer::Failed(RemoteError::Malformed(error.to_string())),
                )
                .await;
                break Err(error.to_string());
            }
        };
        match admission::admit(&envelope.body, from, &token_hash, &trust) {
            Ok(()) => {}
            Err(refusal) => {
                reply(
                    &outbox,
                    envelope.id,
                    Answer::Failed(RemoteError::Refused(refusal.to_string())),
                )
                .await;
                if let Refusal::NotAMember { .. } = refusal {
                    break Err(refusal.to_string());
                }
                tracing::warn!(from = %from, "refused a Raft call: {refusal}");
                continue;
            }
        }
        // Snapshot chunks are assembled here, in the order they came; the whole snapshot
        // is installed like any other call.
        let body = match envelope.body {
            Call::SnapshotChunk {
                vote,
                meta,
                offset,
                total,
                data,
            } => {
                let whole = match assembly.receive(&meta, offset, total, data) {
                    Ok(Received::Complete(whole)) => whole,
                    partial_or_refused => {
                        let answer = match partial_or_refused {
                            Err(reason) => Answer::Failed(RemoteError::Raft(reason)),
                            _ => Answer::ChunkReceived,
                        };
                        reply(&outbox, envelope.id, answer).await;
                        continue;
                    }
                };
                Call::SnapshotChunk {
                    vote,
                    meta,
                    offset: 0,
                    total: whole.len() as u64,
                    data: whole,
                }
            }
            other => other,
        };
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break Ok(());
        };
        let raft = raft.clone();
        let outbox = outbox.clone();
        tokio::spawn(async move {
            let answer = answer(&raft, body).await;
            let _ = outbox
                .send(wire::encode(&Envelope {
                    id: envelope.id,
                    body: answer,
                }))
                .await;
            drop(permit);
        });
    };
    drop(outbox);
    let _ = writer.await;
    result
}

/// Queues an answer that needs no Raft work (a refusal, a chunk acknowledged).
async fn reply(outbox: &mpsc::Sender<Bytes>, id: u64, body: Answer) {
    let _ = outbox.send(wire::encode(&Envelope { id, body })).await;
}

async fn answer(raft: &RaftHandle, call: Call) -> Answer {
    match call {
        Call::AppendEntries(request) => match raft.append_entries(request).await {
            Ok(response) => Answer::AppendEntries(response),
            Err(error) => failed(error),
        },
        Call::Vote(request) => match raft.vote(request).await {
            Ok(response) => Answer::Vote(response),
            Err(error) => failed(error),
        },
        Call::PreVote(request) => match raft.pre_vote(request).await {
            Ok(response) => Answer::Vote(response),
            Err(error) => failed(error),
        },
        // Assembled by the connection: `data` is the whole snapshot.
        Call::SnapshotChunk {
            vote, meta, data, ..
        } => {
            let snapshot = openraft::Snapshot {
                meta,
                snapshot: Cursor::new(data),
            };
            match raft.install_full_snapshot(vote, snapshot).await {
                Ok(response) => Answer::Snapshot(response),
                Err(error) => failed(error),
            }
        }
        // The leader's clock stamps what it is asked to commit, not the follower's that
        // forwarded it: leases and driver leases are judged in that time, and a follower
        // whose clock runs ahead must not expire them early.
        Call::Write(mut request) => {
            request.at_ms = crate::node::now_ms();
            match raft.client_write(request).await {
                Ok(response) => Answer::Written(response.data),
                Err(error) => refused(error),
            }
        }
        Call::ReadIndex => match raft.get_read_log_id(ReadPolicy::ReadIndex).await {
            Ok((read, _)) => Answer::ReadIndex(read.log_id().index),
            Err(error) => refused(error),
        },
    }
}

/// A leader-only call this node could not serve: "not the leader" says who is.
fn refused<E>(error: RaftError<TypeConfig, E>) -> Answer
where
    E: std::error::Error + openraft::TryAsRef<openraft::error::ForwardToLeader<TypeConfig>>,
{
    match error.forward_to_leader() {
        Some(forward) => Answer::Failed(RemoteError::NotLeader {
            leader: forward.leader_id,
        }),
        None => failed(error),
    }
}

fn failed(error: impl std::fmt::Display) -> Answer {
    Answer::Failed(RemoteError::Raft(error.to_string()))
}
