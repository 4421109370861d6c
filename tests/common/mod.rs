//! Helpers shared by the integration tests: run the real `edgeflow` binary from the
//! project root, and read the `// expect:` lines of conformance-style cases.

#![allow(dead_code)] // each test file uses a different subset

pub mod cluster;
pub mod gate;
pub mod http;
pub mod proxy;
pub mod raft_wire;
pub mod simulated;
pub mod tmpfs;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Processes a test started, killed and reaped when the test ends, however it ends.
#[derive(Default)]
pub struct KillOnDrop(pub Vec<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A token strong enough for a node (64 hex digits), the same for the same seed.
pub fn strong_token(seed: &str) -> String {
    edgeflow_runtime::member::token_sha256(seed)
}

/// A 127.0.0.1 port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The `edgeflow` binary the tests run: this build's, or `EDGEFLOW_TEST_BIN` — how a
/// test is shown to fail on an earlier build (`EDGEFLOW_TEST_BIN=old/edgeflow cargo
/// test --test adversarial`).
pub fn bin() -> String {
    std::env::var("EDGEFLOW_TEST_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_edgeflow").to_string())
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `edgeflow ARGS…` in the project root, without colour.
pub fn edgeflow(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("the edgeflow binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// One expected diagnostic: a code and, when given, `line:column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub code: String,
    pub position: Option<(u64, u64)>,
}

/// The `// expect:` lines at the top of an entry file; empty for `// expect: ok`.
pub fn expectations(entry: &Path) -> Vec<Expectation> {
    let text = std::fs::read_to_string(entry).expect("case is readable");
    text.lines()
        .filter_map(|line| line.strip_prefix("// expect:"))
        .map(str::trim)
        .filter(|rest| *rest != "ok")
        .map(|rest| {
            let mut parts = rest.split_whitespace();
            let code = parts.next().unwrap_or_default().to_string();
            let position = parts
                .next()
                .and_then(|p| p.split_once(':'))
                .map(|(line, column)| {
                    (
                        line.parse().expect("line number"),
                        column.parse().expect("column number"),
                    )
                });
            Expectation { code, position }
        })
        .collect()
}

/// Checks `entry` with `--format json` and compares the diagnostics with its
/// expectations exactly (a missing or an extra diagnostic fails). Returns a
/// description of the difference, or `None` when they match.
pub fn compare_with_expectations(entry: &Path) -> Option<String> {
    let expected = expectations(entry);
    let relative = entry.strip_prefix(root()).unwrap_or(entry);
    let output = edgeflow(&["check", "--format", "json", &relative.to_string_lossy()]);
    let report: serde_json::Value = match serde_json::from_slice(&output.stdout) {
        Ok(report) => report,
        Err(error) => return Some(format!("output is not JSON ({error}): {}", stderr(&output))),
    };
    let mut found: Vec<(String, u64, u64)> = report["diagnostics"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|d| {
                    let code = d["code"].as_str().unwrap_or_default().to_string();
                    (
                        code,
                        d["line"].as_u64().unwrap_or(0),
                        d["column"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let all_found = found.clone();
    for expectation in &expected {
        let position = found.iter().position(|(code, line, column)| {
            *code == expectation.code && expectation.position.is_none_or(|p| p == (*line, *column))
        });
        match position {
            Some(index) => {
                found.remove(index);
            }
            None => return Some(format!("missing {expectation:?}; found {all_found:?}")),
        }
    }
    if !found.is_empty() {
        return Some(format!("unexpected {found:?}"));
    }
    let wants_error = expected.iter().any(|e| e.code.starts_with('E'));
    let status = output.status.code();
    if status != Some(if wants_error { 1 } else { 0 }) {
        return Some(format!(
            "exit status {status:?}, expected {}",
            if wants_error { 1 } else { 0 }
        ));
    }
    None
}

/// Entry points under a folder: `*.edgeflow` files, and `main.edgeflow` of subfolders.
pub fn entries(folder: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("folder is readable")
        .map(|e| e.expect("entry").path())
        .filter_map(|path| {
            if path.is_dir() {
                let main = path.join("main.edgeflow");
                main.exists().then_some(main)
            } else {
                path.extension()
                    .is_some_and(|e| e == "edgeflow")
                    .then_some(path)
            }
        })
        .collect();
    entries.sort();
    entries
}
