//! A node's system metrics for its heartbeats, read from Linux's `/proc` and the file
//! system of its data dir: CPU busy share since the previous sample, memory and disk in
//! use, the 1-minute load average. On other systems, or when a file cannot be read, a
//! figure is 0.

use crate::state::fleet::SystemMetrics;
use std::path::{Path, PathBuf};

/// Samples metrics; keeps the previous CPU counters to compute a share.
pub struct SystemSampler {
    data_dir: PathBuf,
    /// (busy, total) jiffies at the previous sample.
    previous_cpu: Option<(u64, u64)>,
}

impl SystemSampler {
    pub fn new(data_dir: &Path) -> SystemSampler {
        SystemSampler {
            data_dir: data_dir.to_path_buf(),
            previous_cpu: cpu_counters(),
        }
    }

    pub fn sample(&mut self) -> SystemMetrics {
        let now = cpu_counters();
        let cpu = match (self.previous_cpu, now) {
            (Some((busy0, total0)), Some((busy1, total1))) if total1 > total0 => {
                (busy1.saturating_sub(busy0)) as f64 / (total1 - total0) as f64
            }
            _ => 0.0,
        };
        self.previous_cpu = now;
        SystemMetrics {
            cpu: cpu.clamp(0.0, 1.0),
            memory: memory_used().unwrap_or(0.0),
            disk: disk_used(&self.data_dir).unwrap_or(0.0),
            load: load_average().unwrap_or(0.0),
        }
    }
}

/// (busy, total) jiffies of all CPUs from the first line of `/proc/stat`.
fn cpu_counters() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    // idle and iowait are the 4th and 5th counters.
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

fn memory_used() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<f64> {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    let total = field("MemTotal:")?;
    let available = field("MemAvailable:")?;
    (total > 0.0).then(|| ((total - available) / total).clamp(0.0, 1.0))
}

/// Bytes free for an unprivileged writer on the file system holding `path` (0 when it
/// cannot be read).
pub fn free_bytes(path: &Path) -> u64 {
    rustix::fs::statvfs(path).map_or(0, |stats| stats.f_bavail.saturating_mul(stats.f_frsize))
}

fn disk_used(path: &Path) -> Option<f64> {
    let stats = rustix::fs::statvfs(path).ok()?;
    let total = stats.f_blocks as f64;
    (total > 0.0).then(|| (1.0 - stats.f_bavail as f64 / total).clamp(0.0, 1.0))
}

fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_fractions() {
        let mut sampler = SystemSampler::new(Path::new("."));
        let metrics = sampler.sample();
        for value in [metrics.cpu, metrics.memory, metrics.disk] {
            assert!((0.0..=1.0).contains(&value), "{metrics:?}");
        }
        if cfg!(target_os = "linux") {
            assert!(metrics.memory > 0.0, "{metrics:?}");
        }
    }
}
