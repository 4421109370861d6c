//! One module per subcommand; `run` dispatches.

mod apply;
mod check;
mod cluster;
mod compile;
mod deployments;
mod explain;
mod graph;
mod migrate;
mod node;
mod policy;
mod remote;
mod run;
mod runs;
mod state;
mod submit;
mod token;
mod triggers;
mod worker;
mod workload;

use crate::cli::{Cli, Command};
use std::process::ExitCode;

/// Exit status for usage and I/O failures (LANGUAGE.md §6).
pub const EXIT_USAGE: u8 = 2;

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check {
            paths,
            format,
            deny,
            color,
        } => check::run(&paths, format, deny.is_some(), color),
        Command::Compile {
            file,
            output,
            emit,
            color,
        } => compile::run(&file, output.as_deref(), emit, color),
        Command::Graph {
            file,
            workflow,
            format,
            color,
        } => graph::run(&file, workflow.as_deref(), format, color),
        Command::Explain { code, list } => explain::run(code.as_deref(), list),
        Command::Run { file, options } => run::run(&file, options),
        Command::Node { config, check } => node::run(&config, check),
        Command::Cluster { action, target } => cluster::run(action, target),
        Command::State { action, target } => state::run(action, target),
        Command::Worker { action, target } => worker::run(action, target),
        Command::Token { action, target } => token::run(action, target),
        Command::Apply {
            file,
            name,
            shadow,
            format,
            color,
            target,
        } => apply::run(&file, name, shadow, format, color, &target),
        Command::Deployments { action, target } => deployments::run(action, target),
        Command::Triggers { action, target } => triggers::run(action, target),
        Command::Policy { action, target } => policy::run(action, target),
        Command::Workload { action, target } => workload::run(action, target),
        Command::Migrate { action, target } => migrate::run(action, target),
        Command::Submit {
            file,
            options,
            target,
        } => submit::run(&file, options, &target),
        Command::Runs {
            action,
            data,
            workflow,
            format,
            target,
        } => match target.cluster {
            Some(_) => runs::from_cluster(action, &target, workflow.as_deref(), format),
            None => runs::run(action, &data, workflow.as_deref(), format),
        },
    }
}
