//! One decision for a gateway's request, whatever interface asked (the HTTP check, the
//! nginx `auth_request` form, Envoy's rate-limit service): the deployed policies the
//! request falls under — named, or selected by route and descriptors — each decided on
//! this edge (`EdgeQuotas`), combined into one verdict. The request is admitted when
//! every policy admits it (a policy in shadow mode never denies); its tokens are taken
//! from each policy that admitted it, as Envoy's service does.

use super::algorithm::Algorithm;
use super::edge::{EdgeQuotas, QuotaError};
use super::matcher::{budget_key, Described};
use crate::deployments::DeployedPolicy;
use crate::op_host::OpHost;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a gateway asks about.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// One policy by name, and the key of the budget (ignored without `by`).
    Policy { name: &'a str, key: &'a str },
    /// Every policy whose `match` selects this request.
    Described(Described<'a>),
}

/// One policy's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVerdict {
    pub policy: String,
    /// What the policy decided (in shadow mode: what it would have).
    pub allowed: bool,
    pub shadow: bool,
    /// Tokens left for the next requests here.
    pub remaining: u64,
    /// The most the policy admits at once.
    pub limit: u64,
    /// Until the budget is full again (bucket algorithms) or its window ends.
    pub reset_after_ns: u64,
    /// When denied: until the request could be admitted (0 when allowed).
    pub retry_after_ns: u64,
}

impl PolicyVerdict {
    /// Whether this policy lets the request through (shadow mode always does).
    pub fn admits(&self) -> bool {
        self.allowed || self.shadow
    }
}

/// The verdict on a request: admitted when every policy admits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub policies: Vec<PolicyVerdict>,
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        self.policies.iter().all(PolicyVerdict::admits)
    }

    /// The policy that decides what a client is told: the denial with the longest wait,
    /// else the policy with the fewest tokens left (none: no policy applies).
    pub fn binding(&self) -> Option<&PolicyVerdict> {
        let denied = self
            .policies
            .iter()
            .filter(|p| !p.admits())
            .max_by_key(|p| p.retry_after_ns);
        denied.or_else(|| self.policies.iter().min_by_key(|p| p.remaining))
    }
}

/// The deployed policies `target` falls under on the edge `edge` (`Err`: a named policy
/// that is not deployed), with their deployment's shadow flag.
pub fn select<'a>(
    active: impl Iterator<Item = (&'a DeployedPolicy, bool)>,
    target: Target<'_>,
    edge: &str,
) -> Vec<(DeployedPolicy, bool)> {
    active
        .filter(|(p, _)| p.enforced_on(edge))
        .filter(|(p, _)| match target {
            Target::Policy { name, .. } => p.policy.name == name,
            Target::Described(request) => p.matcher.matches(request),
        })
        .map(|(p, shadow)| (p.clone(), shadow))
        .collect()
}

/// Decides `tokens` of each selected policy on this edge.
pub async fn decide(
    quotas: &Arc<EdgeQuotas>,
    host: &Arc<dyn OpHost>,
    selected: &[(DeployedPolicy, bool)],
    target: Target<'_>,
    tokens: u64,
) -> Result<Verdict, QuotaError> {
    let mut policies = Vec::with_capacity(selected.len());
    for (deployed, shadow) in selected {
        let policy = &deployed.policy;
        let key = match target {
            Target::Policy { key, .. } => key.to_string(),
            Target::Described(request) => budget_key(&policy.by, request.descriptors),
        };
        let admission = quotas.acquire(host, policy, &key, tokens).await?;
        let limit = policy.most_at_once();
        policies.push(PolicyVerdict {
            policy: policy.name.clone(),
            allowed: admission.allowed,
            shadow: *shadow,
            remaining: admission.remaining,
            limit,
            reset_after_ns: reset_after_ns(
                policy.algorithm,
                &policy.limit,
                limit.saturating_sub(admission.remaining),
            ),
            retry_after_ns: admission.retry_after_ns,
        });
    }
    Ok(Verdict { policies })
}

/// How long until a budget with `used` tokens taken is full again: refilled at the
/// policy's rate (bucket algorithms), or at the end of the current window.
fn reset_after_ns(algorithm: Algorithm, limit: &super::algorithm::Limit, used: u64) -> u64 {
    match algorithm {
        Algorithm::TokenBucket | Algorithm::Gcra => {
            let ns = u128::from(used) * u128::from(limit.per_ns) / u128::from(limit.count);
            u64::try_from(ns).unwrap_or(u64::MAX)
        }
        Algorithm::FixedWindow | Algorithm::SlidingWindow => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            limit.per_ns - now % limit.per_ns
        }
    }
}

/// Descriptor entries as a gateway sends them, bounded: at most this many entries.
pub const MAX_DESCRIPTORS: usize = 64;
/// The longest descriptor name or value, route, key or policy name.
pub const MAX_TEXT_BYTES: usize = 512;

/// Why a described request is refused before any decision (400), or `Ok`.
pub fn check_described(
    route: Option<&str>,
    descriptors: &BTreeMap<String, String>,
) -> Result<(), String> {
    if descriptors.len() > MAX_DESCRIPTORS {
        return Err(format!(
            "at most {MAX_DESCRIPTORS} descriptor entries, not {}",
            descriptors.len()
        ));
    }
    let too_long = route
        .into_iter()
        .chain(
            descriptors
                .iter()
                .flat_map(|(k, v)| [k.as_str(), v.as_str()]),
        )
        .find(|text| text.len() > MAX_TEXT_BYTES);
    match too_long {
        Some(text) => Err(format!(
            "a route, descriptor name or value is at most {MAX_TEXT_BYTES} bytes (one has {})",
            text.len()
        )),
        None => Ok(()),
    }
}
