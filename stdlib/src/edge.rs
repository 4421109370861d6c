//! `edge.*`: discovery, selection and health from the fleet registry — the nodes that
//! heartbeat (voters and workers), their labels, system metrics and measured latency.
//! A node is a candidate only while it takes work (idle or running, heartbeats on time).

use crate::op_fn::{OpFn, OpFuture};
use crate::result::record;
use edgeflow_compiler::value::Value;
use edgeflow_runtime::node::now_ms;
use edgeflow_runtime::op::{Args, OpContext, OpError, Registry};
use edgeflow_runtime::op_host::{Freshness, Query, QueryAnswer};
use edgeflow_runtime::state::fleet::EdgeRecord;

pub fn register(registry: &mut Registry) {
    registry.register("edge.discover", OpFn(discover));
    registry.register("edge.select", OpFn(select));
    registry.register("edge.health", OpFn(health));
}

async fn fleet(context: &OpContext) -> Result<Vec<EdgeRecord>, OpError> {
    match context
        .host
        .query(Query::Fleet, Freshness::Linearizable)
        .await?
    {
        QueryAnswer::Fleet(records) => Ok(records),
        other => Err(OpError::Failed(format!("unexpected answer {other:?}"))),
    }
}

fn bad(name: &str, expected: &'static str) -> OpError {
    OpError::BadArgument {
        name: name.to_string(),
        expected,
    }
}

fn optional_string<'a>(args: &'a Args, name: &str) -> Result<Option<&'a str>, OpError> {
    match args.get(name)? {
        Value::None => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(bad(name, "a string or none")),
    }
}

fn strings(args: &Args, name: &str) -> Result<Vec<String>, OpError> {
    match args.get(name)? {
        Value::List(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) | Value::Edge(s) => Ok(s.clone()),
                _ => Err(bad(name, "a list of strings")),
            })
            .collect(),
        _ => Err(bad(name, "a list")),
    }
}

fn optional_float(args: &Args, name: &str) -> Result<Option<f64>, OpError> {
    match args.get(name)? {
        Value::None => Ok(None),
        Value::Float(x) => Ok(Some(*x)),
        Value::Int(i) => Ok(Some(*i as f64)),
        _ => Err(bad(name, "a number or none")),
    }
}

fn edge_name(args: &Args, name: &str) -> Result<String, OpError> {
    match args.get(name)? {
        Value::Edge(edge) | Value::String(edge) => Ok(edge.clone()),
        _ => Err(bad(name, "an edge")),
    }
}

fn takes_work(record: &EdgeRecord, now: u64) -> bool {
    record.state_at(now).accepts_work()
}

fn discover<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let region = optional_string(args, "region")?;
        let compliance = strings(args, "compliance")?;
        let min_health = optional_float(args, "min_health")?.unwrap_or(0.0);
        let now = now_ms();
        let mut found: Vec<(f64, String)> = fleet(context)
            .await?
            .into_iter()
            .filter(|r| takes_work(r, now))
            .filter(|r| region.is_none_or(|wanted| r.labels.region.as_deref() == Some(wanted)))
            .filter(|r| compliance.iter().all(|c| r.labels.compliance.contains(c)))
            .map(|r| (r.health_at(now), r.edge))
            .filter(|(health, _)| *health >= min_health)
            .collect();
        // Healthiest first; ties by name, so the answer is stable.
        found.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let edges = found
            .into_iter()
            .map(|(_, edge)| Value::Edge(edge))
            .collect();
        Ok(record([("edges", Value::List(edges))]))
    })
}

/// A candidate's score: its health, discounted by latency (halved at 100 ms).
fn score(record: &EdgeRecord, now: u64) -> f64 {
    let latency = record.latency_ms.unwrap_or(0.0).max(0.0);
    record.health_at(now) / (1.0 + latency / 100.0)
}

fn select<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let candidates = strings(args, "candidates")?;
        let max_latency_ms = match args.get("max_latency")? {
            Value::None => None,
            Value::Duration(nanos) => Some(*nanos as f64 / 1e6),
            _ => return Err(bad("max_latency", "a duration or none")),
        };
        let max_cpu = optional_float(args, "max_cpu")?;
        let compliance = optional_string(args, "compliance")?;
        let now = now_ms();
        let fleet = fleet(context).await?;
        let mut best: Option<(f64, &EdgeRecord)> = None;
        let mut refused = Vec::new();
        for name in &candidates {
            let Some(record) = fleet.iter().find(|r| r.edge == *name) else {
                refused.push(format!("{name}: not in the fleet registry"));
                continue;
            };
            let why_not = if !takes_work(record, now) {
                Some(record.state_at(now).name().to_string())
            } else if let (Some(max), latency) = (max_latency_ms, record.latency_ms) {
                match latency {
                    Some(ms) if ms <= max => None,
                    Some(ms) => Some(format!("latency {ms:.1} ms > {max:.1} ms")),
                    None => Some("no latency measured yet".into()),
                }
            } else {
                None
            };
            let why_not = why_not.or_else(|| {
                let cpu = record.metrics.as_ref().map_or(0.0, |m| m.cpu);
                max_cpu
                    .filter(|max| cpu > *max)
                    .map(|max| format!("CPU {cpu:.2} > {max:.2}"))
            });
            let why_not = why_not.or_else(|| {
                compliance
                    .filter(|c| !record.labels.compliance.iter().any(|have| have == c))
                    .map(|c| format!("not `{c}` compliant"))
            });
            match why_not {
                Some(reason) => refused.push(format!("{name}: {reason}")),
                None => {
                    let candidate_score = score(record, now);
                    if best.is_none_or(|(s, _)| candidate_score > s) {
                        best = Some((candidate_score, record));
                    }
                }
            }
        }
        match best {
            Some((score, record)) => Ok(record_value(&record.edge, score)),
            None if candidates.is_empty() => {
                Err(OpError::Failed("no candidate edges to select from".into()))
            }
            None => Err(OpError::Failed(format!(
                "no candidate edge qualifies ({})",
                refused.join("; ")
            ))),
        }
    })
}

fn record_value(edge: &str, score: f64) -> Value {
    record([
        ("edge", Value::Edge(edge.to_string())),
        ("score", Value::Float(score)),
    ])
}

fn health<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let name = edge_name(args, "edge")?;
        let now = now_ms();
        let record = fleet(context)
            .await?
            .into_iter()
            .find(|r| r.edge == name)
            .ok_or_else(|| {
                OpError::Failed(format!(
                    "edge `{name}` is not in the fleet registry (no node reports as it)"
                ))
            })?;
        let metrics = record.metrics.clone().unwrap_or_default();
        let latency_ns = record.latency_ms.map_or(0, |ms| (ms * 1e6) as i64);
        Ok(record_fields(
            record.state_at(now).name(),
            record.health_at(now),
            metrics.cpu,
            metrics.memory,
            latency_ns,
        ))
    })
}

fn record_fields(status: &str, health: f64, cpu: f64, memory: f64, latency_ns: i64) -> Value {
    record([
        ("status", Value::String(status.to_string())),
        ("health", Value::Float(health)),
        ("cpu", Value::Float(cpu)),
        ("memory", Value::Float(memory)),
        ("latency", Value::Duration(latency_ns)),
    ])
}
