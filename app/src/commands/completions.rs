//! `reglet completions SHELL`: the shell completion script, generated from the CLI definition so
//! it always matches the commands and flags of this build.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::Shell;

use super::EXIT_OK;
use crate::cli::Cli;

/// Writes the completion script for `shell` on `out`.
///
/// # Errors
/// Writing to `out` failed.
pub fn completions(shell: Shell, out: &mut dyn Write) -> io::Result<u8> {
    // clap_complete panics on a failed write; generating into memory first turns a closed pipe
    // into an ordinary error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "reglet", &mut script);
    out.write_all(&script)?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_commands() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            let mut out = Vec::new();
            assert_eq!(completions(shell, &mut out).unwrap(), EXIT_OK);
            let script = String::from_utf8(out).unwrap();
            for command in ["check", "validate", "plan", "plugins", "completions"] {
                assert!(script.contains(command), "{shell}: no {command}");
            }
        }
    }
}
