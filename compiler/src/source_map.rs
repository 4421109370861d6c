//! Every source file the compiler has read, so that a span (file, byte range) can be
//! turned into a path, a line and a column when a diagnostic is shown.

use edgeflow_grammar::Span;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A span in a known file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub file: FileId,
    pub span: Span,
}

#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user named it (or as an import resolved it), for display.
    pub name: String,
    /// The canonical path, for identity; `None` for built-in sources like the prelude.
    pub path: Option<PathBuf>,
    pub text: Arc<str>,
    line_starts: Vec<usize>,
}

/// 1-based line and column; the column counts characters (Unicode scalar values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl SourceFile {
    /// Lines in the file (a final line without a newline counts).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The byte range of 0-based line `line`, without its line break.
    pub fn line_range(&self, line: usize) -> (usize, usize) {
        let start = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let end = self
            .line_starts
            .get(line + 1)
            .map_or(self.text.len(), |next| next - 1);
        let end = if end > start && self.text.as_bytes().get(end - 1) == Some(&b'\r') {
            end - 1
        } else {
            end
        };
        (start, end.max(start))
    }

    /// Where 0-based line `line` ends, its line break included.
    pub fn line_end_with_newline(&self, line: usize) -> usize {
        self.line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len())
    }

    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.text.len());
        let line_index = self.line_starts.partition_point(|start| *start <= offset) - 1;
        let line_start = self.line_starts[line_index];
        let column = self
            .text
            .get(line_start..offset)
            .map_or(offset - line_start, |s| s.chars().count());
        LineCol {
            line: line_index + 1,
            column: column + 1,
        }
    }
}

/// Reads a source file: only a regular file (a device such as `/dev/zero`, a FIFO or a
/// socket is refused before anything is read) of at most the parser's size limit, read
/// no further than that limit even if it grows meanwhile.
pub fn read_source_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let limit = edgeflow_grammar::MAX_FILE_BYTES;
    let metadata = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err(
            "not a regular file (a folder, device, FIFO or socket); sources are files".into(),
        );
    }
    if metadata.len() > limit as u64 {
        return Err(format!(
            "the file is {} bytes; sources are at most {limit} bytes",
            metadata.len()
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(limit as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() > limit {
        return Err(format!(
            "the file grew past {limit} bytes while it was read"
        ));
    }
    String::from_utf8(bytes).map_err(|e| format!("the file is not UTF-8 text: {e}"))
}

#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, name: String, path: Option<PathBuf>, text: Arc<str>) -> FileId {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile {
            name,
            path,
            text,
            line_starts,
        });
        id
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// Files read from disk (not built-in sources).
    pub fn user_file_count(&self) -> usize {
        self.files.iter().filter(|f| f.path.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters() {
        let mut map = SourceMap::default();
        let id = map.add("t".into(), None, "ab\n\"é\" x\n".into());
        let file = map.get(id);
        assert_eq!(file.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(file.line_col(3), LineCol { line: 2, column: 1 });
        assert_eq!(file.line_col(8), LineCol { line: 2, column: 5 });
    }
}
