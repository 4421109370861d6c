//! The parser on whole files: every valid conformance program parses without error, and
//! syntax errors land where the language reference says.

use edgeflow_grammar::{parse, SyntaxError};
use std::path::Path;

fn edgeflow_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("conformance folder is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            edgeflow_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "edgeflow") {
            out.push(path);
        }
    }
}

#[test]
fn valid_conformance_programs_parse_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/valid");
    let mut files = Vec::new();
    edgeflow_files(&root, &mut files);
    assert!(files.len() >= 8, "found only {files:?}");
    for file in files {
        let src = std::fs::read_to_string(&file).expect("readable");
        let parsed = parse(&src);
        assert!(
            parsed.errors.is_empty(),
            "{}: {:?}",
            file.display(),
            parsed.errors
        );
        assert!(!parsed.file.items.is_empty());
    }
}

#[test]
fn a_syntax_error_costs_only_its_item() {
    let src = "const A = 1\nworkflow broken() {\n  let a = 1 + }\nconst B = 2\n";
    let parsed = parse(src);
    assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
    let SyntaxError::Unexpected { span, .. } = &parsed.errors[0] else {
        panic!(
            "expected an unexpected-token error, got {:?}",
            parsed.errors[0]
        );
    };
    assert_eq!(&src[span.range()], "}");
    assert_eq!(parsed.file.items.len(), 2);
    assert_eq!(
        parsed.file.broken_items[0].names,
        vec!["broken".to_string()]
    );
}

#[test]
fn hostile_nesting_is_an_error_not_a_crash() {
    let deep = format!("const A = {}1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(matches!(
        parse(&deep).errors[..],
        [SyntaxError::TooDeep { .. }]
    ));
    let long_chain = format!("const A = 1{}", " + 1".repeat(100_000));
    let errors = parse(&long_chain).errors;
    assert!(
        matches!(errors[..], [SyntaxError::TooLong { .. }]),
        "{errors:?}"
    );
    assert!(errors[0].to_string().contains("too long"), "{}", errors[0]);
    let prefixes = format!("const A = {}1", "-".repeat(100_000));
    assert!(matches!(
        parse(&prefixes).errors[..],
        [SyntaxError::TooDeep { .. }]
    ));
    let else_ifs = format!(
        "const A = if true {{ 1 }}{} else {{ 3 }}",
        " else if true { 2 }".repeat(10_000)
    );
    assert!(matches!(
        parse(&else_ifs).errors[..],
        [SyntaxError::TooDeep { .. }]
    ));
}
