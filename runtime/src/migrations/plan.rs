//! A migration as the runtime carries it out: the declaration's fields from the
//! compiled program, in the runtime's units (milliseconds, bytes a second), and the
//! strategy as a type rather than a word.

use edgeflow_compiler::ir;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Copy while writes continue, catch up deltas until small, short freeze, switch.
    Live,
    /// Workloads one at a time, each validated before the next starts.
    Staged,
    /// Freeze writes, copy once at full speed, switch.
    Bulk,
    /// Delta syncs every `sync_interval` until under `delta_threshold`, then switch.
    Incremental,
    /// Like bulk, first: other migrations from the same source wait; no validation.
    Emergency,
}

impl Strategy {
    /// Whether writes are frozen for the whole copy (not only for the cutover).
    pub fn freezes_for_the_copy(self) -> bool {
        matches!(self, Strategy::Bulk | Strategy::Emergency)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationPlan {
    pub name: String,
    pub from: String,
    pub to: String,
    pub workloads: Vec<String>,
    pub strategy: Strategy,
    pub max_downtime_ms: u64,
    pub sync_interval_ms: u64,
    pub delta_threshold_bytes: u64,
    /// Minutes after midnight (UTC), start and end: outside it the migration waits.
    pub window: Option<(u16, u16)>,
    /// Bytes a second on the wire (none: unlimited).
    pub bandwidth_bytes: Option<u64>,
    pub compression: bool,
    pub checkpoint_every_ms: u64,
    pub batch_size: usize,
    pub priority: i64,
    pub validate: bool,
    pub auto_rollback: bool,
}

/// The most records one batch carries, whatever `batch_size` says.
pub const MAX_BATCH_RECORDS: usize = 100_000;

fn ms(nanos: i64) -> u64 {
    u64::try_from(nanos / 1_000_000).unwrap_or(0)
}

impl MigrationPlan {
    /// Its rank among migrations from the same source: an emergency above every
    /// priority (1..10).
    pub fn rank(&self) -> i64 {
        match self.strategy {
            Strategy::Emergency => i64::MAX,
            _ => self.priority,
        }
    }

    pub fn from_ir(migration: &ir::Migration) -> Result<MigrationPlan, String> {
        let strategy = match migration.strategy.as_str() {
            "live" => Strategy::Live,
            "staged" => Strategy::Staged,
            "bulk" => Strategy::Bulk,
            "incremental" => Strategy::Incremental,
            "emergency" => Strategy::Emergency,
            other => return Err(format!("unknown strategy `{other}`")),
        };
        if migration.from == migration.to {
            return Err(format!(
                "migration `{}` moves nothing: from and to are both `{}`",
                migration.name, migration.to
            ));
        }
        if migration.workloads.is_empty() {
            return Err(format!("migration `{}` names no workload", migration.name));
        }
        Ok(MigrationPlan {
            name: migration.name.clone(),
            from: migration.from.clone(),
            to: migration.to.clone(),
            workloads: migration.workloads.clone(),
            strategy,
            max_downtime_ms: ms(migration.max_downtime),
            sync_interval_ms: ms(migration.sync_interval),
            delta_threshold_bytes: migration.delta_threshold,
            window: migration.window,
            bandwidth_bytes: migration.bandwidth.map(|bits| (bits / 8).max(1)),
            compression: migration.compression,
            checkpoint_every_ms: ms(migration.checkpoint_every).max(100),
            batch_size: usize::try_from(migration.batch_size)
                .unwrap_or(1)
                .clamp(1, MAX_BATCH_RECORDS),
            priority: migration.priority,
            validate: migration.validate && strategy != Strategy::Emergency,
            auto_rollback: migration.auto_rollback,
        })
    }

    /// Whether `minute` (after midnight, UTC) is inside the window (always, without one).
    pub fn in_window(&self, minute: u16) -> bool {
        match self.window {
            None => true,
            Some((start, end)) if start <= end => (start..end).contains(&minute),
            // A window across midnight: 22:00–02:00.
            Some((start, end)) => minute >= start || minute < end,
        }
    }
}
