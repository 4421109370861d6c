//! Versioned keys: every write of a key bumps its version by one, and a write can be
//! conditional on the version (compare-and-set). A namespace's keys are a persistent
//! ordered map (imbl): a snapshot copies the state in O(namespaces), sharing the keys,
//! instead of copying every key while applying waits.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned {
    pub value: serde_json::Value,
    pub version: u64,
}

/// The keys of one namespace.
pub type Keys = imbl::OrdMap<String, Versioned>;

type Namespaces = BTreeMap<String, Keys>;

/// Writes unless `if_version` is given and differs from the key's version (0: absent).
/// Returns whether it wrote and the key's version afterwards.
pub fn put(
    kv: &mut Namespaces,
    ns: &str,
    key: &str,
    value: &serde_json::Value,
    if_version: Option<u64>,
) -> (bool, u64) {
    let keys = kv.entry(ns.to_string()).or_default();
    let current = keys.get(key).map_or(0, |v| v.version);
    if if_version.is_some_and(|expected| expected != current) {
        return (false, current);
    }
    let version = current + 1;
    keys.insert(
        key.to_string(),
        Versioned {
            value: value.clone(),
            version,
        },
    );
    (true, version)
}

/// Removes a key; false when it was not there.
pub fn delete(kv: &mut Namespaces, ns: &str, key: &str) -> bool {
    let Some(keys) = kv.get_mut(ns) else {
        return false;
    };
    let removed = keys.remove(key).is_some();
    if keys.is_empty() {
        kv.remove(ns);
    }
    removed
}
