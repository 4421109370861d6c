//! A rate-limit policy as the quota subsystem enforces it, resolved from the IR's
//! `policy` declaration: its algorithm and limit in integers, its scope, the descriptor
//! keys that partition it. A policy's `id` is a digest of that definition, so a budget
//! belongs to one definition: changing a policy's limit starts a new budget instead of
//! reinterpreting the old one's state.

use super::algorithm::{Algorithm, Limit};
use edgeflow_compiler::ir;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One budget for the whole fleet, leased to the edges through the state machine.
    Global,
    /// Every edge has the whole budget, decided locally.
    PerEdge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExceed {
    Reject,
    /// Admit after waiting when the wait is at most this long, else deny.
    Delay {
        max_ns: u64,
    },
}

/// Read back (from a log entry, a query) through `QuotaPolicyFields`: the limit is
/// checked again and the id computed here, never taken from the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "QuotaPolicyFields")]
pub struct QuotaPolicy {
    /// `name@` and 16 hex digits of the definition's digest (`new` computes it).
    #[serde(skip_serializing)]
    id: String,
    pub name: String,
    pub algorithm: Algorithm,
    pub limit: Limit,
    pub scope: Scope,
    /// Descriptor keys that partition the budget (none: one budget, the key ignored).
    pub by: Vec<String>,
    pub on_exceed: OnExceed,
}

/// A policy's fields as they arrive, before they are checked.
#[derive(Deserialize)]
struct QuotaPolicyFields {
    name: String,
    algorithm: Algorithm,
    limit: Limit,
    scope: Scope,
    by: Vec<String>,
    on_exceed: OnExceed,
}

impl TryFrom<QuotaPolicyFields> for QuotaPolicy {
    type Error = String;

    fn try_from(fields: QuotaPolicyFields) -> Result<QuotaPolicy, String> {
        let Limit {
            count,
            per_ns,
            burst,
        } = fields.limit;
        if count == 0 || per_ns == 0 || burst == 0 {
            return Err(format!(
                "policy `{}`: a limit needs a count, a period and a burst above 0",
                fields.name
            ));
        }
        Ok(QuotaPolicy::new(
            &fields.name,
            fields.algorithm,
            fields.limit,
            fields.scope,
            fields.by,
            fields.on_exceed,
        ))
    }
}

/// Why an IR policy cannot be enforced (the compiler already refuses these; a bundle
/// from elsewhere is checked again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub policy: String,
    pub reason: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "policy `{}`: {}", self.policy, self.reason)
    }
}

impl QuotaPolicy {
    pub fn from_ir(policy: &ir::Policy) -> Result<QuotaPolicy, PolicyError> {
        let fail = |reason: String| PolicyError {
            policy: policy.name.clone(),
            reason,
        };
        let algorithm = Algorithm::from_name(&policy.algorithm)
            .ok_or_else(|| fail(format!("unknown algorithm `{}`", policy.algorithm)))?;
        let scope = match policy.scope.as_str() {
            "global" => Scope::Global,
            "per_edge" => Scope::PerEdge,
            other => return Err(fail(format!("unknown scope `{other}`"))),
        };
        let positive = |what: &str, value: i64| -> Result<u64, PolicyError> {
            u64::try_from(value)
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| fail(format!("{what} must be positive, not {value}")))
        };
        let limit = Limit {
            count: positive("the limit's count", policy.limit.count)?,
            per_ns: positive("the limit's period", policy.limit.per)?,
            burst: positive("burst", policy.burst)?,
        };
        let on_exceed = match policy.on_exceed {
            ir::OnExceed::Reject => OnExceed::Reject,
            ir::OnExceed::Delay(nanos) => OnExceed::Delay {
                max_ns: u64::try_from(nanos).unwrap_or(0),
            },
        };
        Ok(QuotaPolicy::new(
            &policy.name,
            algorithm,
            limit,
            scope,
            policy.by.clone(),
            on_exceed,
        ))
    }

    /// A policy from its parts, its id computed from them.
    pub fn new(
        name: &str,
        algorithm: Algorithm,
        limit: Limit,
        scope: Scope,
        by: Vec<String>,
        on_exceed: OnExceed,
    ) -> QuotaPolicy {
        let mut policy = QuotaPolicy {
            id: String::new(),
            name: name.to_string(),
            algorithm,
            limit,
            scope,
            by,
            on_exceed,
        };
        let digest = Sha256::digest(crate::encoding::encode(&policy));
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        policy.id = format!("{name}@{hex}");
        policy
    }

    /// The budget a request with `key` draws from: the policy's one budget without
    /// `by`, else one per key value.
    pub fn budget_key<'a>(&self, key: &'a str) -> &'a str {
        if self.by.is_empty() {
            ""
        } else {
            key
        }
    }

    /// The definition's id: `name@` and 16 hex digits of its digest.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The most tokens one request can ever get.
    pub fn most_at_once(&self) -> u64 {
        match self.algorithm {
            Algorithm::TokenBucket | Algorithm::Gcra => self.limit.burst,
            Algorithm::FixedWindow | Algorithm::SlidingWindow => self.limit.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_read_back_is_checked_and_its_id_computed_not_trusted() {
        let policy = QuotaPolicy::new(
            "p",
            Algorithm::Gcra,
            Limit {
                count: 5,
                per_ns: 1_000,
                burst: 2,
            },
            Scope::Global,
            vec![],
            OnExceed::Reject,
        );
        let encoded = crate::encoding::encode(&policy);
        let decoded: QuotaPolicy = crate::encoding::decode(&encoded).expect("round trip");
        assert_eq!(decoded, policy);
        let mut json = serde_json::to_value(&policy).expect("JSON");
        json["id"] = serde_json::json!("p@forged");
        let read: QuotaPolicy = serde_json::from_value(json.clone()).expect("read");
        assert_eq!(read.id(), policy.id());
        // A period of 0 would divide by zero in the state machine: refused on reading.
        json["limit"]["per_ns"] = serde_json::json!(0);
        let refused = serde_json::from_value::<QuotaPolicy>(json).expect_err("refused");
        assert!(refused.to_string().contains("above 0"), "{refused}");
    }
}
