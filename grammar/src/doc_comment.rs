//! `///` doc comments. The grammar treats them as ordinary comments (so a stray one is
//! never a syntax error); the builder recovers the block directly above a declaration
//! from the source text.

/// The `///` lines directly above `offset` (only whitespace between them and the
/// declaration), joined with newlines, or `None`.
pub fn doc_above(src: &str, offset: usize) -> Option<String> {
    let before = &src[..offset.min(src.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    if !before[line_start..].trim().is_empty() {
        return None;
    }
    let mut lines = Vec::new();
    let mut rest = &before[..line_start.saturating_sub(1)];
    loop {
        let start = rest.rfind('\n').map_or(0, |i| i + 1);
        let line = rest[start..].trim();
        match line.strip_prefix("///") {
            Some(text) if !text.starts_with('/') => {
                lines.push(text.strip_prefix(' ').unwrap_or(text))
            }
            _ => break,
        }
        if start == 0 {
            break;
        }
        rest = &rest[..start - 1];
    }
    if lines.is_empty() {
        return None;
    }
    lines.reverse();
    Some(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::doc_above;

    #[test]
    fn collects_the_block_directly_above() {
        let src = "// not doc\n/// one\n/// two\nconst A = 1";
        assert_eq!(
            doc_above(src, src.find("const").unwrap()).as_deref(),
            Some("one\ntwo")
        );
    }

    #[test]
    fn ignores_blocks_separated_or_absent() {
        let src = "/// far\nconst B = 2\nconst A = 1";
        assert_eq!(doc_above(src, src.find("const A").unwrap()), None);
        assert_eq!(doc_above("const A = 1", 0), None);
        let src = "//// banner\nconst A = 1";
        assert_eq!(doc_above(src, src.find("const").unwrap()), None);
    }

    #[test]
    fn works_for_indented_parameters() {
        let src = "workflow w(\n  /// the limit\n  limit: int)";
        assert_eq!(
            doc_above(src, src.find("limit:").unwrap()).as_deref(),
            Some("the limit")
        );
    }
}
