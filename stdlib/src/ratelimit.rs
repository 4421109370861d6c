//! `ratelimit.*`: a run's requests against the rate-limit policies of its program.
//! A policy the cluster has deployed (`edgeflow apply`) takes precedence over the
//! run's own program's of the same name. `acquire` decides locally on this node (`EdgeQuotas`: a lease of a global budget, or
//! a per-edge budget); with `on_exceed: delay(d)` a request that would be admitted
//! within `d` waits and is admitted. `usage` reports the budget now: the ledger's for a
//! leased budget (linearizable), this edge's for one it keeps itself.

use crate::op_fn::{OpFn, OpFuture};
use crate::result::{int, record};
use edgeflow_compiler::value::Value;
use edgeflow_runtime::op::{Args, OpContext, OpError, Registry};
use edgeflow_runtime::op_host::{Freshness, Query, QueryAnswer};
use edgeflow_runtime::quotas::{EdgeQuotas, OnExceed, QuotaPolicy, Usage};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn register(registry: &mut Registry) {
    registry.register("ratelimit.acquire", OpFn(acquire));
    registry.register("ratelimit.usage", OpFn(usage));
}

/// The policy the `policy` argument names: the cluster's deployed policy of that name
/// when there is one (with its deployment's shadow flag), else the run's program's.
async fn policy(context: &OpContext, args: &Args) -> Result<(QuotaPolicy, bool), OpError> {
    let name = match args.get("policy")? {
        Value::Policy(name) | Value::String(name) => name,
        _ => {
            return Err(OpError::BadArgument {
                name: "policy".into(),
                expected: "a policy",
            })
        }
    };
    let query = Query::DeployedPolicy { name: name.clone() };
    match context.host.query(query, Freshness::Local).await? {
        QueryAnswer::DeployedPolicy(Some((deployed, shadow))) => {
            return Ok((deployed.policy, shadow))
        }
        QueryAnswer::DeployedPolicy(None) => {}
        other => {
            return Err(OpError::Failed(format!(
                "unexpected answer about policy `{name}`: {other:?}"
            )))
        }
    }
    let declared = context
        .policies
        .iter()
        .find(|p| &p.name == name)
        .ok_or_else(|| {
            OpError::Failed(format!(
                "no policy `{name}` is deployed or in this run's program{}",
                if context.policies.is_empty() {
                    " (a step placed on a worker uses the cluster's deployed policies only: deploy it with `edgeflow apply`)"
                } else {
                    ""
                }
            ))
        })?;
    let policy = QuotaPolicy::from_ir(declared).map_err(|e| OpError::Failed(e.to_string()))?;
    Ok((policy, false))
}

fn quotas(context: &OpContext) -> Result<&std::sync::Arc<EdgeQuotas>, OpError> {
    context.host.quotas().ok_or_else(|| OpError::NotAvailable {
        op: context.op.clone(),
        reason: "this host makes no rate-limit decisions",
    })
}

fn acquire<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let (policy, shadow) = policy(context, args).await?;
        let key = args.string("key")?;
        let tokens = u64::try_from(args.int("tokens")?).unwrap_or(0);
        let quotas = quotas(context)?;
        let mut waited = Duration::ZERO;
        loop {
            let admission = quotas
                .acquire(&context.host, &policy, key, tokens)
                .await
                .map_err(|e| OpError::Failed(format!("ratelimit.acquire: {e}")))?;
            let retry_after = Duration::from_nanos(admission.retry_after_ns);
            let may_wait = match policy.on_exceed {
                OnExceed::Delay { max_ns } => waited + retry_after <= Duration::from_nanos(max_ns),
                OnExceed::Reject => false,
            };
            if admission.allowed || shadow || !may_wait {
                // Shadow mode decides and counts, and never denies.
                return Ok(record([
                    ("allowed", Value::Bool(admission.allowed || shadow)),
                    ("remaining", int(admission.remaining)),
                    (
                        "retry_after",
                        Value::Duration(match shadow {
                            true => 0,
                            false => i64::try_from(admission.retry_after_ns).unwrap_or(i64::MAX),
                        }),
                    ),
                ]));
            }
            tokio::time::sleep(retry_after).await;
            waited += retry_after;
        }
    })
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn usage<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let (policy, _) = policy(context, args).await?;
        let quotas = quotas(context)?;
        let usage = match quotas.uses_ledger(&policy) {
            false => quotas.local_usage(&policy, ""),
            true => {
                let query = Query::Quota {
                    policy: policy.clone(),
                    key: String::new(),
                    at_ms: unix_ms(),
                };
                match context.host.query(query, Freshness::Linearizable).await? {
                    QueryAnswer::Quota(usage) => usage,
                    other => {
                        return Err(OpError::Failed(format!(
                            "unexpected answer from the ledger: {other:?}"
                        )))
                    }
                }
            }
        };
        let Usage {
            used,
            limit,
            remaining,
            per_edge,
        } = usage;
        Ok(record([
            ("used", int(used)),
            ("limit", int(limit)),
            ("remaining", int(remaining)),
            (
                "per_edge",
                Value::from_json(&serde_json::to_value(per_edge).unwrap_or_default()),
            ),
        ]))
    })
}
