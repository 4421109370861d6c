//! Workflow runs (DESIGN.md §5): recorded before any step starts, each op step's result
//! committed as it completes, and the outcome at the end — so a run can be resumed after
//! the process driving it died, without re-applying completed steps. A run submitted to
//! a cluster is driven by one node at a time under a lease (`RunDriver`) that the node
//! renews; when it expires (in log time) another node may claim the run, with a higher
//! epoch.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A new run's id: its start time and 64 random bits. (16 bits collided within a
/// millisecond under load, and a submission whose id was taken joined the other run.)
pub fn new_run_id(now_ms: u64) -> String {
    format!("run-{now_ms}-{:016x}", fastrand::u64(..))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// An operator cancelled it (`edgeflow runs cancel`): its running steps were
    /// stopped and no more start.
    Cancelled,
    /// A schedule's tick that started nothing: the trigger's previous run was still
    /// running. Recorded so `runs` shows the tick.
    Skipped,
}

impl RunStatus {
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub bundle_hash: String,
    pub workflow: String,
    pub inputs: serde_json::Value,
    pub status: RunStatus,
    /// Completed op steps by name.
    pub steps: BTreeMap<String, StepRecord>,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub started_at_ms: u64,
    pub finished_at_ms: Option<u64>,
    /// Submitted to the cluster (any node may drive it), rather than run in process.
    #[serde(default)]
    pub submitted: bool,
    /// Who drives the run now, until when.
    #[serde(default)]
    pub driver: Option<RunDriver>,
    /// What started a triggered run (`{kind, type, source, time, data}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<serde_json::Value>,
}

/// A node's lease on driving a run. `epoch` grows with every new claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDriver {
    pub node: u64,
    pub epoch: u64,
    pub expires_at_ms: u64,
}

impl RunRecord {
    /// A run that never started: a schedule's tick skipped, with why.
    pub fn skipped(
        run_id: &str,
        bundle_hash: &str,
        workflow: &str,
        why: String,
        now: u64,
    ) -> RunRecord {
        RunRecord {
            run_id: run_id.to_string(),
            bundle_hash: bundle_hash.to_string(),
            workflow: workflow.to_string(),
            inputs: serde_json::json!({}),
            status: RunStatus::Skipped,
            steps: BTreeMap::new(),
            output: None,
            error: Some(why),
            started_at_ms: now,
            finished_at_ms: Some(now),
            submitted: true,
            driver: None,
            trigger: None,
        }
    }

    /// Whether node `node` may claim the run at `now`: it is a submitted run still
    /// running, with no driver, an expired one, or `node` itself.
    pub fn claimable_by(&self, node: u64, now: u64) -> bool {
        self.submitted
            && self.status == RunStatus::Running
            && self
                .driver
                .as_ref()
                .is_none_or(|d| d.node == node || d.expires_at_ms <= now)
    }

    /// Takes the driver lease for `node`; the new epoch, or `None` if not claimable.
    pub fn claim(&mut self, node: u64, now: u64, ttl_ms: u64) -> Option<u64> {
        if !self.claimable_by(node, now) {
            return None;
        }
        let epoch = self.driver.as_ref().map_or(1, |d| d.epoch + 1);
        self.driver = Some(RunDriver {
            node,
            epoch,
            expires_at_ms: now.saturating_add(ttl_ms),
        });
        Some(epoch)
    }

    /// Extends the lease `node` holds at `epoch`, if it still holds it.
    pub fn renew(&mut self, node: u64, epoch: u64, now: u64, ttl_ms: u64) -> bool {
        match &mut self.driver {
            Some(driver)
                if driver.node == node
                    && driver.epoch == epoch
                    && driver.expires_at_ms > now
                    && self.status == RunStatus::Running =>
            {
                driver.expires_at_ms = now.saturating_add(ttl_ms);
                true
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step's value, in the IR's serde form.
    pub value: serde_json::Value,
    pub attempts: u32,
    pub elapsed_ms: u64,
    /// When the completion was committed (log time).
    pub completed_at_ms: u64,
    /// The edge of the node that ran a placed step (none: the driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ran_on: Option<String>,
    /// A placed step's wait from ready (at the driver) to started (on its node), in
    /// microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_us: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_started_in_the_same_millisecond_are_distinct() {
        let ids: std::collections::HashSet<String> = (0..100_000)
            .map(|_| new_run_id(1_796_524_200_000))
            .collect();
        assert_eq!(ids.len(), 100_000);
    }

    fn submitted() -> RunRecord {
        RunRecord {
            run_id: "r".into(),
            bundle_hash: "h".into(),
            workflow: "w".into(),
            inputs: serde_json::Value::Null,
            status: RunStatus::Running,
            steps: BTreeMap::new(),
            output: None,
            error: None,
            started_at_ms: 0,
            finished_at_ms: None,
            submitted: true,
            driver: None,
            trigger: None,
        }
    }

    #[test]
    fn one_driver_at_a_time_and_a_new_epoch_after_expiry() {
        let mut run = submitted();
        assert_eq!(run.claim(1, 100, 1_000), Some(1));
        assert_eq!(run.claim(2, 500, 1_000), None, "node 1's lease is live");
        assert!(run.renew(1, 1, 900, 1_000));
        assert!(!run.renew(2, 1, 900, 1_000), "not node 2's lease");
        assert_eq!(run.claim(2, 1_900, 1_000), Some(2), "expired at 1900");
        assert!(!run.renew(1, 1, 2_000, 1_000), "node 1 lost it");
        run.status = RunStatus::Succeeded;
        assert_eq!(
            run.claim(1, 9_000, 1_000),
            None,
            "finished runs are not driven"
        );
    }
}
