//! One operation against one node's API, and how its answer is read: the KV routes
//! (`/v1/state/rb/{key}`, `?if_version=` for compare-and-set) and the coordination
//! commands and queries ops make (`/v1/ops/write`, `/v1/ops/query`), with a member's
//! token. A write whose answer was lost, or that the node answered "outcome unknown",
//! is indeterminate; a read without an answer is simply a read that did not happen.

use crate::common::http::{self, NoAnswer, Reply};
use crate::history::{Answer, Op, Outcome};
use crate::register::{KvOp, KvRet};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The namespace the harness's keys live in.
pub const NAMESPACE: &str = "rb";

/// Longer than a node's own request timeout (2 s), so a node that is up answers.
const CALL_TIMEOUT: Duration = Duration::from_secs(4);

/// How reads are asked for: linearizable, or — only to show the harness catches a
/// broken read path — from the node's local copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    Linearizable,
    LocalCopy,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Performs `op` through the node at `url`.
pub fn perform(url: &str, token: &str, op: &Op, reads: Reads) -> Outcome {
    let is_read = matches!(op, Op::Kv { op: KvOp::Read, .. } | Op::Leader { .. });
    let (method, path, body) = request_of(op, reads);
    let reply = http::call(
        url,
        method,
        &path,
        Some(token),
        body.as_ref().map(|b| b.as_bytes()),
        CALL_TIMEOUT,
    );
    match reply {
        Err(NoAnswer::NotSent(reason)) => Outcome::Failed(format!("not sent: {reason}")),
        Err(NoAnswer::Lost(reason)) if is_read => Outcome::Failed(format!("no answer: {reason}")),
        Err(NoAnswer::Lost(reason)) => Outcome::Indeterminate(reason),
        Ok(reply) => answer_of(op, &reply),
    }
}

fn request_of(op: &Op, reads: Reads) -> (&'static str, String, Option<String>) {
    let state = |key: &str| format!("/v1/state/{NAMESPACE}/{key}");
    let write = |command: Value| {
        let body = json!({ "command": command }).to_string();
        ("POST", "/v1/ops/write".to_string(), Some(body))
    };
    match op {
        Op::Kv { key, op } => match op {
            KvOp::Read => {
                let query = match reads {
                    Reads::Linearizable => "",
                    Reads::LocalCopy => "?consistency=local",
                };
                ("GET", format!("{}{query}", state(key)), None)
            }
            KvOp::Write(value) => ("PUT", state(key), Some(json!(value).to_string())),
            KvOp::CompareAndSet { expected, value } => (
                "PUT",
                format!("{}?if_version={expected}", state(key)),
                Some(json!(value).to_string()),
            ),
            KvOp::Delete => ("DELETE", state(key), None),
        },
        Op::Campaign {
            group,
            candidate,
            ttl_ms,
        } => write(
            json!({"op": "campaign", "group": group, "candidate": candidate, "ttl_ms": ttl_ms}),
        ),
        Op::Resign { group, holder } => {
            write(json!({"op": "resign", "group": group, "holder": holder}))
        }
        Op::Order { group, events } => {
            let events: Vec<Value> = (0..*events).map(|i| json!(i)).collect();
            write(json!({"op": "global_order", "group": group, "events": events}))
        }
        Op::Propose { group, value } => {
            write(json!({"op": "propose", "group": group, "value": value}))
        }
        Op::Leader { group } => {
            let body = json!({
                "query": {"leader": {"group": group, "at_ms": unix_ms()}},
                "freshness": "linearizable",
            });
            ("POST", "/v1/ops/query".to_string(), Some(body.to_string()))
        }
    }
}

fn answer_of(op: &Op, reply: &Reply) -> Outcome {
    let body: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    let unknown = reply.status == 503 && body["outcome"] == "unknown";
    let refused = |reply: &Reply| Outcome::Failed(format!("{}: {}", reply.status, reply.body));
    if unknown {
        return match op {
            Op::Kv { op: KvOp::Read, .. } | Op::Leader { .. } => refused(reply),
            _ => Outcome::Indeterminate(reply.body.clone()),
        };
    }
    let answer = match (op, reply.status) {
        (Op::Kv { op: KvOp::Read, .. }, 200) => body["value"]
            .as_str()
            .zip(body["version"].as_u64())
            .map(|(v, n)| Answer::Kv(KvRet::Read(Some((v.to_string(), n))))),
        (Op::Kv { op: KvOp::Read, .. }, 404) => Some(Answer::Kv(KvRet::Read(None))),
        (
            Op::Kv {
                op: KvOp::Write(_) | KvOp::CompareAndSet { .. },
                ..
            },
            200,
        ) => body["version"]
            .as_u64()
            .map(|n| Answer::Kv(KvRet::Written(n))),
        (
            Op::Kv {
                op: KvOp::CompareAndSet { .. },
                ..
            },
            409,
        ) => body["version"]
            .as_u64()
            .map(|n| Answer::Kv(KvRet::Mismatch(n))),
        (
            Op::Kv {
                op: KvOp::Delete, ..
            },
            200,
        ) => body["success"]
            .as_bool()
            .map(|b| Answer::Kv(KvRet::Deleted(b))),
        (Op::Campaign { .. }, 200) => body["term"].as_u64().map(|term| Answer::Leadership {
            success: body["success"] == true,
            holder: body["leader"].as_str().map(str::to_string),
            term,
        }),
        (Op::Resign { .. }, 200) => body["success"].as_bool().map(Answer::Resigned),
        (Op::Leader { .. }, 200) => body["leader"]["term"].as_u64().map(|term| Answer::Leader {
            holder: body["leader"]["holder"].as_str().map(str::to_string),
            term,
        }),
        (Op::Order { .. }, 200) => body["sequence"]
            .as_array()
            .map(|numbers| Answer::Order(numbers.iter().filter_map(Value::as_u64).collect())),
        (Op::Propose { .. }, 200) => body["index"]
            .as_u64()
            .map(|index| Answer::Proposed { index }),
        _ => None,
    };
    let is_write = !matches!(op, Op::Kv { op: KvOp::Read, .. } | Op::Leader { .. });
    match answer {
        Some(answer) => Outcome::Ok(answer),
        // A write answered 200 was applied, whatever its body says.
        None if is_write && reply.status == 200 => {
            Outcome::Indeterminate(format!("an unreadable answer: {}", reply.body))
        }
        None => refused(reply),
    }
}
