//! `/metrics` in Prometheus text format: Raft term, leader, log, commit and apply
//! positions, the proposal latency histogram, runs and steps by status, members by role
//! and state, the bundles stored, bytes sent as a migration's source, and (on the leader) how far each member is behind.

use super::ApiState;
use crate::state::RunStatus;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use std::sync::Arc;

pub async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    let status = state.node.raft_status();
    let (runs, steps, bundles) = state
        .node
        .read_local(|s| {
            let count = |wanted: RunStatus| s.runs.values().filter(|r| r.status == wanted).count();
            let runs = [
                ("running", count(RunStatus::Running)),
                ("succeeded", count(RunStatus::Succeeded)),
                ("failed", count(RunStatus::Failed)),
                ("cancelled", count(RunStatus::Cancelled)),
                ("skipped", count(RunStatus::Skipped)),
            ];
            let steps: usize = s.runs.values().map(|r| r.steps.len()).sum();
            (runs, steps, s.bundles.totals())
        })
        .await;
    let members = state.node.cluster_status().members;
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge("edgeflow_raft_term", "The current Raft term.", status.term);
    gauge(
        "edgeflow_raft_leader",
        "The id of the known Raft leader (0: none).",
        status.leader.unwrap_or(0),
    );
    gauge(
        "edgeflow_raft_last_log_index",
        "The index of the last entry in the log.",
        status.last_log_index,
    );
    gauge(
        "edgeflow_raft_commit_index",
        "The index of the last entry a quorum has stored.",
        status.committed,
    );
    gauge(
        "edgeflow_raft_applied_index",
        "The index of the last entry applied to the state machine.",
        status.last_applied,
    );
    gauge(
        "edgeflow_stored_bundles",
        "Compiled programs stored for running runs.",
        bundles.0 as u64,
    );
    gauge(
        "edgeflow_stored_bundle_bytes",
        "The bytes of the stored programs (kept in the database, not in memory).",
        bundles.1,
    );
    state.node.proposal_latency().render(
        "edgeflow_proposal_seconds",
        "Time from proposing a write on this node to its commit and apply.",
        &mut out,
    );
    let _ = writeln!(
        out,
        "# HELP edgeflow_migration_exported_bytes_total Bytes this node sent as a migration's source.\n# TYPE edgeflow_migration_exported_bytes_total counter\nedgeflow_migration_exported_bytes_total {}",
        state.node.exported(0)
    );
    let _ = writeln!(
        out,
        "# HELP edgeflow_runs Workflow runs recorded, by status.\n# TYPE edgeflow_runs gauge"
    );
    for (label, count) in runs {
        let _ = writeln!(out, "edgeflow_runs{{status=\"{label}\"}} {count}");
    }
    let _ = writeln!(
        out,
        "# HELP edgeflow_steps Op steps of recorded runs, by status.\n# TYPE edgeflow_steps gauge\nedgeflow_steps{{status=\"completed\"}} {steps}"
    );
    let _ = writeln!(
        out,
        "# HELP edgeflow_members Cluster members by role and state, as this node sees them.\n# TYPE edgeflow_members gauge"
    );
    let mut by_state = std::collections::BTreeMap::<(String, String), u64>::new();
    let mut lags = Vec::new();
    for member in members {
        if let Some(lag) = member.lag {
            lags.push((member.id, lag));
        }
        let role = serde_json::to_value(member.role)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *by_state.entry((role, member.state)).or_default() += 1;
    }
    for ((role, member_state), count) in by_state {
        let _ = writeln!(
            out,
            "edgeflow_members{{role=\"{role}\",state=\"{member_state}\"}} {count}"
        );
    }
    if !lags.is_empty() {
        let _ = writeln!(
            out,
            "# HELP edgeflow_member_lag Log entries each member is behind the leader (on the leader: a member that stays behind shows here).\n# TYPE edgeflow_member_lag gauge"
        );
        for (id, lag) in lags {
            let _ = writeln!(out, "edgeflow_member_lag{{node=\"{id}\"}} {lag}");
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
