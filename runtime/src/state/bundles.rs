//! Which compiled programs (bundles) the cluster keeps. The bytes of a bundle can be
//! megabytes, so the replicated state holds only its hash, size and how many running
//! runs use it; the bytes live once in the node's database (the storage layer writes
//! them as the `SubmitRun` entry carrying them applies, and deletes them when this
//! ledger releases the hash). A bundle is released as soon as no running run uses it
//! and no deployment (`edgeflow apply`) holds it; a later submission of the same
//! program carries it again.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the state knows of one stored bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleInfo {
    pub bytes: u64,
    /// Running runs of this bundle.
    pub live_runs: u64,
    /// Deployments whose current version is this bundle.
    #[serde(default)]
    pub deployments: u64,
}

/// The stored bundles, by content hash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bundles {
    known: BTreeMap<String, BundleInfo>,
    /// Hashes released by the entries applied since the storage layer last asked: their
    /// bytes are to be deleted. Not part of a snapshot (the storage layer drains it
    /// after every entry).
    #[serde(skip)]
    released: Vec<String>,
}

impl Bundles {
    pub fn contains(&self, hash: &str) -> bool {
        self.known.contains_key(hash)
    }

    /// How many bundles are stored, and their bytes.
    pub fn totals(&self) -> (usize, u64) {
        (
            self.known.len(),
            self.known.values().map(|info| info.bytes).sum(),
        )
    }

    /// A bundle's bytes were stored (a run of it is about to start).
    pub fn stored(&mut self, hash: &str, bytes: u64) {
        self.known.entry(hash.to_string()).or_insert(BundleInfo {
            bytes,
            live_runs: 0,
            deployments: 0,
        });
    }

    /// A run of `hash` started; false when the bundle is not stored.
    pub fn run_started(&mut self, hash: &str) -> bool {
        match self.known.get_mut(hash) {
            Some(info) => {
                info.live_runs += 1;
                true
            }
            None => false,
        }
    }

    /// A run of `hash` ended: the bundle is released when no other run uses it.
    pub fn run_ended(&mut self, hash: &str) {
        let Some(info) = self.known.get_mut(hash) else {
            return;
        };
        info.live_runs = info.live_runs.saturating_sub(1);
        self.release_if_unused(hash);
    }

    /// A deployment now holds `hash`; false when the bundle is not stored.
    pub fn deployed(&mut self, hash: &str) -> bool {
        match self.known.get_mut(hash) {
            Some(info) => {
                info.deployments += 1;
                true
            }
            None => false,
        }
    }

    /// A deployment no longer holds `hash`: released when nothing else uses it.
    pub fn undeployed(&mut self, hash: &str) {
        let Some(info) = self.known.get_mut(hash) else {
            return;
        };
        info.deployments = info.deployments.saturating_sub(1);
        self.release_if_unused(hash);
    }

    /// Releases `hash` when neither a run nor a deployment uses it (a submission that
    /// recorded no run).
    pub fn release_if_unused(&mut self, hash: &str) {
        if self
            .known
            .get(hash)
            .is_some_and(|info| info.live_runs == 0 && info.deployments == 0)
        {
            self.known.remove(hash);
            self.released.push(hash.to_string());
        }
    }

    /// The hashes released since the last call, for the storage layer to delete.
    pub fn take_released(&mut self) -> Vec<String> {
        std::mem::take(&mut self.released)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_is_kept_while_a_run_uses_it() {
        let mut bundles = Bundles::default();
        bundles.stored("h", 10);
        assert!(bundles.run_started("h"));
        assert!(bundles.run_started("h"));
        bundles.run_ended("h");
        assert!(bundles.contains("h"), "a running run still uses it");
        assert!(bundles.take_released().is_empty());
        bundles.run_ended("h");
        assert!(!bundles.contains("h"));
        assert_eq!(bundles.take_released(), vec!["h".to_string()]);
        assert!(!bundles.run_started("h"), "a released bundle is not stored");
    }

    #[test]
    fn a_deployed_bundle_outlives_its_runs_until_undeployed() {
        let mut bundles = Bundles::default();
        bundles.stored("h", 10);
        assert!(bundles.deployed("h"));
        assert!(bundles.run_started("h"));
        bundles.run_ended("h");
        assert!(bundles.contains("h"), "the deployment still holds it");
        bundles.undeployed("h");
        assert!(!bundles.contains("h"));
        assert_eq!(bundles.take_released(), vec!["h".to_string()]);
    }
}
