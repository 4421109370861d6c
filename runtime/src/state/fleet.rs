//! The fleet registry: every edge node (voter or worker), its labels, its last
//! heartbeat with system metrics and measured latency, and — for workers — where it is
//! in the edge-worker lifecycle (DESIGN.md §6, Airflow's edge-worker states):
//!
//! ```text
//! offline ─(heartbeat)→ starting → idle ⇄ running → terminating → offline
//! idle/running ─(maintenance on)→ maintenance_request → maintenance_pending (steps still
//!   running) → maintenance_mode ─(maintenance off)→ maintenance_exit → idle/running
//! maintenance_* ─(stops)→ offline_maintenance        any live state ─(no heartbeat)→ unknown
//! ```
//!
//! `unknown` is not stored: it is how a live state reads once heartbeats are overdue.

use super::activity::Activity;
use crate::quotas::check::MAX_TEXT_BYTES;
use crate::quotas::edge::{Decisions, MAX_COUNTED_POLICIES};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Heartbeats missed before a node reads as `unknown`.
pub const MISSED_HEARTBEATS: u64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeRole {
    Voter,
    Worker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    Starting,
    Idle,
    Running,
    Terminating,
    Offline,
    Unknown,
    MaintenanceRequest,
    MaintenancePending,
    MaintenanceMode,
    MaintenanceExit,
    OfflineMaintenance,
}

impl WorkerState {
    pub fn name(self) -> &'static str {
        match self {
            WorkerState::Starting => "starting",
            WorkerState::Idle => "idle",
            WorkerState::Running => "running",
            WorkerState::Terminating => "terminating",
            WorkerState::Offline => "offline",
            WorkerState::Unknown => "unknown",
            WorkerState::MaintenanceRequest => "maintenance_request",
            WorkerState::MaintenancePending => "maintenance_pending",
            WorkerState::MaintenanceMode => "maintenance_mode",
            WorkerState::MaintenanceExit => "maintenance_exit",
            WorkerState::OfflineMaintenance => "offline_maintenance",
        }
    }

    /// Takes new steps: only an idle or running node outside maintenance.
    pub fn accepts_work(self) -> bool {
        matches!(self, WorkerState::Idle | WorkerState::Running)
    }

    fn in_maintenance(self) -> bool {
        matches!(
            self,
            WorkerState::MaintenanceRequest
                | WorkerState::MaintenancePending
                | WorkerState::MaintenanceMode
        )
    }
}

/// What a node says about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EdgeLabels {
    pub region: Option<String>,
    pub zone: Option<String>,
    #[serde(default)]
    pub compliance: Vec<String>,
    pub cpus: Option<f64>,
    pub memory_bytes: Option<u64>,
}

/// System metrics from a heartbeat: fractions in 0..=1, load as the 1-minute average.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemMetrics {
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
    pub load: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeRecord {
    pub node: u64,
    pub edge: String,
    pub role: EdgeRole,
    pub api: String,
    /// Workers only: how the cluster authenticates the worker (voters are known by
    /// the Raft membership).
    pub token_sha256: Option<String>,
    pub labels: EdgeLabels,
    pub state: WorkerState,
    pub heartbeat_interval_ms: u64,
    pub last_heartbeat_ms: Option<u64>,
    pub metrics: Option<SystemMetrics>,
    /// Round trip of the node's previous heartbeat, as the node measured it.
    pub latency_ms: Option<f64>,
    /// Steps running on the node, as it reported.
    pub running: u64,
    pub maintenance_comment: Option<String>,
    /// The operator asked the node to finish its steps and stop.
    #[serde(default)]
    pub draining: bool,
    /// Heartbeat latencies and placed steps over the last hour (`monitor.metrics`).
    #[serde(default)]
    pub activity: Activity,
    /// The node's rate-limit decisions so far, by policy, as its last heartbeat said.
    #[serde(default)]
    pub ratelimit: BTreeMap<String, Decisions>,
}

/// A heartbeat's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Beat {
    pub running: u64,
    pub metrics: SystemMetrics,
    pub latency_ms: Option<f64>,
    /// The node is shutting down (finishing what it runs, taking nothing new).
    pub stopping: bool,
    /// The node has stopped: its last heartbeat.
    pub stopped: bool,
    /// What the node's rate-limit decisions were so far, by policy name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ratelimit: BTreeMap<String, Decisions>,
}

impl Beat {
    /// Whether the reported figures are possible: fractions within 0..=1, a load and a
    /// latency that are finite and not negative. A heartbeat that says otherwise is
    /// refused, so no node wins `edge.select` with a CPU use of -100 %.
    pub fn check(&self) -> Result<(), String> {
        let SystemMetrics {
            cpu,
            memory,
            disk,
            load,
        } = &self.metrics;
        for (name, value) in [("cpu", cpu), ("memory", memory), ("disk", disk)] {
            if !(value.is_finite() && (0.0..=1.0).contains(value)) {
                return Err(format!(
                    "`metrics.{name}` must be a fraction from 0 to 1, not {value}"
                ));
            }
        }
        if self.ratelimit.len() > MAX_COUNTED_POLICIES
            || self
                .ratelimit
                .keys()
                .any(|name| name.len() > MAX_TEXT_BYTES)
        {
            return Err(format!(
                "`ratelimit` counts at most {MAX_COUNTED_POLICIES} policies, each named in at most {MAX_TEXT_BYTES} bytes"
            ));
        }
        let latency = self.latency_ms.unwrap_or(0.0);
        for (name, value) in [("metrics.load", *load), ("latency_ms", latency)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("`{name}` must be a finite number ≥ 0, not {value}"));
            }
        }
        Ok(())
    }

    /// An ordinary heartbeat of a node running nothing.
    pub fn idle(metrics: SystemMetrics, latency_ms: Option<f64>) -> Beat {
        Beat {
            running: 0,
            metrics,
            latency_ms,
            stopping: false,
            stopped: false,
            ratelimit: BTreeMap::new(),
        }
    }
}

impl EdgeRecord {
    /// The state as a reader at `now` sees it: overdue heartbeats read as `unknown`.
    pub fn state_at(&self, now: u64) -> WorkerState {
        let quiet = matches!(
            self.state,
            WorkerState::Offline | WorkerState::OfflineMaintenance
        );
        let overdue = self.last_heartbeat_ms.is_none_or(|last| {
            now.saturating_sub(last) > self.heartbeat_interval_ms * MISSED_HEARTBEATS
        });
        if !quiet && overdue {
            WorkerState::Unknown
        } else {
            self.state
        }
    }

    /// Applies a heartbeat at `now`: the next state of the lifecycle.
    pub fn beat(&mut self, beat: &Beat, now: u64) {
        use WorkerState::*;
        let busy = beat.running > 0;
        let work_state = if busy { Running } else { Idle };
        self.state = match (self.state, beat.stopped, beat.stopping) {
            (state, true, _) if state.in_maintenance() => OfflineMaintenance,
            (_, true, _) => Offline,
            (_, false, true) => Terminating,
            (MaintenanceRequest | MaintenancePending, _, _) if busy => MaintenancePending,
            (MaintenanceRequest | MaintenancePending | MaintenanceMode, _, _) => MaintenanceMode,
            (Offline, _, _) => Starting,
            (OfflineMaintenance, _, _) => MaintenanceMode,
            _ => work_state,
        };
        if beat.stopped {
            self.draining = false; // Done: a restart starts afresh.
        }
        self.running = beat.running;
        self.metrics = Some(beat.metrics.clone());
        self.latency_ms = beat.latency_ms;
        self.ratelimit = beat.ratelimit.clone();
        if let Some(latency_ms) = beat.latency_ms {
            self.activity.latency(now, latency_ms);
        }
        self.last_heartbeat_ms = Some(now);
    }

    /// A record for a node first heard of through its heartbeat or `worker add`.
    pub fn new(node: u64, edge: &str, role: EdgeRole, api: &str, labels: EdgeLabels) -> EdgeRecord {
        EdgeRecord {
            node,
            edge: edge.to_string(),
            role,
            api: api.to_string(),
            token_sha256: None,
            labels,
            state: WorkerState::Offline,
            heartbeat_interval_ms: 1_000,
            last_heartbeat_ms: None,
            metrics: None,
            latency_ms: None,
            running: 0,
            maintenance_comment: None,
            draining: false,
            activity: Activity::default(),
            ratelimit: BTreeMap::new(),
        }
    }

    /// The operator asks for (`on`) or ends maintenance.
    pub fn set_maintenance(&mut self, on: bool, comment: Option<String>) {
        use WorkerState::*;
        self.state = match (on, self.state) {
            (true, state) if state.in_maintenance() => state,
            (true, Offline | OfflineMaintenance) => OfflineMaintenance,
            (true, _) => MaintenanceRequest,
            (false, OfflineMaintenance) => Offline,
            (false, state) if state.in_maintenance() => MaintenanceExit,
            (false, state) => state,
        };
        self.maintenance_comment = if on { comment } else { None };
    }

    /// A health score in 0..=1: how much headroom a live node has (the tighter of CPU
    /// and memory); 0 when it is not live.
    pub fn health_at(&self, now: u64) -> f64 {
        let live = !matches!(
            self.state_at(now),
            WorkerState::Offline | WorkerState::OfflineMaintenance | WorkerState::Unknown
        );
        match (&self.metrics, live) {
            (Some(m), true) => (1.0 - m.cpu.max(m.memory)).clamp(0.0, 1.0),
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker() -> EdgeRecord {
        EdgeRecord::new(10, "w1", EdgeRole::Worker, "", EdgeLabels::default())
    }

    fn beat(running: u64) -> Beat {
        Beat {
            running,
            ..Beat::idle(SystemMetrics::default(), Some(1.0))
        }
    }

    #[test]
    fn the_lifecycle_follows_the_edge_worker_model() {
        use WorkerState::*;
        let mut w = worker();
        let mut states = Vec::new();
        let mut step = |w: &mut EdgeRecord, b: Beat| {
            w.beat(&b, 0);
            states.push(w.state);
        };
        step(&mut w, beat(0)); // starting
        step(&mut w, beat(0)); // idle
        step(&mut w, beat(2)); // running
        w.set_maintenance(true, Some("disk swap".into()));
        assert_eq!(w.state, MaintenanceRequest);
        step(&mut w, beat(1)); // pending: a step still runs
        step(&mut w, beat(0)); // mode
        w.set_maintenance(false, None);
        assert_eq!(w.state, MaintenanceExit);
        step(&mut w, beat(0)); // idle
        step(
            &mut w,
            Beat {
                stopping: true,
                ..beat(1)
            },
        );
        step(
            &mut w,
            Beat {
                stopped: true,
                ..beat(0)
            },
        );
        assert_eq!(
            states,
            [
                Starting,
                Idle,
                Running,
                MaintenancePending,
                MaintenanceMode,
                Idle,
                Terminating,
                Offline
            ]
        );
    }

    #[test]
    fn overdue_heartbeats_read_as_unknown_and_stopping_in_maintenance_is_offline_maintenance() {
        let mut w = worker();
        w.beat(&beat(0), 1_000);
        assert_eq!(w.state_at(2_000), WorkerState::Starting);
        assert_eq!(w.state_at(4_001), WorkerState::Unknown);
        w.set_maintenance(true, None);
        w.beat(
            &Beat {
                stopped: true,
                ..beat(0)
            },
            5_000,
        );
        assert_eq!(w.state, WorkerState::OfflineMaintenance);
        assert_eq!(w.state_at(99_000), WorkerState::OfflineMaintenance);
    }
}
