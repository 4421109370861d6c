//! The reserved words of LANGUAGE.md §1, for the checks the grammar leaves to code.

/// Words that cannot be used as declared or referenced names. The first eight start a
/// top-level item.
pub const KEYWORDS: &[&str] = &[
    "import",
    "const",
    "type",
    "edges",
    "policy",
    "migration",
    "workflow",
    "extern", // items
    "as",
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
pub const ITEM_KEYWORDS: &[&str] = KEYWORDS.split_at(8).0;

#[cfg(test)]
mod tests {
    #[test]
    fn item_keywords_are_the_first_eight() {
        assert_eq!(
            super::ITEM_KEYWORDS,
            [
                "import",
                "const",
                "type",
                "edges",
                "policy",
                "migration",
                "workflow",
                "extern"
            ]
        );
    }
}
