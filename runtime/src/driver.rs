//! Drives the runs submitted to a cluster: every node watches for runs nobody drives
//! (no driver, or a driver whose lease expired), claims one through Raft, and runs it
//! with the executor while renewing the lease. A node that dies stops renewing; once
//! the lease expires another node claims the run and continues from its last committed
//! step (the executor replays recorded steps; op effects carry idempotency keys, so
//! none applies twice).

use crate::command::{Command, Response};
use crate::executor::{Executor, RunIdentity};
use crate::node::{now_ms, Node};
use crate::op::Registry;
use crate::state::{RunRecord, RunStatus};
use crate::user_ops::UserOps;
use edgeflow_compiler::program::from_bundle;
use edgeflow_compiler::value::Value;
use openraft::type_config::async_runtime::WatchReceiver;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::Instrument;

/// How long a driver's lease lasts without renewal: how long a run waits after its
/// driver died.
pub const LEASE_TTL: Duration = Duration::from_millis(3_000);
/// Renewals per lease period.
const RENEWALS_PER_LEASE: u32 = 3;
/// Looking for runs to drive happens on every applied change and at least this often
/// (expiry is a matter of time, not of log entries).
const LOOK_EVERY: Duration = Duration::from_millis(250);
/// Under a stream of changes, looks at most this often.
const LOOK_GAP: Duration = Duration::from_millis(50);

pub struct Driver {
    node: Arc<Node>,
    registry: Registry,
    /// Runs this node drives now.
    driving: Mutex<BTreeSet<String>>,
}

impl Driver {
    pub fn new(node: Arc<Node>, registry: Registry) -> Arc<Driver> {
        Arc::new(Driver {
            node,
            registry,
            driving: Mutex::new(BTreeSet::new()),
        })
    }

    /// Looks for runs to drive until the node stops.
    pub async fn serve(self: Arc<Self>) {
        let mut metrics = self.node.raft().metrics();
        loop {
            self.claim_orphans().await;
            tokio::time::sleep(LOOK_GAP).await;
            // Whichever comes first: a change in the cluster, or the next look.
            if let Ok(Err(_)) = tokio::time::timeout(LOOK_EVERY, metrics.changed()).await {
                return; // Raft has stopped.
            }
        }
    }

    async fn claim_orphans(self: &Arc<Self>) {
        let me = self.node.id();
        let now = now_ms();
        let orphans: Vec<String> = self
            .node
            .read_local(|state| {
                state
                    .runs
                    .values()
                    .filter(|run| run.claimable_by(me, now))
                    .map(|run| run.run_id.clone())
                    .collect()
            })
            .await;
        for run_id in orphans {
            if self.is_driving(&run_id) {
                continue;
            }
            let claim = Command::ClaimRun {
                run_id: run_id.clone(),
                node: me,
                ttl_ms: LEASE_TTL.as_millis() as u64,
            };
            if let Ok(Response::Claim {
                granted: true,
                epoch,
            }) = self.node.write(claim).await
            {
                self.driving().insert(run_id.clone());
                let driver = self.clone();
                tokio::spawn(async move {
                    driver.drive(&run_id, epoch).await;
                    driver.driving().remove(&run_id);
                });
            }
        }
    }

    fn driving(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.driving.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_driving(&self, run_id: &str) -> bool {
        self.driving().contains(run_id)
    }

    /// Runs `run_id` to its end while this node holds the lease at `epoch`.
    async fn drive(&self, run_id: &str, epoch: u64) {
        let span = tracing::info_span!("run", run = run_id, epoch);
        let driven = async {
            let result = tokio::select! {
                result = self.execute(run_id) => result,
                lost = self.keep_lease(run_id, epoch) => Err(lost),
            };
            if let Err(reason) = result {
                tracing::warn!("{reason}");
            }
        };
        driven.instrument(span).await;
    }

    async fn execute(&self, run_id: &str) -> Result<(), String> {
        let record: RunRecord = self
            .node
            .read_local(|state| state.runs.get(run_id).cloned())
            .await
            .ok_or("the run is not recorded")?;
        let bundle = self
            .node
            .bundle(&record.bundle_hash)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the run's program is not stored")?;
        // Only the run's workflow and policies are kept while it runs (a program can be
        // megabytes).
        let program = from_bundle(bundle.as_bytes()).map_err(|e| e.to_string())?;
        drop(bundle);
        let user_ops = Arc::new(UserOps::of(&program, self.registry.user_code()));
        let policies = Arc::new(program.policies);
        let migrations = Arc::new(program.migrations);
        let workflow = program
            .workflows
            .into_iter()
            .find(|w| w.name == record.workflow)
            .ok_or_else(|| format!("the program has no workflow `{}`", record.workflow))?;
        let inputs: BTreeMap<String, Value> =
            serde_json::from_value(record.inputs).map_err(|e| e.to_string())?;
        let executor = Executor {
            registry: self.registry.clone(),
            node: self.node.clone(),
            on_step: None,
            policies,
            migrations,
            user_ops,
        };
        let trigger = record
            .trigger
            .as_ref()
            .map(crate::triggers::trigger_value)
            .transpose()
            .map_err(|e| format!("the run's trigger: {e}"))?;
        let identity = RunIdentity {
            run_id,
            bundle_hash: &record.bundle_hash,
            trigger,
        };
        // A failing step is recorded as the run's outcome by the executor.
        let _ = executor.run(&workflow, inputs, identity).await;
        Ok(())
    }

    /// Renews the lease until a renewal is refused; returns why it stopped.
    async fn keep_lease(&self, run_id: &str, epoch: u64) -> String {
        let every = LEASE_TTL / RENEWALS_PER_LEASE;
        loop {
            tokio::time::sleep(every).await;
            let renewal = Command::RenewRun {
                run_id: run_id.to_string(),
                node: self.node.id(),
                epoch,
                ttl_ms: LEASE_TTL.as_millis() as u64,
            };
            match self.node.write(renewal).await {
                Ok(Response::Renew { success: true }) => {}
                Ok(_) => {
                    let status = self
                        .node
                        .read_local(|s| s.runs.get(run_id).map(|run| run.status))
                        .await;
                    return match status {
                        Some(RunStatus::Cancelled) => {
                            "the run was cancelled; its steps are stopped".into()
                        }
                        _ => "the driver lease was lost to another node".into(),
                    };
                }
                Err(error) => return format!("cannot renew the driver lease: {error}"),
            }
        }
    }
}
