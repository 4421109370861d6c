//! The few lines of source a rendered diagnostic shows, cut out once with the source
//! map's line index: rendering each diagnostic costs the size of its excerpt, not of the
//! file (miette, given the whole file, copies and rescans it for every diagnostic), so a
//! file with thousands of errors renders in linear time. A line longer than
//! `MAX_LINE_CHARS` is shown as a window around its label with `…` where it was cut, so
//! a 50 MB string literal or a label past column 65,535 prints a short line.

use crate::source_map::SourceFile;
use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// Characters of a line shown whole; longer lines are windowed.
pub const MAX_LINE_CHARS: usize = 160;
/// Characters kept before a label's start on a windowed line.
const LEAD_CHARS: usize = 40;
/// Labels further than this many lines from the primary one are not drawn.
const MAX_LABEL_DISTANCE: usize = 30;
const CUT: &str = "…";

/// A label to draw: its byte range in the file, and its message.
pub struct Label {
    pub start: usize,
    pub end: usize,
    pub message: Option<String>,
}

/// The lines around a diagnostic's labels, with the labels' spans in its own text.
pub struct Excerpt {
    name: String,
    text: String,
    /// 0-based line number of the excerpt's first line in the file.
    first_line: usize,
    /// The primary label's span in `text`, and its true 0-based line and byte column.
    primary: (SourceSpan, usize, usize),
    pub labels: Vec<(SourceSpan, Option<String>)>,
}

impl Excerpt {
    /// Cuts the excerpt for `labels` (the first is the primary one) out of `file`.
    pub fn cut(file: &SourceFile, labels: &[Label]) -> Excerpt {
        let line_of = |offset: usize| file.line_col(offset).line - 1;
        let primary_line = labels.first().map_or(0, |l| line_of(l.start));
        let shown: Vec<&Label> = labels
            .iter()
            .filter(|l| line_of(l.start).abs_diff(primary_line) <= MAX_LABEL_DISTANCE)
            .collect();
        let first = shown.iter().map(|l| line_of(l.start)).min().unwrap_or(0);
        let last = shown
            .iter()
            .map(|l| line_of(l.end.max(l.start + 1) - 1))
            .max()
            .unwrap_or(0);
        let first_line = first.saturating_sub(1);
        let last_line = (last + 1).min(file.line_count().saturating_sub(1));
        let long = (first_line..=last_line).any(|line| {
            let (from, to) = file.line_range(line);
            file.text[from..to].chars().count() > MAX_LINE_CHARS
        });
        let mut text = String::new();
        let mut placed: Vec<Option<SourceSpan>> = vec![None; shown.len()];
        if !long {
            // The lines as they are: labels keep their shape (also across lines).
            let from = file.line_range(first_line).0;
            let to = file.line_end_with_newline(last_line);
            text.push_str(&file.text[from..to]);
            for (index, label) in shown.iter().enumerate() {
                let end = label.end.min(to);
                placed[index] = Some((label.start - from, end.saturating_sub(label.start)).into());
            }
        }
        for line in (first_line..=last_line).filter(|_| long) {
            let (line_start, line_end) = file.line_range(line);
            let content = &file.text[line_start..line_end];
            let (from, to) = window_for(content, line_start, &shown);
            if from > 0 {
                text.push_str(CUT);
            }
            let kept_at = text.len();
            text.push_str(&content[from..to]);
            if to < content.len() {
                text.push_str(CUT);
            }
            if line < last_line {
                text.push('\n');
            }
            // Labels starting on this line, clipped to what is shown of it.
            for (index, label) in shown.iter().enumerate() {
                if label.start < line_start || label.start > line_end {
                    continue;
                }
                let clip = |offset: usize| (offset - line_start).clamp(from, to);
                let start_in_line = clip(label.start);
                let end_in_line = clip(label.end.min(line_end).max(label.start));
                let start = kept_at + (start_in_line - from);
                placed[index] = Some((start, end_in_line - start_in_line).into());
            }
        }
        let labels: Vec<(SourceSpan, Option<String>)> = shown
            .iter()
            .zip(&placed)
            .filter_map(|(label, span)| span.map(|span| (span, label.message.clone())))
            .collect();
        let primary = match (labels.first(), shown.first()) {
            (Some((span, _)), Some(label)) => {
                let line = line_of(label.start);
                let (line_start, _) = file.line_range(line);
                (*span, line, label.start - line_start)
            }
            _ => ((0, 0).into(), 0, 0),
        };
        Excerpt {
            name: file.name.clone(),
            text,
            first_line,
            primary,
            labels,
        }
    }
}

/// The byte range of `content` (a line starting at `line_start`) to show: all of it,
/// or a window around the first label on it, on character boundaries.
fn window_for(content: &str, line_start: usize, labels: &[&Label]) -> (usize, usize) {
    if content.chars().count() <= MAX_LINE_CHARS {
        return (0, content.len());
    }
    let anchor = labels
        .iter()
        .find(|l| l.start >= line_start && l.start <= line_start + content.len())
        .map_or(0, |l| l.start - line_start);
    let lead = content[..anchor]
        .char_indices()
        .rev()
        .nth(LEAD_CHARS.saturating_sub(1))
        .map_or(0, |(at, _)| at);
    let to = content[lead..]
        .char_indices()
        .nth(MAX_LINE_CHARS)
        .map_or(content.len(), |(at, _)| lead + at);
    (lead, to)
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner =
            self.text
                .as_bytes()
                .read_span(span, context_lines_before, context_lines_after)?;
        // The header names the primary label's true place in the file.
        let (line, column) = if *span == self.primary.0 && context_lines_before == 0 {
            (self.primary.1, self.primary.2)
        } else {
            (inner.line() + self.first_line, inner.column())
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            line,
            column,
            inner.line_count(),
        )))
    }
}
