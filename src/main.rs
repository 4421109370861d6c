//! The `edgeflow` binary: parses the command line and hands each subcommand to its
//! module under `commands/`. Compiler work runs on a thread with a large stack so that
//! even the deepest nesting the parser accepts is checked without overflow.

mod async_runtime;
mod cli;
mod client;
mod commands;
mod inputs;
mod logging;
mod output;
mod parameters;
mod pipeline;
mod user_code;

use clap::Parser;
use std::process::ExitCode;

/// The compiler allocates many small nodes; mimalloc is markedly faster at that than
/// the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stack for the compiler thread: generous, since it is virtual memory until used.
const COMPILER_STACK_BYTES: usize = 256 * 1024 * 1024;

/// Commands that print end quietly when their reader goes away (`edgeflow runs | head`),
/// as Unix tools do, instead of panicking on a broken pipe. A node keeps ignoring the
/// signal (Rust's default): a peer closing a socket must not stop it.
fn end_quietly_on_broken_pipe(command: &cli::Command) {
    #[cfg(unix)]
    if !matches!(command, cli::Command::Node { .. }) {
        // SAFETY: restoring a signal's default disposition, before any other thread
        // exists; no handler runs Rust code.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    end_quietly_on_broken_pipe(&cli.command);
    logging::init();
    let worker = std::thread::Builder::new()
        .name("edgeflow".into())
        .stack_size(COMPILER_STACK_BYTES)
        .spawn(move || commands::run(cli));
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => ExitCode::from(70),
        Err(error) => {
            eprintln!("error: cannot start the compiler thread: {error}");
            ExitCode::from(2)
        }
    }
}
