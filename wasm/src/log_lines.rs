//! What a module logs during one call, bounded: a chatty or hostile module cannot
//! make the host buffer without limit.

/// Lines kept per call.
const LINES_MAX: usize = 100;
/// Bytes kept per line.
const LINE_BYTES_MAX: usize = 1024;

#[derive(Default, Debug)]
pub struct LogLines {
    lines: Vec<String>,
    dropped: usize,
}

impl LogLines {
    pub fn push(&mut self, bytes: &[u8]) {
        if self.lines.len() >= LINES_MAX {
            self.dropped += 1;
            return;
        }
        let kept = &bytes[..bytes.len().min(LINE_BYTES_MAX)];
        let mut line = String::from_utf8_lossy(kept).into_owned();
        if kept.len() < bytes.len() {
            line.push('…');
        }
        self.lines.push(line);
    }

    /// Each line of `text` (a WASI module's stderr).
    pub fn push_text(&mut self, text: &[u8]) {
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            self.push(line);
        }
    }

    pub fn into_lines(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.lines
                .push(format!("({} more log lines dropped)", self.dropped));
        }
        self.lines
    }
}
