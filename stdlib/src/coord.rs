//! `coord.*`: leader election (an etcd-style lease campaigned for under this node's
//! name; the term is the fencing token), consensus proposals, and global ordering —
//! each one proposal through Raft.

use crate::op_fn::{OpFn, OpFuture};
use crate::result::{int, record, success};
use edgeflow_compiler::value::Value;
use edgeflow_runtime::command::{Command, Response};
use edgeflow_runtime::node::now_ms;
use edgeflow_runtime::op::{Args, OpContext, OpError, Registry};
use edgeflow_runtime::op_host::{Freshness, OpHost, Query, QueryAnswer};
use std::sync::{Arc, Weak};
use std::time::Duration;

pub fn register(registry: &mut Registry) {
    registry.register("coord.elect_leader", OpFn(elect_leader));
    registry.register("coord.get_leader", OpFn(get_leader));
    registry.register("coord.resign", OpFn(resign));
    registry.register("coord.propose", OpFn(propose));
    registry.register("coord.global_order", OpFn(global_order));
}

fn unexpected(response: Response) -> OpError {
    OpError::Failed(format!(
        "unexpected answer from the state machine: {response:?}"
    ))
}

fn elect_leader<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let group = args.string("group")?.to_string();
        let ttl_ms = (args.duration("ttl")? / 1_000_000).max(1) as u64;
        let candidate = context.host.name().to_string();
        let command = Command::Campaign {
            group: group.clone(),
            candidate,
            ttl_ms,
        };
        let key = Some(context.idempotency_key());
        match context.host.write_once(command, key).await? {
            Response::Leadership {
                success,
                leader,
                term,
            } => {
                if success {
                    keep_renewing(Arc::downgrade(&context.host), group, ttl_ms);
                }
                Ok(record([
                    ("success", Value::Bool(success)),
                    ("leader", Value::String(leader.unwrap_or_default())),
                    ("term", int(term)),
                ]))
            }
            other => Err(unexpected(other)),
        }
    })
}

/// Renews a lease this node won, every third of its time to live, for as long as the
/// node runs and still holds it (a resignation or a lost lease ends the renewals).
fn keep_renewing(host: Weak<dyn OpHost>, group: String, ttl_ms: u64) {
    tokio::spawn(async move {
        let period = Duration::from_millis((ttl_ms / 3).max(1));
        loop {
            tokio::time::sleep(period).await;
            let Some(host) = host.upgrade() else { break };
            let renew = Command::Renew {
                group: group.clone(),
                holder: host.name().to_string(),
                ttl_ms,
            };
            match host.write_once(renew, None).await {
                Ok(Response::Renew { success: true }) => {}
                _ => break,
            }
        }
    });
}

fn get_leader<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let group = args.string("group")?;
        let now = now_ms();
        let query = Query::Leader {
            group: group.to_string(),
            at_ms: now,
        };
        let (leader, term) = match context.host.query(query, Freshness::Linearizable).await? {
            QueryAnswer::Leader { holder, term } => (holder, term),
            other => return Err(OpError::Failed(format!("unexpected answer {other:?}"))),
        };
        Ok(record([
            ("success", Value::Bool(true)),
            ("leader", leader.map_or(Value::None, Value::String)),
            ("term", int(term)),
        ]))
    })
}

fn resign<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let command = Command::Resign {
            group: args.string("group")?.to_string(),
            holder: context.host.name().to_string(),
        };
        match context
            .host
            .write_once(command, Some(context.idempotency_key()))
            .await?
        {
            Response::Resign { success: ok } => Ok(success(ok)),
            other => Err(unexpected(other)),
        }
    })
}

fn propose<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let command = Command::Propose {
            group: args.string("group")?.to_string(),
            value: args.json("value")?,
        };
        match context
            .host
            .write_once(command, Some(context.idempotency_key()))
            .await?
        {
            Response::Propose { index, term } => Ok(record([
                ("success", Value::Bool(true)),
                ("accepted", Value::Bool(true)),
                ("index", int(index)),
                ("term", int(term)),
            ])),
            other => Err(unexpected(other)),
        }
    })
}

fn global_order<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let events = match args.json("events")? {
            serde_json::Value::Array(events) => events,
            other => vec![other],
        };
        let command = Command::GlobalOrder {
            group: args.string("group")?.to_string(),
            events,
        };
        match context
            .host
            .write_once(command, Some(context.idempotency_key()))
            .await?
        {
            Response::Order { sequence } => Ok(record([
                ("success", Value::Bool(true)),
                (
                    "sequence",
                    Value::List(sequence.into_iter().map(int).collect()),
                ),
            ])),
            other => Err(unexpected(other)),
        }
    })
}
