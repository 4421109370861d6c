//! Executor overhead on a durable single-node cluster: a workflow of 10,000 pure steps
//! (a chain, so every step waits for the one before), the rate-limit example, and a
//! workflow of 10 op steps. Run with `cargo bench -p edgeflow-stdlib --bench executor`.

use edgeflow_compiler::ir::{Program, Workflow};
use edgeflow_compiler::Checker;
use edgeflow_runtime::executor::{Executor, RunIdentity};
use edgeflow_runtime::node::Node;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn compile(name: &str, source: &str) -> Program {
    let mut checker = Checker::new();
    let entry = checker.load_source(name, source);
    checker.check_all();
    assert_eq!(checker.error_count(), 0, "{:?}", checker.diagnostics);
    checker.program(entry)
}

fn defaults(workflow: &Workflow) -> BTreeMap<String, edgeflow_compiler::value::Value> {
    workflow
        .params
        .iter()
        .filter_map(|p| p.default.clone().map(|d| (p.name.clone(), d)))
        .collect()
}

async fn median_run(
    executor: &Executor,
    program: &Program,
    workflow: &Workflow,
    runs: usize,
) -> Duration {
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let started = Instant::now();
        let run_id = format!("{}-{i}", workflow.name);
        let identity = RunIdentity {
            run_id: &run_id,
            bundle_hash: &program.hash,
            trigger: None,
        };
        executor
            .run(workflow, defaults(workflow), identity)
            .await
            .expect("run succeeds");
        times.push(started.elapsed());
    }
    times.sort();
    times[runs / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let node = Arc::new(
        Node::start_single(dir.path(), "bench")
            .await
            .expect("node starts"),
    );
    let executor = Executor {
        registry: edgeflow_stdlib::registry(),
        node,
        on_step: None,
        policies: Default::default(),
        migrations: Default::default(),
        user_ops: Default::default(),
    };

    let mut chain = String::from("workflow chain() {\n  let s0 = 1\n");
    for i in 1..10_000 {
        chain.push_str(&format!("  let s{i} = s{} + 1\n", i - 1));
    }
    chain.push_str("  return s9999\n}\n");
    let program = compile("chain.edgeflow", &chain);
    let median = median_run(&executor, &program, &program.workflows[0], 11).await;
    println!(
        "10,000 pure steps (a chain): median {:.1} ms over 11 runs",
        median.as_secs_f64() * 1e3
    );

    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/rate_limit.edgeflow");
    let mut checker = Checker::new();
    let entry = checker.load_file(&example).expect("example readable");
    checker.check_all();
    let program = checker.program(entry);
    let median = median_run(&executor, &program, &program.workflows[0], 201).await;
    println!(
        "rate-limit example (3 steps, 2 consensus ops): median {:.2} ms over 201 runs",
        median.as_secs_f64() * 1e3
    );

    let mut ten = String::from("workflow ten(n: int = 1) {\n");
    for i in 0..10 {
        ten.push_str(&format!(
            "  let w{i} = state.put(ns: \"bench\", key: \"k{i}\", value: n)\n"
        ));
    }
    ten.push_str("  return w9.version\n}\n");
    let program = compile("ten.edgeflow", &ten);
    let median = median_run(&executor, &program, &program.workflows[0], 201).await;
    println!(
        "10 independent state.put steps: median {:.2} ms over 201 runs",
        median.as_secs_f64() * 1e3
    );
}
