//! The exec policy as a table: grants and a request in, a vetted command or the refusal out.

use super::*;

fn grants(texts: &[&str]) -> GrantSet {
    GrantSet::parse_all(texts).expect("test grants parse")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Vets `command args` with `env` under `texts`; the refusal's message, or the environment.
fn outcome(texts: &[&str], command: &str, args: &[&str], env: &[&str]) -> Result<Vetted, String> {
    let (args, env) = (strings(args), strings(env));
    let ask = Ask {
        command,
        args: &args,
        dir: None,
        env: &env,
    };
    vet(&grants(texts), &ask).map_err(|r| match r {
        Rejection::Refused(e) => format!("refused: {}", e.message),
        Rejection::Invalid(e) => format!("invalid: {}", e.message),
    })
}

fn path() -> String {
    format!("PATH={}", SEARCH_PATH.join(":"))
}

/// (name, grants, command, arguments, the refusal's needle or "" when allowed)
type ProgramCase = (&'static str, Strs, &'static str, Strs, &'static str);
/// (name, extra grants, env, the child's environment besides PATH, or the refusal's needle)
type EnvCase = (&'static str, Strs, Strs, Result<Strs, &'static str>);
type Strs = &'static [&'static str];

#[test]
fn programs_and_arguments() {
    #[rustfmt::skip]
    let cases: &[ProgramCase] = &[
        ("exact program, any arguments", &["exec:/usr/bin/git"], "/usr/bin/git", &["-c", "alias.x=!id", "x"], ""),
        ("other program", &["exec:/usr/bin/echo"], "/usr/bin/id", &["-u"], "refused: permission denied: capability denied: exec:/usr/bin/id:-u (exec:/usr/bin/id would allow any arguments"),
        ("pinned, matching", &["exec:/usr/bin/echo:hello *"], "/usr/bin/echo", &["hello", "you"], ""),
        ("pinned, not matching", &["exec:/usr/bin/echo:hello *"], "/usr/bin/echo", &["bye"], "the grants for /usr/bin/echo pin its arguments: exec:/usr/bin/echo:hello *"),
        ("pinned to none", &["exec:/usr/bin/uptime:"], "/usr/bin/uptime", &["-p"], "capability denied: exec:/usr/bin/uptime:-p"),
        ("bare name resolved", &["exec:/usr/bin/env:"], "env", &[], ""),
        ("bare name granted", &["exec:env"], "env", &["-0"], ""),
        ("relative path", &["exec:**"], "../bin/env", &[], "invalid: command not found"),
        ("empty command", &["exec:**"], "", &[], "invalid: command is required"),
        ("shell under a glob", &["exec:/usr/bin/*"], "/usr/bin/sh", &["-c", "id"], "sh runs other programs or code, so it needs a grant that names it"),
        ("rbash under a glob", &["exec:/usr/bin/*"], "/usr/bin/rbash", &["-c", "id"], "needs a grant that names it"),
        ("loader under a glob", &["exec:/usr/bin/*"], "/usr/bin/ld.so", &["/usr/bin/id"], "needs a grant that names it"),
        ("stdbuf under a glob", &["exec:/usr/bin/*"], "/usr/bin/stdbuf", &["-o0", "/usr/bin/sh"], "needs a grant that names it"),
        ("sed under a glob", &["exec:/usr/bin/*"], "/usr/bin/sed", &["-n", "1e id"], "needs a grant that names it"),
        ("git under a glob", &["exec:**"], "git", &["status"], "needs a grant that names it"),
        ("allowlisted program under a glob", &["exec:/usr/bin/*"], "/usr/bin/id", &["-u"], ""),
        ("sort under a glob", &["exec:/usr/bin/*"], "/usr/bin/sort", &["--compress-program=id"], "sort is not on the list of programs a wildcard may reach"),
        ("split under a glob", &["exec:**"], "/usr/bin/split", &["--filter=id"], "needs a grant that names it"),
        ("unknown program under a glob", &["exec:/opt/**"], "/opt/tool/check", &[], "check is not on the list"),
        ("sort named", &["exec:/usr/bin/sort"], "/usr/bin/sort", &["-r"], ""),
        ("shell named", &["exec:/usr/bin/sh"], "/usr/bin/sh", &["-c", "id"], ""),
        ("shell named, pinned", &["exec:/usr/bin/sh:-c 'echo hi'"], "/usr/bin/sh", &["-c", "echo hi"], ""),
        ("a pin beside a glob names only what it allows", &["exec:/usr/bin/*", "exec:/usr/bin/sh:--version"], "/usr/bin/sh", &["-c", "id"], "needs a grant that names it"),
        ("env pinned refuses a command line", &["exec:/usr/bin/env:"], "/usr/bin/env", &["/usr/bin/sh", "-c", "id"], "pin its arguments"),
    ];
    for (name, texts, command, args, needle) in cases {
        let got = outcome(texts, command, args, &[]);
        match (needle.is_empty(), &got) {
            (true, Ok(_)) => {}
            (false, Err(message)) if message.contains(needle) => {}
            _ => panic!("{name}: expected {needle:?}, got {got:?}"),
        }
    }
}

#[test]
fn environments() {
    #[rustfmt::skip]
    let cases: &[EnvCase] = &[
        ("nothing asked", &[], &[], Ok(&[])),
        ("locale and zone pass", &[], &["LANG=C", "LC_ALL=C.UTF-8", "TZ=Europe/Berlin"], Ok(&["LANG=C", "LC_ALL=C.UTF-8", "TZ=Europe/Berlin"])),
        ("POSIX zone rule", &[], &["TZ=CET-1CEST,M3.5.0,M10.5.0/3"], Ok(&["TZ=CET-1CEST,M3.5.0,M10.5.0/3"])),
        ("locale as a path", &[], &["LC_ALL=/tmp/x"], Err("not a plain locale name")),
        ("zone as a path", &[], &["TZ=:/tmp/zone"], Err("not a plain time zone")),
        ("zone that climbs", &[], &["TZ=../../tmp/zone"], Err("not a plain time zone")),
        ("locale path, named", &["exec:env:LC_ALL"], &["LC_ALL=/usr/lib/locale/x"], Ok(&["LC_ALL=/usr/lib/locale/x"])),
        ("ungranted variable", &[], &["GREETING=hi"], Err("capability denied: exec:env:GREETING")),
        ("named variable", &["exec:env:GREETING"], &["GREETING=hi"], Ok(&["GREETING=hi"])),
        ("pattern", &["exec:env:MY_*"], &["MY_A=1", "MY_B=2"], Ok(&["MY_A=1", "MY_B=2"])),
        ("hijack under a pattern", &["exec:env:*"], &["LD_PRELOAD=/tmp/x.so"], Err("LD_PRELOAD can make env load or run other code, so only a grant naming it exactly allows it: exec:env:LD_PRELOAD")),
        ("git hijack under a pattern", &["exec:env:GIT_*"], &["GIT_EXTERNAL_DIFF=id"], Err("exec:env:GIT_EXTERNAL_DIFF")),
        ("hijack named", &["exec:env:LD_PRELOAD"], &["LD_PRELOAD=/tmp/x.so"], Ok(&["LD_PRELOAD=/tmp/x.so"])),
        ("PATH is fixed", &["exec:env:*"], &["PATH=/tmp"], Err("exec:env:PATH")),
        ("PATH named replaces it", &["exec:env:PATH"], &["PATH=/opt/bin"], Ok(&["PATH=/opt/bin"])),
        ("HOME", &[], &["HOME=/tmp"], Err("exec:env:HOME")),
        ("one bad variable refuses all", &["exec:env:A"], &["A=1", "B=2"], Err("exec:env:B")),
        ("not KEY=VALUE", &[], &["JUSTKEY"], Err("invalid: env entry \"JUSTKEY\" is not KEY=VALUE")),
        ("empty key", &[], &["=x"], Err("is not KEY=VALUE")),
        ("last one wins", &[], &["LANG=C", "LANG=C.UTF-8"], Ok(&["LANG=C.UTF-8"])),
    ];
    for (name, extra, env, want) in cases {
        let mut texts = vec!["exec:/usr/bin/env:"];
        texts.extend_from_slice(extra);
        let got = outcome(&texts, "/usr/bin/env", &[], env);
        match (want, &got) {
            (Ok(expected), Ok(vetted)) => {
                let mut expected: Vec<String> = strings(expected);
                if !expected.iter().any(|e| e.starts_with("PATH=")) {
                    expected.push(path());
                }
                expected.sort();
                let seen: Vec<String> =
                    vetted.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
                assert_eq!(seen, expected, "{name}");
            }
            (Err(needle), Err(message)) if message.contains(needle) => {}
            _ => panic!("{name}: expected {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn a_link_is_judged_by_what_it_points_at() {
    let dir = tempfile::tempdir().unwrap();
    // `id` is on the allowlist; the file it links to is not.
    let link = dir.path().join("id");
    std::os::unix::fs::symlink("/usr/bin/bash", &link).unwrap();
    let glob = format!("exec:{}/*", dir.path().display());
    let got = outcome(&[&glob], link.to_str().unwrap(), &["-c", "id"], &[]);
    let message = got.expect_err("a link to bash under a glob");
    assert!(
        message.contains("id (a link to bash) runs other programs"),
        "{message}"
    );
    let named = format!("exec:{}", link.display());
    assert!(outcome(&[&named], link.to_str().unwrap(), &["-c", "id"], &[]).is_ok());
}

#[test]
fn working_directories_need_read_grants() {
    let args: Vec<String> = Vec::new();
    let ask = |dir| Ask {
        command: "/usr/bin/env",
        args: &args,
        dir: Some(dir),
        env: &[],
    };
    let set = grants(&["exec:/usr/bin/env", "fs:read:/tmp/**"]);
    let vetted = vet(&set, &ask("/tmp/../tmp/x")).unwrap();
    assert_eq!(vetted.dir.as_deref(), Some(Path::new("/tmp/x")));
    assert!(
        matches!(vet(&set, &ask("/etc")), Err(Rejection::Refused(e)) if e.message.contains("fs:read:/etc"))
    );
    assert!(
        matches!(vet(&set, &ask("tmp")), Err(Rejection::Invalid(e)) if e.message.contains("absolute"))
    );
}

#[test]
fn programs_resolve_without_the_host_path() {
    assert_eq!(
        resolve_program("/usr/bin/../bin/env").as_deref(),
        Some("/usr/bin/env")
    );
    assert!(resolve_program("sh").is_some_and(|p| p.ends_with("/sh")));
    assert_eq!(resolve_program("./local"), None);
    assert_eq!(resolve_program("no-such-program-anywhere"), None);
}

#[test]
fn a_glob_reaches_only_programs_root_alone_controls() {
    // A copy of an allowlisted program in a directory others may write (the temporary directory
    // is world-writable) could be swapped for another file between the check and the exec.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("id");
    std::fs::copy("/usr/bin/id", &copy).unwrap();
    let glob = format!("exec:{}/*", dir.path().display());
    let got = outcome(&[&glob], copy.to_str().unwrap(), &[], &[]);
    let message = got.expect_err("a program in a directory others control");
    assert!(
        message.contains("someone other than root could put another program under its name"),
        "{message}"
    );
    let named = format!("exec:{}", copy.display());
    assert!(outcome(&[&named], copy.to_str().unwrap(), &[], &[]).is_ok());
    assert!(outcome(&["exec:/usr/bin/*"], "/usr/bin/id", &[], &[]).is_ok());
}
