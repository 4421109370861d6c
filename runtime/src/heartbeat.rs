//! A voter's own heartbeats into the fleet registry: every `fleet_heartbeat` interval it
//! commits its labels, system metrics and the latency of its previous heartbeat (a
//! round through consensus) and how many placed steps it runs, so voters are
//! discoverable edges like workers.

use crate::command::Command;
use crate::dispatch::in_hand::StepsInHand;
use crate::node::Node;
use crate::state::fleet::{Beat, EdgeLabels, EdgeRole};
use crate::system::SystemSampler;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Who the voter is in the registry.
pub struct Identity {
    pub edge: String,
    pub api: String,
    pub labels: EdgeLabels,
}

/// Beats until the task is dropped. A heartbeat that cannot commit (no leader yet) is
/// skipped; the next one tries again.
pub async fn voter_heartbeats(
    node: Arc<Node>,
    me: Identity,
    every: Duration,
    data_dir: &Path,
    in_hand: StepsInHand,
) {
    let mut sampler = SystemSampler::new(data_dir);
    let mut latency_ms = None;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let beat = Beat {
            running: in_hand.count(),
            ratelimit: node.quotas().decisions(),
            ..Beat::idle(sampler.sample(), latency_ms)
        };
        let started = Instant::now();
        let written = node
            .write(Command::Heartbeat {
                node: node.id(),
                edge: me.edge.clone(),
                role: EdgeRole::Voter,
                api: me.api.clone(),
                labels: me.labels.clone(),
                heartbeat_interval_ms: every.as_millis() as u64,
                beat,
            })
            .await;
        latency_ms = written
            .is_ok()
            .then(|| started.elapsed().as_secs_f64() * 1e3);
    }
}
