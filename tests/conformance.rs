//! The conformance cases: every case through the real binary, with exactly the expected
//! diagnostics and exit status. The repository keeps its own copy (`tests/conformance/`)
//! so its tests pass on a plain clone; the shared cases beside a checkout
//! (`../shared/conformance`) stay the authority: where they exist, the copy must be
//! identical to them, file for file.

mod common;

use common::{compare_with_expectations, entries, root};
use std::collections::BTreeMap;
use std::path::Path;

/// Every file under `dir` by its path relative to `dir`, with its bytes.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            let relative = entry
                .path()
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(entry.path()).expect("readable case");
            (relative, bytes)
        })
        .collect()
}

#[test]
fn the_copy_of_the_conformance_cases_is_the_shared_one() {
    let shared = root().join("../shared/conformance");
    if !shared.is_dir() {
        eprintln!(
            "{} does not exist here: the repository's copy is used as it is",
            shared.display()
        );
        return;
    }
    let (copy, authority) = (
        files_under(&root().join("tests/conformance")),
        files_under(&shared),
    );
    let differing: std::collections::BTreeSet<&String> = authority
        .keys()
        .chain(copy.keys())
        .filter(|name| copy.get(*name) != authority.get(*name))
        .collect();
    assert!(
        differing.is_empty(),
        "tests/conformance differs from {} in: {differing:?} (copy the shared cases again)",
        shared.display()
    );
}

#[test]
fn every_conformance_case_passes() {
    let base = root().join("tests/conformance");
    let mut failures = Vec::new();
    let mut count = 0;
    for group in ["valid", "invalid"] {
        for entry in entries(&base.join(group)) {
            count += 1;
            if let Some(difference) = compare_with_expectations(&entry) {
                failures.push(format!("{}: {difference}", entry.display()));
            }
        }
    }
    assert!(
        count >= 39,
        "only {count} conformance cases found under {}",
        base.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
