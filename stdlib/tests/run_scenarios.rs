//! The seed scenarios end to end, in process: compile a program, start a single-node
//! cluster in a temporary data dir, run a workflow through the executor with the real
//! standard library, and check what it returns.

use edgeflow_compiler::value::Value;
use edgeflow_compiler::Checker;
use edgeflow_runtime::executor::{Executor, RunIdentity, RunReport, StepStatus};
use edgeflow_runtime::node::Node;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

fn compile(path: &Path) -> edgeflow_compiler::ir::Program {
    let mut checker = Checker::new();
    let entry = checker.load_file(path).expect("the example is readable");
    checker.check_all();
    assert_eq!(checker.error_count(), 0, "{:?}", checker.diagnostics);
    checker.program(entry)
}

fn compile_source(source: &str) -> edgeflow_compiler::ir::Program {
    let mut checker = Checker::new();
    let entry = checker.load_source("test.edgeflow", source);
    checker.check_all();
    assert_eq!(checker.error_count(), 0, "{:?}", checker.diagnostics);
    checker.program(entry)
}

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

/// Runs `workflow` of `program` with defaults for every parameter not in `inputs`.
async fn run(
    program: &edgeflow_compiler::ir::Program,
    workflow: &str,
    inputs: &[(&str, Value)],
) -> RunReport {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let node = Arc::new(
        Node::start_single(dir.path(), "node-1")
            .await
            .expect("node starts"),
    );
    let workflow = program
        .workflows
        .iter()
        .find(|w| w.name == workflow)
        .expect("workflow exists");
    let mut values = BTreeMap::new();
    for param in &workflow.params {
        let given = inputs
            .iter()
            .find(|(n, _)| *n == param.name)
            .map(|(_, v)| v.clone());
        values.insert(
            param.name.clone(),
            given
                .or_else(|| param.default.clone())
                .expect("an input or a default"),
        );
    }
    let executor = Executor {
        registry: edgeflow_stdlib::registry(),
        node: node.clone(),
        on_step: None,
        policies: Default::default(),
        migrations: Default::default(),
        user_ops: Default::default(),
    };
    let report = executor
        .run(
            workflow,
            values,
            RunIdentity {
                run_id: "run-1",
                bundle_hash: &program.hash,
                trigger: None,
            },
        )
        .await
        .expect("the run succeeds");
    drop(executor);
    if let Ok(node) = Arc::try_unwrap(node) {
        node.shutdown().await.expect("clean shutdown");
    }
    report
}

/// An executor with the standard library on a fresh single-node cluster (the data dir
/// lives as long as the returned guard).
async fn executor() -> (tempfile::TempDir, Executor) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let node = Node::start_single(dir.path(), "node-1")
        .await
        .expect("node starts");
    let executor = Executor {
        registry: edgeflow_stdlib::registry(),
        node: Arc::new(node),
        on_step: None,
        policies: Default::default(),
        migrations: Default::default(),
        user_ops: Default::default(),
    };
    (dir, executor)
}

fn field<'v>(value: &'v Value, name: &str) -> &'v Value {
    value
        .field(name)
        .unwrap_or_else(|| panic!("no field {name} in {value}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_election_returns_the_leader_and_get_leader_agrees() {
    let program = compile(&example("leader_election.edgeflow"));
    let report = run(&program, "elect_cache_leader", &[]).await;
    assert_eq!(
        field(&report.output, "leader"),
        &Value::String("node-1".into())
    );
    assert_eq!(field(&report.output, "term"), &Value::Int(1));
    assert_eq!(field(&report.output, "same"), &Value::Bool(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_aggregation_totals_usage_and_orders_the_event() {
    let program = compile(&example("rate_limit.edgeflow"));
    let inputs = [
        ("us_east_1_usage", Value::Int(400)),
        ("eu_west_1_usage", Value::Int(300)),
    ];
    let report = run(&program, "aggregate_usage", &inputs).await;
    assert_eq!(field(&report.output, "total_usage"), &Value::Int(700));
    assert_eq!(field(&report.output, "remaining"), &Value::Int(300));
    assert_eq!(field(&report.output, "ordered"), &Value::Bool(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_proposal_starts_the_canary() {
    let program = compile(&example("coordinated_deploy.edgeflow"));
    let report = run(&program, "deploy", &[]).await;
    assert_eq!(
        field(&report.output, "status"),
        &Value::String("deployment_started".into())
    );
    assert_eq!(field(&report.output, "logged"), &Value::Bool(true));
    assert_eq!(
        field(&report.output, "leader"),
        &Value::String("node-1".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_guard_skips_the_step_and_followers_still_run() {
    let program = compile_source(
        "workflow w(go: bool = false) {\n\
           let maybe = log.emit(message: \"guarded\") when go\n\
           let after_it = state.put(ns: \"t\", key: \"k\", value: 1) after maybe\n\
           return { ran: maybe?.success ?? false, version: after_it.version }\n\
         }\n",
    );
    let report = run(&program, "w", &[]).await;
    assert_eq!(field(&report.output, "ran"), &Value::Bool(false));
    assert_eq!(field(&report.output, "version"), &Value::Int(1));
    let skipped = report
        .steps
        .iter()
        .find(|s| s.name == "maybe")
        .expect("step reported");
    assert_eq!(skipped.status, StepStatus::Skipped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_compare_and_set_through_consensus() {
    let program = compile(&example("state_counter.edgeflow"));
    let (_dir, executor) = executor().await;
    let workflow = program
        .workflows
        .iter()
        .find(|w| w.name == "increment")
        .expect("increment");
    let inputs = BTreeMap::from([
        ("name".to_string(), Value::String("visits".into())),
        ("by".to_string(), Value::Int(2)),
    ]);
    for expected in [2, 4, 6] {
        let report = executor
            .run(
                workflow,
                inputs.clone(),
                RunIdentity {
                    run_id: &format!("run-{expected}"),
                    bundle_hash: &program.hash,
                    trigger: None,
                },
            )
            .await
            .expect("run succeeds");
        assert_eq!(field(&report.output, "value"), &Value::Int(expected));
        assert_eq!(field(&report.output, "written"), &Value::Bool(true));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_of_edges_no_node_serves_fail_clearly() {
    let program = compile(&example("edge_selection.edgeflow"));
    let (_dir, executor) = executor().await;
    let workflow = program
        .workflows
        .iter()
        .find(|w| w.name == "fleet_latency")
        .expect("workflow");
    let error = executor
        .run(
            workflow,
            BTreeMap::new(),
            RunIdentity {
                run_id: "run",
                bundle_hash: &program.hash,
                trigger: None,
            },
        )
        .await
        .expect_err("no node reports as these edges");
    assert_eq!(error.step.as_deref(), Some("report"));
    assert!(
        error
            .message
            .contains("no node serves us_east_1, us_west_2, eu_west_1, ap_south_1"),
        "{error}"
    );
}

#[test]
fn every_prelude_op_has_an_implementation_and_every_implementation_a_signature() {
    let prelude = Checker::new().prelude_op_paths();
    let registry = edgeflow_stdlib::registry();
    let mut implemented: Vec<String> = registry.paths().map(str::to_string).collect();
    implemented.sort();
    assert_eq!(prelude, implemented);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_won_lease_is_renewed_while_the_node_lives() {
    let program = compile_source(
        "workflow renewed(group: string = \"g\") {\n\
           let won = coord.elect_leader(group: group, ttl: 300ms)\n\
           let waited = time.sleep(duration: 1s) after won\n\
           let current = coord.get_leader(group: group) after waited\n\
           return { won: won.success, still: (current.leader ?? \"\") == won.leader, term: current.term }\n\
         }\n",
    );
    let report = run(&program, "renewed", &[]).await;
    assert_eq!(field(&report.output, "won"), &Value::Bool(true));
    assert_eq!(field(&report.output, "still"), &Value::Bool(true));
    assert_eq!(field(&report.output, "term"), &Value::Int(1));
}
