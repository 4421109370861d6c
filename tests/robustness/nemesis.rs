//! The faults the harness injects, one episode at a time: inject, hold, heal, then wait
//! until every node takes writes again (the recovery time reported). Which fault, on
//! which node and for how long comes from the seeded schedule (`schedule.rs`), so a
//! seed names the same sequence of faults again.
//!
//! Kinds: SIGKILL of the leader or a follower and a restart; SIGSTOP/SIGCONT (a paused
//! process); partitions through the Raft proxy (one node cut off — the minority — from
//! the majority; a bridge node that alone sees both sides; one-way loss, the leader
//! unable to reach the others while they still reach it); added latency and a lossy
//! link (stalls and connection resets); a disk that fills up (the node's data on a
//! small tmpfs, filled with a file, freed afterwards); clock skew (a node restarted
//! under libfaketime, its wall clock seconds ahead or behind — the clock that stamps
//! commands and so decides leases).

use crate::common::cluster::{raft_view, Cluster};
use crate::common::http;
use crate::common::proxy::{LinkQuality, Proxy};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FaultKind {
    KillLeader,
    KillFollower,
    Pause,
    PartitionMinority,
    Bridge,
    OneWay,
    Latency,
    LossyLink,
    DiskFull,
    ClockSkew,
}

impl FaultKind {
    pub const ALL: [FaultKind; 10] = [
        FaultKind::KillLeader,
        FaultKind::KillFollower,
        FaultKind::Pause,
        FaultKind::PartitionMinority,
        FaultKind::Bridge,
        FaultKind::OneWay,
        FaultKind::Latency,
        FaultKind::LossyLink,
        FaultKind::DiskFull,
        FaultKind::ClockSkew,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::KillLeader => "SIGKILL leader, restart",
            FaultKind::KillFollower => "SIGKILL follower, restart",
            FaultKind::Pause => "SIGSTOP / SIGCONT",
            FaultKind::PartitionMinority => "partition (minority | majority)",
            FaultKind::Bridge => "partition with a bridge node",
            FaultKind::OneWay => "one-way loss from the leader",
            FaultKind::Latency => "added latency",
            FaultKind::LossyLink => "lossy link (stalls, resets)",
            FaultKind::DiskFull => "disk full, freed",
            FaultKind::ClockSkew => "clock skew (restart under faketime)",
        }
    }
}

/// One episode of the schedule: a fault, the node it targets (by a draw the nemesis
/// maps onto the nodes it can pick at that moment), how long it lasts, and for clock
/// skew the offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    pub kind: FaultKind,
    pub target_draw: u32,
    pub hold_ms: u64,
    pub skew_s: i64,
}

/// What happened in an episode, for the summary and the failure file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpisodeReport {
    pub episode: Episode,
    /// What was done, in words ("paused node 2"), or why the fault was skipped.
    pub action: String,
    pub injected: bool,
    /// From the leader's death until a surviving node took a write (leader kills).
    pub failover_ms: Option<u64>,
    /// From the heal until every node took a write.
    pub recovery_ms: Option<u64>,
}

/// The faults a nemesis can make on this machine.
pub struct Abilities {
    /// The node whose data dir is a small tmpfs (none: tmpfs could not be mounted).
    pub disk_node: Option<u64>,
    /// libfaketime's library, where installed.
    pub faketime: Option<PathBuf>,
}

pub const FAKETIME_LIBRARY: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

pub struct Nemesis<'a> {
    pub cluster: &'a Cluster,
    pub proxy: &'a Proxy,
    pub abilities: &'a Abilities,
    pub nodes: u64,
}

/// Longest a cluster may take to take writes on every node again after a heal.
const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

impl Nemesis<'_> {
    fn all(&self) -> Vec<u64> {
        (1..=self.nodes).collect()
    }

    fn token(&self) -> String {
        self.cluster.token(1)
    }

    /// The leader as the nodes report it (the first node that names one), waiting up
    /// to ten seconds for one.
    pub fn leader(&self) -> Option<u64> {
        let token = self.token();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            for id in self.all() {
                if let Some((leader, _)) = raft_view(self.cluster.url(id), &token) {
                    if leader > 0 {
                        return Some(leader);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn pick(&self, from: &[u64], draw: u32) -> u64 {
        from[draw as usize % from.len()]
    }

    /// A write through node `id` answered 200 within a second.
    fn takes_writes(&self, id: u64, token: &str) -> bool {
        http::call(
            self.cluster.url(id),
            "PUT",
            "/v1/state/probe/alive",
            Some(token),
            Some(b"1"),
            Duration::from_secs(1),
        )
        .is_ok_and(|reply| reply.status == 200)
    }

    /// Time from `since` until every one of `nodes` took a write.
    fn await_writes(&self, nodes: &[u64], since: Instant) -> Option<u64> {
        let token = self.token();
        let mut pending: Vec<u64> = nodes.to_vec();
        while !pending.is_empty() {
            if since.elapsed() > RECOVERY_LIMIT {
                return None;
            }
            pending.retain(|id| !self.takes_writes(*id, &token));
            if !pending.is_empty() {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        Some(since.elapsed().as_millis() as u64)
    }

    fn signal(&self, id: u64, signal: &str) {
        if let Some(pid) = self.cluster.pid(id) {
            let _ = Command::new("kill")
                .args([signal, &pid.to_string()])
                .status();
        }
    }

    /// Restarts node `id` normally (after a kill, a full disk, a skewed clock) and
    /// waits until it answers its health probe.
    fn restart(&self, id: u64) {
        self.cluster.start(id);
        self.cluster.await_healthy(id);
    }

    /// Runs one episode: inject, hold, heal, measure the recovery.
    pub fn run(&self, episode: Episode) -> EpisodeReport {
        let hold = Duration::from_millis(episode.hold_ms);
        let mut report = EpisodeReport {
            episode,
            action: String::new(),
            injected: true,
            failover_ms: None,
            recovery_ms: None,
        };
        let Some(leader) = self.leader() else {
            report.action = "no leader to aim at: skipped".into();
            report.injected = false;
            return report;
        };
        let followers: Vec<u64> = self.all().into_iter().filter(|id| *id != leader).collect();
        let draw = episode.target_draw;
        match episode.kind {
            FaultKind::KillLeader => {
                self.cluster.kill(leader);
                let killed = Instant::now();
                report.failover_ms = self.await_writes(&followers[..1], killed);
                std::thread::sleep(hold.saturating_sub(killed.elapsed()));
                self.restart(leader);
                report.action = format!("killed the leader, node {leader}, restarted it");
            }
            FaultKind::KillFollower => {
                let victim = self.pick(&followers, draw);
                self.cluster.kill(victim);
                std::thread::sleep(hold);
                self.restart(victim);
                report.action = format!("killed follower {victim}, restarted it");
            }
            FaultKind::Pause => {
                let victim = self.pick(&self.all(), draw);
                self.signal(victim, "-STOP");
                std::thread::sleep(hold);
                self.signal(victim, "-CONT");
                report.action = format!(
                    "paused node {victim}{}",
                    if victim == leader {
                        " (the leader)"
                    } else {
                        ""
                    }
                );
            }
            FaultKind::PartitionMinority => {
                let alone = self.pick(&self.all(), draw);
                let rest: Vec<u64> = self.all().into_iter().filter(|id| *id != alone).collect();
                self.proxy.partition(&[&[alone], &rest]);
                std::thread::sleep(hold);
                self.proxy.heal();
                report.action = format!("cut node {alone} off from {rest:?}");
            }
            FaultKind::Bridge => {
                let bridge = self.pick(&self.all(), draw);
                let others: Vec<u64> = self.all().into_iter().filter(|id| *id != bridge).collect();
                let (left, right) = others.split_at(others.len() / 2);
                for a in left {
                    for b in right {
                        self.proxy.cut_one_way(*a, *b);
                        self.proxy.cut_one_way(*b, *a);
                    }
                }
                std::thread::sleep(hold);
                self.proxy.heal();
                report.action = format!("{left:?} and {right:?} apart, node {bridge} sees both");
            }
            FaultKind::OneWay => {
                for id in &followers {
                    self.proxy.cut_one_way(leader, *id);
                }
                std::thread::sleep(hold);
                self.proxy.heal();
                report.action =
                    format!("leader {leader} cannot reach {followers:?}; they reach it");
            }
            FaultKind::Latency => {
                let delay = Duration::from_millis(20 + u64::from(draw % 60));
                self.proxy.degrade(LinkQuality {
                    delay,
                    jitter: Duration::from_millis(30),
                    resets_per_mille: 0,
                });
                std::thread::sleep(hold);
                self.proxy.heal();
                report.action = format!("{delay:?} + up to 30ms on every link");
            }
            FaultKind::LossyLink => {
                self.proxy.degrade(LinkQuality {
                    delay: Duration::from_millis(2),
                    jitter: Duration::from_millis(40),
                    resets_per_mille: 20,
                });
                std::thread::sleep(hold);
                self.proxy.heal();
                report.action =
                    "stalls up to 40ms and 2% of chunks resetting their connection".into();
            }
            FaultKind::DiskFull => match self.abilities.disk_node {
                Some(victim) => report.action = self.fill_disk(victim, hold),
                None => {
                    report.action = "skipped: no tmpfs could be mounted here".into();
                    report.injected = false;
                }
            },
            FaultKind::ClockSkew => match &self.abilities.faketime {
                Some(library) => {
                    let victim = self.pick(&self.all(), draw);
                    self.cluster.kill(victim);
                    let offset = format!("FAKETIME={:+}s", episode.skew_s);
                    let preload = format!("LD_PRELOAD={}", library.display());
                    self.cluster.start_wrapped(
                        victim,
                        &["env", &preload, &offset, "FAKETIME_DONT_FAKE_MONOTONIC=1"],
                    );
                    self.cluster.await_healthy(victim);
                    std::thread::sleep(hold);
                    self.cluster.kill(victim);
                    self.restart(victim);
                    report.action = format!(
                        "node {victim}{} ran with its clock {:+}s off, then restarted",
                        if victim == leader {
                            " (the leader)"
                        } else {
                            ""
                        },
                        episode.skew_s
                    );
                }
                None => {
                    report.action = format!("skipped: no libfaketime at {FAKETIME_LIBRARY}");
                    report.injected = false;
                }
            },
        }
        report.recovery_ms = self.await_writes(&self.all(), Instant::now());
        report
    }

    /// Fills node `victim`'s tmpfs until writes fail, holds, frees it, and restarts the
    /// node if the full disk took it out of service.
    fn fill_disk(&self, victim: u64, hold: Duration) -> String {
        let filler = self.cluster.dir.join(format!("data-{victim}/filler"));
        // dd writes until the file system is full, and then fails: that is the point.
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=1M"])
            .arg(format!("of={}", filler.display()))
            .output();
        std::thread::sleep(hold);
        let exited = self
            .cluster
            .pid(victim)
            .is_none_or(|pid| !crate::common::cluster::is_running(pid));
        let _ = std::fs::remove_file(&filler);
        if exited {
            self.cluster.kill(victim); // reaps it
            self.restart(victim);
            format!("filled node {victim}'s disk: it left service; freed and restarted")
        } else {
            format!("filled node {victim}'s disk for {hold:?}, then freed it (it kept running)")
        }
    }
}
