//! The commands of this subsystem and how they apply: a schedule's tick and an
//! event, each starting runs in the same command that records it, so a tick or an
//! event is either wholly applied (its runs recorded) or not at all.

use crate::state::RunStatus;
use crate::state::State;
use serde::{Deserialize, Serialize};

/// Runs one event may start at most (every matching workflow of every deployment).
pub const RUNS_PER_EVENT_MAX: usize = 64;

/// A run a trigger starts, with what started it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggeredRun {
    pub run_id: String,
    pub bundle_hash: String,
    pub workflow: String,
    /// The workflow's parameters (their defaults), bound by the proposer.
    pub inputs: serde_json::Value,
    /// `{kind, type, source, time, data}`: `trigger` in the run's expressions.
    pub trigger: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TriggerCommand {
    /// Schedule `trigger_id` fires its tick at `tick_ms` (once: the tick is the key).
    Tick {
        trigger_id: String,
        tick_ms: u64,
        run: TriggeredRun,
    },
    /// Event (`source`, `id`) starts `runs` unless it was seen within the window.
    Event {
        source: String,
        id: String,
        runs: Vec<TriggeredRun>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TriggerAnswer {
    Started {
        run_ids: Vec<String>,
    },
    /// This tick (or a newer one) fired already.
    AlreadyFired,
    /// The trigger's previous run is still running: this tick starts nothing.
    Skipped {
        running: String,
    },
    /// The event was seen before: the runs it started then.
    Duplicate {
        run_ids: Vec<String>,
    },
    Refused {
        reason: String,
    },
}

impl State {
    pub(crate) fn apply_trigger(&mut self, command: &TriggerCommand, now: u64) -> TriggerAnswer {
        match command {
            TriggerCommand::Tick {
                trigger_id,
                tick_ms,
                run,
            } => {
                if !self.triggers.is_new_tick(trigger_id, *tick_ms) {
                    return TriggerAnswer::AlreadyFired;
                }
                let previous = self
                    .triggers
                    .fired(trigger_id)
                    .and_then(|fired| fired.run_id.clone());
                if let Some(running) = previous.filter(|id| {
                    self.runs
                        .get(id)
                        .is_some_and(|r| r.status == RunStatus::Running)
                }) {
                    self.triggers.record_tick(trigger_id, *tick_ms, None);
                    self.record_skipped(run, &running, now);
                    return TriggerAnswer::Skipped { running };
                }
                if !self.bundles.contains(&run.bundle_hash) {
                    return TriggerAnswer::Refused {
                        reason: format!("program {} is not stored", run.bundle_hash),
                    };
                }
                self.start_triggered(run, now);
                self.triggers
                    .record_tick(trigger_id, *tick_ms, Some(run.run_id.clone()));
                TriggerAnswer::Started {
                    run_ids: vec![run.run_id.clone()],
                }
            }
            TriggerCommand::Event { source, id, runs } => {
                if let Some(seen) = self.triggers.seen(source, id, now) {
                    return TriggerAnswer::Duplicate {
                        run_ids: seen.run_ids.clone(),
                    };
                }
                if runs.len() > RUNS_PER_EVENT_MAX {
                    return TriggerAnswer::Refused {
                        reason: format!(
                            "an event starts at most {RUNS_PER_EVENT_MAX} runs, not {}",
                            runs.len()
                        ),
                    };
                }
                if let Some(missing) = runs.iter().find(|r| !self.bundles.contains(&r.bundle_hash))
                {
                    return TriggerAnswer::Refused {
                        reason: format!("program {} is not stored", missing.bundle_hash),
                    };
                }
                for run in runs {
                    self.start_triggered(run, now);
                }
                // The same event delivered again after the window: its runs (same ids)
                // exist and are not started again.
                let run_ids: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
                self.triggers.record_event(source, id, now, run_ids.clone());
                TriggerAnswer::Started { run_ids }
            }
        }
    }

    /// A skipped tick as a finished run of status `skipped`, so `runs` shows it.
    fn record_skipped(&mut self, run: &TriggeredRun, running: &str, now: u64) {
        if self.runs.contains_key(&run.run_id) {
            return;
        }
        let mut record = crate::state::RunRecord::skipped(
            &run.run_id,
            &run.bundle_hash,
            &run.workflow,
            format!("skipped: the previous run {running} was still running"),
            now,
        );
        record.trigger = Some(run.trigger.clone());
        self.runs.insert(run.run_id.clone(), record);
    }

    fn start_triggered(&mut self, run: &TriggeredRun, now: u64) {
        self.record_run(
            &run.run_id,
            &run.bundle_hash,
            &run.workflow,
            &run.inputs,
            now,
            true,
        );
        if let Some(record) = self.runs.get_mut(&run.run_id) {
            record.trigger = Some(run.trigger.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;

    fn run(id: &str) -> TriggeredRun {
        TriggeredRun {
            run_id: id.into(),
            bundle_hash: "h".into(),
            workflow: "w".into(),
            inputs: serde_json::json!({}),
            trigger: serde_json::json!({"kind": "schedule"}),
        }
    }

    fn tick(state: &mut State, tick_ms: u64, id: &str) -> TriggerAnswer {
        let command = TriggerCommand::Tick {
            trigger_id: "d/w#0".into(),
            tick_ms,
            run: run(id),
        };
        state.apply_trigger(&command, tick_ms)
    }

    #[test]
    fn a_tick_is_skipped_while_the_previous_run_still_runs() {
        let mut state = State::default();
        state.bundles.stored("h", 10);
        state.bundles.deployed("h");
        assert_eq!(
            tick(&mut state, 2000, "r1"),
            TriggerAnswer::Started {
                run_ids: vec!["r1".into()]
            }
        );
        assert_eq!(
            tick(&mut state, 2000, "r1-again"),
            TriggerAnswer::AlreadyFired
        );
        assert_eq!(
            tick(&mut state, 4000, "r2"),
            TriggerAnswer::Skipped {
                running: "r1".into()
            }
        );
        let skipped = state.runs.get("r2").expect("the skipped tick is shown");
        assert_eq!(skipped.status, RunStatus::Skipped);
        assert!(skipped.error.as_deref().is_some_and(|e| e.contains("r1")));
        let finish = Command::FinishRun {
            run_id: "r1".into(),
            output: None,
            error: None,
        };
        let request = crate::command::Request {
            at_ms: 5000,
            command: finish,
            idempotency_key: None,
        };
        state.apply(&request, crate::state::LogPosition { index: 1, term: 1 });
        assert!(matches!(
            tick(&mut state, 6000, "r3"),
            TriggerAnswer::Started { .. }
        ));
        assert_eq!(
            state.runs.get("r3").and_then(|r| r.trigger.clone()),
            Some(serde_json::json!({"kind": "schedule"}))
        );
    }
}
