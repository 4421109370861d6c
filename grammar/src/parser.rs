//! The parse driver: reads a file one top-level item at a time with the pest grammar,
//! so that one syntax error costs only its own item. After an error it reports exactly
//! one diagnostic for the item and resumes at the next line that starts an item; an
//! unterminated string or block comment ends the file, as the language says.

use crate::ast::{BrokenItem, File};
use crate::build::Builder;
use crate::error::SyntaxError;
use crate::expected::{describe_found, expected_from};
use crate::recovery;
use crate::span::Span;
use pest::Parser;
use std::num::NonZeroUsize;
use std::sync::Once;

#[derive(pest_derive::Parser)]
#[grammar = "edgeflow.pest"]
pub struct EdgeflowParser;

/// Deepest bracket nesting accepted; deeper input is an error, never a stack overflow.
pub const MAX_NESTING: usize = 64;
/// Largest source file accepted (spans are 32-bit offsets).
pub const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;
/// pest's budget of rule calls per item, a bound on work for hostile input.
const CALL_LIMIT_PER_ITEM: usize = 20_000_000;

/// A parsed file and every syntax error found in it, in source order.
#[derive(Debug, Default)]
pub struct Parsed {
    pub file: File,
    pub errors: Vec<SyntaxError>,
}

pub fn parse(src: &str) -> Parsed {
    static LIMITS: Once = Once::new();
    LIMITS.call_once(|| {
        pest::set_call_limit(NonZeroUsize::new(CALL_LIMIT_PER_ITEM));
        pest::set_error_detail(true);
    });

    let mut parsed = Parsed::default();
    if src.len() > MAX_FILE_BYTES {
        parsed.errors.push(SyntaxError::TooLarge {
            limit: MAX_FILE_BYTES,
        });
        return parsed;
    }
    // pest never sees text past a too-deep bracket, so it cannot recurse too far.
    let too_deep = recovery::first_too_deep(src, MAX_NESTING);
    let text = &src[..too_deep.unwrap_or(src.len())];
    let mut too_deep_reported = false;

    let mut pos = 0;
    while pos < text.len() {
        match EdgeflowParser::parse(Rule::next_item, &text[pos..]) {
            Ok(mut pairs) => {
                let Some(item) = pairs.next().and_then(|p| p.into_inner().next()) else {
                    break;
                };
                if item.as_rule() != Rule::item {
                    break; // end of input
                }
                let end = pos + item.as_span().end();
                let built = Builder::new(src, pos).build_item(item);
                parsed.errors.extend(built.problems);
                match built.fatal {
                    Some(fatal) => {
                        parsed.errors.push(fatal);
                        parsed.file.broken_items.push(broken_item(&src[pos..end]));
                    }
                    None => parsed.file.items.push(built.item),
                }
                pos = end;
            }
            Err(error) => {
                let at = pos + error_offset(&error).min(text.len() - pos);
                if let Some((start, what)) = recovery::unterminated(src, pos) {
                    if start <= at {
                        parsed.errors.push(SyntaxError::Unterminated {
                            span: Span::new(start, start + 2),
                            what,
                        });
                        break;
                    }
                }
                let resume = recovery::resync(text, pos, at);
                parsed
                    .file
                    .broken_items
                    .push(broken_item(&src[pos..resume.unwrap_or(at)]));
                if let (Some(deep), true) = (too_deep, at >= text.len()) {
                    parsed.errors.push(SyntaxError::TooDeep {
                        span: Span::new(deep, deep + 1),
                        limit: MAX_NESTING,
                    });
                    too_deep_reported = true;
                    break;
                }
                let (found, length) = describe_found(src, at);
                parsed.errors.push(SyntaxError::Unexpected {
                    span: Span::new(at, at + length),
                    found,
                    expected: expected_from(&error),
                });
                match resume {
                    Some(next) => pos = next,
                    None => break,
                }
            }
        }
    }
    if let (Some(deep), false) = (too_deep, too_deep_reported) {
        parsed.errors.push(SyntaxError::TooDeep {
            span: Span::new(deep, deep + 1),
            limit: MAX_NESTING,
        });
    }
    parsed
}

fn broken_item(text: &str) -> BrokenItem {
    let (keyword, names) = recovery::broken_item_names(text);
    BrokenItem { keyword, names }
}

fn error_offset(error: &pest::error::Error<Rule>) -> usize {
    match error.location {
        pest::error::InputLocation::Pos(pos) => pos,
        pest::error::InputLocation::Span((start, _)) => start,
    }
}
