//! The project's own fixture suite: one file per diagnostic situation under
//! `tests/fixtures/invalid` (with `// expect:` lines, like the conformance cases) whose
//! rendered diagnostics are pinned by snapshots, and valid programs under
//! `tests/fixtures/valid` whose readable IR is pinned.

mod common;

use common::{compare_with_expectations, edgeflow, root, stderr, stdout};

#[test]
fn invalid_fixtures_report_exactly_their_expectations() {
    insta::glob!("fixtures/invalid/*.edgeflow", |path| {
        if let Some(difference) = compare_with_expectations(path) {
            panic!("{}: {difference}", path.display());
        }
    });
}

#[test]
fn invalid_fixtures_render_readably() {
    insta::glob!("fixtures/invalid/*.edgeflow", |path| {
        let relative = path.strip_prefix(root()).expect("fixture under the root");
        let output = edgeflow(&["check", &relative.to_string_lossy()]);
        insta::assert_snapshot!(stderr(&output));
    });
}

#[test]
fn valid_fixtures_check_clean_and_lower_to_stable_ir() {
    insta::glob!("fixtures/valid/*.edgeflow", |path| {
        let relative = path
            .strip_prefix(root())
            .expect("fixture under the root")
            .to_string_lossy()
            .into_owned();
        let check = edgeflow(&["check", "--deny", "warnings", &relative]);
        assert!(check.status.success(), "{relative}: {}", stderr(&check));
        let ir = edgeflow(&["compile", &relative, "--emit", "ir-text"]);
        assert!(ir.status.success(), "{relative}: {}", stderr(&ir));
        insta::assert_snapshot!(stdout(&ir));
    });
}
