//! Absolute paths normalised lexically, and the glob patterns fs and exec grants are written in.

use std::fmt;

use super::GrantParseError;

/// True when `path` is absolute, free of NUL, and already what [`normalize_path`] would return.
fn is_normal(path: &str) -> bool {
    path.len() > 1
        && path.starts_with('/')
        && !path.contains('\0')
        && !path[1..]
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
}

/// Normalises an absolute path lexically: `.` and empty segments vanish, `..` removes the segment
/// before it and never climbs above `/`. Returns `None` for relative paths and paths with NUL.
///
/// This is what makes `/tmp/../etc/passwd` mean `/etc/passwd` before any grant is consulted.
pub fn normalize_path(path: &str) -> Option<String> {
    if !path.starts_with('/') || path.contains('\0') {
        return None;
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    Some(format!("/{}", segments.join("/")))
}

/// One segment of a path pattern, or one token of an argument pattern: both are sequences of
/// whole items (path segments, arguments) matched one item per segment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Segment {
    /// Matches exactly this text.
    Literal(String),
    /// A glob over one segment (`*`, `?`, `[a-z]`, `[!x]`).
    Glob(String),
    /// `**`: zero or more whole segments.
    AnyDepth,
}

/// True when the pattern `segments` matches the items `parts`, one segment per item and `**`
/// for any number of items.
pub(crate) fn sequence_matches(segments: &[Segment], parts: &[&str]) -> bool {
    // can[i][j]: pattern segments i.. match parts j..
    let (p, n) = (segments.len(), parts.len());
    // One flat table, row i at i * (n + 1).
    let width = n + 1;
    let mut can = vec![false; (p + 1) * width];
    can[p * width + n] = true;
    for i in (0..p).rev() {
        for j in (0..=n).rev() {
            let next = (i + 1) * width + j;
            can[i * width + j] = match &segments[i] {
                Segment::AnyDepth => can[next] || (j < n && can[i * width + j + 1]),
                Segment::Literal(lit) => j < n && lit == parts[j] && can[next + 1],
                Segment::Glob(glob) => j < n && glob_match(glob, parts[j]) && can[next + 1],
            };
        }
    }
    can[0]
}

/// True when every item sequence `b` matches is matched by `a` (a sound, not complete, test).
pub(crate) fn sequence_covers(a: &[Segment], b: &[Segment]) -> bool {
    let (p, n) = (a.len(), b.len());
    let mut can = vec![vec![false; n + 1]; p + 1];
    can[p][n] = true;
    for i in (0..p).rev() {
        for j in (0..=n).rev() {
            can[i][j] = match (&a[i], b.get(j)) {
                (Segment::AnyDepth, _) => can[i + 1][j] || (j < n && can[i][j + 1]),
                (_, None) | (_, Some(Segment::AnyDepth)) => false,
                (mine, Some(theirs)) => segment_covers(mine, theirs) && can[i + 1][j + 1],
            };
        }
    }
    can[0][0]
}

/// An absolute path glob: `*`, `?` and `[...]` match within one segment, `**` matches any number of
/// segments (including none, so `/var/log/**` covers `/var/log` itself).
///
/// Patterns are normalised when parsed; `..` is refused so a pattern means what it says. The lone
/// pattern `**` (Reglet's file plugin declares `read:**`) means every path and is kept as `/**`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathPattern {
    segments: Vec<Segment>,
}

impl PathPattern {
    /// Parses a pattern; it must be absolute (or exactly `**`) and free of `..`.
    ///
    /// # Errors
    ///
    /// [`GrantParseError::InvalidPath`] for a relative pattern, one with `..`, or one holding a
    /// NUL byte.
    pub fn parse(text: &str) -> Result<Self, GrantParseError> {
        let bad = |reason| GrantParseError::InvalidPath {
            pattern: text.to_owned(),
            reason,
        };
        if text == "**" {
            return Ok(PathPattern {
                segments: vec![Segment::AnyDepth],
            });
        }
        if text.contains('\0') {
            return Err(bad("it contains a NUL byte"));
        }
        if !text.starts_with('/') {
            return Err(bad("it must be an absolute path (or ** for everything)"));
        }
        let mut segments = Vec::new();
        for part in text.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err(bad("'..' is not allowed in a grant")),
                "**" => {
                    if segments.last() != Some(&Segment::AnyDepth) {
                        segments.push(Segment::AnyDepth);
                    }
                }
                glob if glob.contains(['*', '?', '[']) => {
                    segments.push(Segment::Glob(glob.to_owned()))
                }
                literal => segments.push(Segment::Literal(literal.to_owned())),
            }
        }
        Ok(PathPattern { segments })
    }

    /// True when the (normalised, absolute) `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        // Checked on every path a sandboxed plugin touches: an already-normal path (the usual
        // case) and a literal pattern are matched without allocating.
        let normalized;
        let path = if is_normal(path) {
            path
        } else {
            match normalize_path(path) {
                Some(p) => {
                    normalized = p;
                    normalized.as_str()
                }
                None => return false,
            }
        };
        let parts = path.split('/').filter(|p| !p.is_empty());
        if self.is_literal() {
            return parts.eq(self.segments.iter().map(|s| match s {
                Segment::Literal(lit) => lit.as_str(),
                Segment::Glob(_) | Segment::AnyDepth => unreachable!("a literal pattern"),
            }));
        }
        let parts: Vec<&str> = parts.collect();
        sequence_matches(&self.segments, &parts)
    }

    /// [`PathPattern::matches`] without its fast paths, as the reference the tests compare to.
    #[cfg(test)]
    pub(crate) fn matches_by_table(&self, path: &str) -> bool {
        let Some(path) = normalize_path(path) else {
            return false;
        };
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        sequence_matches(&self.segments, &parts)
    }

    /// True when every path `other` matches is matched by `self` (a sound, not complete, test).
    pub fn covers(&self, other: &PathPattern) -> bool {
        sequence_covers(&self.segments, &other.segments)
    }

    /// The longest leading run of literal segments, as a path: the deepest directory that holds
    /// everything the pattern can match (`/var/log/*.log` → `/var/log`, `/etc/hosts` → `/etc/hosts`).
    pub fn literal_prefix(&self) -> String {
        let literals: Vec<&str> = self
            .segments
            .iter()
            .map_while(|s| match s {
                Segment::Literal(lit) => Some(lit.as_str()),
                _ => None,
            })
            .collect();
        format!("/{}", literals.join("/"))
    }

    /// True when the pattern is a plain path with no wildcard.
    pub fn is_literal(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Literal(_)))
    }

    /// The last segment when it is literal (a command's file name, for instance).
    pub fn file_name(&self) -> Option<&str> {
        match self.segments.last() {
            Some(Segment::Literal(lit)) => Some(lit),
            _ => None,
        }
    }

    /// True when the pattern can match paths below `dir` or `dir` itself (used to decide what to
    /// expose of a directory).
    pub fn may_match_under(&self, dir: &str) -> bool {
        let Some(dir) = normalize_path(dir) else {
            return false;
        };
        let parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        for (k, part) in parts.iter().enumerate() {
            match self.segments.get(k) {
                None => return false,
                Some(Segment::AnyDepth) => return true,
                Some(Segment::Literal(lit)) if lit != part => return false,
                Some(Segment::Glob(glob)) if !glob_match(glob, part) => return false,
                Some(_) => {}
            }
        }
        true
    }
}

fn segment_covers(mine: &Segment, theirs: &Segment) -> bool {
    match (mine, theirs) {
        (Segment::Literal(a), Segment::Literal(b)) => a == b,
        (Segment::Glob(g), Segment::Literal(b)) => glob_match(g, b),
        (Segment::Glob(g), Segment::Glob(h)) => g == h || g == "*",
        _ => false,
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for segment in &self.segments {
            f.write_str("/")?;
            match segment {
                Segment::Literal(text) | Segment::Glob(text) => f.write_str(text)?,
                Segment::AnyDepth => f.write_str("**")?,
            }
        }
        Ok(())
    }
}

/// Shell-style match of one segment: `*` any run, `?` one character, `[...]` a class with ranges
/// and `!`/`^` negation. An unclosed `[` is an ordinary character.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class_match(&p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((star_p, star_t)) => {
                pi = star_p + 1;
                ti = star_t + 1;
                star = Some((star_p, star_t + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`; returns (matched, index after `]`),
/// or `None` when the class is not closed.
pub(crate) fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negated = matches!(p.get(i), Some('!') | Some('^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(text: &str) -> PathPattern {
        PathPattern::parse(text).unwrap()
    }

    #[test]
    fn normalisation() {
        for (input, want) in [
            ("/tmp/../etc/passwd", Some("/etc/passwd")),
            ("/../../etc", Some("/etc")),
            ("//a/./b//", Some("/a/b")),
            ("/", Some("/")),
            ("relative/path", None),
            ("/a\0b", None),
        ] {
            assert_eq!(normalize_path(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn matching_table() {
        for (pattern, path, want) in [
            ("/etc/**", "/etc", true),
            ("/etc/**", "/etc/ssh/sshd_config", true),
            ("/etc/**", "/etcetera", false),
            ("/tmp/**", "/tmp/../etc/passwd", false),
            ("/etc/hosts", "/etc/hosts", true),
            ("/etc/hosts", "/etc/hostsx", false),
            ("/var/log/*.log", "/var/log/syslog.log", true),
            ("/var/log/*.log", "/var/log/a/b.log", false),
            ("/home/*/.ssh/**", "/home/alice/.ssh/id_rsa", true),
            ("/dev/tty[0-9]", "/dev/tty7", true),
            ("/dev/tty[!0-9]", "/dev/tty7", false),
            ("/a/?", "/a/b", true),
            ("/a/?", "/a/bc", false),
            ("**", "/anything/at/all", true),
            ("/**", "/", true),
            ("/a/**/z", "/a/z", true),
            ("/a/**/z", "/a/b/c/z", true),
            ("/a/[b", "/a/[b", true),
        ] {
            assert_eq!(pat(pattern).matches(path), want, "{pattern} vs {path}");
        }
    }

    #[test]
    fn covering_table() {
        for (a, b, want) in [
            ("/**", "/etc/hosts", true),
            ("/etc/**", "/etc/ssh/**", true),
            ("/etc/ssh/**", "/etc/**", false),
            ("/etc/*", "/etc/hosts", true),
            ("/etc/*", "/etc/ssh/sshd_config", false),
            ("/etc/*.conf", "/etc/a.conf", true),
            ("/etc/*.conf", "/etc/*", false),
            ("/etc/*", "/etc/*.conf", true),
            ("/etc/hosts", "/etc/*", false),
            ("/etc/**", "/etc", true),
        ] {
            assert_eq!(pat(a).covers(&pat(b)), want, "{a} covers {b}");
        }
    }

    #[test]
    fn parse_rules() {
        assert_eq!(pat("**").to_string(), "/**");
        assert_eq!(pat("/etc//ssh/./**/**").to_string(), "/etc/ssh/**");
        assert_eq!(pat("/").to_string(), "/");
        for bad in ["etc/**", "/etc/../root", "./x", ""] {
            assert!(PathPattern::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(pat("/var/log/*.log").literal_prefix(), "/var/log");
        assert_eq!(pat("/etc/hosts").literal_prefix(), "/etc/hosts");
        assert!(pat("/etc/ssh/*").may_match_under("/etc"));
        assert!(!pat("/etc/ssh/*").may_match_under("/var"));
    }
}
