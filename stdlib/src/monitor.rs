//! `monitor.metrics`: how a set of edges has been doing over a window, from the fleet
//! registry — the 99th percentile round trip of their heartbeats, and the placed steps
//! they finished: how many per second, and what fraction failed. Steps a driver runs on
//! its own edge are not placed, so they are not counted.

use crate::op_fn::{OpFn, OpFuture};
use crate::result::record;
use edgeflow_compiler::value::Value;
use edgeflow_runtime::node::now_ms;
use edgeflow_runtime::op::{Args, OpContext, OpError, Registry};
use edgeflow_runtime::op_host::{Freshness, Query, QueryAnswer};

pub fn register(registry: &mut Registry) {
    registry.register("monitor.metrics", OpFn(metrics));
}

fn edges(args: &Args) -> Result<Vec<String>, OpError> {
    let bad = || OpError::BadArgument {
        name: "edges".into(),
        expected: "a list of edges",
    };
    match args.get("edges")? {
        Value::List(items) => items
            .iter()
            .map(|item| match item {
                Value::Edge(edge) | Value::String(edge) => Ok(edge.clone()),
                _ => Err(bad()),
            })
            .collect(),
        _ => Err(bad()),
    }
}

fn metrics<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let edges = edges(args)?;
        let window_ns = args.duration("window")?;
        if window_ns < 1_000_000 {
            return Err(OpError::Failed(
                "the window must be at least 1ms".to_string(),
            ));
        }
        let window_ms = (window_ns / 1_000_000) as u64;
        let query = Query::Activity {
            edges,
            window_ms,
            at_ms: now_ms(),
        };
        let answer = context.host.query(query, Freshness::Linearizable).await?;
        let QueryAnswer::Activity {
            steps,
            error_rate,
            latency_p99_ms,
            unknown,
        } = answer
        else {
            return Err(OpError::Failed(format!("unexpected answer {answer:?}")));
        };
        if !unknown.is_empty() {
            return Err(OpError::Failed(format!(
                "no node serves {} (not in the fleet registry)",
                unknown.join(", ")
            )));
        }
        let throughput = steps as f64 / (window_ms as f64 / 1e3);
        // No heartbeat measured yet in the window: zero, not a made-up figure.
        let latency_ns = latency_p99_ms.map_or(0, |ms| (ms * 1e6) as i64);
        Ok(record([
            ("latency_p99", Value::Duration(latency_ns)),
            ("error_rate", Value::Float(error_rate)),
            ("throughput", Value::Float(throughput)),
        ]))
    })
}
