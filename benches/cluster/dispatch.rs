//! Dispatch of placed steps. `chain`: one real worker process (`w1`) and a workflow of
//! 200 steps placed on it one after another; each step's time from ready (the driver
//! places it) to its outcome committed back is an upper bound on ready → started.
//! `fleet`: 1,000 registered workers simulated in this process (heartbeating every
//! second and long-polling for work, answering each step at once), and runs whose
//! steps are placed on all of them (`edge.discover`); assignment latency is from the
//! assignment's commit (its log time) to the worker receiving it.

use super::{ms, percentile, Cluster, SimulatedWorker};
use edgeflow_compiler::value::Value as IrValue;
use edgeflow_runtime::node::{now_ms, now_us};
use serde_json::{json, Value};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs the `edgeflow` CLI against node 1; its standard output.
fn cli(cluster: &Cluster, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_edgeflow"))
        .args(args)
        .arg("--cluster")
        .arg(&cluster.urls[0])
        .arg("--token-file")
        .arg(cluster.dir.join("1.token"))
        .output()
        .expect("edgeflow runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Placed steps' times from `runs show`: ready → started (`dispatch_us`) and ready →
/// outcome back at the driver (`elapsed_ms`).
fn step_times(cluster: &Cluster, run_id: &str) -> (Vec<Duration>, Vec<Duration>) {
    let shown: Value =
        serde_json::from_str(&cli(cluster, &["runs", "show", run_id, "--format", "json"]))
            .expect("JSON");
    let placed: Vec<Value> = shown["steps"]
        .as_object()
        .map(|steps| {
            steps
                .values()
                .filter(|s| s["ran_on"].is_string())
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let sorted = |field: &str, unit: fn(u64) -> Duration| {
        let mut times: Vec<Duration> = placed
            .iter()
            .filter_map(|s| s[field].as_u64())
            .map(unit)
            .collect();
        times.sort();
        times
    };
    (
        sorted("dispatch_us", Duration::from_micros),
        sorted("elapsed_ms", Duration::from_millis),
    )
}

pub fn chain(cluster: &Cluster) {
    const STEPS: usize = 200;
    let mut program = String::from("edges {\n  w1 { region: \"lab\" }\n}\n\nworkflow chain() {\n");
    program.push_str("  let s0 = time.sleep(duration: 0s) on w1\n");
    for i in 1..STEPS {
        program.push_str(&format!(
            "  let s{i} = time.sleep(duration: 0s) on w1 after s{}\n",
            i - 1
        ));
    }
    program.push_str(&format!(
        "  return {{ done: s{}.success }}\n}}\n",
        STEPS - 1
    ));
    let file = cluster.dir.join("chain.edgeflow");
    std::fs::write(&file, program).expect("program");
    let started = Instant::now();
    let run = cli(cluster, &["submit", &file.to_string_lossy()]);
    let run_id = run.trim();
    let waited = cli(cluster, &["runs", "show", run_id, "--format", "json"]);
    let mut shown: Value = serde_json::from_str(&waited).expect("JSON");
    while shown["status"] == "running" {
        std::thread::sleep(Duration::from_millis(50));
        shown = serde_json::from_str(&cli(cluster, &["runs", "show", run_id, "--format", "json"]))
            .expect("JSON");
    }
    let total = started.elapsed();
    assert_eq!(shown["status"], "succeeded", "{shown}");
    let (started, back) = step_times(cluster, run_id);
    println!(
        "dispatch to one worker process, {STEPS} steps one after another: ready → started p50 {:.2} ms, p99 {:.2} ms; ready → outcome back p50 {:.0} ms, p99 {:.0} ms (whole run {:.2} s, {:.1} ms per step)",
        ms(percentile(&started, 0.5)),
        ms(percentile(&started, 0.99)),
        ms(percentile(&back, 0.5)),
        ms(percentile(&back, 0.99)),
        total.as_secs_f64(),
        ms(total) / STEPS as f64
    );
}

/// What the simulated fleet measured.
#[derive(Default)]
struct Tally {
    latencies_ms: Mutex<Vec<u64>>,
    failed_reports: AtomicU64,
    failed_heartbeats: AtomicU64,
}

pub async fn fleet(http: &reqwest::Client, cluster: &Cluster) {
    const WORKERS: u64 = 1_000;
    const RUNS: usize = 50;
    const STEPS_PER_RUN: usize = 20;
    let registered = Instant::now();
    let (url, operator) = (&cluster.urls[0], &cluster.tokens[0]);
    let workers =
        SimulatedWorker::register_fleet(WORKERS, 2_000, "fleet", http, url, operator).await;
    println!(
        "registered {WORKERS} workers in {:.1} s",
        registered.elapsed().as_secs_f64()
    );
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (index, worker) in workers.iter().enumerate() {
        let url = cluster.urls[index % 3].clone();
        tasks.push(tokio::spawn(heartbeats(
            http.clone(),
            url.clone(),
            worker.clone(),
            tally.clone(),
            stop.clone(),
        )));
        tasks.push(tokio::spawn(take_work(
            http.clone(),
            url,
            worker.clone(),
            tally.clone(),
            stop.clone(),
        )));
    }
    // Two heartbeats each: every worker is idle.
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    let mut program =
        String::from("workflow fan() {\n  let found = edge.discover(region: \"fleet\")\n");
    for i in 0..STEPS_PER_RUN {
        program.push_str(&format!(
            "  let s{i} = time.sleep(duration: 0s) on found.edges\n"
        ));
    }
    program.push_str("  return { workers: len(found.edges) }\n}\n");
    let file = cluster.dir.join("fan.edgeflow");
    std::fs::write(&file, program).expect("program");
    let started = Instant::now();
    let runs: Vec<String> = (0..RUNS)
        .map(|_| {
            cli(cluster, &["submit", &file.to_string_lossy()])
                .trim()
                .to_string()
        })
        .collect();
    let mut failed_runs = 0;
    let (mut started_times, mut back_times) = (Vec::new(), Vec::new());
    for run_id in &runs {
        let shown: Value = loop {
            let shown: Value =
                serde_json::from_str(&cli(cluster, &["runs", "show", run_id, "--format", "json"]))
                    .expect("JSON");
            if shown["status"] != "running" {
                break shown;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if shown["status"] != "succeeded" {
            failed_runs += 1;
            eprintln!("{shown}");
        }
        let (started, back) = step_times(cluster, run_id);
        started_times.extend(started);
        back_times.extend(back);
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let mut latencies = tally
        .latencies_ms
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    latencies.sort_unstable();
    let latencies: Vec<Duration> = latencies.into_iter().map(Duration::from_millis).collect();
    started_times.sort();
    back_times.sort();
    let steps = RUNS * STEPS_PER_RUN;
    println!(
        "{WORKERS} workers, {RUNS} runs × {STEPS_PER_RUN} placed steps ({steps} steps, submitted one after another, {:.1} s): \
         assignment latency p50 {:.0} ms, p99 {:.0} ms over {} assignments; step ready → started p50 {:.0} ms, p99 {:.0} ms; ready → outcome back p50 {:.0} ms, p99 {:.0} ms; \
         {failed_runs} failed runs, {} failed reports, {} failed heartbeats",
        elapsed.as_secs_f64(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        latencies.len(),
        ms(percentile(&started_times, 0.5)),
        ms(percentile(&started_times, 0.99)),
        ms(percentile(&back_times, 0.5)),
        ms(percentile(&back_times, 0.99)),
        tally.failed_reports.load(Ordering::Relaxed),
        tally.failed_heartbeats.load(Ordering::Relaxed),
    );
    for task in tasks {
        task.abort();
    }
}

async fn heartbeats(
    http: reqwest::Client,
    url: String,
    worker: Arc<SimulatedWorker>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) {
    // Spread the first beats over the second.
    tokio::time::sleep(Duration::from_millis(worker.node % 1_000)).await;
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    while !stop.load(Ordering::SeqCst) {
        ticks.tick().await;
        if !worker.beat(&http, &url).await && !stop.load(Ordering::SeqCst) {
            tally.failed_heartbeats.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn take_work(
    http: reqwest::Client,
    url: String,
    worker: Arc<SimulatedWorker>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) {
    let (token, node) = (&worker.token, worker.node);
    let value = serde_json::to_value(IrValue::Record(vec![(
        "success".to_string(),
        IrValue::Bool(true),
    )]))
    .expect("value");
    let mut after = 0;
    while !stop.load(Ordering::SeqCst) {
        let answer = http
            .get(format!(
                "{url}/v1/fleet/{node}/work?after={after}&wait_ms=20000"
            ))
            .bearer_auth(token)
            .timeout(Duration::from_secs(25))
            .send()
            .await;
        let Ok(answer) = answer else { continue };
        let Ok(answer) = answer.json::<Value>().await else {
            continue;
        };
        let received = now_ms();
        for item in answer["work"].as_array().cloned().unwrap_or_default() {
            after = after.max(item["seq"].as_u64().unwrap_or(0));
            let assigned = item["assigned_at_ms"].as_u64().unwrap_or(received);
            if let Ok(mut latencies) = tally.latencies_ms.lock() {
                latencies.push(received.saturating_sub(assigned));
            }
            let report = json!({
                "run_id": item["work"]["run_id"], "step": item["work"]["step"],
                "outcome": {"value": value}, "attempts": 1, "started_at_us": now_us(),
            });
            let ok = http
                .post(format!("{url}/v1/fleet/{node}/finished"))
                .bearer_auth(token)
                .json(&report)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if !ok {
                tally.failed_reports.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
