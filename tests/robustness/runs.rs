//! Submitted runs under the same faults: a submitter sends a run of `exactly_once`
//! (`tests/fixtures/cluster/robustness.edgeflow`) to a random node every few hundred
//! milliseconds; each run writes two keys named after its tag, and a key's version
//! counts the writes that took effect. Afterwards every run must finish, each key of a
//! succeeded run must be at version 1 — a driver that died mid-run was replaced
//! without repeating a step — and no key of any run beyond it.

use crate::common::{self, http};
use crate::workload::Shared;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where the runs write the keys that count their effects.
pub const EFFECTS_NAMESPACE: &str = "runs-effects";
const EVERY: Duration = Duration::from_millis(300);

/// One submission: its tag, and the run id when the node answered.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Submitted {
    pub tag: String,
    pub node: u64,
    pub run_id: Option<String>,
    /// How the submission was answered (`recorded`, `not recorded: 503`, `answer lost`).
    pub answer: String,
}

/// The compiled program, as `POST /v1/runs` takes it.
pub fn bundle(dir: &std::path::Path) -> Value {
    let fixture = common::root().join("tests/fixtures/cluster/robustness.edgeflow");
    let out = dir.join("robustness.bundle");
    let compiled = common::edgeflow(&[
        "compile",
        &fixture.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert!(compiled.status.success(), "{}", common::stderr(&compiled));
    serde_json::from_slice(&std::fs::read(&out).expect("bundle")).expect("bundle JSON")
}

pub fn start_submitter(
    shared: &Arc<Shared>,
    bundle: Value,
    seed: u64,
) -> JoinHandle<Vec<Submitted>> {
    let shared = shared.clone();
    std::thread::spawn(move || {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut submitted = Vec::new();
        while !shared.stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let tag = format!("run-{}", submitted.len());
            let node = rng.usize(..shared.urls.len());
            let body =
                json!({"bundle": bundle, "workflow": "exactly_once", "inputs": {"tag": tag}});
            let reply = http::call(
                &shared.urls[node],
                "POST",
                "/v1/runs",
                Some(&shared.token),
                Some(body.to_string().as_bytes()),
                Duration::from_secs(4),
            );
            let (run_id, answer) = match reply {
                Ok(reply) if reply.status == 200 => (
                    serde_json::from_str::<Value>(&reply.body)
                        .ok()
                        .and_then(|v| v["run_id"].as_str().map(str::to_string)),
                    "recorded".to_string(),
                ),
                Ok(reply) => (None, format!("not recorded: {}", reply.status)),
                Err(http::NoAnswer::NotSent(_)) => (None, "not sent".to_string()),
                Err(http::NoAnswer::Lost(_)) => (None, "answer lost".to_string()),
            };
            submitted.push(Submitted {
                tag,
                node: node as u64 + 1,
                run_id,
                answer,
            });
            std::thread::sleep(EVERY.saturating_sub(started.elapsed()));
        }
        submitted
    })
}

fn call_json(
    url: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Option<Value> {
    http::call_json(
        url,
        token,
        method,
        path,
        body.as_ref(),
        Duration::from_secs(4),
    )
}

/// What the runs came to.
pub struct RunsVerdict {
    /// Runs by how they ended (or how their submission was answered).
    pub counts: BTreeMap<String, u64>,
    pub violations: Vec<String>,
    /// The error of each run that failed (not a violation: said for the record).
    pub failures: Vec<String>,
}

/// Waits (up to 60 s) for every recorded run to end, then checks the effects.
pub fn check(urls: &[String], token: &str, submitted: &[Submitted]) -> RunsVerdict {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut statuses: BTreeMap<&str, String> = BTreeMap::new();
    let mut failures = Vec::new();
    for submission in submitted {
        let Some(run_id) = &submission.run_id else {
            continue;
        };
        loop {
            let url = &urls[statuses.len() % urls.len()];
            let view = call_json(url, token, "GET", &format!("/v1/runs/{run_id}"), None);
            let status = view
                .as_ref()
                .and_then(|v| v["status"].as_str().map(str::to_string));
            match status {
                Some(status) if status != "running" => {
                    if status == "failed" {
                        let error = view
                            .as_ref()
                            .map(|v| v["error"].to_string())
                            .unwrap_or_default();
                        failures.push(format!("{run_id} ({}): {error}", submission.tag));
                    }
                    statuses.insert(run_id, status);
                    break;
                }
                _ if Instant::now() > deadline => {
                    statuses.insert(run_id, "running".into());
                    break;
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    // A key's version is how many of its writes took effect (404: none).
    let effect_count = |tag: &str, step: u64| -> Option<u64> {
        let path = format!("/v1/state/{EFFECTS_NAMESPACE}/{tag}-{step}");
        urls.iter().find_map(|url| {
            let reply =
                http::call(url, "GET", &path, Some(token), None, Duration::from_secs(4)).ok()?;
            match reply.status {
                200 => serde_json::from_str::<Value>(&reply.body).ok()?["version"].as_u64(),
                404 => Some(0),
                _ => None,
            }
        })
    };
    let mut violations = Vec::new();
    let mut effects: BTreeMap<(String, u64), u64> = BTreeMap::new();
    for submission in submitted {
        for step in [1, 2] {
            match effect_count(&submission.tag, step) {
                Some(count) => {
                    effects.insert((submission.tag.clone(), step), count);
                    if count > 1 {
                        violations.push(format!(
                            "runs: {}'s step {step} took effect {count} times",
                            submission.tag
                        ));
                    }
                }
                None => violations.push(format!("runs: no node answered for {}", submission.tag)),
            }
        }
    }
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for submission in submitted {
        let Some(run_id) = &submission.run_id else {
            *counts.entry(submission.answer.clone()).or_default() += 1;
            continue;
        };
        let status = statuses.get(run_id.as_str()).cloned().unwrap_or_default();
        *counts.entry(status.clone()).or_default() += 1;
        match status.as_str() {
            "running" => violations.push(format!(
                "runs: {run_id} ({}) did not finish within 60 s of the last fault",
                submission.tag
            )),
            "succeeded" => {
                for step in [1, 2] {
                    let count = effects.get(&(submission.tag.clone(), step)).copied();
                    if count != Some(1) {
                        violations.push(format!(
                            "runs: {run_id} succeeded but its step {step} took effect {} times",
                            count.unwrap_or(0)
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    RunsVerdict {
        counts,
        violations,
        failures,
    }
}
