//! The executor's step semantics with ops made for the test: retries with backoff until
//! an attempt succeeds, the error once retries run out, and timeouts.

use edgeflow_compiler::value::Value;
use edgeflow_compiler::Checker;
use edgeflow_runtime::executor::{Executor, RunIdentity};
use edgeflow_runtime::node::Node;
use edgeflow_runtime::op::{Args, Op, OpContext, OpError, Registry};
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

const OPS: &str = "extern op test.flaky(fail_times: int) -> { attempts: int }\n\
                   extern op test.slow() -> { done: bool }\n";

/// Fails its first `fail_times` calls, then answers how many calls it took.
#[derive(Default)]
struct Flaky(AtomicU32);

impl Op for Flaky {
    fn call<'a>(
        &'a self,
        _context: &'a OpContext,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<Value, OpError>> {
        Box::pin(async move {
            let calls = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            if i64::from(calls) <= args.int("fail_times")? {
                return Err(OpError::Failed(format!("attempt {calls} failed")));
            }
            Ok(Value::Record(vec![(
                "attempts".into(),
                Value::Int(i64::from(calls)),
            )]))
        })
    }
}

/// Never finishes on its own.
struct Slow;

impl Op for Slow {
    fn call<'a>(
        &'a self,
        _context: &'a OpContext,
        _args: &'a Args,
    ) -> BoxFuture<'a, Result<Value, OpError>> {
        Box::pin(async move {
            std::future::pending::<()>().await;
            Ok(Value::None)
        })
    }
}

async fn run(
    body: &str,
) -> Result<edgeflow_runtime::executor::RunReport, edgeflow_runtime::executor::RunError> {
    let mut checker = Checker::new();
    let entry = checker.load_source(
        "test.edgeflow",
        &format!("{OPS}workflow w() {{\n{body}\n}}\n"),
    );
    checker.check_all();
    assert_eq!(checker.error_count(), 0, "{:?}", checker.diagnostics);
    let program = checker.program(entry);
    let dir = tempfile::TempDir::new().expect("temp dir");
    let node = Arc::new(
        Node::start_single(dir.path(), "local")
            .await
            .expect("node starts"),
    );
    let mut registry = Registry::default();
    registry.register("test.flaky", Flaky::default());
    registry.register("test.slow", Slow);
    let executor = Executor {
        registry,
        node,
        on_step: None,
        policies: Default::default(),
        migrations: Default::default(),
        user_ops: Default::default(),
    };
    let identity = RunIdentity {
        run_id: "run",
        bundle_hash: &program.hash,
        trigger: None,
    };
    executor
        .run(&program.workflows[0], BTreeMap::new(), identity)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_step_is_retried_until_an_attempt_succeeds() {
    let report = run("let f = test.flaky(fail_times: 2) retry 3 backoff 1ms\nreturn f.attempts")
        .await
        .expect("run succeeds");
    assert_eq!(report.output, Value::Int(3));
    assert_eq!(report.steps[0].attempts, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_retries_run_out_the_run_fails_at_the_step() {
    let error = run("let f = test.flaky(fail_times: 5) retry 1 backoff 1ms\nreturn f.attempts")
        .await
        .expect_err("fails");
    assert_eq!(error.step.as_deref(), Some("f"));
    assert!(error.message.contains("attempt 2 failed"), "{error}");
    assert_eq!(error.at.map(|at| (at.line, at.column)), Some((4, 5)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_takes_too_long_times_out() {
    let error = run("let s = test.slow() timeout 50ms\nreturn s.done")
        .await
        .expect_err("times out");
    assert_eq!(error.step.as_deref(), Some("s"));
    assert!(error.message.contains("timed out after 50ms"), "{error}");
}
