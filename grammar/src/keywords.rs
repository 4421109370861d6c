//! The reserved words of LANGUAGE.md §1, for the checks the grammar leaves to code.

/// Words that cannot be used as declared or referenced names.
pub const KEYWORDS: &[&str] = &[
    "import",
    "as",
    "const",
    "type",
    "edges",
    "policy",
    "migration",
    "workflow",
    "extern",
    "op",
    "let",
    "return",
    "if",
    "else",
    "after",
    "on",
    "retry",
    "backoff",
    "timeout",
    "when",
    "per",
    "true",
    "false",
    "none",
    "schedule",
    "event",
    "every",
    "where",
];

/// The keywords that start a top-level item, where parsing can resume after an error.
pub const ITEM_KEYWORDS: &[&str] = &[
    "import",
    "const",
    "type",
    "edges",
    "policy",
    "migration",
    "workflow",
    "extern",
];
