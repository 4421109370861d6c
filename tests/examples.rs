//! The examples a user starts from: all check clean (warnings denied), and their
//! readable IR and workflow graphs are pinned by snapshots.

mod common;

use common::{edgeflow, stderr, stdout};

#[test]
fn all_examples_check_clean() {
    let output = edgeflow(&["check", "--deny", "warnings", "examples/"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("0 errors, 0 warnings"));
}

#[test]
fn example_ir_and_graphs_are_stable() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples"),
        "*.edgeflow",
        |path| {
            let file = format!(
                "examples/{}",
                path.file_name().expect("file name").to_string_lossy()
            );
            let ir = edgeflow(&["compile", &file, "--emit", "ir-text"]);
            assert!(ir.status.success(), "{file}: {}", stderr(&ir));
            let ir_text = stdout(&ir);
            insta::assert_snapshot!("ir", ir_text);
            let mut graphs = String::new();
            for line in ir_text.lines().filter(|l| l.starts_with("workflow ")) {
                let name = line["workflow ".len()..]
                    .split('(')
                    .next()
                    .unwrap_or_default();
                for format in ["dot", "mermaid"] {
                    let graph = edgeflow(&["graph", &file, "--workflow", name, "--format", format]);
                    assert!(graph.status.success(), "{file} {name}: {}", stderr(&graph));
                    graphs.push_str(&stdout(&graph));
                }
            }
            insta::assert_snapshot!("graphs", graphs);
        }
    );
}
