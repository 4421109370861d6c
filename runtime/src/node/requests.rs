//! Writes and reads as a client of the cluster sees them, from any node: a write on a
//! follower is forwarded to the leader over the Raft transport; a linearizable read on a
//! follower asks the leader for its read index and waits until this node has applied
//! that far. While leadership changes, both retry until the request timeout.

use super::{now_ms, raft_error, Node, NodeError};
use crate::command::{Command, Request, Response};
use crate::member::NodeInfo;
use crate::network::wire::{Answer, Call, RemoteError};
use crate::network::CallError;
use crate::state::State;
use openraft::error::{ForwardToLeader, LinearizableReadError, RaftError};
use openraft::type_config::async_runtime::WatchReceiver;
use openraft::{ReadPolicy, TryAsRef};
use std::time::{Duration, Instant};

/// Longest pause between retries while waiting for a (new) leader.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Whether this node leads but could not hear from a quorum.
fn is_quorum_not_enough(
    error: &RaftError<
        crate::raft_types::TypeConfig,
        LinearizableReadError<crate::raft_types::TypeConfig>,
    >,
) -> bool {
    matches!(
        error.api_error(),
        Some(LinearizableReadError::QuorumNotEnough(_))
    )
}

/// What to do after a forwarded call failed.
enum Next {
    Retry,
    Fail(NodeError),
}

impl Node {
    /// Commits a command through consensus and returns the state machine's answer.
    pub async fn write(&self, command: Command) -> Result<Response, NodeError> {
        self.write_once(command, None).await
    }

    /// Like `write`, but a request whose key was already applied is not applied again
    /// (the first response is returned).
    pub async fn write_once(
        &self,
        command: Command,
        idempotency_key: Option<String>,
    ) -> Result<Response, NodeError> {
        let request = Request {
            at_ms: now_ms(),
            command,
            idempotency_key,
        };
        let started = Instant::now();
        let response = self.commit(request).await?;
        self.proposal_latency.observe(started.elapsed());
        Ok(response)
    }

    /// Commits `request`. Errors say whether the write certainly did not happen (no
    /// leader took it, it was refused) or may have (`OutcomeUnknown`): a write handed to
    /// a Raft that then failed, or whose answer was lost, is never reported as failed.
    async fn commit(&self, request: Request) -> Result<Response, NodeError> {
        let deadline = Instant::now() + self.request_timeout;
        // Whether some leader may have taken the request (then a timeout is unknown).
        let mut maybe_taken = false;
        loop {
            // A write a cluster member's Raft took but cannot commit (it leads, and no
            // quorum answers it) would be waited for without end: past the deadline its
            // fate is unknown, as a forwarded write's is. The embedded node is its own
            // quorum: it waits for its disk.
            let write = self.raft.client_write(request.clone());
            let written = match self.peers {
                Some(_) => {
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    tokio::time::timeout(remaining, write).await
                }
                None => Ok(write.await),
            };
            let Ok(written) = written else {
                return Err(NodeError::OutcomeUnknown(format!(
                    "this node took it as leader, and no quorum committed it within {} ms; \
                     this node may be cut off from the other voters",
                    self.request_timeout.as_millis()
                )));
            };
            let forward = match written {
                Ok(response) => return Ok(response.data),
                Err(error) => match self.leader_elsewhere(error) {
                    Ok(forward) => forward,
                    Err(NodeError::Raft(reason)) => return Err(NodeError::OutcomeUnknown(reason)),
                    Err(other) => return Err(other),
                },
            };
            if let Some((leader, info)) = &forward {
                let call = Call::Write(request.clone());
                match self.call_leader(*leader, info, call, deadline).await {
                    Ok(Answer::Written(response)) => return Ok(response),
                    Ok(other) => return Err(raft_error(format!("unexpected answer {other:?}"))),
                    // A lost answer may hide an applied write: only a request that
                    // cannot apply twice is sent again.
                    Err(CallError::Lost(_)) if request.idempotency_key.is_some() => {
                        maybe_taken = true;
                    }
                    Err(CallError::Lost(reason))
                    | Err(CallError::Remote(RemoteError::Raft(reason))) => {
                        return Err(NodeError::OutcomeUnknown(format!(
                            "the leader's answer was lost: {reason}"
                        )))
                    }
                    Err(error) => match retry_after(error) {
                        Next::Retry => {}
                        Next::Fail(error) => return Err(error),
                    },
                }
            }
            match self
                .await_leader_change(forward.map(|(id, _)| id), deadline)
                .await
            {
                Ok(()) => {}
                Err(NodeError::NoLeader { waited }) if maybe_taken => {
                    return Err(NodeError::OutcomeUnknown(format!(
                        "no leader answered within {} ms after one may have taken it",
                        waited.as_millis()
                    )))
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// Reads the state after confirming, through Raft, that it is current: every write
    /// committed before the read started is visible, on whichever node reads.
    pub async fn read<T>(&self, read: impl FnOnce(&State) -> T) -> Result<T, NodeError> {
        self.linearize().await?;
        self.await_boot_log().await?;
        Ok(read(&self.applied.read().await.state))
    }

    /// A node holds entries in its log at a restart that it has not applied yet (its
    /// saved commit index lags by up to 1,024 entries); every write it acknowledged
    /// before is among them. Until it applied that far, a read index — its own, if it
    /// kept leading — may be older than those acknowledgements, so it answers no
    /// linearizable read before.
    pub(super) async fn await_boot_log(&self) -> Result<(), NodeError> {
        use std::sync::atomic::Ordering;
        if self.boot_log_applied.load(Ordering::Acquire) {
            return Ok(());
        }
        self.raft
            .wait(Some(self.request_timeout))
            .applied_index_at_least(Some(self.boot_log_index), "apply the log held at start")
            .await
            .map_err(|_| NodeError::CatchingUp {
                waited: self.request_timeout,
            })?;
        self.boot_log_applied.store(true, Ordering::Release);
        Ok(())
    }

    async fn linearize(&self) -> Result<(), NodeError> {
        let deadline = Instant::now() + self.request_timeout;
        loop {
            let forward = match self.raft.ensure_linearizable(ReadPolicy::ReadIndex).await {
                Ok(_) => return Ok(()),
                Err(error) if is_quorum_not_enough(&error) => {
                    // A leader cut off from the others: wait for them or a new leader.
                    if Instant::now() + RETRY_PAUSE > deadline {
                        return Err(NodeError::NoQuorum {
                            waited: self.request_timeout,
                        });
                    }
                    tokio::time::sleep(RETRY_PAUSE).await;
                    continue;
                }
                Err(error) => self.leader_elsewhere(error)?,
            };
            if let Some((leader, info)) = &forward {
                match self
                    .call_leader(*leader, info, Call::ReadIndex, deadline)
                    .await
                {
                    Ok(Answer::ReadIndex(index)) => {
                        let remaining = deadline.saturating_duration_since(Instant::now());
                        return self
                            .raft
                            .wait(Some(remaining))
                            .applied_index_at_least(Some(index), "apply up to the read index")
                            .await
                            .map(|_| ())
                            .map_err(raft_error);
                    }
                    Ok(other) => return Err(raft_error(format!("unexpected answer {other:?}"))),
                    // Asking for a read index changes nothing: always safe to ask again.
                    Err(CallError::Lost(_)) => {}
                    Err(error) => match retry_after(error) {
                        Next::Retry => {}
                        Next::Fail(error) => return Err(error),
                    },
                }
            }
            self.await_leader_change(forward.map(|(id, _)| id), deadline)
                .await?;
        }
    }

    /// Reads this node's applied state without a round through Raft (may be stale on a
    /// follower).
    pub async fn read_local<T>(&self, read: impl FnOnce(&State) -> T) -> T {
        read(&self.applied.read().await.state)
    }

    /// The leader to forward to, from a "forward to leader" error (`None`: not known
    /// yet); any other error is returned.
    fn leader_elsewhere<E>(
        &self,
        error: RaftError<crate::raft_types::TypeConfig, E>,
    ) -> Result<Option<(u64, NodeInfo)>, NodeError>
    where
        E: std::error::Error + TryAsRef<ForwardToLeader<crate::raft_types::TypeConfig>>,
    {
        let Some(forward) = error.forward_to_leader() else {
            return Err(raft_error(error));
        };
        if self.peers.is_none() {
            return Err(NodeError::NotLeader { leader: None });
        }
        Ok(match (forward.leader_id, &forward.leader_node) {
            (Some(id), Some(info)) if id != self.id() => Some((id, info.clone())),
            _ => None,
        })
    }

    async fn call_leader(
        &self,
        leader: u64,
        info: &NodeInfo,
        call: Call,
        deadline: Instant,
    ) -> Result<Answer, CallError> {
        let Some(peers) = &self.peers else {
            return Err(CallError::Unreachable("no peers".into()));
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        peers.call(leader, &info.raft, call, remaining).await
    }

    /// Waits (briefly) for a leader other than `previous`; fails once the deadline passed.
    /// When no leader was named (`None`), it waits for a leader other than the one this
    /// node believes in now: a leader whose lease ran out (no quorum answered it lately)
    /// refuses writes without naming anyone, and asking it again at once would only spin
    /// — copying the request each time and crowding the Raft core that has to hear the
    /// answers that renew the lease.
    async fn await_leader_change(
        &self,
        previous: Option<u64>,
        deadline: Instant,
    ) -> Result<(), NodeError> {
        let now = Instant::now();
        if now >= deadline {
            return Err(NodeError::NoLeader {
                waited: self.request_timeout,
            });
        }
        let previous = previous.or_else(|| self.raft.metrics().borrow_watched().current_leader);
        let pause = RETRY_PAUSE.min(deadline - now);
        // Either a new leader appears or the pause ends; both mean: try again.
        let _ = self
            .raft
            .wait(Some(pause))
            .metrics(
                |m| m.current_leader.is_some() && m.current_leader != previous,
                "a new leader",
            )
            .await;
        Ok(())
    }
}

fn retry_after(error: CallError) -> Next {
    match error {
        CallError::Unreachable(_) | CallError::Remote(RemoteError::NotLeader { .. }) => Next::Retry,
        other => Next::Fail(raft_error(other)),
    }
}
