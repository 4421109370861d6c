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
    });

    if src.len() > MAX_FILE_BYTES {
        let errors = vec![SyntaxError::TooLarge {
            limit: MAX_FILE_BYTES,
        }];
        return Parsed {
            file: File::default(),
            errors,
        };
    }
    // pest never sees text past a too-deep bracket, so it cannot recurse too far.
    let too_deep = recovery::first_too_deep(src, MAX_NESTING);
    let text = &src[..too_deep.unwrap_or(src.len())];
    // A byte-order mark is not part of the program.
    let start = if src.starts_with('\u{FEFF}') {
        '\u{FEFF}'.len_utf8()
    } else {
        0
    };
    if too_deep.is_none() {
        if let Some(parsed) = parse_in_parallel(src, start) {
            return parsed;
        }
    }
    let mut items = ItemLoop {
        src,
        text,
        stop_on_error: false,
    };
    let (mut parsed, ended) = items.run(start, text.len());
    if let Some(deep) = too_deep {
        if ended != Ended::Unterminated {
            parsed.errors.push(SyntaxError::TooDeep {
                span: Span::new(deep, deep + 1),
                limit: MAX_NESTING,
            });
        }
    }
    parsed
}

/// Files smaller than this are parsed on one thread; starting threads costs more.
const PARALLEL_THRESHOLD: usize = 256 * 1024;

/// Large files are split at top-level item boundaries and the parts parsed on all
/// cores. Only a clean result is used: if any part has a syntax error, or an item runs
/// past its part's end, the caller parses the whole file sequentially instead, so the
/// outcome never depends on the split.
fn parse_in_parallel(src: &str, start: usize) -> Option<Parsed> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 || src.len() - start < PARALLEL_THRESHOLD {
        return None;
    }
    let bounds = recovery::item_boundaries(src, start, threads);
    if bounds.len() < 3 {
        return None;
    }
    let parts: Vec<Option<Parsed>> = std::thread::scope(|scope| {
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|range| {
                let (from, to) = (range[0], range[1]);
                scope.spawn(move || {
                    let mut items = ItemLoop {
                        src,
                        text: src,
                        stop_on_error: true,
                    };
                    let (parsed, ended) = items.run(from, to);
                    let clean = parsed.errors.is_empty() && ended == Ended::At(to);
                    clean.then_some(parsed)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut whole = Parsed::default();
    for part in parts {
        let part = part?;
        whole.file.items.extend(part.file.items);
    }
    Some(whole)
}

/// How the item loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// At this offset, having read every item that starts before the end.
    At(usize),
    /// At an unterminated string or comment: the rest of the file is not checked.
    Unterminated,
    /// At the first syntax error (when asked to stop there).
    Error,
}

/// Reads items one at a time from `text` (the source, possibly cut short before a
/// too-deep bracket), starting at `from` and stopping once the next item would start
/// at or after `to`.
struct ItemLoop<'s> {
    src: &'s str,
    text: &'s str,
    stop_on_error: bool,
}

impl<'s> ItemLoop<'s> {
    fn run(&mut self, from: usize, to: usize) -> (Parsed, Ended) {
        let (src, text) = (self.src, self.text);
        let mut parsed = Parsed::default();
        let mut pos = from;
        while pos < to {
            match EdgeflowParser::parse(Rule::next_item, &text[pos..]) {
                Ok(mut pairs) => {
                    let Some(item) = pairs.next().and_then(|p| p.into_inner().next()) else {
                        return (parsed, Ended::At(text.len()));
                    };
                    if item.as_rule() != Rule::item {
                        return (parsed, Ended::At(text.len())); // end of input
                    }
                    let item_start = pos + item.as_span().start();
                    if item_start >= to {
                        return (parsed, Ended::At(item_start));
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
                Err(_) if self.stop_on_error => return (parsed, Ended::Error),
                Err(error) => {
                    let error = with_error_detail(&text[pos..]).unwrap_or(error);
                    let at = pos + error_offset(&error).min(text.len() - pos);
                    if let Some((start, what)) = recovery::unterminated(src, pos) {
                        if start <= at {
                            parsed.errors.push(SyntaxError::Unterminated {
                                span: Span::new(start, start + 2),
                                what,
                            });
                            return (parsed, Ended::Unterminated);
                        }
                    }
                    let resume = recovery::resync(text, pos, at);
                    parsed
                        .file
                        .broken_items
                        .push(broken_item(&src[pos..resume.unwrap_or(at)]));
                    if at >= text.len() && text.len() < src.len() {
                        // Cut short before a too-deep bracket: the caller reports that.
                        return (parsed, Ended::At(text.len()));
                    }
                    let (found, length) = describe_found(src, at);
                    parsed.errors.push(SyntaxError::Unexpected {
                        span: Span::new(at, at + length),
                        found,
                        expected: expected_from(&error),
                    });
                    match resume {
                        Some(next) => pos = next,
                        None => return (parsed, Ended::At(text.len())),
                    }
                }
            }
        }
        (parsed, Ended::At(pos))
    }
}

/// Parses a failing item again with pest's attempt tracking on, which names the tokens
/// it expected. Tracking costs time, so the (common) successful parses run without it.
fn with_error_detail(text: &str) -> Option<pest::error::Error<Rule>> {
    pest::set_error_detail(true);
    let result = EdgeflowParser::parse(Rule::next_item, text).err();
    pest::set_error_detail(false);
    result
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
