//! Every `edgeflow explain` page is true: its example triggers its code and its fix
//! checks clean, through the real checker.

use edgeflow_compiler::explain::{explain, EXPLANATIONS};
use edgeflow_compiler::Checker;

fn codes_of(source: &str) -> Vec<&'static str> {
    let mut checker = Checker::new();
    checker.load_source("example.edgeflow", source);
    checker.check_all();
    checker.diagnostics.iter().map(|d| d.code()).collect()
}

/// The bodies of the ```edgeflow blocks (not the multi-file ones) of a page.
fn blocks(text: &str) -> Vec<String> {
    text.split("```edgeflow\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(body, _)| body.to_string()))
        .collect()
}

#[test]
fn every_code_in_the_language_reference_has_a_page() {
    let codes = [
        "E0100", "E0101", "E0102", "E0200", "E0201", "E0202", "E0203", "E0204", "E0205", "E0206",
        "E0207", "E0208", "E0300", "E0301", "E0302", "E0303", "E0304", "E0400", "E0401", "E0500",
        "E0501", "E0502", "E0503", "E0504", "W0100", "W0101", "W0102", "W0104",
    ];
    for code in codes {
        assert!(explain(code).is_some(), "no explanation for {code}");
    }
    assert_eq!(EXPLANATIONS.len(), codes.len());
}

#[test]
fn examples_trigger_their_code_and_fixes_check_clean() {
    for (code, text) in EXPLANATIONS {
        let blocks = blocks(text);
        if let Some(example) = blocks.first() {
            let found = codes_of(example);
            assert!(found.contains(code), "{code}: example gives {found:?}");
        }
        if let Some(fix) = blocks.get(1) {
            let found = codes_of(fix);
            assert!(found.is_empty(), "{code}: fix gives {found:?}");
        }
    }
}

#[test]
fn the_prelude_checks_clean() {
    let mut checker = Checker::new();
    checker.check_all();
    assert!(checker.diagnostics.is_empty(), "{:?}", checker.diagnostics);
}
