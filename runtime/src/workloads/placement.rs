//! Which edge serves each workload: this subsystem's slice of the replicated state, its
//! commands and how they apply. Only the placement is replicated — the records live in
//! the serving node's own store (`store.rs`) — so every node can route a request for a
//! workload to the node that serves it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Workloads the cluster places at most.
pub const MAX_WORKLOADS: usize = 10_000;
/// The longest workload name.
pub const MAX_NAME_BYTES: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub name: String,
    /// The edge whose node holds the records and takes the writes.
    pub edge: String,
    pub created_at_ms: u64,
    /// After a migration's cutover, until its cleanup: the source's edge, which still
    /// receives every write, so a rollback loses nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum WorkloadCommand {
    Create { name: String, edge: String },
    Remove { name: String },
}

/// How a workload command went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WorkloadAnswer {
    Created(Placement),
    Removed,
    Refused { reason: String },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workloads {
    placed: BTreeMap<String, Placement>,
}

/// Why a workload name cannot be used, if it cannot: 1 to `MAX_NAME_BYTES` of ASCII
/// letters, digits, `-`, `_` and `.`, not `.` or `..` (it is a path segment and a
/// namespace suffix).
pub fn check_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "a workload name is 1 to {MAX_NAME_BYTES} bytes, not {}",
            name.len()
        ));
    }
    if name == "." || name == ".." || !name.chars().all(allowed) {
        return Err(format!(
            "`{name}` is not a workload name (letters, digits, `-`, `_` and `.`)"
        ));
    }
    Ok(())
}

impl Workloads {
    pub fn apply(&mut self, command: &WorkloadCommand, now_ms: u64) -> WorkloadAnswer {
        match command {
            WorkloadCommand::Create { name, edge } => {
                if let Err(reason) = check_name(name) {
                    return WorkloadAnswer::Refused { reason };
                }
                if let Some(existing) = self.placed.get(name) {
                    return WorkloadAnswer::Refused {
                        reason: format!(
                            "workload `{name}` exists already (served by edge `{}`)",
                            existing.edge
                        ),
                    };
                }
                if self.placed.len() >= MAX_WORKLOADS {
                    return WorkloadAnswer::Refused {
                        reason: format!("the cluster places at most {MAX_WORKLOADS} workloads"),
                    };
                }
                let placement = Placement {
                    name: name.clone(),
                    edge: edge.clone(),
                    created_at_ms: now_ms,
                    mirror: None,
                };
                self.placed.insert(name.clone(), placement.clone());
                WorkloadAnswer::Created(placement)
            }
            WorkloadCommand::Remove { name } => match self.placed.remove(name) {
                Some(_) => WorkloadAnswer::Removed,
                None => WorkloadAnswer::Refused {
                    reason: format!("there is no workload `{name}`"),
                },
            },
        }
    }

    /// Moves a workload to `edge` (a migration's cutover or rollback), `mirror`
    /// receiving its writes as well.
    pub fn switch(&mut self, name: &str, edge: &str, mirror: Option<&str>) {
        if let Some(placement) = self.placed.get_mut(name) {
            placement.edge = edge.to_string();
            placement.mirror = mirror.map(str::to_string);
        }
    }

    /// The old edge stops receiving a workload's writes (its copy is being removed).
    pub fn end_mirror(&mut self, name: &str) {
        if let Some(placement) = self.placed.get_mut(name) {
            placement.mirror = None;
        }
    }

    pub fn get(&self, name: &str) -> Option<&Placement> {
        self.placed.get(name)
    }

    pub fn list(&self) -> impl Iterator<Item = &Placement> {
        self.placed.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workload_is_created_once_and_names_are_checked() {
        let mut workloads = Workloads::default();
        let create = |name: &str| WorkloadCommand::Create {
            name: name.into(),
            edge: "e1".into(),
        };
        assert!(matches!(
            workloads.apply(&create("cache"), 1),
            WorkloadAnswer::Created(_)
        ));
        assert!(matches!(
            workloads.apply(&create("cache"), 2),
            WorkloadAnswer::Refused { .. }
        ));
        for bad in ["", "..", "a/b", "a b", &"x".repeat(MAX_NAME_BYTES + 1)] {
            assert!(
                matches!(
                    workloads.apply(&create(bad), 3),
                    WorkloadAnswer::Refused { .. }
                ),
                "{bad:?}"
            );
        }
        assert_eq!(workloads.get("cache").map(|p| p.edge.as_str()), Some("e1"));
        let remove = WorkloadCommand::Remove {
            name: "cache".into(),
        };
        assert_eq!(workloads.apply(&remove, 4), WorkloadAnswer::Removed);
        assert!(workloads.get("cache").is_none());
    }
}
