//! Programs a glob over programs may reach: an allowlist of programs that run no other program
//! and load no code whatever their arguments, and change nothing on the system.
//!
//! A glob (`exec:/usr/bin/*`, `exec:**`) is a statement about a directory, not about the programs
//! in it, and most programs can be made to run code (`sort --compress-program`, `split
//! --filter`, `prlimit`, `sqlite3 .shell`, ...). So a glob reaches only the programs named here;
//! any other program needs a grant that names it. Membership is decided by exact file name: a
//! program is added only after reading its options and operands, and never if any of them runs a
//! command, loads a module (`getent -s`), execs a helper (`getconf -v`), opens a pager or editor,
//! or writes or sets anything (an output operand as `uniq IN OUT`, a temporary file as `tac`; so
//! `date`, `hostname`, `sort`, `tee`, `shuf` and `sysctl` are absent too). The name is not enough
//! on its own: the policy also requires the program and every directory on its path to be owned
//! by root and writable by nobody else, so no one but root can put another file under that name.
//!
//! These programs still read whatever the host's user can read (`cat /etc/shadow`, `ps eww`): a
//! glob over programs is a grant to read the host, which the risk report rates critical.

/// The allowlist, by exact file name.
#[rustfmt::skip]
const INERT_PROGRAMS: &[&str] = &[
    // Identity and the system, read only.
    "arch", "id", "whoami", "groups", "logname", "users", "who", "w", "uname", "nproc", "hostid",
    "uptime", "free", "vmstat", "ps", "pgrep", "locale", "tty", "printenv", "lscpu", "lsblk",
    "findmnt", "mountpoint", "lsns", "lslogins", "namei", "lsattr", "getfacl",
    // Files, read only.
    "ls", "stat", "df", "du", "readlink", "realpath", "basename", "dirname", "pwd", "pathchk",
    "cat", "head", "tail", "wc", "od", "hexdump", "cmp", "grep",
    "md5sum", "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum", "b2sum", "cksum",
    "sum", "base32", "base64", "basenc",
    // Text filters over their input.
    "cut", "tr", "comm", "join", "paste", "fold", "fmt", "nl", "expand", "unexpand", "rev",
    "column", "tsort", "numfmt", "expr", "factor", "seq",
    // Builtins as programs.
    "true", "false", "test", "[", "echo", "printf", "sleep", "yes",
];

/// True when `name` (a program's file name) is on the allowlist a glob over programs may reach.
pub fn runs_no_other_program(name: &str) -> bool {
    INERT_PROGRAMS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::is_code_runner;

    #[test]
    fn only_listed_names_exactly() {
        for name in ["id", "uptime", "cat", "sha256sum", "["] {
            assert!(runs_no_other_program(name), "{name}");
        }
        // Programs with an option that runs a command, or that write or set something, and
        // spellings that only resemble a listed name.
        for name in [
            "sort",
            "split",
            "prlimit",
            "setarch",
            "logsave",
            "systemd-cat",
            "sg",
            "sqlite3",
            "psql",
            "date",
            "hostname",
            "tee",
            "sysctl",
            "dd",
            "cp",
            "uniq",
            "getent",
            "getconf",
            "tac",
            "pidof",
            "id2",
            "cat.bak",
            "ID",
            "",
        ] {
            assert!(!runs_no_other_program(name), "{name}");
        }
    }

    #[test]
    fn no_known_runner_is_listed() {
        for name in INERT_PROGRAMS {
            assert!(!is_code_runner(name), "{name} runs other programs");
        }
    }
}
