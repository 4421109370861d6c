//! `edgeflow compile FILE -o OUT`: writes the IR bundle; `--emit ir-text` prints the
//! readable IR instead.

use crate::cli::{Color, Emit};
use crate::commands::EXIT_USAGE;
use std::path::Path;
use std::process::ExitCode;

pub fn run(_file: &Path, _output: Option<&Path>, _emit: Emit, _color: Color) -> ExitCode {
    eprintln!("error: `edgeflow compile` is not available yet");
    ExitCode::from(EXIT_USAGE)
}
