//! The deployments the cluster holds: this subsystem's slice of the replicated state,
//! its commands and how they apply. A deployment is a compiled bundle applied under a
//! name (`edgeflow apply`): its bytes are stored once by hash beside the state (the
//! `bundles` ledger counts the deployment as a holder), its policies become the
//! cluster's active policies. Applying a name again replaces the previous version; a
//! policy name is active in at most one deployment, so a check by name is never
//! ambiguous.

use crate::quotas::{PolicyMatch, QuotaPolicy};
use crate::state::bundles::Bundles;
use crate::triggers::DeployedTrigger;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Deployments kept at most.
pub const MAX_DEPLOYMENTS: usize = 1_000;
/// Policies one deployment may carry.
pub const MAX_POLICIES_PER_DEPLOYMENT: usize = 256;

/// A policy as a deployment activates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployedPolicy {
    pub policy: QuotaPolicy,
    #[serde(rename = "match")]
    pub matcher: PolicyMatch,
    /// Edges where it is enforced (none: every edge).
    pub edges: Option<Vec<String>>,
}

impl DeployedPolicy {
    /// Whether the policy is enforced on `edge`.
    pub fn enforced_on(&self, edge: &str) -> bool {
        self.edges
            .as_ref()
            .is_none_or(|edges| edges.iter().any(|e| e == edge))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub name: String,
    pub bundle_hash: String,
    /// 1 for the first apply of the name, one more for each later one.
    pub version: u64,
    pub applied_at_ms: u64,
    /// Policies decide and count, but never deny.
    pub shadow: bool,
    pub policies: Vec<DeployedPolicy>,
    pub workflows: Vec<String>,
    /// The triggers of its workflows, armed while it is deployed.
    #[serde(default)]
    pub triggers: Vec<DeployedTrigger>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DeploymentCommand {
    /// Make `bundle_hash` the deployment `name` (replacing its previous version). The
    /// bundle's JSON comes along unless the cluster stores it already.
    Apply {
        name: String,
        bundle_hash: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bundle: Option<String>,
        shadow: bool,
        policies: Vec<DeployedPolicy>,
        workflows: Vec<String>,
        #[serde(default)]
        triggers: Vec<DeployedTrigger>,
    },
    Remove {
        name: String,
    },
}

/// How a deployment command went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DeploymentAnswer {
    Applied {
        version: u64,
    },
    Removed,
    /// The bundle is not stored (send it along).
    BundleMissing,
    Refused {
        reason: String,
    },
}

/// The deployments, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deployments {
    by_name: BTreeMap<String, Deployment>,
}

impl Deployments {
    pub fn get(&self, name: &str) -> Option<&Deployment> {
        self.by_name.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Deployment> {
        self.by_name.values()
    }

    /// The active policy of this name, with whether its deployment is in shadow mode.
    pub fn policy(&self, name: &str) -> Option<(&DeployedPolicy, bool)> {
        self.active_policies().find(|(p, _)| p.policy.name == name)
    }

    /// Whether trigger `id` (`DEPLOYMENT/WORKFLOW#INDEX`) is armed by a deployment.
    pub fn arms(&self, id: &str) -> bool {
        self.by_name
            .values()
            .any(|d| d.triggers.iter().any(|t| t.id(&d.name) == id))
    }

    /// Every armed trigger with its deployment.
    pub fn triggers(&self) -> impl Iterator<Item = (&Deployment, &DeployedTrigger)> {
        self.by_name
            .values()
            .flat_map(|d| d.triggers.iter().map(move |t| (d, t)))
    }

    /// Every active policy, with whether its deployment is in shadow mode.
    pub fn active_policies(&self) -> impl Iterator<Item = (&DeployedPolicy, bool)> {
        self.by_name
            .values()
            .flat_map(|d| d.policies.iter().map(move |p| (p, d.shadow)))
    }

    /// Applies a command at `now_ms`; the bundles ledger learns which bundles are held.
    pub fn apply(
        &mut self,
        command: &DeploymentCommand,
        now_ms: u64,
        bundles: &mut Bundles,
    ) -> DeploymentAnswer {
        match command {
            DeploymentCommand::Apply {
                name,
                bundle_hash,
                bundle,
                shadow,
                policies,
                workflows,
                triggers,
            } => {
                if let Some(reason) = self.conflict(name, policies) {
                    return DeploymentAnswer::Refused { reason };
                }
                if let Some(bundle) = bundle {
                    bundles.stored(bundle_hash, bundle.len() as u64);
                }
                if !bundles.deployed(bundle_hash) {
                    return DeploymentAnswer::BundleMissing;
                }
                let version = match self.by_name.remove(name) {
                    Some(previous) => {
                        bundles.undeployed(&previous.bundle_hash);
                        previous.version + 1
                    }
                    None => 1,
                };
                self.by_name.insert(
                    name.clone(),
                    Deployment {
                        name: name.clone(),
                        bundle_hash: bundle_hash.clone(),
                        version,
                        applied_at_ms: now_ms,
                        shadow: *shadow,
                        policies: policies.clone(),
                        workflows: workflows.clone(),
                        triggers: triggers.clone(),
                    },
                );
                DeploymentAnswer::Applied { version }
            }
            DeploymentCommand::Remove { name } => match self.by_name.remove(name) {
                Some(previous) => {
                    bundles.undeployed(&previous.bundle_hash);
                    DeploymentAnswer::Removed
                }
                None => DeploymentAnswer::Refused {
                    reason: format!("no deployment `{name}`"),
                },
            },
        }
    }

    /// Why `policies` cannot be deployed as `name`: too many, a name repeated, or one
    /// active in another deployment.
    fn conflict(&self, name: &str, policies: &[DeployedPolicy]) -> Option<String> {
        if !self.by_name.contains_key(name) && self.by_name.len() >= MAX_DEPLOYMENTS {
            return Some(format!(
                "the cluster keeps at most {MAX_DEPLOYMENTS} deployments; remove some first"
            ));
        }
        if policies.len() > MAX_POLICIES_PER_DEPLOYMENT {
            return Some(format!(
                "a deployment carries at most {MAX_POLICIES_PER_DEPLOYMENT} policies, not {}",
                policies.len()
            ));
        }
        for (index, deployed) in policies.iter().enumerate() {
            let policy = &deployed.policy.name;
            if policies[..index].iter().any(|p| &p.policy.name == policy) {
                return Some(format!("policy `{policy}` is declared twice"));
            }
            let owner = self
                .by_name
                .values()
                .find(|d| d.name != name && d.policies.iter().any(|p| &p.policy.name == policy));
            if let Some(owner) = owner {
                return Some(format!(
                    "policy `{policy}` is active in deployment `{}`; remove that deployment or rename the policy",
                    owner.name
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quotas::algorithm::{Algorithm, Limit};
    use crate::quotas::{OnExceed, Scope};

    fn deployed(name: &str) -> DeployedPolicy {
        DeployedPolicy {
            policy: QuotaPolicy::new(
                name,
                Algorithm::TokenBucket,
                Limit {
                    count: 10,
                    per_ns: 1_000_000_000,
                    burst: 10,
                },
                Scope::Global,
                vec![],
                OnExceed::Reject,
            ),
            matcher: PolicyMatch::Route("/x".into()),
            edges: None,
        }
    }

    fn apply(name: &str, hash: &str, bundle: bool, policies: &[&str]) -> DeploymentCommand {
        DeploymentCommand::Apply {
            name: name.into(),
            bundle_hash: hash.into(),
            bundle: bundle.then(|| "{}".to_string()),
            shadow: false,
            policies: policies.iter().map(|p| deployed(p)).collect(),
            workflows: vec![],
            triggers: vec![],
        }
    }

    #[test]
    fn applying_again_replaces_the_version_and_releases_the_old_bundle() {
        let (mut deployments, mut bundles) = (Deployments::default(), Bundles::default());
        assert_eq!(
            deployments.apply(&apply("web", "h1", false, &["p"]), 1, &mut bundles),
            DeploymentAnswer::BundleMissing
        );
        assert_eq!(
            deployments.apply(&apply("web", "h1", true, &["p"]), 1, &mut bundles),
            DeploymentAnswer::Applied { version: 1 }
        );
        assert!(deployments.policy("p").is_some());
        assert_eq!(
            deployments.apply(&apply("web", "h2", true, &["q"]), 2, &mut bundles),
            DeploymentAnswer::Applied { version: 2 }
        );
        assert!(
            deployments.policy("p").is_none(),
            "the old version's policy"
        );
        assert!(!bundles.contains("h1") && bundles.contains("h2"));
        assert_eq!(
            deployments.apply(
                &DeploymentCommand::Remove { name: "web".into() },
                3,
                &mut bundles
            ),
            DeploymentAnswer::Removed
        );
        assert!(!bundles.contains("h2"));
        assert!(deployments.iter().next().is_none());
    }

    #[test]
    fn a_policy_name_is_active_in_one_deployment_only() {
        let (mut deployments, mut bundles) = (Deployments::default(), Bundles::default());
        deployments.apply(&apply("a", "h1", true, &["p"]), 1, &mut bundles);
        let answer = deployments.apply(&apply("b", "h2", true, &["p"]), 1, &mut bundles);
        assert!(
            matches!(&answer, DeploymentAnswer::Refused { reason } if reason.contains("deployment `a`")),
            "{answer:?}"
        );
        assert!(
            !bundles.contains("h2"),
            "nothing was stored for the refusal"
        );
        let twice = deployments.apply(&apply("c", "h3", true, &["r", "r"]), 1, &mut bundles);
        assert!(matches!(twice, DeploymentAnswer::Refused { .. }));
    }
}
