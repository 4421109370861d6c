//! The shared conformance cases (`../shared/conformance`): every case through the real
//! binary, with exactly the expected diagnostics and exit status.

mod common;

use common::{compare_with_expectations, entries, root};

#[test]
fn every_shared_conformance_case_passes() {
    let base = root().join("../shared/conformance");
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
