//! What a run found, for people and for replay: a summary table (operations by kind and
//! outcome, faults injected, recovery times, each check's verdict) and, written every
//! time, a JSON file with the seed, the schedule as it ran and the whole history — the
//! input `EDGEFLOW_ROBUSTNESS_HISTORY=FILE cargo test --test robustness recheck --
//! --ignored` checks again and shrinks.

use crate::history::{Entry, Outcome};
use crate::linearizable::Verdict;
use crate::nemesis::{EpisodeReport, FaultKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub profile: String,
    pub seed: u64,
    pub nodes: u64,
    pub seconds: f64,
    pub episodes: Vec<EpisodeReport>,
    pub entries: Vec<Entry>,
    pub verdicts: BTreeMap<String, Verdict>,
    pub violations: Vec<String>,
    /// Submitted runs by how they ended ("answer lost": the submission's answer).
    pub runs: BTreeMap<String, u64>,
    /// The errors of runs that failed.
    #[serde(default)]
    pub run_failures: Vec<String>,
    pub submitted: Vec<crate::runs::Submitted>,
}

impl RunRecord {
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join(format!("robustness-{}-{}.json", self.profile, self.seed));
        let json = serde_json::to_vec(self).expect("the record serialises");
        std::fs::write(&path, json).expect("the record is written");
        path
    }

    pub fn read(path: &Path) -> RunRecord {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "robustness profile `{}`, seed {}, {} voters, {:.0} s",
            self.profile, self.seed, self.nodes, self.seconds
        );
        let _ = writeln!(
            out,
            "\n{:<22} {:>8} {:>8} {:>14}",
            "operation", "ok", "failed", "indeterminate"
        );
        let mut by_kind: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
        for entry in &self.entries {
            let counts = by_kind.entry(entry.op.kind()).or_default();
            match entry.outcome {
                Outcome::Ok(_) => counts[0] += 1,
                Outcome::Failed(_) => counts[1] += 1,
                Outcome::Indeterminate(_) => counts[2] += 1,
            }
        }
        let mut total = [0u64; 3];
        for (kind, counts) in &by_kind {
            let _ = writeln!(
                out,
                "{kind:<22} {:>8} {:>8} {:>14}",
                counts[0], counts[1], counts[2]
            );
            for i in 0..3 {
                total[i] += counts[i];
            }
        }
        let _ = writeln!(
            out,
            "{:<22} {:>8} {:>8} {:>14}",
            "all", total[0], total[1], total[2]
        );
        let _ = writeln!(
            out,
            "\n{:<38} {:>9} {:>14} {:>14}",
            "fault", "injected", "recovery (ms)", "failover (ms)"
        );
        let mut by_fault: BTreeMap<FaultKind, (u64, Vec<u64>, Vec<u64>)> = BTreeMap::new();
        for episode in &self.episodes {
            let row = by_fault.entry(episode.episode.kind).or_default();
            if episode.injected {
                row.0 += 1;
            }
            row.1.extend(episode.recovery_ms);
            row.2.extend(episode.failover_ms);
        }
        for (kind, (injected, recovery, failover)) in &by_fault {
            let _ = writeln!(
                out,
                "{:<38} {:>9} {:>14} {:>14}",
                kind.name(),
                injected,
                median_and_worst(recovery),
                median_and_worst(failover)
            );
        }
        let runs: Vec<String> = self
            .runs
            .iter()
            .map(|(status, n)| format!("{n} {status}"))
            .collect();
        let _ = writeln!(
            out,
            "\nsubmitted runs: {}",
            if runs.is_empty() {
                "none".into()
            } else {
                runs.join(", ")
            }
        );
        for failure in self.run_failures.iter().take(5) {
            let _ = writeln!(out, "  failed run {failure}");
        }
        let undecided = self
            .verdicts
            .values()
            .filter(|v| matches!(v, Verdict::Undecided { .. }))
            .count();
        let _ = writeln!(
            out,
            "\nlinearizability: {} keys checked, {} undecided; violations: {}",
            self.verdicts.len(),
            undecided,
            if self.violations.is_empty() {
                "none".to_string()
            } else {
                self.violations.len().to_string()
            }
        );
        for violation in &self.violations {
            let _ = writeln!(out, "  VIOLATION {violation}");
        }
        out
    }
}

/// `median / worst`, or `-` when there is none.
fn median_and_worst(values: &[u64]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    format!(
        "{} / {}",
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1]
    )
}
