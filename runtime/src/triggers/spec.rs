//! A trigger as a deployment arms it: which workflow it starts and when. Schedules
//! are five-field cron in UTC or a fixed interval; their ticks are instants in Unix
//! milliseconds, so every node computes the same tick for the same moment.

use edgeflow_compiler::ir::{Program, Trigger};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TriggerKind {
    /// `on schedule "…"`: five-field cron, UTC.
    Schedule { cron: String },
    /// `on every D`: ticks at whole multiples of the interval since the Unix epoch.
    Every { interval_ms: u64 },
    /// `on event "type" [where …]` (the filter stays in the bundle).
    Event { event_type: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployedTrigger {
    pub workflow: String,
    /// The trigger's position among its workflow's `on` clauses.
    pub index: usize,
    #[serde(flatten)]
    pub kind: TriggerKind,
}

impl DeployedTrigger {
    /// Every trigger of `program`'s workflows.
    pub fn of(program: &Program) -> Vec<DeployedTrigger> {
        program
            .workflows
            .iter()
            .flat_map(|workflow| {
                workflow
                    .triggers
                    .iter()
                    .enumerate()
                    .map(|(index, trigger)| DeployedTrigger {
                        workflow: workflow.name.clone(),
                        index,
                        kind: match trigger {
                            Trigger::Schedule { cron } => {
                                TriggerKind::Schedule { cron: cron.clone() }
                            }
                            Trigger::Every { interval } => TriggerKind::Every {
                                interval_ms: (*interval as u64 / 1_000_000).max(1),
                            },
                            Trigger::Event { event_type, .. } => TriggerKind::Event {
                                event_type: event_type.clone(),
                            },
                        },
                    })
            })
            .collect()
    }

    /// The name of this trigger in deployment `deployment`: `DEPLOYMENT/WORKFLOW#INDEX`.
    pub fn id(&self, deployment: &str) -> String {
        format!("{deployment}/{}#{}", self.workflow, self.index)
    }

    /// The latest tick at or before `now_ms`, for a schedule.
    pub fn latest_tick(&self, now_ms: u64) -> Option<u64> {
        match &self.kind {
            TriggerKind::Every { interval_ms } => Some(now_ms - now_ms % interval_ms),
            TriggerKind::Schedule { cron } => {
                // Whole seconds: the search keeps the sub-second part it starts from.
                let now = chrono::DateTime::from_timestamp((now_ms / 1000) as i64, 0)?;
                let tick = parse_cron(cron)?
                    .find_previous_occurrence(&now, true)
                    .ok()?;
                u64::try_from(tick.timestamp_millis()).ok()
            }
            TriggerKind::Event { .. } => None,
        }
    }

    /// The first tick after `after_ms`, for a schedule.
    pub fn next_tick(&self, after_ms: u64) -> Option<u64> {
        match &self.kind {
            TriggerKind::Every { interval_ms } => {
                Some(after_ms - after_ms % interval_ms + interval_ms)
            }
            TriggerKind::Schedule { cron } => {
                let after = chrono::DateTime::from_timestamp((after_ms / 1000) as i64, 0)?;
                let tick = parse_cron(cron)?.find_next_occurrence(&after, false).ok()?;
                u64::try_from(tick.timestamp_millis()).ok()
            }
            TriggerKind::Event { .. } => None,
        }
    }
}

fn parse_cron(pattern: &str) -> Option<croner::Cron> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(pattern)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(kind: TriggerKind) -> DeployedTrigger {
        DeployedTrigger {
            workflow: "w".into(),
            index: 0,
            kind,
        }
    }

    #[test]
    fn interval_ticks_are_whole_multiples_and_cron_is_utc() {
        let every = trigger(TriggerKind::Every { interval_ms: 2000 });
        assert_eq!(every.latest_tick(10_999), Some(10_000));
        assert_eq!(every.next_tick(10_000), Some(12_000));
        // 2026-12-06T02:30:00Z: the last "0 2 * * *" was 02:00 that day, the next 02:00 the day after.
        let daily = trigger(TriggerKind::Schedule {
            cron: "0 2 * * *".into(),
        });
        let now = 1_796_524_200_756;
        assert_eq!(daily.latest_tick(now), Some(1_796_522_400_000));
        assert_eq!(daily.next_tick(now), Some(1_796_522_400_000 + 86_400_000));
        assert_eq!(
            trigger(TriggerKind::Event {
                event_type: "x".into()
            })
            .latest_tick(now),
            None
        );
    }
}
