//! The built-in plugins, embedded in the binary so a profile with `plugins: [file]` works from
//! the copied executable alone. The modules are built from `plugins/` by `plugins/build.sh` and
//! committed in `plugins/dist/`, so building the host never needs a wasm target.

use sha2::{Digest, Sha256};

/// Every built-in: name and module bytes.
const BUILTINS: &[(&str, &[u8])] = &[
    ("file", include_bytes!("../../../plugins/dist/file.wasm")),
    (
        "command",
        include_bytes!("../../../plugins/dist/command.wasm"),
    ),
    ("http", include_bytes!("../../../plugins/dist/http.wasm")),
    ("dns", include_bytes!("../../../plugins/dist/dns.wasm")),
    ("tcp", include_bytes!("../../../plugins/dist/tcp.wasm")),
    ("smtp", include_bytes!("../../../plugins/dist/smtp.wasm")),
];

/// The wasm module of the built-in plugin `name`, if there is one.
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// The names of the built-in plugins.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(name, _)| *name)
}

/// Each built-in's name and the sha256 of its module (lower-case hex), to report what runs.
pub fn list() -> Vec<(&'static str, String)> {
    BUILTINS
        .iter()
        .map(|(name, bytes)| (*name, hex::encode(Sha256::digest(bytes))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_wasm_and_match_the_committed_sums() {
        let sums = include_str!("../../../plugins/dist/SHA256SUMS");
        for (name, sha) in list() {
            let module = builtin(name).unwrap();
            assert_eq!(&module[..4], b"\0asm", "{name}");
            assert!(module.len() < 1 << 20, "{name} is {} bytes", module.len());
            assert!(
                sums.lines().any(|l| l == format!("{sha}  {name}.wasm")),
                "{name}: {sha} not in SHA256SUMS"
            );
        }
        let all: Vec<_> = names().collect();
        assert_eq!(all, ["file", "command", "http", "dns", "tcp", "smtp"]);
        assert!(builtin("nope").is_none());
    }
}
