//! Syntax errors as data: what was wrong, where, and what was expected instead. The
//! compiler turns these into diagnostics with codes E0100–E0102.

use crate::span::Span;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum SyntaxError {
    /// E0100: the text at `span` cannot continue the item here.
    Unexpected {
        span: Span,
        found: String,
        expected: Vec<Expected>,
    },
    /// E0101: a string or block comment opened at `span` is never closed.
    Unterminated { span: Span, what: Unterminated },
    /// E0102: a literal is malformed.
    MalformedLiteral { span: Span, problem: LiteralProblem },
    /// E0100: brackets, prefixes or postfixes nested deeper than the parser allows.
    TooDeep { span: Span, limit: usize },
    /// E0100: a chain of binary operators longer than the parser allows (`1 + 1 + …`).
    TooLong { span: Span, limit: usize },
    /// E0100: an op call with a positional argument, or a builtin call with a named one.
    ArgumentStyle { span: Span, named_expected: bool },
    /// E0100: a keyword where a name is declared or referenced.
    KeywordAsName { span: Span, keyword: String },
    /// E0100: the file is larger than the parser accepts.
    TooLarge { limit: usize },
}

impl SyntaxError {
    pub fn span(&self) -> Span {
        match self {
            SyntaxError::Unexpected { span, .. }
            | SyntaxError::Unterminated { span, .. }
            | SyntaxError::MalformedLiteral { span, .. }
            | SyntaxError::TooDeep { span, .. }
            | SyntaxError::TooLong { span, .. }
            | SyntaxError::ArgumentStyle { span, .. }
            | SyntaxError::KeywordAsName { span, .. } => *span,
            SyntaxError::TooLarge { .. } => Span::point(0),
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxError::Unexpected {
                found, expected, ..
            } => {
                write!(f, "unexpected {found}")?;
                if !expected.is_empty() {
                    write!(f, "; expected ")?;
                    write_alternatives(f, expected)?;
                }
                Ok(())
            }
            SyntaxError::Unterminated { what, .. } => write!(f, "unterminated {what}"),
            SyntaxError::MalformedLiteral { problem, .. } => write!(f, "{problem}"),
            SyntaxError::TooDeep { limit, .. } => {
                write!(f, "nesting is too deep (more than {limit} levels)")
            }
            SyntaxError::TooLong { limit, .. } => write!(
                f,
                "expression is too long (more than {limit} operators in one chain); split it with consts or steps"
            ),
            SyntaxError::ArgumentStyle {
                named_expected: true,
                ..
            } => f.write_str("op arguments are named: write `name: value`"),
            SyntaxError::ArgumentStyle {
                named_expected: false,
                ..
            } => f.write_str("builtin function arguments are positional: write the value alone"),
            SyntaxError::KeywordAsName { keyword, .. } => {
                write!(
                    f,
                    "`{keyword}` is a keyword and cannot be used as a name here"
                )
            }
            SyntaxError::TooLarge { limit } => {
                write!(f, "file is too large (more than {limit} bytes)")
            }
        }
    }
}

fn write_alternatives(f: &mut fmt::Formatter<'_>, expected: &[Expected]) -> fmt::Result {
    for (i, item) in expected.iter().enumerate() {
        if i > 0 {
            let last = i + 1 == expected.len();
            f.write_str(if last { " or " } else { ", " })?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// Something the parser would have accepted, in words a user knows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expected {
    Item,
    Expression,
    Operator,
    Name,
    Type,
    String,
    Integer,
    Step,
    Modifier,
    Trigger,
    Token(&'static str),
    Keyword(&'static str),
    EndOfFile,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Item => f.write_str(
                "an item (import, const, type, edges, policy, migration, workflow or extern op)",
            ),
            Expected::Expression => f.write_str("an expression"),
            Expected::Operator => f.write_str("an operator"),
            Expected::Name => f.write_str("a name"),
            Expected::Type => f.write_str("a type"),
            Expected::String => f.write_str("a string"),
            Expected::Integer => f.write_str("an integer"),
            Expected::Step => f.write_str("a step (`let name = …`)"),
            Expected::Modifier => f.write_str("a step modifier (after, on, retry, timeout, when)"),
            Expected::Trigger => f.write_str("a trigger (`on schedule`, `on every`, `on event`)"),
            Expected::Token(token) => write!(f, "`{token}`"),
            Expected::Keyword(keyword) => write!(f, "`{keyword}`"),
            Expected::EndOfFile => f.write_str("end of file"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unterminated {
    String,
    BlockComment,
}

impl fmt::Display for Unterminated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unterminated::String => "string: the closing `\"` is missing",
            Unterminated::BlockComment => "block comment: the closing `*/` is missing",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiteralProblem {
    UnknownUnit { unit: String },
    IntegerOutOfRange { text: String },
    NumberOutOfRange { text: String },
    FractionalBytes { text: String },
    BadWindow { text: String },
    BadEscape { escape: String },
}

impl fmt::Display for LiteralProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiteralProblem::UnknownUnit { unit } => write!(f, "unknown unit `{unit}`"),
            LiteralProblem::IntegerOutOfRange { text } => {
                write!(f, "integer `{text}` does not fit in 64 bits")
            }
            LiteralProblem::NumberOutOfRange { text } => {
                write!(f, "`{text}` is out of range for its unit")
            }
            LiteralProblem::FractionalBytes { text } => {
                write!(f, "`{text}` is not a whole number of bytes or bits")
            }
            LiteralProblem::BadWindow { text } => {
                write!(f, "malformed time-of-day window `{text}`")
            }
            LiteralProblem::BadEscape { escape } => {
                write!(f, "unknown escape `{escape}` in string")
            }
        }
    }
}

impl LiteralProblem {
    /// What the user can write instead, where the problem suggests it.
    pub fn help(&self) -> Option<String> {
        match self {
            LiteralProblem::UnknownUnit { .. } => Some(
                "units are ms s m h d (duration), B KB MB GB TB KiB MiB GiB TiB (size), \
                 bps Kbps Mbps Gbps Tbps (bandwidth)"
                    .to_string(),
            ),
            LiteralProblem::IntegerOutOfRange { .. } => {
                Some("integers range from -9223372036854775808 to 9223372036854775807".into())
            }
            LiteralProblem::BadWindow { .. } => {
                Some("a window is `HH:MM..HH:MM` with hours 00–23 and minutes 00–59".into())
            }
            LiteralProblem::BadEscape { .. } => {
                Some("escapes are \\n \\r \\t \\0 \\\\ \\\" and \\u{HEX}".into())
            }
            LiteralProblem::NumberOutOfRange { .. } | LiteralProblem::FractionalBytes { .. } => {
                None
            }
        }
    }
}
