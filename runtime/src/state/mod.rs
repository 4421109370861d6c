//! The replicated state (DESIGN.md §4) and the one function that changes it: `apply`.
//! Deterministic: the outcome depends only on the state, the command and the time
//! carried in the log entry — never on a local clock — so every replica agrees.

mod groups;
mod kv;

pub use groups::{Group, Lease};
pub use kv::Versioned;

use crate::command::{Command, Request, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything the cluster agrees on. Serialised whole into snapshots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Versioned keys, by namespace then key.
    pub kv: BTreeMap<String, BTreeMap<String, Versioned>>,
    /// Coordination groups: leader lease and ordered log.
    pub groups: BTreeMap<String, Group>,
}

/// Where an entry sits in the Raft log: what `propose` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPosition {
    pub index: u64,
    pub term: u64,
}

impl State {
    pub fn apply(&mut self, request: &Request, position: LogPosition) -> Response {
        let now = request.at_ms;
        match &request.command {
            Command::Put {
                ns,
                key,
                value,
                if_version,
            } => {
                let (success, version) = kv::put(&mut self.kv, ns, key, value, *if_version);
                Response::Put { success, version }
            }
            Command::Delete { ns, key } => Response::Delete {
                success: kv::delete(&mut self.kv, ns, key),
            },
            Command::Campaign {
                group,
                candidate,
                ttl_ms,
            } => {
                let group = self.groups.entry(group.clone()).or_default();
                let (success, lease) = group.campaign(candidate, now, *ttl_ms);
                Response::Leadership {
                    success,
                    leader: Some(lease.holder),
                    term: lease.term,
                }
            }
            Command::Resign { group, holder } => {
                let success = self
                    .groups
                    .get_mut(group)
                    .is_some_and(|g| g.resign(holder, now));
                Response::Resign { success }
            }
            Command::Propose { group, value } => {
                self.groups
                    .entry(group.clone())
                    .or_default()
                    .record(value.clone(), position.index);
                Response::Propose {
                    index: position.index,
                    term: position.term,
                }
            }
            Command::GlobalOrder { group, events } => {
                let group = self.groups.entry(group.clone()).or_default();
                Response::Order {
                    sequence: group.order(events.len() as u64),
                }
            }
        }
    }

    /// A key's current value and version (version 0 and `None` when absent).
    pub fn get(&self, ns: &str, key: &str) -> Option<&Versioned> {
        self.kv.get(ns).and_then(|keys| keys.get(key))
    }

    /// Keys of a namespace starting with `prefix`, in key order, at most `limit`.
    pub fn scan(&self, ns: &str, prefix: &str, limit: usize) -> Vec<(String, Versioned)> {
        let Some(keys) = self.kv.get(ns) else {
            return Vec::new();
        };
        keys.range(prefix.to_string()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .take(limit)
            .map(|(key, versioned)| (key.clone(), versioned.clone()))
            .collect()
    }

    /// The group's live lease holder at `now`, if any, and its term.
    pub fn leader(&self, group: &str, now_ms: u64) -> (Option<String>, u64) {
        match self.groups.get(group) {
            Some(group) => (
                group.live_lease(now_ms).map(|l| l.holder.clone()),
                group.term,
            ),
            None => (None, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(at_ms: u64, command: Command) -> Request {
        Request { at_ms, command }
    }

    const POS: LogPosition = LogPosition { index: 7, term: 2 };

    #[test]
    fn versions_increase_by_one_and_compare_and_set_checks_them() {
        let mut state = State::default();
        let put = |v: Option<u64>| Command::Put {
            ns: "n".into(),
            key: "k".into(),
            value: json!(1),
            if_version: v,
        };
        assert_eq!(
            state.apply(&at(0, put(Some(0))), POS),
            Response::Put {
                success: true,
                version: 1
            }
        );
        assert_eq!(
            state.apply(&at(0, put(None)), POS),
            Response::Put {
                success: true,
                version: 2
            }
        );
        assert_eq!(
            state.apply(&at(0, put(Some(1))), POS),
            Response::Put {
                success: false,
                version: 2
            }
        );
        assert_eq!(
            state.apply(&at(0, put(Some(2))), POS),
            Response::Put {
                success: true,
                version: 3
            }
        );
        assert_eq!(state.get("n", "k").map(|v| v.version), Some(3));
        let delete = Command::Delete {
            ns: "n".into(),
            key: "k".into(),
        };
        assert_eq!(
            state.apply(&at(0, delete.clone()), POS),
            Response::Delete { success: true }
        );
        assert_eq!(
            state.apply(&at(0, delete), POS),
            Response::Delete { success: false }
        );
        assert!(state.get("n", "k").is_none());
    }

    #[test]
    fn a_lease_is_exclusive_until_it_expires_and_each_new_holder_gets_a_new_term() {
        let mut state = State::default();
        let campaign = |who: &str| Command::Campaign {
            group: "g".into(),
            candidate: who.into(),
            ttl_ms: 100,
        };
        let won = state.apply(&at(1_000, campaign("a")), POS);
        assert_eq!(
            won,
            Response::Leadership {
                success: true,
                leader: Some("a".into()),
                term: 1
            }
        );
        let lost = state.apply(&at(1_050, campaign("b")), POS);
        assert_eq!(
            lost,
            Response::Leadership {
                success: false,
                leader: Some("a".into()),
                term: 1
            }
        );
        let renewed = state.apply(&at(1_090, campaign("a")), POS);
        assert_eq!(
            renewed,
            Response::Leadership {
                success: true,
                leader: Some("a".into()),
                term: 1
            }
        );
        assert_eq!(state.leader("g", 1_150), (Some("a".into()), 1));
        assert_eq!(state.leader("g", 1_200), (None, 1));
        let taken = state.apply(&at(1_200, campaign("b")), POS);
        assert_eq!(
            taken,
            Response::Leadership {
                success: true,
                leader: Some("b".into()),
                term: 2
            }
        );
        let resign = |who: &str| Command::Resign {
            group: "g".into(),
            holder: who.into(),
        };
        assert_eq!(
            state.apply(&at(1_210, resign("a")), POS),
            Response::Resign { success: false }
        );
        assert_eq!(
            state.apply(&at(1_210, resign("b")), POS),
            Response::Resign { success: true }
        );
        assert_eq!(state.leader("g", 1_210), (None, 2));
    }

    #[test]
    fn global_order_is_gap_free_across_proposals() {
        let mut state = State::default();
        let order = |n: usize| Command::GlobalOrder {
            group: "g".into(),
            events: vec![json!(null); n],
        };
        assert_eq!(
            state.apply(&at(0, order(2)), POS),
            Response::Order {
                sequence: vec![1, 2]
            }
        );
        assert_eq!(
            state.apply(&at(0, order(3)), POS),
            Response::Order {
                sequence: vec![3, 4, 5]
            }
        );
        let propose = Command::Propose {
            group: "g".into(),
            value: json!({"a": 1}),
        };
        assert_eq!(
            state.apply(&at(0, propose), POS),
            Response::Propose { index: 7, term: 2 }
        );
    }

    #[test]
    fn scan_returns_a_prefix_in_key_order() {
        let mut state = State::default();
        for key in ["b2", "a1", "b1", "c1"] {
            let put = Command::Put {
                ns: "n".into(),
                key: key.into(),
                value: json!(key),
                if_version: None,
            };
            state.apply(&at(0, put), POS);
        }
        let keys: Vec<String> = state
            .scan("n", "b", 10)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec!["b1", "b2"]);
        assert_eq!(state.scan("n", "", 2).len(), 2);
        assert!(state.scan("missing", "", 10).is_empty());
    }
}
