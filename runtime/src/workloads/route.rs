//! Where a request for a workload's records goes: served from this node's store when
//! this node is the edge the placement names (always, on the embedded node), else sent
//! on — once, with this node's own token — to the member serving that edge, which
//! serves it only if it still does (`serve_forwarded`), so a request never loops.

use super::records::{serve_here, RecordAnswer, RecordOp};
use super::store::Write;
use super::{Placement, WorkloadError};
use crate::member::NodeInfo;
use crate::node::Node;
use crate::peer_reply::{self, ReplyError};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a forwarded request may take (a fill or a drop: `LONG_REQUEST`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const LONG_REQUEST: Duration = Duration::from_secs(600);
/// Nodes a request is sent on to at most, following a workload that moves.
const MAX_HOPS: usize = 3;

/// The body of `POST /v1/ops/workload`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadRequest {
    pub workload: String,
    #[serde(flatten)]
    pub op: RecordOp,
    /// Sent on by another member: serve it here or refuse (never send it on again).
    #[serde(default)]
    pub forwarded: bool,
}

/// A member's HTTP client for sending requests on to the member serving a workload.
pub struct Forwarder {
    http: reqwest::Client,
    token: String,
}

impl Forwarder {
    /// Presents `token` (this node's own); trusts `ca` (PEM) for HTTPS when given.
    pub fn new(token: &str, ca: Option<&[u8]>) -> Result<Forwarder, String> {
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = ca {
            let certificate = reqwest::Certificate::from_pem(pem)
                .map_err(|e| format!("the CA certificate: {e}"))?;
            builder = builder.add_root_certificate(certificate);
        }
        Ok(Forwarder {
            http: builder.build().map_err(|e| e.to_string())?,
            token: token.to_string(),
        })
    }

    /// POSTs `body` as JSON to another member's `path`, with this node's token.
    pub(crate) async fn post(
        &self,
        to: &NodeInfo,
        path: &str,
        body: &impl Serialize,
        timeout: Duration,
    ) -> Result<reqwest::Response, reqwest::Error> {
        self.http
            .post(format!("{}{path}", to.api))
            .bearer_auth(&self.token)
            .timeout(timeout)
            .json(body)
            .send()
            .await
    }

    async fn send(
        &self,
        to: &NodeInfo,
        workload: &str,
        op: RecordOp,
    ) -> Result<RecordAnswer, WorkloadError> {
        let writes = op.writes();
        let timeout = match op {
            RecordOp::Fill { .. } | RecordOp::Drop => LONG_REQUEST,
            _ => REQUEST_TIMEOUT,
        };
        let body = WorkloadRequest {
            workload: workload.to_string(),
            op,
            forwarded: true,
        };
        let sent = self.post(to, "/v1/ops/workload", &body, timeout).await;
        let lost = |error: ReplyError| {
            let reason = format!("{}: {error}", to.api);
            let workload = workload.to_string();
            if writes && !error.is_connect() {
                WorkloadError::OutcomeUnknown { workload, reason }
            } else {
                WorkloadError::Unreachable { workload, reason }
            }
        };
        let reply = sent.map_err(|e| lost(ReplyError::Transport(e)))?;
        let status = reply.status();
        let answer: serde_json::Value = peer_reply::json(reply, peer_reply::MAX_JSON_REPLY_BYTES)
            .await
            .map_err(lost)?;
        if status.is_success() {
            return serde_json::from_value(answer).map_err(|e| WorkloadError::Remote {
                status: 502,
                message: format!("{} answered something else than records: {e}", to.api),
            });
        }
        let message = answer
            .get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(status.as_str())
            .to_string();
        Err(WorkloadError::Remote {
            status: status.as_u16(),
            message,
        })
    }
}

impl Node {
    /// The placement of `workload`: this node's copy of the state, or — when it does
    /// not know the workload, which may have just been created — the leader's.
    pub async fn placement(&self, workload: &str) -> Result<Placement, WorkloadError> {
        let local = self
            .read_local(|state| state.workloads.get(workload).cloned())
            .await;
        let placement = match local {
            Some(placement) => Some(placement),
            None => self
                .read(|state| state.workloads.get(workload).cloned())
                .await
                .map_err(|e| WorkloadError::Unreachable {
                    workload: workload.to_string(),
                    reason: e.to_string(),
                })?,
        };
        placement.ok_or_else(|| WorkloadError::Unknown(workload.to_string()))
    }

    /// Whether this node serves a workload so placed (the embedded node serves all).
    fn serves(&self, placement: &Placement) -> bool {
        self.forwarder().is_none() || placement.edge == self.name
    }

    /// Serves `op` on `workload` wherever the workload is served.
    pub async fn workload(
        &self,
        workload: &str,
        op: RecordOp,
    ) -> Result<RecordAnswer, WorkloadError> {
        op.check()?;
        let mut placement = self.placement(workload).await?;
        if self.serves(&placement) {
            match self.serve_as_owner(workload, op.clone()).await? {
                Served::Here(answer) => return Ok(answer),
                Served::MovedTo(moved) => placement = moved,
            }
        }
        // A workload moved by a cutover while the request was on its way is followed
        // to its new edge (a few times at most: it never loops).
        for _ in 0..MAX_HOPS {
            let member = self.member_on_edge(&placement.edge).ok_or_else(|| {
                WorkloadError::NoServingNode {
                    workload: workload.to_string(),
                    edge: placement.edge.clone(),
                }
            })?;
            let Some(forwarder) = self.forwarder() else {
                break;
            };
            match forwarder.send(&member, workload, op.clone()).await {
                Err(WorkloadError::Remote { status: 421, .. }) => {
                    placement = self.leaders_placement(workload).await?;
                    if self.serves(&placement) {
                        let served = self.serve_as_owner(workload, op.clone()).await?;
                        if let Served::Here(answer) = served {
                            return Ok(answer);
                        }
                    }
                }
                answered => return answered,
            }
        }
        Err(WorkloadError::NoServingNode {
            workload: workload.to_string(),
            edge: placement.edge,
        })
    }

    /// Serves `op` sent on by another member: here, if this node serves the workload
    /// (by the leader's placement when this node's copy says otherwise).
    pub async fn serve_forwarded(
        &self,
        workload: &str,
        op: RecordOp,
    ) -> Result<RecordAnswer, WorkloadError> {
        let mut placement = self.placement(workload).await?;
        if placement.edge != self.name {
            placement = self.leaders_placement(workload).await?;
        }
        if placement.edge == self.name {
            match self.serve_as_owner(workload, op).await? {
                Served::Here(answer) => return Ok(answer),
                Served::MovedTo(moved) => placement = moved,
            }
        }
        Err(WorkloadError::NotServedHere {
            workload: workload.to_string(),
            edge: placement.edge,
        })
    }

    /// The placement of `workload` as of now (a linearizable read: never one this node
    /// has not applied yet, such as a workload just removed).
    pub async fn leaders_placement(&self, workload: &str) -> Result<Placement, WorkloadError> {
        self.read(|state| state.workloads.get(workload).cloned())
            .await
            .map_err(|e| WorkloadError::Unreachable {
                workload: workload.to_string(),
                reason: e.to_string(),
            })?
            .ok_or_else(|| WorkloadError::Unknown(workload.to_string()))
    }

    /// Serves `op` as the node serving `workload`: a read at once; a write through the
    /// workload's gate (waiting out a migration's freeze), then — the placement looked
    /// at again, as a cutover may have moved it meanwhile — here, and on the mirror
    /// when the workload has one.
    async fn serve_as_owner(&self, workload: &str, op: RecordOp) -> Result<Served, WorkloadError> {
        if !op.writes() {
            return Ok(Served::Here(
                serve_here(self.workload_store(), workload, op).await?,
            ));
        }
        let Some(_passed) = self.gates().enter(workload).await else {
            return Err(WorkloadError::Frozen(workload.to_string()));
        };
        let placement = self.placement(workload).await?;
        if !self.serves(&placement) {
            return Ok(Served::MovedTo(placement));
        }
        let Some(mirror) = placement.mirror.filter(|_| self.forwarder().is_some()) else {
            return Ok(Served::Here(
                serve_here(self.workload_store(), workload, op).await?,
            ));
        };
        let (key, once) = match &op {
            RecordOp::Put { key, once, .. } | RecordOp::Delete { key, once } => {
                (key.clone(), once.clone())
            }
            _ => {
                return Err(WorkloadError::BadInput(format!(
                    "workload `{workload}` is being migrated (cut over, its old copy not removed yet): fill or remove it once the migration ends"
                )))
            }
        };
        let _one = self.serial().one_at_a_time(workload).await;
        let answer = serve_here(self.workload_store(), workload, op).await?;
        let now = self
            .workload_store()
            .get(workload, &key)
            .await
            .map_err(|e| WorkloadError::Storage(e.to_string()))?;
        let storage = |e: std::io::Error| WorkloadError::Storage(e.to_string());
        let remember = match once {
            Some(id) => {
                let record = self.workload_store().remembered(workload, &id).await;
                record
                    .map_err(storage)?
                    .map(|record| RememberedId::new(id, &record))
            }
            None => None,
        };
        let import = SideOp::Import {
            key,
            remember,
            version: now.as_ref().map_or(0, |r| r.version),
            value: match now {
                Some(record) => Some(String::from_utf8(record.value).map_err(|_| {
                    WorkloadError::Storage(format!("a record of `{workload}` is not UTF-8"))
                })?),
                None => None,
            },
        };
        let mirrored = match self.member_on_edge(&mirror) {
            Some(member) => self.side(&member, workload, import).await.map(|_| ()),
            None => Err(format!("no member serves edge `{mirror}`")),
        };
        mirrored.map_err(|reason| WorkloadError::Mirror {
            workload: workload.to_string(),
            reason,
        })?;
        Ok(Served::Here(answer))
    }

    /// Sends a request on one node's own copy of a workload (a migration's side).
    pub async fn side(
        &self,
        member: &NodeInfo,
        workload: &str,
        op: SideOp,
    ) -> Result<serde_json::Value, String> {
        let forwarder = self
            .forwarder()
            .ok_or("the embedded node has no other side")?;
        let body = SideRequest {
            workload: workload.to_string(),
            op,
        };
        let reply = forwarder
            .post(member, "/v1/migrations/side", &body, LONG_REQUEST)
            .await
            .map_err(|e| format!("{}: {e}", member.api))?;
        let status = reply.status();
        let answer: serde_json::Value = peer_reply::json(reply, peer_reply::MAX_JSON_REPLY_BYTES)
            .await
            .map_err(|e| format!("{}: {e}", member.api))?;
        if status.is_success() {
            return Ok(answer);
        }
        Err(answer
            .get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(status.as_str())
            .to_string())
    }

    /// Serves a side request on this node's own copy, wherever the workload is served.
    pub async fn serve_side(
        &self,
        workload: &str,
        op: SideOp,
    ) -> Result<serde_json::Value, WorkloadError> {
        let store = self.workload_store();
        let storage = |e: std::io::Error| WorkloadError::Storage(e.to_string());
        match op {
            SideOp::Summary => {
                let summary = store.summary(workload).await.map_err(storage)?;
                Ok(serde_json::json!({
                    "records": summary.records,
                    "bytes": summary.bytes,
                    "seq": summary.seq,
                    "digest": summary.digest.to_hex(),
                }))
            }
            SideOp::Drop => {
                store
                    .write(workload, vec![Write::Drop])
                    .await
                    .map_err(storage)?;
                Ok(serde_json::json!({ "dropped": true }))
            }
            SideOp::WriteIds {
                after_ms,
                after_id,
                limit,
            } => {
                let found = store
                    .write_ids(workload, (after_ms, after_id), limit.min(MAX_WRITE_IDS))
                    .await
                    .map_err(storage)?;
                let last = found.last().map(|(at, id, _)| (*at, id.clone()));
                let ids: Vec<RememberedId> = found
                    .into_iter()
                    .map(|(_, id, record)| RememberedId::new(id, &record))
                    .collect();
                Ok(serde_json::json!({ "ids": ids, "last": last }))
            }
            SideOp::RememberIds { ids } => {
                if ids.len() > MAX_WRITE_IDS {
                    return Err(WorkloadError::BadInput(format!(
                        "at most {MAX_WRITE_IDS} write ids at a time"
                    )));
                }
                let writes = ids
                    .into_iter()
                    .map(RememberedId::write)
                    .collect::<Result<Vec<_>, _>>()?;
                let count = writes.len();
                store.write(workload, writes).await.map_err(storage)?;
                Ok(serde_json::json!({ "remembered": count }))
            }
            SideOp::Import {
                key,
                value,
                version,
                remember,
            } => {
                if let Some(text) = &value {
                    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| {
                        WorkloadError::BadInput(format!("a mirrored value is not JSON: {e}"))
                    })?;
                }
                let mut writes = vec![Write::Import {
                    key,
                    value: value.map(String::into_bytes),
                    version,
                }];
                writes.extend(remember.map(RememberedId::write).transpose()?);
                store.write(workload, writes).await.map_err(storage)?;
                Ok(serde_json::json!({ "imported": true }))
            }
            SideOp::Freeze { hold_ms } => {
                self.gates()
                    .freeze(workload, Duration::from_millis(hold_ms))
                    .await;
                Ok(serde_json::json!({ "frozen": true }))
            }
            SideOp::Capacity { workloads } => {
                let room = crate::migrations::Room::on(self, &workloads)
                    .await
                    .map_err(storage)?;
                serde_json::to_value(room).map_err(|e| WorkloadError::Storage(e.to_string()))
            }
            SideOp::Thaw => {
                // Writes waiting at the gate look at the placement again when it opens:
                // every change committed so far (a cutover) must be applied here first.
                let applied = self.read(|_| ()).await;
                self.gates().thaw(workload);
                applied.map_err(|e| WorkloadError::Unreachable {
                    workload: workload.to_string(),
                    reason: e.to_string(),
                })?;
                Ok(serde_json::json!({ "frozen": false }))
            }
        }
    }
}

/// What a write ended as.
enum Served {
    Here(RecordAnswer),
    /// The workload moved while the write waited at the gate.
    MovedTo(Placement),
}

/// A request on one node's own copy of a workload, whichever edge serves it: what a
/// migration asks of its source and target.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SideOp {
    Summary,
    Drop,
    /// A record exactly as the serving edge has it: its value's JSON text (none:
    /// deleted).
    Import {
        key: String,
        value: Option<String>,
        version: u64,
        /// The write id the write was made with, as the serving edge remembers it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remember: Option<RememberedId>,
    },
    /// The write ids remembered after (`after_ms`, `after_id`), at most `limit`.
    WriteIds {
        after_ms: u64,
        #[serde(default)]
        after_id: String,
        limit: usize,
    },
    /// Write ids another node remembers, to remember here too.
    RememberIds {
        ids: Vec<RememberedId>,
    },
    /// Close the write gate for at most `hold_ms`.
    Freeze {
        hold_ms: u64,
    },
    Thaw,
    /// The room the node has for these workloads (`migrations::Room`).
    Capacity {
        #[serde(default)]
        workloads: Vec<String>,
    },
}

/// A write id and its record in the store's `APPLIED` table (base64), as it travels
/// between the two sides of a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RememberedId {
    pub id: String,
    pub record: String,
}

impl RememberedId {
    fn new(id: String, record: &[u8]) -> RememberedId {
        RememberedId {
            id,
            record: base64::engine::general_purpose::STANDARD.encode(record),
        }
    }

    /// The write that remembers it here, refused when a peer sent something malformed.
    pub(crate) fn write(self) -> Result<Write, WorkloadError> {
        if self.id.is_empty() || self.id.len() > super::records::MAX_WRITE_ID_BYTES {
            return Err(WorkloadError::BadInput(format!(
                "a write id is 1 to {} bytes",
                super::records::MAX_WRITE_ID_BYTES
            )));
        }
        let record = base64::engine::general_purpose::STANDARD
            .decode(self.record.as_bytes())
            .map_err(|e| WorkloadError::BadInput(format!("a write id's record: {e}")))?;
        Ok(Write::Remember {
            id: self.id,
            record,
        })
    }
}

/// The most write ids one side request carries or answers.
pub const MAX_WRITE_IDS: usize = 10_000;

/// The body of `POST /v1/migrations/side`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SideRequest {
    pub workload: String,
    #[serde(flatten)]
    pub op: SideOp,
}
