//! Versioned keys: every write of a key bumps its version by one, and a write can be
//! conditional on the version (compare-and-set). Versions never repeat for a key: a
//! deleted key leaves a tombstone with its last version, so re-creating it continues
//! from there, and a stale `if_version` cannot succeed on a new incarnation (ABA). A
//! namespace keeps at most `MAX_TOMBSTONES` tombstones; when one is dropped, its version
//! raises the namespace's floor, from which every key without a tombstone counts.
//! A namespace's keys are a persistent ordered map (imbl): a snapshot copies the state
//! in O(namespaces), sharing the keys, instead of copying every key while applying waits.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Tombstones one namespace keeps before it folds the oldest into its floor.
pub const MAX_TOMBSTONES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned {
    pub value: serde_json::Value,
    pub version: u64,
}

/// One namespace: its live keys, and the last versions of keys deleted from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Namespace {
    keys: imbl::OrdMap<String, Versioned>,
    /// Deleted keys' last versions, with the order they were deleted in.
    tombstones: imbl::OrdMap<String, (u64, u64)>,
    /// Deletions so far: orders the tombstones, oldest first.
    deletions: u64,
    /// The highest version of a tombstone let go of: keys without a tombstone count
    /// from here.
    floor: u64,
}

impl Namespace {
    pub fn get(&self, key: &str) -> Option<&Versioned> {
        self.keys.get(key)
    }

    /// Live keys from `start` on, in key order.
    pub fn range_from(&self, start: &str) -> impl Iterator<Item = (&String, &Versioned)> {
        self.keys.range(start.to_string()..)
    }

    /// The version a key was last written at, also if it was deleted since (0: never).
    fn last_version(&self, key: &str) -> u64 {
        match (self.keys.get(key), self.tombstones.get(key)) {
            (Some(live), _) => live.version,
            (None, Some((version, _))) => *version,
            (None, None) => self.floor,
        }
    }

    fn bury(&mut self, key: &str, version: u64) {
        self.deletions += 1;
        self.tombstones
            .insert(key.to_string(), (version, self.deletions));
        if self.tombstones.len() > MAX_TOMBSTONES {
            let oldest = self
                .tombstones
                .iter()
                .min_by_key(|(_, (_, deleted))| *deleted)
                .map(|(key, (version, _))| (key.clone(), *version));
            if let Some((key, version)) = oldest {
                self.tombstones.remove(&key);
                self.floor = self.floor.max(version);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.tombstones.is_empty() && self.floor == 0
    }
}

type Namespaces = BTreeMap<String, Namespace>;

/// Why a namespace or key cannot be used: one that is empty, `.` or `..` could not be
/// named in a URL path (`/v1/state/NS/KEY`), so none is accepted anywhere.
pub fn check_address(ns: &str, key: &str) -> Result<(), String> {
    for (what, name) in [("namespace", ns), ("key", key)] {
        if name.is_empty() || name == "." || name == ".." {
            return Err(format!(
                "the {what} `{name}` cannot be used: a {what} is not empty, `.` or `..`"
            ));
        }
    }
    Ok(())
}

/// Writes unless `if_version` is given and differs from the key's version (0: absent).
/// Returns whether it wrote and the key's version afterwards (0: absent).
pub fn put(
    kv: &mut Namespaces,
    ns: &str,
    key: &str,
    value: &serde_json::Value,
    if_version: Option<u64>,
) -> (bool, u64) {
    let namespace = kv.entry(ns.to_string()).or_default();
    let current = namespace.get(key).map_or(0, |v| v.version);
    if if_version.is_some_and(|expected| expected != current) {
        return (false, current);
    }
    let version = namespace.last_version(key) + 1;
    namespace.tombstones.remove(key);
    namespace.keys.insert(
        key.to_string(),
        Versioned {
            value: value.clone(),
            version,
        },
    );
    (true, version)
}

/// Removes a key, leaving its tombstone; false when it was not there.
pub fn delete(kv: &mut Namespaces, ns: &str, key: &str) -> bool {
    let Some(namespace) = kv.get_mut(ns) else {
        return false;
    };
    let Some(removed) = namespace.keys.remove(key) else {
        return false;
    };
    namespace.bury(key, removed.version);
    if namespace.is_empty() {
        kv.remove(ns);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_recreated_key_continues_its_versions_so_a_stale_compare_and_set_fails() {
        let mut kv = Namespaces::new();
        assert_eq!(put(&mut kv, "n", "k", &json!(1), Some(0)), (true, 1));
        assert!(delete(&mut kv, "n", "k"));
        assert_eq!(put(&mut kv, "n", "k", &json!(2), Some(0)), (true, 2));
        // A writer that read incarnation one at version 1 does not overwrite this one.
        assert_eq!(put(&mut kv, "n", "k", &json!(3), Some(1)), (false, 2));
        assert_eq!(put(&mut kv, "n", "k", &json!(3), Some(2)), (true, 3));
    }

    #[test]
    fn tombstones_are_bounded_and_versions_still_never_repeat() {
        let mut kv = Namespaces::new();
        for i in 0..MAX_TOMBSTONES + 10 {
            let key = format!("k{i}");
            for _ in 0..3 {
                put(&mut kv, "n", &key, &json!(i), None);
            }
            assert!(delete(&mut kv, "n", &key));
        }
        let namespace = &kv["n"];
        assert_eq!(namespace.tombstones.len(), MAX_TOMBSTONES);
        assert_eq!(namespace.floor, 3);
        // k0's tombstone was let go of: it continues above the floor, not from 1.
        assert_eq!(put(&mut kv, "n", "k0", &json!(0), Some(0)), (true, 4));
    }
}
