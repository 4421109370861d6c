//! The migrations the cluster runs: this subsystem's slice of the replicated state, its
//! commands and how they apply. Every phase change and every checkpoint is a command,
//! so every node reports the same progress and a restarted driver continues from the
//! last one. A phase change names the phase it leaves and applies only from there, so
//! a driver that was overtaken (a pause, a rollback, another driver) changes nothing.
//! The cutover and the end of a rollback move the workload's placement in the same
//! command (`workloads` slice), so routing and the migration never disagree.

use super::plan::MigrationPlan;
use crate::workloads::Workloads;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Migrations kept (finished ones beyond it are forgotten, oldest first).
pub const MAX_MIGRATIONS: usize = 1_000;
/// Checkpoints kept per migration (the newest).
pub const MAX_CHECKPOINTS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Planning,
    PreSync,
    Sync,
    Cutover,
    Validation,
    Cleanup,
    Completed,
    RolledBack,
    Failed,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Planning => "planning",
            Phase::PreSync => "pre_sync",
            Phase::Sync => "sync",
            Phase::Cutover => "cutover",
            Phase::Validation => "validation",
            Phase::Cleanup => "cleanup",
            Phase::Completed => "completed",
            Phase::RolledBack => "rolled_back",
            Phase::Failed => "failed",
        }
    }

    pub fn is_over(self) -> bool {
        matches!(self, Phase::Completed | Phase::RolledBack | Phase::Failed)
    }
}

/// How far the copy of the current workload got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Which of the plan's workloads is being moved (earlier ones are done).
    pub workload_index: usize,
    /// The snapshot copy's last key copied (none: not started).
    pub cursor: Option<String>,
    pub snapshot_done: bool,
    /// Every change of the source up to this sequence number is on the target (once
    /// the snapshot is done).
    pub synced_seq: u64,
    /// The source's bytes when the copy of this workload started.
    pub total_bytes: u64,
    pub records_copied: u64,
    /// Keys' and values' bytes of this workload copied (deltas included).
    #[serde(default)]
    pub copied_this_workload: u64,
    /// Keys' and values' bytes copied, and bytes on the wire, over the whole migration.
    pub bytes_copied: u64,
    pub bytes_sent: u64,
    /// Time spent copying (for the throughput), over the whole migration.
    pub copy_ms: u64,
    /// The source's write ids applied from then on (ms) are still to be copied.
    #[serde(default)]
    pub write_ids_from_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: String,
    pub at_ms: u64,
    pub phase: Phase,
    pub progress: Progress,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationRecord {
    pub id: String,
    pub plan: MigrationPlan,
    pub phase: Phase,
    pub paused: bool,
    /// An emergency migration from the same source that goes first.
    pub preempted_by: Option<String>,
    /// Why it is not moving right now (outside its window, source unreachable).
    pub waiting: Option<String>,
    pub started_at_ms: u64,
    pub updated_at_ms: u64,
    pub progress: Progress,
    pub checkpoints: Vec<Checkpoint>,
    /// The longest write freeze so far.
    pub downtime_ms: u64,
    pub error: Option<String>,
    /// After a rollback: whether the target's copy was removed.
    pub target_cleaned: bool,
}

impl MigrationRecord {
    /// The workload being moved now.
    pub fn workload(&self) -> Option<&str> {
        self.plan
            .workloads
            .get(self.progress.workload_index)
            .map(String::as_str)
    }

    /// Whether its driver should move bytes now.
    pub fn may_move(&self) -> bool {
        !self.paused && self.preempted_by.is_none() && !self.phase.is_over()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum MigrationCommand {
    Start {
        id: String,
        plan: MigrationPlan,
    },
    /// From phase `from` to `to`, with the progress then; an error when it failed or
    /// rolled back. Leaving `cleanup` ends the mirror of the workload just moved.
    Advance {
        id: String,
        from: Phase,
        to: Phase,
        progress: Progress,
        downtime_ms: Option<u64>,
        error: Option<String>,
    },
    /// Progress within `phase`; a checkpoint too when `checkpoint`.
    Progress {
        id: String,
        phase: Phase,
        progress: Progress,
        checkpoint: bool,
    },
    /// The current workload is served by the target from now on, and the source keeps
    /// receiving its writes until cleanup.
    Cutover {
        id: String,
        downtime_ms: u64,
    },
    Waiting {
        id: String,
        reason: Option<String>,
    },
    Pause {
        id: String,
    },
    Resume {
        id: String,
    },
    /// Back to the source (the current workload), or back to a checkpoint's progress.
    Rollback {
        id: String,
        checkpoint: Option<String>,
        error: Option<String>,
    },
    TargetCleaned {
        id: String,
    },
}

impl MigrationCommand {
    pub fn id(&self) -> &str {
        match self {
            MigrationCommand::Start { id, .. }
            | MigrationCommand::Advance { id, .. }
            | MigrationCommand::Progress { id, .. }
            | MigrationCommand::Cutover { id, .. }
            | MigrationCommand::Waiting { id, .. }
            | MigrationCommand::Pause { id }
            | MigrationCommand::Resume { id }
            | MigrationCommand::Rollback { id, .. }
            | MigrationCommand::TargetCleaned { id } => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum MigrationAnswer {
    Done {
        phase: Phase,
    },
    /// Not applied: the migration is elsewhere than the command expected (a stale
    /// driver's step), or the request cannot be made.
    Refused {
        reason: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Migrations {
    by_id: BTreeMap<String, MigrationRecord>,
}

fn refused(reason: impl Into<String>) -> MigrationAnswer {
    MigrationAnswer::Refused {
        reason: reason.into(),
    }
}

impl Migrations {
    pub fn get(&self, id: &str) -> Option<&MigrationRecord> {
        self.by_id.get(id)
    }

    pub fn list(&self) -> impl Iterator<Item = &MigrationRecord> {
        self.by_id.values()
    }

    /// The unfinished migration moving `workload`, if any.
    pub fn moving(&self, workload: &str) -> Option<&MigrationRecord> {
        self.by_id
            .values()
            .find(|m| !m.phase.is_over() && m.plan.workloads.iter().any(|w| w == workload))
    }

    pub fn apply(
        &mut self,
        command: &MigrationCommand,
        now_ms: u64,
        workloads: &mut Workloads,
    ) -> MigrationAnswer {
        if let MigrationCommand::Start { id, plan } = command {
            return self.start(id, plan, now_ms, workloads);
        }
        let Some(record) = self.by_id.get_mut(command.id()) else {
            return refused(format!("there is no migration `{}`", command.id()));
        };
        let answer = match command {
            MigrationCommand::Start { .. } => refused("started already"),
            MigrationCommand::Advance {
                from,
                to,
                progress,
                downtime_ms,
                error,
                ..
            } => {
                if record.phase != *from {
                    return refused(format!(
                        "the migration is in {}, not {}",
                        record.phase.name(),
                        from.name()
                    ));
                }
                if *from == Phase::Cleanup {
                    if let Some(workload) = record.workload() {
                        workloads.end_mirror(workload);
                    }
                }
                record.phase = *to;
                record.progress = progress.clone();
                if let Some(downtime) = downtime_ms {
                    record.downtime_ms = record.downtime_ms.max(*downtime);
                }
                if error.is_some() {
                    record.error = error.clone();
                }
                record.waiting = None;
                MigrationAnswer::Done { phase: *to }
            }
            MigrationCommand::Progress {
                phase,
                progress,
                checkpoint,
                ..
            } => {
                if record.phase != *phase || !record.may_move() {
                    return refused("the migration moved on");
                }
                record.progress = progress.clone();
                if *checkpoint {
                    let number = record
                        .checkpoints
                        .last()
                        .and_then(|c| c.id.strip_prefix("cp-")?.parse::<u64>().ok())
                        .unwrap_or(0);
                    if record.checkpoints.len() >= MAX_CHECKPOINTS {
                        record.checkpoints.remove(0);
                    }
                    record.checkpoints.push(Checkpoint {
                        id: format!("cp-{}", number + 1),
                        at_ms: now_ms,
                        phase: *phase,
                        progress: progress.clone(),
                    });
                }
                MigrationAnswer::Done { phase: *phase }
            }
            MigrationCommand::Cutover { downtime_ms, .. } => {
                if record.phase != Phase::Cutover {
                    return refused(format!("the migration is in {}", record.phase.name()));
                }
                if let Some(workload) = record.workload() {
                    workloads.switch(workload, &record.plan.to, Some(&record.plan.from));
                }
                record.downtime_ms = record.downtime_ms.max(*downtime_ms);
                MigrationAnswer::Done {
                    phase: record.phase,
                }
            }
            MigrationCommand::Waiting { reason, .. } => {
                record.waiting = reason.clone();
                MigrationAnswer::Done {
                    phase: record.phase,
                }
            }
            MigrationCommand::Pause { .. } | MigrationCommand::Resume { .. }
                if record.phase.is_over() =>
            {
                refused(format!("the migration is {}", record.phase.name()))
            }
            MigrationCommand::Pause { .. } => {
                record.paused = true;
                MigrationAnswer::Done {
                    phase: record.phase,
                }
            }
            MigrationCommand::Resume { .. } => {
                record.paused = false;
                MigrationAnswer::Done {
                    phase: record.phase,
                }
            }
            MigrationCommand::Rollback {
                checkpoint, error, ..
            } => rollback(record, checkpoint.as_deref(), error.as_ref(), workloads),
            MigrationCommand::TargetCleaned { .. } => {
                record.target_cleaned = true;
                MigrationAnswer::Done {
                    phase: record.phase,
                }
            }
        };
        record.updated_at_ms = now_ms;
        let source = record.plan.from.clone();
        self.reassess_preemption(&source);
        answer
    }

    /// Who goes first among the migrations from `source`: one still copying (planning,
    /// pre_sync, sync) waits, `preempted_by` the highest-ranked other unfinished, unpaused
    /// one that outranks it — an emergency above every priority, then `priority` (10
    /// highest). Equals copy side by side. Ties between those ranked above go to the
    /// earliest started, then the smallest id, so every node picks the same.
    fn reassess_preemption(&mut self, source: &str) {
        let ahead: Vec<(i64, u64, String)> = self
            .by_id
            .values()
            .filter(|m| m.plan.from == source && !m.phase.is_over() && !m.paused)
            .map(|m| (m.plan.rank(), m.started_at_ms, m.id.clone()))
            .collect();
        for record in self.by_id.values_mut() {
            if record.plan.from != source {
                continue;
            }
            let rank = record.plan.rank();
            let copying = matches!(record.phase, Phase::Planning | Phase::PreSync | Phase::Sync);
            record.preempted_by = ahead
                .iter()
                .filter(|(other, _, id)| copying && *other > rank && *id != record.id)
                .min_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)))
                .map(|(_, _, id)| id.clone());
        }
    }

    fn start(
        &mut self,
        id: &str,
        plan: &MigrationPlan,
        now_ms: u64,
        workloads: &Workloads,
    ) -> MigrationAnswer {
        if self.by_id.contains_key(id) {
            return refused(format!("migration `{id}` exists already"));
        }
        for workload in &plan.workloads {
            if let Some(busy) = self.moving(workload) {
                return refused(format!(
                    "workload `{workload}` is being moved by migration `{}` already",
                    busy.id
                ));
            }
            match workloads.get(workload) {
                None => return refused(format!("there is no workload `{workload}`")),
                Some(placed) if placed.edge != plan.from => {
                    return refused(format!(
                        "workload `{workload}` is served by edge `{}`, not `{}`",
                        placed.edge, plan.from
                    ))
                }
                Some(_) => {}
            }
        }
        if self.by_id.len() >= MAX_MIGRATIONS {
            let oldest_over = self
                .by_id
                .values()
                .filter(|m| m.phase.is_over())
                .min_by_key(|m| m.updated_at_ms)
                .map(|m| m.id.clone());
            match oldest_over {
                Some(oldest) => {
                    self.by_id.remove(&oldest);
                }
                None => return refused(format!("{MAX_MIGRATIONS} migrations are unfinished")),
            }
        }
        self.by_id.insert(
            id.to_string(),
            MigrationRecord {
                id: id.to_string(),
                plan: plan.clone(),
                phase: Phase::Planning,
                paused: false,
                preempted_by: None,
                waiting: None,
                started_at_ms: now_ms,
                updated_at_ms: now_ms,
                progress: Progress::default(),
                checkpoints: Vec::new(),
                downtime_ms: 0,
                error: None,
                target_cleaned: false,
            },
        );
        self.reassess_preemption(&plan.from);
        MigrationAnswer::Done {
            phase: Phase::Planning,
        }
    }
}

/// Back to the source before its copy is removed: the placement returns to it (it has
/// every write, mirrored since the cutover). To a checkpoint: the copy continues from
/// there; else the migration ends `rolled_back` and its driver removes the target's
/// copy.
fn rollback(
    record: &mut MigrationRecord,
    checkpoint: Option<&str>,
    error: Option<&String>,
    workloads: &mut Workloads,
) -> MigrationAnswer {
    if matches!(
        record.phase,
        Phase::Completed | Phase::RolledBack | Phase::Cleanup
    ) {
        return refused(format!(
            "the migration is in {}: the source's copy is {}",
            record.phase.name(),
            if record.phase == Phase::RolledBack {
                "serving already"
            } else {
                "being removed or gone"
            }
        ));
    }
    let back_to = match checkpoint {
        Some(wanted) => match record.checkpoints.iter().find(|c| c.id == wanted) {
            Some(found) if found.progress.workload_index == record.progress.workload_index => {
                Some(found.clone())
            }
            Some(_) => {
                return refused(format!(
                    "checkpoint `{wanted}` is of a workload moved already"
                ))
            }
            None => return refused(format!("there is no checkpoint `{wanted}`")),
        },
        None => None,
    };
    if let Some(workload) = record.workload() {
        if workloads
            .get(workload)
            .is_some_and(|p| p.edge == record.plan.to)
        {
            workloads.switch(workload, &record.plan.from, None);
        }
    }
    record.paused = false;
    match back_to {
        Some(checkpoint) => {
            record.phase = Phase::Sync;
            record.progress = Progress {
                bytes_sent: record.progress.bytes_sent,
                copy_ms: record.progress.copy_ms,
                ..checkpoint.progress
            };
        }
        None => {
            record.phase = Phase::RolledBack;
            record.error = error.cloned().or(record.error.take());
        }
    }
    MigrationAnswer::Done {
        phase: record.phase,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::plan::Strategy;
    use crate::workloads::WorkloadCommand;

    fn plan(name: &str, workload: &str, strategy: Strategy) -> MigrationPlan {
        MigrationPlan {
            name: name.into(),
            from: "e1".into(),
            to: "e2".into(),
            workloads: vec![workload.into()],
            strategy,
            max_downtime_ms: 30_000,
            sync_interval_ms: 5_000,
            delta_threshold_bytes: 100,
            window: None,
            bandwidth_bytes: None,
            compression: true,
            checkpoint_every_ms: 60_000,
            batch_size: 1_000,
            priority: 5,
            validate: true,
            auto_rollback: true,
        }
    }

    fn setup() -> (Migrations, Workloads) {
        let mut workloads = Workloads::default();
        for name in ["a", "b", "c"] {
            workloads.apply(
                &WorkloadCommand::Create {
                    name: name.into(),
                    edge: "e1".into(),
                },
                0,
            );
        }
        (Migrations::default(), workloads)
    }

    fn advance(id: &str, from: Phase, to: Phase) -> MigrationCommand {
        MigrationCommand::Advance {
            id: id.into(),
            from,
            to,
            progress: Progress::default(),
            downtime_ms: None,
            error: None,
        }
    }

    #[test]
    fn the_eta_is_whole_milliseconds_and_a_crawling_copy_does_not_overflow_it() {
        let record = |total_bytes: u64, copied: u64, copy_ms: u64| MigrationRecord {
            id: "m".into(),
            plan: plan("m", "a", Strategy::Live),
            phase: Phase::Sync,
            paused: false,
            preempted_by: None,
            waiting: None,
            started_at_ms: 0,
            updated_at_ms: 0,
            progress: Progress {
                total_bytes,
                copied_this_workload: copied,
                bytes_copied: copied,
                copy_ms,
                ..Progress::default()
            },
            checkpoints: Vec::new(),
            downtime_ms: 0,
            error: None,
            target_cleaned: false,
        };
        let eta = crate::migrations::control::eta_ns;
        // 1,000 bytes left at 3 bytes a millisecond: 333.33 ms, shown as 333 ms.
        assert_eq!(eta(&record(1_300, 300, 100)), Some(333_000_000));
        assert_eq!(eta(&record(u64::MAX, 1, u64::MAX)), Some(i64::MAX));
        assert_eq!(eta(&record(1_000, 0, 100)), None);
    }

    #[test]
    fn a_stale_step_changes_nothing_and_the_cutover_moves_the_placement() {
        let (mut migrations, mut workloads) = setup();
        let start = MigrationCommand::Start {
            id: "m".into(),
            plan: plan("m", "a", Strategy::Live),
        };
        assert!(matches!(
            migrations.apply(&start, 1, &mut workloads),
            MigrationAnswer::Done { .. }
        ));
        // The same workload cannot be moved twice at once.
        let again = MigrationCommand::Start {
            id: "m2".into(),
            plan: plan("m2", "a", Strategy::Live),
        };
        assert!(matches!(
            migrations.apply(&again, 1, &mut workloads),
            MigrationAnswer::Refused { .. }
        ));
        for (from, to) in [
            (Phase::Planning, Phase::PreSync),
            (Phase::PreSync, Phase::Sync),
            (Phase::Sync, Phase::Cutover),
        ] {
            migrations.apply(&advance("m", from, to), 2, &mut workloads);
        }
        // A driver that still thinks it is in sync is refused.
        let stale = advance("m", Phase::Sync, Phase::Cutover);
        assert!(matches!(
            migrations.apply(&stale, 3, &mut workloads),
            MigrationAnswer::Refused { .. }
        ));
        let cutover = MigrationCommand::Cutover {
            id: "m".into(),
            downtime_ms: 7,
        };
        migrations.apply(&cutover, 4, &mut workloads);
        let placed = workloads.get("a").cloned().expect("placed");
        assert_eq!(
            (placed.edge.as_str(), placed.mirror.as_deref()),
            ("e2", Some("e1"))
        );
        // A rollback before cleanup returns the workload to its source.
        let rollback = MigrationCommand::Rollback {
            id: "m".into(),
            checkpoint: None,
            error: None,
        };
        migrations.apply(&rollback, 5, &mut workloads);
        let placed = workloads.get("a").cloned().expect("placed");
        assert_eq!((placed.edge.as_str(), placed.mirror), ("e1", None));
        assert_eq!(
            migrations.get("m").map(|m| m.phase),
            Some(Phase::RolledBack)
        );
        assert_eq!(migrations.get("m").map(|m| m.downtime_ms), Some(7));
    }

    #[test]
    fn an_emergency_migration_goes_first_from_its_source() {
        let (mut migrations, mut workloads) = setup();
        let start = |id: &str, workload: &str, strategy| MigrationCommand::Start {
            id: id.into(),
            plan: plan(id, workload, strategy),
        };
        migrations.apply(&start("slow", "a", Strategy::Live), 1, &mut workloads);
        migrations.apply(&start("now", "b", Strategy::Emergency), 2, &mut workloads);
        let slow = migrations.get("slow").cloned().expect("slow");
        assert_eq!(slow.preempted_by.as_deref(), Some("now"));
        assert!(!slow.may_move());
        let fail = MigrationCommand::Advance {
            id: "now".into(),
            from: Phase::Planning,
            to: Phase::Failed,
            progress: Progress::default(),
            downtime_ms: None,
            error: Some("gave up".into()),
        };
        migrations.apply(&fail, 3, &mut workloads);
        assert!(migrations
            .get("slow")
            .is_some_and(MigrationRecord::may_move));
    }

    #[test]
    fn a_higher_priority_copies_first_from_its_source_and_equals_side_by_side() {
        let (mut migrations, mut workloads) = setup();
        let start = |id: &str, workload: &str, priority| {
            let mut plan = plan(id, workload, Strategy::Live);
            plan.priority = priority;
            MigrationCommand::Start {
                id: id.into(),
                plan,
            }
        };
        let preempted_by = |migrations: &Migrations, id: &str| {
            migrations
                .get(id)
                .and_then(|m| m.preempted_by.clone())
                .unwrap_or_default()
        };
        migrations.apply(&start("low", "a", 3), 1, &mut workloads);
        migrations.apply(&start("also_low", "c", 3), 2, &mut workloads);
        assert_eq!(preempted_by(&migrations, "also_low"), "");
        migrations.apply(&start("high", "b", 8), 3, &mut workloads);
        assert_eq!(preempted_by(&migrations, "low"), "high");
        assert_eq!(preempted_by(&migrations, "also_low"), "high");
        assert_eq!(preempted_by(&migrations, "high"), "");
        migrations.apply(
            &MigrationCommand::Pause { id: "high".into() },
            4,
            &mut workloads,
        );
        // Paused, it lets the others copy; resumed, it goes first again.
        assert_eq!(preempted_by(&migrations, "low"), "");
        migrations.apply(
            &MigrationCommand::Resume { id: "high".into() },
            4,
            &mut workloads,
        );
        assert_eq!(preempted_by(&migrations, "low"), "high");
        let fail = advance("high", Phase::Planning, Phase::Failed);
        migrations.apply(&fail, 5, &mut workloads);
        assert_eq!(preempted_by(&migrations, "low"), "");
        assert_eq!(preempted_by(&migrations, "also_low"), "");
    }
}
