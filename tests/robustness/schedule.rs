//! Profiles and the seeded schedule of faults. The short profile (CI) makes every kind
//! of fault once, in an order and on targets drawn from the seed; the long profile
//! draws faults at random for `EDGEFLOW_ROBUSTNESS_SECONDS`. `EDGEFLOW_ROBUSTNESS_SEED`
//! replays a schedule: the same seed gives the same faults on the same draws.

use crate::client::Reads;
use crate::nemesis::{Episode, FaultKind};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: &'static str,
    pub seed: u64,
    pub nodes: u64,
    pub clients: usize,
    pub episodes: Vec<Episode>,
    /// Stop starting episodes after this long (the long profile's budget).
    pub budget: Duration,
    /// Calm between episodes, while the clients keep going.
    pub quiet: Duration,
    pub reads: Reads,
}

/// The seed from `EDGEFLOW_ROBUSTNESS_SEED`, else a fresh one (printed by the run).
pub fn seed_from_env() -> u64 {
    std::env::var("EDGEFLOW_ROBUSTNESS_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| fastrand::u64(..))
}

fn episode(rng: &mut fastrand::Rng, kind: FaultKind, hold_ms: std::ops::Range<u64>) -> Episode {
    let magnitude = rng.i64(2..=6);
    Episode {
        kind,
        target_draw: rng.u32(..),
        hold_ms: rng.u64(hold_ms),
        skew_s: if rng.bool() { magnitude } else { -magnitude },
    }
}

impl Profile {
    /// Every fault kind once, three voters, six clients.
    pub fn short(seed: u64) -> Profile {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut kinds = FaultKind::ALL.to_vec();
        rng.shuffle(&mut kinds);
        Profile {
            name: "short",
            seed,
            nodes: 3,
            clients: 6,
            episodes: kinds
                .into_iter()
                .map(|kind| episode(&mut rng, kind, 1_200..2_000))
                .collect(),
            budget: Duration::from_secs(150),
            quiet: Duration::from_millis(500),
            reads: Reads::Linearizable,
        }
    }

    /// Random faults for `seconds`, on `EDGEFLOW_ROBUSTNESS_NODES` voters (3 or 5).
    pub fn long(seed: u64, seconds: u64) -> Profile {
        let mut rng = fastrand::Rng::with_seed(seed);
        let nodes = std::env::var("EDGEFLOW_ROBUSTNESS_NODES")
            .ok()
            .and_then(|n| n.parse().ok())
            .filter(|n| [3, 5].contains(n))
            .unwrap_or(3);
        let episodes = (0..seconds)
            .map(|_| {
                let kind = FaultKind::ALL[rng.usize(..FaultKind::ALL.len())];
                episode(&mut rng, kind, 1_000..5_000)
            })
            .collect();
        Profile {
            name: "long",
            seed,
            nodes,
            clients: 8,
            episodes,
            budget: Duration::from_secs(seconds),
            quiet: Duration::from_millis(1_000),
            reads: Reads::Linearizable,
        }
    }
}
