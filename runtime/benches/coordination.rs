//! Benchmarks of the coordination layer on a durable single-node cluster (fsync on
//! every commit): proposal throughput with concurrent clients, and proposal latency at
//! a paced rate. Run with `cargo bench -p edgeflow-runtime --bench coordination`;
//! figures go to BENCHMARKS.md.

use edgeflow_runtime::command::Command;
use edgeflow_runtime::node::Node;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn propose(i: u64) -> Command {
    Command::Propose {
        group: "bench".into(),
        value: serde_json::json!({ "n": i }),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let node = Arc::new(
        Node::start_single(dir.path(), "bench")
            .await
            .expect("node starts"),
    );

    for clients in [1u64, 16, 64, 256] {
        let per_client = 4_000 / clients.min(4_000) + 20;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for client in 0..clients {
            let node = node.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..per_client {
                    node.write(propose(client * 1_000_000 + i))
                        .await
                        .expect("commit");
                }
            }));
        }
        for task in tasks {
            task.await.expect("client task");
        }
        let total = clients * per_client;
        let rate = total as f64 / started.elapsed().as_secs_f64();
        println!("throughput: {clients:>3} concurrent clients, {total:>5} proposals: {rate:>8.0} committed/s");
    }

    let target_rate = 1_000.0;
    let count = 3_000;
    let interval = Duration::from_secs_f64(1.0 / target_rate);
    let mut latencies = Vec::with_capacity(count);
    let mut tasks = Vec::with_capacity(count);
    let started = Instant::now();
    for i in 0..count {
        let due = started + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let node = node.clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            node.write(propose(i as u64)).await.expect("commit");
            sent.elapsed()
        }));
    }
    for task in tasks {
        latencies.push(task.await.expect("client task"));
    }
    latencies.sort();
    println!(
        "latency at {target_rate:.0}/s paced, {count} proposals: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
    );
    if let Ok(node) = Arc::try_unwrap(node) {
        node.shutdown().await.expect("shutdown");
    }
}
