//! openraft's network over `Peers`: each Raft RPC becomes one `Call` on the persistent
//! connection to the target node, at the Raft address the membership records for it.

use super::peers::{CallError, Peers};
use super::snapshot_chunks;
use super::wire::{Answer, Call};
use crate::member::NodeInfo;
use crate::raft_types::TypeConfig;
use openraft::error::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::v2::RaftNetworkV2;
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::OptionalSend;
use std::future::Future;
use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct TcpNetwork {
    peers: Arc<Peers>,
}

impl TcpNetwork {
    pub fn new(peers: Arc<Peers>) -> TcpNetwork {
        TcpNetwork { peers }
    }
}

impl RaftNetworkFactory<TypeConfig> for TcpNetwork {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, node: &NodeInfo) -> PeerClient {
        PeerClient {
            peers: self.peers.clone(),
            target,
            address: node.raft.clone(),
        }
    }
}

pub struct PeerClient {
    peers: Arc<Peers>,
    target: u64,
    address: String,
}

/// How a failed call looks to openraft: a peer that cannot be reached is backed off,
/// anything else is retried.
fn rpc_error(error: CallError) -> RPCError<TypeConfig> {
    match error {
        CallError::Unreachable(_) | CallError::Rejected(_) => {
            RPCError::Unreachable(Unreachable::from_string(error))
        }
        CallError::Lost(_) | CallError::Remote(_) => {
            RPCError::Network(NetworkError::from_string(error))
        }
    }
}

fn unexpected(answer: &Answer) -> CallError {
    CallError::Lost(format!("unexpected answer {answer:?}"))
}

/// How long a follower may take to install a whole snapshot (the last chunk's answer):
/// decoding and applying tens of megabytes takes far longer than a chunk's round trip.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(120);

impl PeerClient {
    async fn call(&self, call: Call, option: &RPCOption) -> Result<Answer, CallError> {
        self.call_within(call, option.hard_ttl()).await
    }

    async fn call_within(&self, call: Call, timeout: Duration) -> Result<Answer, CallError> {
        self.peers
            .call(self.target, &self.address, call, timeout)
            .await
    }
}

impl RaftNetworkV2<TypeConfig> for PeerClient {
    type SnapshotData = Cursor<Vec<u8>>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self.call(Call::AppendEntries(rpc), &option).await {
            Ok(Answer::AppendEntries(response)) => Ok(response),
            Ok(other) => Err(rpc_error(unexpected(&other))),
            Err(error) => Err(rpc_error(error)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self.call(Call::Vote(rpc), &option).await {
            Ok(Answer::Vote(response)) => Ok(response),
            Ok(other) => Err(rpc_error(unexpected(&other))),
            Err(error) => Err(rpc_error(error)),
        }
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self.call(Call::PreVote(rpc), &option).await {
            Ok(Answer::Vote(response)) => Ok(response),
            Ok(other) => Err(rpc_error(unexpected(&other))),
            Err(error) => Err(rpc_error(error)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: openraft::alias::VoteOf<TypeConfig>,
        snapshot: openraft::alias::SnapshotOf<TypeConfig, Self::SnapshotData>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let data = snapshot.snapshot.into_inner();
        let total = data.len() as u64;
        let send_all = async {
            for (offset, chunk) in snapshot_chunks::chunks(&data) {
                let last = offset + chunk.len() as u64 == total;
                let call = Call::SnapshotChunk {
                    vote,
                    meta: snapshot.meta.clone(),
                    offset,
                    total,
                    data: chunk.to_vec(),
                };
                let timeout = if last {
                    INSTALL_TIMEOUT
                } else {
                    option.hard_ttl()
                };
                match self.call_within(call, timeout).await {
                    Ok(Answer::ChunkReceived) if !last => {}
                    Ok(Answer::Snapshot(response)) if last => return Ok(response),
                    Ok(other) => return Err(unexpected(&other)),
                    Err(error) => return Err(error),
                }
            }
            Err(CallError::Lost("the snapshot had no last chunk".into()))
        };
        let answer = tokio::select! {
            answer = send_all => answer,
            closed = cancel => return Err(StreamingError::Closed(closed)),
        };
        let error = match answer {
            Ok(response) => return Ok(response),
            Err(error) => {
                tracing::warn!(to = %self.target, "cannot send a snapshot of {total} bytes: {error}");
                rpc_error(error)
            }
        };
        Err(match error {
            RPCError::Unreachable(e) => StreamingError::Unreachable(e),
            other => StreamingError::Network(NetworkError::from_string(other)),
        })
    }
}
