//! `edgeflow explain CODE`: the long explanation of a diagnostic code.

use crate::commands::EXIT_USAGE;
use std::process::ExitCode;

pub fn run(_code: Option<&str>, _list: bool) -> ExitCode {
    eprintln!("error: `edgeflow explain` is not available yet");
    ExitCode::from(EXIT_USAGE)
}
