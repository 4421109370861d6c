//! `state.*`: versioned keys in namespaces. Writes go through Raft; `state.get` reads
//! linearizably unless asked for `consistency: "local"`.

use crate::op_fn::{OpFn, OpFuture};
use crate::result::{int, record, success};
use edgeflow_compiler::value::Value;
use edgeflow_runtime::command::{Command, Response};
use edgeflow_runtime::op::{Args, OpContext, OpError, Registry};
use edgeflow_runtime::state::Versioned;

pub fn register(registry: &mut Registry) {
    registry.register("state.get", OpFn(get));
    registry.register("state.put", OpFn(put));
    registry.register("state.delete", OpFn(delete));
    registry.register("state.scan", OpFn(scan));
}

fn versioned_fields(versioned: Option<Versioned>) -> (bool, Value, Value) {
    match versioned {
        Some(v) => (true, Value::from_json(&v.value), int(v.version)),
        None => (false, Value::None, Value::Int(0)),
    }
}

fn get<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let (ns, key) = (args.string("ns")?, args.string("key")?);
        let read = |state: &edgeflow_runtime::state::State| state.get(ns, key).cloned();
        let versioned = match args.string("consistency")? {
            "linearizable" => context.node.read(read).await?,
            "local" => context.node.read_local(read).await,
            _ => {
                return Err(OpError::BadArgument {
                    name: "consistency".into(),
                    expected: "\"linearizable\" or \"local\"",
                })
            }
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
        let command = Command::Put {
            ns: args.string("ns")?.to_string(),
            key: args.string("key")?.to_string(),
            value: args.json("value")?,
            if_version,
        };
        match context
            .node
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
        let command = Command::Delete {
            ns: args.string("ns")?.to_string(),
            key: args.string("key")?.to_string(),
        };
        match context
            .node
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
        let items = context
            .node
            .read(|state| state.scan(ns, prefix, limit))
            .await?;
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
