//! The leader's loop that fires schedules: every 50 ms it looks for triggers whose
//! latest tick has not fired and proposes it. The tick's instant is the idempotency
//! key (`registry.rs`), so a leader change — two nodes proposing the same tick — fires
//! it once; a new leader fires the tick its predecessor missed if it is still recent.
//! Ticks missed while the whole cluster was down are not caught up: only the latest,
//! and only within a minute of it.

use super::command::TriggerCommand;
use super::matching::{triggered_run, Programs};
use super::spec::{DeployedTrigger, TriggerKind};
use crate::command::Command;
use crate::node::{now_ms, Node};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// How long after its time a tick may still fire (a failover, a slow apply).
pub const SCHEDULE_GRACE_MS: u64 = 60_000;
const LOOK_EVERY: Duration = Duration::from_millis(50);

/// A tick to fire.
struct Due {
    trigger_id: String,
    bundle_hash: String,
    trigger: DeployedTrigger,
    tick_ms: u64,
}

/// Fires due ticks while this node leads, until the process ends.
pub async fn schedule_forever(node: Arc<Node>) {
    let programs = Programs::default();
    loop {
        tokio::time::sleep(LOOK_EVERY).await;
        let leads = node.raft_status().leader == Some(node.id());
        if !leads {
            continue;
        }
        let now = now_ms();
        let due: Vec<Due> = node
            .read_local(|state| {
                state
                    .deployments
                    .triggers()
                    .filter_map(|(deployment, trigger)| {
                        let tick_ms = trigger.latest_tick(now)?;
                        let trigger_id = trigger.id(&deployment.name);
                        let due = tick_ms >= deployment.applied_at_ms
                            && now - tick_ms <= SCHEDULE_GRACE_MS
                            && state.triggers.is_new_tick(&trigger_id, tick_ms);
                        due.then(|| Due {
                            trigger_id,
                            bundle_hash: deployment.bundle_hash.clone(),
                            trigger: trigger.clone(),
                            tick_ms,
                        })
                    })
                    .collect()
            })
            .await;
        for tick in due {
            if let Err(reason) = fire(&node, &programs, &tick).await {
                tracing::warn!(
                    tick_ms = tick.tick_ms,
                    "trigger {} could not fire its tick: {reason}",
                    tick.trigger_id
                );
            }
        }
    }
}

async fn fire(node: &Node, programs: &Programs, due: &Due) -> Result<(), String> {
    let program = programs.get(node, &due.bundle_hash).await?;
    let workflow = program
        .workflows
        .iter()
        .find(|w| w.name == due.trigger.workflow)
        .ok_or_else(|| format!("the program has no workflow `{}`", due.trigger.workflow))?;
    let time = jiff::Timestamp::from_millisecond(due.tick_ms as i64)
        .map_err(|e| e.to_string())?
        .to_string();
    let (kind, data) = match &due.trigger.kind {
        TriggerKind::Schedule { cron } => ("cron", json!({ "cron": cron })),
        TriggerKind::Every { interval_ms } => ("every", json!({ "every_ms": interval_ms })),
        TriggerKind::Event { .. } => return Ok(()),
    };
    let trigger = json!({
        "kind": "schedule",
        "type": kind,
        "source": format!("edgeflow:{}", due.trigger_id),
        "time": time,
        "data": data,
    });
    let cause = format!("tick\u{0}{}\u{0}{}", due.trigger_id, due.tick_ms);
    let run = triggered_run(workflow, &due.bundle_hash, trigger, &cause)?;
    let command = Command::Trigger(TriggerCommand::Tick {
        trigger_id: due.trigger_id.clone(),
        tick_ms: due.tick_ms,
        run,
    });
    node.write(command)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
