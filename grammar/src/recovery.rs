//! Scans over raw source text that the parser uses around its pest grammar: to find
//! nesting deep enough to exhaust the stack before pest sees it, to tell an unterminated
//! string or comment from an ordinary syntax error, to resynchronise at the next
//! top-level item after an error, and to recover the names a broken item declared.

use crate::error::Unterminated;
use crate::keywords::ITEM_KEYWORDS;

/// What the scanner is inside of at a position.
#[derive(Clone, Copy, PartialEq)]
enum Lexical {
    Code,
    String { start: usize },
    LineComment,
    BlockComment { start: usize },
}

/// Walks `src` from `from`, calling `visit(offset, byte)` for every byte of code (not in a
/// string or comment); stops early when `visit` returns false. Returns the state at the
/// end, which tells whether a string or block comment was left open.
fn scan_code(src: &str, from: usize, mut visit: impl FnMut(usize, u8) -> bool) -> Lexical {
    let bytes = src.as_bytes();
    let mut state = Lexical::Code;
    let mut i = from;
    while i < bytes.len() {
        let byte = bytes[i];
        let next = bytes.get(i + 1).copied();
        match state {
            Lexical::Code => match (byte, next) {
                (b'"', _) => state = Lexical::String { start: i },
                (b'/', Some(b'/')) => {
                    state = Lexical::LineComment;
                    i += 1;
                }
                (b'/', Some(b'*')) => {
                    state = Lexical::BlockComment { start: i };
                    i += 1;
                }
                _ => {
                    if !visit(i, byte) {
                        return state;
                    }
                }
            },
            Lexical::String { .. } => match byte {
                b'\\' => i += 1,
                b'"' => state = Lexical::Code,
                _ => {}
            },
            Lexical::LineComment => {
                if byte == b'\n' {
                    state = Lexical::Code;
                }
            }
            Lexical::BlockComment { .. } => {
                if byte == b'*' && next == Some(b'/') {
                    state = Lexical::Code;
                    i += 1;
                }
            }
        }
        i += 1;
    }
    state
}

/// The offset of the first bracket that opens deeper than `limit` levels, if any.
pub fn first_too_deep(src: &str, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut found = None;
    scan_code(src, 0, |offset, byte| {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    found = Some(offset);
                    return false;
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        true
    });
    found
}

/// A string or block comment that starts at or after `from` and is never closed.
pub fn unterminated(src: &str, from: usize) -> Option<(usize, Unterminated)> {
    match scan_code(src, from, |_, _| true) {
        Lexical::String { start } => Some((start, Unterminated::String)),
        Lexical::BlockComment { start } => Some((start, Unterminated::BlockComment)),
        Lexical::Code | Lexical::LineComment => None,
    }
}

/// Where parsing should resume after an item starting at `item_start` failed at
/// `error_at`: the first line after the item's first line, at or after the error's line,
/// that starts with an item keyword. `None` when no item follows.
pub fn resync(src: &str, item_start: usize, error_at: usize) -> Option<usize> {
    let error_line_start = src[..error_at.min(src.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let mut line_start = if error_line_start > item_start {
        error_line_start
    } else {
        src[item_start..].find('\n').map(|i| item_start + i + 1)?
    };
    while line_start < src.len() {
        let line_end = src[line_start..]
            .find('\n')
            .map_or(src.len(), |i| line_start + i);
        let line = &src[line_start..line_end];
        let indent = line.len() - line.trim_start().len();
        if starts_item(line.trim_start()) {
            return Some(line_start + indent);
        }
        line_start = line_end + 1;
    }
    None
}

/// Offsets where top-level items start (a line beginning, in column 0, with an item
/// keyword, outside strings and comments), thinned to about `parts` evenly sized parts:
/// `from`, the chosen starts, and `src.len()`.
pub fn item_boundaries(src: &str, from: usize, parts: usize) -> Vec<usize> {
    let bytes = src.as_bytes();
    let mut starts = Vec::new();
    scan_code(src, from, |offset, byte| {
        if byte == b'\n' && bytes.get(offset + 1).is_some_and(u8::is_ascii_lowercase) {
            let line = &src[offset + 1..];
            if starts_item(&line[..line.find('\n').unwrap_or(line.len())]) {
                starts.push(offset + 1);
            }
        }
        true
    });
    let mut bounds = vec![from];
    let span = src.len() - from;
    for part in 1..parts {
        let target = from + span * part / parts;
        let index = starts.partition_point(|s| *s < target);
        if let Some(start) = starts.get(index) {
            if *start > *bounds.last().unwrap_or(&from) {
                bounds.push(*start);
            }
        }
    }
    bounds.push(src.len());
    bounds
}

fn starts_item(line: &str) -> bool {
    ITEM_KEYWORDS.iter().any(|keyword| {
        line.strip_prefix(keyword).is_some_and(|rest| {
            let next = rest.chars().next();
            let ends_word = !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            ends_word && !rest.trim_start().starts_with(':')
        })
    })
}

/// The keyword and declared names of the item text that failed to parse, so that
/// references to those names elsewhere are not reported as unknown.
pub fn broken_item_names(text: &str) -> (String, Vec<String>) {
    let words = words_of(text);
    let keyword = words
        .first()
        .map(|(w, _)| w.to_string())
        .unwrap_or_default();
    let names = match keyword.as_str() {
        "const" | "type" | "policy" | "migration" | "workflow" => words
            .get(1)
            .map(|(w, _)| vec![w.to_string()])
            .unwrap_or_default(),
        "extern" => words
            .get(2)
            .map(|(w, _)| vec![w.to_string()])
            .unwrap_or_default(),
        // Edge declarations are `name {`: every word directly followed by a brace.
        "edges" => words
            .iter()
            .skip(1)
            .filter(|(_, followed_by_brace)| *followed_by_brace)
            .map(|(w, _)| w.to_string())
            .collect(),
        _ => Vec::new(),
    };
    (keyword, names)
}

/// The words of `text` (outside strings and comments), each with whether a `{` follows.
fn words_of(text: &str) -> Vec<(&str, bool)> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut word_start: Option<usize> = None;
    scan_code(text, 0, |offset, byte| {
        let is_word = byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'.';
        match (word_start, is_word) {
            (None, true) => word_start = Some(offset),
            (Some(start), false) => {
                let rest = &bytes[offset..];
                let brace = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
                words.push((&text[start..offset], brace));
                word_start = None;
            }
            _ => {}
        }
        true
    });
    if let Some(start) = word_start {
        words.push((&text[start..], false));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_measured_outside_strings_and_comments() {
        assert_eq!(first_too_deep("((x))", 2), None);
        assert_eq!(first_too_deep("(((x)))", 2), Some(2));
        assert_eq!(first_too_deep("\"(((\" // (((\n", 2), None);
    }

    #[test]
    fn unterminated_strings_and_comments_are_found() {
        assert_eq!(
            unterminated("let s = \"abc", 0),
            Some((8, Unterminated::String))
        );
        assert_eq!(
            unterminated("/* open", 0),
            Some((0, Unterminated::BlockComment))
        );
        assert_eq!(unterminated("\"a\\\"b\" // \"", 0), None);
    }

    #[test]
    fn resync_finds_the_next_item_line() {
        let src = "workflow a() {\n  let x = +\n}\nconst B = 1\n";
        assert_eq!(resync(src, 0, 24), Some(29));
        assert_eq!(resync("const A = \nconst B = 2", 0, 10), Some(11));
        assert_eq!(resync("policy p {\n  type: 1\n}", 0, 13), None);
    }

    #[test]
    fn broken_items_keep_their_names() {
        assert_eq!(
            broken_item_names("const LIMIT = +"),
            ("const".into(), vec!["LIMIT".into()])
        );
        let (_, names) = broken_item_names("edges { a { region: \"x\" } b { ( }");
        assert_eq!(names, vec!["a".to_string(), "b".to_string()]);
    }
}
