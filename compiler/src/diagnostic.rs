//! A diagnostic: a problem found at a place, with any related places (the first
//! definition of a duplicate, say). Ordered by file and position for stable output.

use crate::problem::{Problem, Severity};
use crate::source_map::Location;

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub problem: Problem,
    pub at: Location,
    pub related: Vec<(Location, String)>,
}

impl Diagnostic {
    pub fn new(problem: Problem, at: Location) -> Diagnostic {
        Diagnostic {
            problem,
            at,
            related: Vec::new(),
        }
    }

    pub fn with_related(mut self, at: Location, message: impl Into<String>) -> Diagnostic {
        self.related.push((at, message.into()));
        self
    }

    pub fn code(&self) -> &'static str {
        self.problem.code()
    }

    pub fn severity(&self) -> Severity {
        self.problem.severity()
    }
}

/// Sorts diagnostics by file, then position, then code, and drops exact repeats.
pub fn sort_and_dedup(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        (a.at.file, a.at.span.start, a.code()).cmp(&(b.at.file, b.at.span.start, b.code()))
    });
    diagnostics.dedup_by(|a, b| a.at == b.at && a.problem == b.problem);
}
