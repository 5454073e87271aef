//! The `reglet` binary: parses arguments and hands off to the command implementations.

use std::io;
use std::process::ExitCode;

use clap::Parser;
use reglet::cli::{Cli, Command};
use reglet::commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    let result = match cli.command {
        Command::Version => commands::version(&mut out),
        Command::Capabilities { capabilities, json } => {
            commands::capabilities(&capabilities, json, &mut out, &mut err)
        }
        Command::Validate { profile } => commands::validate(&profile, &mut out, &mut err),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
