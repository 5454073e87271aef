//! Exec environment grants (`exec:env:NAME`): which variables a plugin may set for the programs
//! it runs.
//!
//! Patterns are [`EnvPattern`]s (`exec:env:GIT_AUTHOR_*`), with one rule on top: a pattern never
//! matches a variable that makes a loader, a shell, an interpreter or a common tool load or run
//! code ([`is_hijack_variable`]). Only a grant naming such a variable exactly allows it.

use super::EnvPattern;

/// Variables (exact names) that make a program load or run code, or read configuration that
/// does.
#[rustfmt::skip]
const HIJACK_EXACT: &[&str] = &[
    // The search path and the home directory decide which programs and dotfiles are used.
    "PATH", "HOME", "ZDOTDIR", "INPUTRC",
    // Loader and C library.
    "LIBPATH", "SHLIB_PATH", "GCONV_PATH", "LOCPATH", "NLSPATH", "GLIBC_TUNABLES",
    "HOSTALIASES", "RESOLV_HOST_CONF", "LANGUAGE", "GETCONF_DIR", "TMPDIR", "TZDIR", "RES_OPTIONS",
    "LOCALDOMAIN", "NIS_PATH",
    // Shells.
    "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "CDPATH", "SHELL",
    // Interpreters.
    "PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB", "NODE_OPTIONS", "NODE_PATH", "RUBYOPT",
    "RUBYLIB", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH",
    "TCLLIBPATH", "PHPRC", "PHP_INI_SCAN_DIR", "AWKPATH", "AWKLIBPATH", "R_PROFILE",
    "R_PROFILE_USER", "JULIA_LOAD_PATH",
    // Helpers that tools start: editors, pagers, askpass, diff and proxy commands.
    "EDITOR", "VISUAL", "PAGER", "MANPAGER", "MANOPT", "BROWSER", "LESSOPEN", "LESSCLOSE",
    "LESSKEY", "SSH_ASKPASS", "SUDO_ASKPASS", "VIMINIT", "EXINIT", "MYVIMRC", "TAR_OPTIONS", "MAKEFLAGS", "MAKEFILES", "MFLAGS", "OPENSSL_CONF",
    "OPENSSL_ENGINES", "OPENSSL_MODULES", "KRB5_CONFIG", "GNUPGHOME", "WGETRC", "CURL_HOME",
    "RSYNC_RSH", "RSYNC_CONNECT_PROG", "CVS_RSH", "GREP_OPTIONS",
    // Build tools run the compiler, wrapper or flags these name.
    "CC", "CXX", "CPP", "LD", "CFLAGS", "CXXFLAGS", "LDFLAGS", "GOFLAGS", "GOROOT", "GOPATH",
    "GOTOOLCHAIN", "GOENV", "RUSTC", "RUSTC_WRAPPER", "RUSTFLAGS", "RUSTDOCFLAGS",
    // Configuration files that name programs to run (AWS credential_process, kubeconfig exec
    // plugins, docker credential helpers, gem and bundler code, terraform providers).
    "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "KUBECONFIG", "SUDO_EDITOR", "GEM_PATH",
    "GEM_HOME", "BUNDLE_GEMFILE", "DOCKER_CONFIG", "TF_CLI_CONFIG_FILE", "GIT_CONFIG_GLOBAL",
    "NPM_CONFIG_USERCONFIG", "CLOUDSDK_CONFIG",
];

/// Prefixes of variables that make a program load or run code.
#[rustfmt::skip]
const HIJACK_PREFIXES: &[&str] = &[
    "LD_", "DYLD_", "_RLD", "MALLOC_", "BASH_FUNC_", "PYTHON", "LUA_", "GIT_", "XDG_", "SYSTEMD_",
    "DPKG_", "APT_", "NPM_CONFIG_", "PIP_", "CARGO_",
];

/// True when the variable `name` makes a loader, a shell, an interpreter or a common tool load
/// or run code, or read configuration that does: `LD_PRELOAD`, `BASH_ENV`, `GIT_EXTERNAL_DIFF`,
/// `PATH`, `HOME`. No pattern matches these; a grant must name them. The list is a second line
/// of defence: the first is that nothing outside the locale reaches a program without a grant.
pub fn is_hijack_variable(name: &str) -> bool {
    HIJACK_EXACT.contains(&name) || HIJACK_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// True when the grant `pattern` allows a program's environment to hold `name`.
pub(crate) fn allows(pattern: &EnvPattern, name: &str) -> bool {
    match pattern {
        EnvPattern::Exact(exact) => exact == name,
        _ => !is_hijack_variable(name) && pattern.matches(name),
    }
}

/// True when every variable `other` allows is allowed by `pattern` (sound: an exact grant for a
/// hijack variable is covered only by itself).
pub(crate) fn covers(pattern: &EnvPattern, other: &EnvPattern) -> bool {
    match other {
        EnvPattern::Exact(name) if is_hijack_variable(name) => pattern == other,
        _ => pattern.covers(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(text: &str) -> EnvPattern {
        EnvPattern::parse(text).unwrap()
    }

    #[test]
    fn patterns_never_reach_hijack_variables() {
        for (pattern, name, want) in [
            ("*", "GREETING", true),
            ("*", "LD_PRELOAD", false),
            ("LD_*", "LD_PRELOAD", false),
            ("LD_PRELOAD", "LD_PRELOAD", true),
            ("GIT_*", "GIT_EXTERNAL_DIFF", false),
            ("GIT_EXTERNAL_DIFF", "GIT_EXTERNAL_DIFF", true),
            ("*", "PATH", false),
            ("PATH", "PATH", true),
            ("MY_*", "MY_LD_FLAG", true),
        ] {
            assert_eq!(allows(&pat(pattern), name), want, "{pattern} vs {name}");
        }
        for name in [
            "PYTHONPATH",
            "BASH_FUNC_x%%",
            "GCONV_PATH",
            "HOME",
            "GIT_CONFIG_COUNT",
        ] {
            assert!(is_hijack_variable(name), "{name}");
        }
        for name in ["LANG", "LC_ALL", "TZ", "GREETING", "MY_LD_FLAG"] {
            assert!(!is_hijack_variable(name), "{name}");
        }
    }

    #[test]
    fn a_pattern_never_covers_an_exact_hijack_grant() {
        assert!(!covers(&pat("*"), &pat("LD_PRELOAD")));
        assert!(!covers(&pat("LD_*"), &pat("LD_PRELOAD")));
        assert!(covers(&pat("LD_PRELOAD"), &pat("LD_PRELOAD")));
        assert!(covers(&pat("*"), &pat("LD_*")));
        assert!(covers(&pat("*"), &pat("GREETING")));
    }
}
