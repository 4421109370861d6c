//! `state.*`: versioned keys in namespaces. Writes go through Raft; `state.get` reads
//! linearizably unless asked for `consistency: "local"`. A namespace `workload:NAME`
//! is the records of workload NAME instead: served by the node of the edge serving it
//! (`workloads::route`), written durably there, never through Raft.

use crate::op_fn::{OpFn, OpFuture};
use crate::result::{int, record, success};
use edgeflow_compiler::value::Value;
use edgeflow_runtime::command::{Command, Response};
use edgeflow_runtime::node::NodeError;
use edgeflow_runtime::op::{Args, OpContext, OpError, Registry};
use edgeflow_runtime::op_host::{Freshness, Query, QueryAnswer};
use edgeflow_runtime::state::Versioned;
use edgeflow_runtime::workloads::{
    workload_of_namespace, RecordAnswer, RecordOp, RecordView, WorkloadError,
};

pub fn register(registry: &mut Registry) {
    registry.register("state.get", OpFn(get));
    registry.register("state.put", OpFn(put));
    registry.register("state.delete", OpFn(delete));
    registry.register("state.scan", OpFn(scan));
}

fn unexpected_answer(answer: QueryAnswer) -> OpError {
    OpError::Failed(format!("unexpected answer from the state: {answer:?}"))
}

fn versioned_fields(versioned: Option<Versioned>) -> (bool, Value, Value) {
    match versioned {
        Some(v) => (true, Value::from_json(&v.value), int(v.version)),
        None => (false, Value::None, Value::Int(0)),
    }
}

/// The op's `ns` and `key`, refused when one could never be named (`""`, `.`, `..`).
fn address(args: &Args) -> Result<(String, String), OpError> {
    let (ns, key) = (args.string("ns")?, args.string("key")?);
    edgeflow_runtime::state::check_address(ns, key).map_err(OpError::Failed)?;
    Ok((ns.to_string(), key.to_string()))
}

fn workload_error(error: WorkloadError) -> OpError {
    match error {
        WorkloadError::OutcomeUnknown { .. } => {
            OpError::Node(NodeError::OutcomeUnknown(error.to_string()))
        }
        other => OpError::Failed(other.to_string()),
    }
}

/// Serves `op` on the workload `ns` names, if it names one.
async fn on_workload(
    context: &OpContext,
    ns: &str,
    op: RecordOp,
) -> Option<Result<RecordAnswer, OpError>> {
    let workload = workload_of_namespace(ns)?;
    Some(
        context
            .host
            .workload(workload, op)
            .await
            .map_err(workload_error),
    )
}

fn record_fields(view: RecordView) -> Value {
    record([
        ("key", Value::String(view.key)),
        ("value", Value::from_json(&view.value)),
        ("version", int(view.version)),
    ])
}

fn unexpected_record_answer(answer: RecordAnswer) -> OpError {
    OpError::Failed(format!("unexpected answer from the workload: {answer:?}"))
}

fn get<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let (ns, key) = address(args)?;
        let op = RecordOp::Get { key: key.clone() };
        if let Some(answer) = on_workload(context, &ns, op).await {
            let found = match answer? {
                RecordAnswer::Record { record } => record,
                other => return Err(unexpected_record_answer(other)),
            };
            let (found, value, version) = match found {
                Some(view) => (true, Value::from_json(&view.value), int(view.version)),
                None => (false, Value::None, Value::Int(0)),
            };
            return Ok(record([
                ("found", Value::Bool(found)),
                ("value", value),
                ("version", version),
            ]));
        }
        let query = Query::Get { ns, key };
        let freshness = match args.string("consistency")? {
            "linearizable" => Freshness::Linearizable,
            "local" => Freshness::Local,
            _ => {
                return Err(OpError::BadArgument {
                    name: "consistency".into(),
                    expected: "\"linearizable\" or \"local\"",
                })
            }
        };
        let versioned = match context.host.query(query, freshness).await? {
            QueryAnswer::Entry(entry) => entry,
            other => return Err(unexpected_answer(other)),
        };
        let (found, value, version) = versioned_fields(versioned);
        Ok(record([
            ("found", Value::Bool(found)),
            ("value", value),
            ("version", version),
        ]))
    })
}

fn put<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let if_version = match args.optional_int("if_version")? {
            Some(v) if v < 0 => {
                return Err(OpError::BadArgument {
                    name: "if_version".into(),
                    expected: "0 or more",
                })
            }
            other => other.map(|v| v as u64),
        };
        let (ns, key) = address(args)?;
        let op = RecordOp::Put {
            key: key.clone(),
            value: args.json("value")?,
            if_version,
            once: Some(context.idempotency_key()),
        };
        if let Some(answer) = on_workload(context, &ns, op).await {
            return match answer? {
                RecordAnswer::Put { success, version } => Ok(record([
                    ("success", Value::Bool(success)),
                    ("version", int(version)),
                ])),
                other => Err(unexpected_record_answer(other)),
            };
        }
        let command = Command::Put {
            ns,
            key,
            value: args.json("value")?,
            if_version,
        };
        match context
            .host
            .write_once(command, Some(context.idempotency_key()))
            .await?
        {
            Response::Put { success, version } => Ok(record([
                ("success", Value::Bool(success)),
                ("version", int(version)),
            ])),
            other => Err(OpError::Failed(format!("unexpected answer: {other:?}"))),
        }
    })
}

fn delete<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let (ns, key) = address(args)?;
        let op = RecordOp::Delete {
            key: key.clone(),
            once: Some(context.idempotency_key()),
        };
        if let Some(answer) = on_workload(context, &ns, op).await {
            return match answer? {
                RecordAnswer::Deleted { deleted } => Ok(success(deleted)),
                other => Err(unexpected_record_answer(other)),
            };
        }
        let command = Command::Delete { ns, key };
        match context
            .host
            .write_once(command, Some(context.idempotency_key()))
            .await?
        {
            Response::Delete { success: ok } => Ok(success(ok)),
            other => Err(OpError::Failed(format!("unexpected answer: {other:?}"))),
        }
    })
}

fn scan<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let (ns, prefix) = (args.string("ns")?, args.string("prefix")?);
        let limit = usize::try_from(args.int("limit")?).map_err(|_| OpError::BadArgument {
            name: "limit".into(),
            expected: "0 or more",
        })?;
        let op = RecordOp::Scan {
            prefix: prefix.to_string(),
            limit,
        };
        if let Some(answer) = on_workload(context, ns, op).await {
            return match answer? {
                RecordAnswer::Records { items } => Ok(record([(
                    "items",
                    Value::List(items.into_iter().map(record_fields).collect()),
                )])),
                other => Err(unexpected_record_answer(other)),
            };
        }
        let query = Query::Scan {
            ns: ns.to_string(),
            prefix: prefix.to_string(),
            limit,
        };
        let items = match context.host.query(query, Freshness::Linearizable).await? {
            QueryAnswer::Entries(items) => items,
            other => return Err(unexpected_answer(other)),
        };
        let items = items
            .into_iter()
            .map(|(key, v)| {
                record([
                    ("key", Value::String(key)),
                    ("value", Value::from_json(&v.value)),
                    ("version", int(v.version)),
                ])
            })
            .collect();
        Ok(record([("items", Value::List(items))]))
    })
}
