//! Programs that run other programs or code of the caller's choosing.
//!
//! This list is a second line of defence and can never be complete: most programs with a
//! command language, a plugin mechanism or an option that names a helper can be made to run
//! code. The first line is that a named program's arguments can be pinned, and that the risk
//! report calls free arguments and globs over programs what they are.

use super::path::glob_match;

/// Shells, interpreters, launchers, loaders and programs with a documented way to run a
/// command; globs are matched against the program's file name.
#[rustfmt::skip]
const CODE_RUNNERS: &[&str] = &[
    // Shells, under every name they answer to.
    "sh", "bash", "rbash", "dash", "zsh", "rzsh", "ksh", "ksh93", "mksh", "pdksh", "lksh", "csh",
    "tcsh", "fish", "ash", "yash", "posh", "elvish", "nu", "xonsh", "busybox", "toybox",
    // Interpreters and REPLs.
    "python", "pypy", "perl", "ruby", "irb", "node", "nodejs", "deno", "bun", "php", "lua",
    "luajit", "tclsh", "wish", "expect", "awk", "gawk", "mawk", "nawk", "osascript", "pwsh",
    "powershell", "guile", "racket", "sbcl", "clisp", "ghci", "runghc", "java", "jshell", "groovy",
    "scala", "Rscript", "R", "julia", "erl", "escript", "elixir", "iex", "ocaml", "m4", "dc", "bc",
    "gdb", "lldb",
    // The dynamic loader runs any program given as its argument.
    "ld.so", "ld-*.so*", "ld-linux*", "ld-musl*",
    // Launchers: their arguments are another command.
    "env", "stdbuf", "nice", "ionice", "chrt", "taskset", "nohup", "timeout", "setsid", "setpriv",
    "xargs", "parallel", "find", "sudo", "su", "doas", "runuser", "pkexec", "chroot", "nsenter",
    "unshare", "flock", "watch", "script", "strace", "ltrace", "valgrind", "time", "fakeroot",
    "faketime", "firejail", "bwrap", "systemd-run", "start-stop-daemon", "run-parts", "ssh", "scp",
    "sftp", "docker", "podman", "kubectl", "at", "batch",
    // Programs with a command language or an option that runs a helper.
    "sed", "gsed", "git", "tar", "zip", "rsync", "make", "gmake", "vi", "vim", "nvim", "view",
    "ex", "ed", "emacs", "less", "more", "man", "pager", "editor", "sensible-editor",
    "sensible-pager", "tcpdump", "openssl", "wget", "gcc", "cc", "c++", "g++", "clang", "ld",
    "apt", "apt-get", "dpkg", "npm", "npx", "pip", "pip3", "cargo", "go",
];

/// True when the program `name` (a file name such as `bash`, `python3.12`, `vim.basic` or
/// `ld-linux-x86-64.so.2`) runs other programs or arbitrary code given the right arguments or
/// environment. Version suffixes (`3.12`, `-12`) and variant suffixes (`.basic`, `.distrib`) are
/// ignored.
pub fn is_code_runner(name: &str) -> bool {
    let stem = |n: &str| {
        n.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-')
            .to_owned()
    };
    let base = name.split('.').next().unwrap_or_default();
    let candidates = [name.to_owned(), stem(name), base.to_owned(), stem(base)];
    candidates
        .iter()
        .filter(|c| !c.is_empty())
        .any(|c| CODE_RUNNERS.iter().any(|runner| glob_match(runner, c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runners_by_every_name() {
        for name in [
            "sh",
            "rbash",
            "python3.12",
            "php8.2",
            "lua5.4",
            "gcc-12",
            "ld.so",
            "ld-linux-x86-64.so.2",
            "ld-musl-x86_64.so.1",
            "stdbuf",
            "sed",
            "git",
            "tar",
            "busybox",
            "env",
            "xargs",
            "sudo",
            "vim.basic",
            "sh.distrib",
            "git.real",
        ] {
            assert!(is_code_runner(name), "{name}");
        }
        for name in [
            "systemctl",
            "uptime",
            "id",
            "echo",
            "printf",
            "ls",
            "ldd2x",
            "shx",
            "",
        ] {
            assert!(!is_code_runner(name), "{name}");
        }
    }
}
