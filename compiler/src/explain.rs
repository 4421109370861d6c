//! The long explanations behind `edgeflow explain CODE`: one Markdown file per code in
//! `compiler/explain/`, each with what the code means, an example that triggers it and
//! the fix. A test checks every example against the real checker.

/// Every diagnostic code with its explanation, in code order.
pub const EXPLANATIONS: &[(&str, &str)] = &[
    ("E0100", include_str!("../explain/E0100.md")),
    ("E0101", include_str!("../explain/E0101.md")),
    ("E0102", include_str!("../explain/E0102.md")),
    ("E0200", include_str!("../explain/E0200.md")),
    ("E0201", include_str!("../explain/E0201.md")),
    ("E0202", include_str!("../explain/E0202.md")),
    ("E0203", include_str!("../explain/E0203.md")),
    ("E0204", include_str!("../explain/E0204.md")),
    ("E0205", include_str!("../explain/E0205.md")),
    ("E0206", include_str!("../explain/E0206.md")),
    ("E0207", include_str!("../explain/E0207.md")),
    ("E0208", include_str!("../explain/E0208.md")),
    ("E0300", include_str!("../explain/E0300.md")),
    ("E0301", include_str!("../explain/E0301.md")),
    ("E0302", include_str!("../explain/E0302.md")),
    ("E0303", include_str!("../explain/E0303.md")),
    ("E0304", include_str!("../explain/E0304.md")),
    ("E0400", include_str!("../explain/E0400.md")),
    ("E0401", include_str!("../explain/E0401.md")),
    ("E0500", include_str!("../explain/E0500.md")),
    ("E0501", include_str!("../explain/E0501.md")),
    ("E0502", include_str!("../explain/E0502.md")),
    ("E0503", include_str!("../explain/E0503.md")),
    ("E0504", include_str!("../explain/E0504.md")),
    ("W0100", include_str!("../explain/W0100.md")),
    ("W0101", include_str!("../explain/W0101.md")),
    ("W0102", include_str!("../explain/W0102.md")),
    ("W0104", include_str!("../explain/W0104.md")),
];

/// The explanation of a code (case-insensitive), if it exists.
pub fn explain(code: &str) -> Option<&'static str> {
    EXPLANATIONS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, text)| *text)
}

/// The one-line title of an explanation: its first heading without the code.
pub fn title(explanation: &str) -> &str {
    let heading = explanation.lines().next().unwrap_or_default();
    heading.split_once(": ").map_or(heading, |(_, title)| title)
}
