//! `reglet version`: what this build is made of, for bug reports and audits.

use std::io::{self, Write};

use super::EXIT_OK;

/// Prints Reglet's version, the wasmtime release plugins run on (`wasmtime`, handed in by the
/// composition root, the only code that knows the runtime) and each embedded built-in plugin with
/// the sha256 of its module.
///
/// # Errors
/// Writing to `out` failed.
pub fn version(wasmtime: &str, out: &mut dyn Write) -> io::Result<u8> {
    writeln!(out, "reglet {}", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "wasmtime {wasmtime}")?;
    let builtins = reglet_builtins::list();
    let width = builtins.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    writeln!(out, "built-in plugins:")?;
    for (name, sha256) in builtins {
        writeln!(out, "  {name:<width$}  sha256 {sha256}")?;
    }
    Ok(EXIT_OK)
}
