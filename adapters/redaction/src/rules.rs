//! Pattern rules for well-known token formats, each with keywords for an Aho-Corasick prefilter so
//! text without any keyword costs one scan and nothing else.
//!
//! The built-in rules are written from the formats' public descriptions (vendor documentation of
//! token prefixes and lengths). They compile as byte regexes with Unicode off, which keeps start-up
//! fast and matching linear.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{Regex, RegexBuilder};

use super::RedactionConfigError;
use super::entropy::shannon_entropy;

/// Farthest a rule looks on either side of a keyword inside one very long line.
const WINDOW: usize = 4096;
/// Longest match of a single-line rule with a keyword: it lies in the window around its keyword.
/// A stream that holds back this much of a long line sees every such match whole.
pub(crate) const MAX_LINE_MATCH: usize = 2 * WINDOW;
/// Farthest a multi-line rule (a PEM block) looks after its keyword.
const MULTILINE_WINDOW: usize = 64 * 1024;

/// A rule a user adds (Reglet's `redaction.patterns`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRule {
    /// Name shown in errors.
    pub id: String,
    /// The regex (Rust `regex` syntax, bytes, Unicode classes off). If it has a capture group, only
    /// the first group is redacted; otherwise the whole match.
    pub regex: String,
    /// Words one of which must occur (case-insensitively) for the rule to run; empty means always.
    pub keywords: Vec<String>,
}

struct BuiltinRule {
    id: &'static str,
    keywords: &'static [&'static str],
    regex: &'static str,
    /// Minimum Shannon entropy of the secret (bits per byte).
    entropy: Option<f64>,
    multiline: bool,
}

const BUILTIN: &[BuiltinRule] = &[
    BuiltinRule {
        id: "aws-access-key-id",
        keywords: &["akia", "asia", "abia", "acca", "a3t"],
        regex: r"\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "aws-secret-access-key",
        keywords: &["aws"],
        regex: r#"(?i)aws[a-z0-9_.\-]{0,20}(?:secret|key)[a-z0-9_.\-]{0,20}["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})\b"#,
        entropy: Some(3.0),
        multiline: false,
    },
    BuiltinRule {
        id: "github-token",
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        regex: r"\b(gh[pousr]_[A-Za-z0-9]{36,255})\b",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "github-fine-grained-pat",
        keywords: &["github_pat_"],
        regex: r"\b(github_pat_[A-Za-z0-9_]{50,255})\b",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "gitlab-token",
        keywords: &[
            "glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glft-", "glimt-", "glagent-", "gloas-",
        ],
        regex: r"\b((?:glpat|gldt|glrt|glptt|glcbt|glft|glimt|glagent|gloas)-[A-Za-z0-9_\-]{20,64})\b",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "slack-token",
        keywords: &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-", "xoxe"],
        regex: r"\b(xox(?:[baprs]|e\.xox[bp]|e)-[A-Za-z0-9\-]{10,250})",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "slack-app-token",
        keywords: &["xapp-"],
        regex: r"\b(xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+)\b",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "slack-webhook",
        keywords: &["hooks.slack.com"],
        regex: r"(hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_\-]{20,})",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "stripe-key",
        keywords: &[
            "sk_live_", "sk_test_", "rk_live_", "rk_test_", "sk_prod_", "rk_prod_", "whsec_",
        ],
        regex: r"\b((?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,247}|whsec_[A-Za-z0-9]{24,})\b",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "google-api-key",
        keywords: &["aiza"],
        regex: r"\b(AIza[A-Za-z0-9_\-]{35})",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "google-oauth-client-secret",
        keywords: &["gocspx-"],
        regex: r"\b(GOCSPX-[A-Za-z0-9_\-]{28})",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "npm-token",
        keywords: &["npm_"],
        regex: r"\b(npm_[A-Za-z0-9]{36})\b",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "pypi-token",
        keywords: &["pypi-ageichlwas5vcmc"],
        regex: r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "sendgrid-key",
        keywords: &["sg."],
        regex: r"\b(SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})\b",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "twilio-key",
        keywords: &["sk"],
        regex: r"\b(SK[0-9a-f]{32})\b",
        entropy: Some(3.0),
        multiline: false,
    },
    BuiltinRule {
        id: "openai-key",
        keywords: &["t3blbkfj", "sk-proj-", "sk-svcacct-", "sk-admin-"],
        regex: r"\b(sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_\-]{20,}(?:T3BlbkFJ[A-Za-z0-9_\-]{20,})?)",
        entropy: Some(3.5),
        multiline: false,
    },
    BuiltinRule {
        id: "anthropic-key",
        keywords: &["sk-ant-"],
        regex: r"\b(sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,})",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "hashicorp-vault-token",
        keywords: &["hvs.", "hvb.", "hvr."],
        regex: r"\b(hv[sbr]\.[A-Za-z0-9_\-]{24,})",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "docker-pat",
        keywords: &["dckr_pat_"],
        regex: r"\b(dckr_pat_[A-Za-z0-9_\-]{27,})",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "digitalocean-token",
        keywords: &["dop_v1_", "doo_v1_", "dor_v1_"],
        regex: r"\b(do[opr]_v1_[a-f0-9]{64})\b",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "shopify-token",
        keywords: &["shpat_", "shpca_", "shppa_", "shpss_"],
        regex: r"\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "databricks-token",
        keywords: &["dapi"],
        regex: r"\b(dapi[a-f0-9]{32}(?:-\d)?)\b",
        entropy: Some(3.0),
        multiline: false,
    },
    BuiltinRule {
        id: "grafana-token",
        keywords: &["glsa_", "glc_"],
        regex: r"\b(glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2})",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "postman-key",
        keywords: &["pmak-"],
        regex: r"\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "age-secret-key",
        keywords: &["age-secret-key-1"],
        regex: r"(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "azure-storage-key",
        keywords: &["accountkey="],
        regex: r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "jwt",
        keywords: &["eyj"],
        regex: r"\b(eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*)",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "private-key",
        keywords: &["private key"],
        regex: r"(-----BEGIN[ A-Z0-9_\-]{0,100}PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END[ A-Z0-9_\-]{0,100}PRIVATE KEY(?: BLOCK)?-----|\z))",
        entropy: None,
        multiline: true,
    },
    BuiltinRule {
        id: "url-credentials",
        keywords: &["://"],
        regex: r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:([^/\s@]{1,256})@",
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "authorization-header",
        keywords: &["authorization"],
        regex: r#"(?i)\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:(?:basic|bearer|token|digest|negotiate|apikey)\s+)?([^\s"',;\[][^\s"',;]*)"#,
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "cookie-header",
        keywords: &["cookie"],
        regex: r#"(?i)\b(?:set-)?cookie["']?\s*:\s*["']?([^\s"'\[][^\r\n"']*)"#,
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "password-assignment",
        keywords: &["password", "passwd", "pwd", "secret", "passphrase"],
        regex: r#"(?i)[a-z0-9_.\-]*(?:password|passwd|pwd|secret|passphrase)[a-z0-9_.\-]*["']?\s*[:=]\s*["']?([^\s"',;&\[][^\s"',;&]{3,})"#,
        entropy: None,
        multiline: false,
    },
    BuiltinRule {
        id: "generic-api-key",
        keywords: &["key", "token", "auth", "credential", "access"],
        regex: r#"(?i)[a-z0-9_.\-]*(?:api[_.\-]?key|apikey|token|auth|credential|access[_.\-]?key|secret[_.\-]?key|private[_.\-]?key)[a-z0-9_.\-]*["']?\s*[:=]\s*["']?([A-Za-z0-9+/=_\-.~]{16,})"#,
        entropy: Some(3.5),
        multiline: false,
    },
];

/// Values that assignment rules never treat as secrets.
const STOPWORDS: &[&str] = &[
    "true",
    "false",
    "null",
    "none",
    "nil",
    "undefined",
    "empty",
    "redacted",
    "required",
    "optional",
    "string",
    "xxxx",
    "****",
    "changeme",
    "placeholder",
    "basic",
    "bearer",
    "token",
    "digest",
    "negotiate",
    "apikey",
];

struct CompiledRule {
    id: String,
    regex: RuleRegex,
    group: usize,
    entropy: Option<f64>,
    multiline: bool,
    assignment: bool,
}

/// A rule's regex. A built-in one is compiled on the first text its keywords appear in: building
/// all of them took a third of a short `reglet check` process, and most runs need few or none.
enum RuleRegex {
    /// Compiled when the rule was configured (custom rules, so a bad one is refused up front).
    Ready(Regex),
    /// A built-in pattern (every one compiles: see the tests) and its regex once needed.
    Lazy(&'static str, OnceLock<Regex>),
}

impl RuleRegex {
    fn get(&self, id: &str) -> Option<&Regex> {
        match self {
            RuleRegex::Ready(regex) => Some(regex),
            RuleRegex::Lazy(pattern, cell) => {
                if let Some(regex) = cell.get() {
                    return Some(regex);
                }
                // Fail closed: were a built-in not to compile, its windows are hidden whole.
                let regex = compile(id, pattern)
                    .or_else(|_| compile(id, "(?s).+"))
                    .ok()?;
                Some(cell.get_or_init(|| regex))
            }
        }
    }
}

/// Finds keyword occurrences, case-insensitively.
///
/// The fast form lowercases the text once and runs SIMD "packed" searchers (Teddy, at most 64
/// keywords each) over it; where SIMD is unavailable an ASCII-case-insensitive DFA does the same
/// job a few times slower. Both report, for every position where a keyword starts, the longest one.
enum Prefilter {
    /// Packed searchers for long texts, and the DFA for short ones (keys, most values), where
    /// copying to lower case would cost more than it saves.
    Packed(
        Vec<(aho_corasick::packed::Searcher, Vec<usize>)>,
        AhoCorasick,
    ),
    Dfa(AhoCorasick),
}

/// Texts shorter than this are scanned by the DFA even when packed searchers exist.
const PACKED_MIN_LEN: usize = 256;

/// Keywords per packed searcher (Teddy's limit).
const PACKED_CHUNK: usize = 64;

impl Prefilter {
    fn new(keywords: &[String]) -> Result<Self, RedactionConfigError> {
        let mut packed = Vec::new();
        for (chunk_index, chunk) in keywords.chunks(PACKED_CHUNK).enumerate() {
            let mut config = aho_corasick::packed::Config::new();
            config.match_kind(aho_corasick::packed::MatchKind::LeftmostLongest);
            let mut builder = config.builder();
            builder.extend(chunk);
            match builder.build() {
                Some(searcher) => {
                    let ids = (0..chunk.len())
                        .map(|i| chunk_index * PACKED_CHUNK + i)
                        .collect();
                    packed.push((searcher, ids));
                }
                None => {
                    packed.clear();
                    break;
                }
            }
        }
        let dfa = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(keywords)
            .map_err(|e| RedactionConfigError::Automaton(e.to_string()))?;
        Ok(match packed.is_empty() {
            true => Prefilter::Dfa(dfa),
            false => Prefilter::Packed(packed, dfa),
        })
    }

    /// The DFA form, whatever the CPU supports (for tests of the fallback).
    #[cfg(test)]
    fn dfa(keywords: &[String]) -> Self {
        Prefilter::Dfa(
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(keywords)
                .unwrap(),
        )
    }

    /// `(start, keyword index)` of every keyword occurrence, by position.
    fn hits(&self, text: &[u8]) -> Vec<(usize, usize)> {
        let mut hits = Vec::new();
        match self {
            Prefilter::Dfa(ac) => super::known::every_start(ac, text, |m| {
                hits.push((m.start(), m.pattern().as_usize()))
            }),
            Prefilter::Packed(_, ac) if text.len() < PACKED_MIN_LEN => {
                super::known::every_start(ac, text, |m| {
                    hits.push((m.start(), m.pattern().as_usize()))
                })
            }
            Prefilter::Packed(searchers, _) => {
                let lower = text.to_ascii_lowercase();
                for (searcher, ids) in searchers {
                    let mut at = 0;
                    while at < lower.len() {
                        let Some(m) =
                            searcher.find_in(&lower, aho_corasick::Span::from(at..lower.len()))
                        else {
                            break;
                        };
                        hits.push((m.start(), ids[m.pattern().as_usize()]));
                        at = m.start() + 1;
                    }
                }
                if searchers.len() > 1 {
                    hits.sort_unstable();
                }
            }
        }
        hits
    }
}

/// All pattern rules and the keyword prefilter over them.
pub(crate) struct RuleSet {
    rules: Vec<CompiledRule>,
    /// For each keyword (by index), the rules it enables.
    keyword_rules: Vec<Vec<usize>>,
    prefilter: Option<Prefilter>,
    /// Rules without keywords: they run on every text.
    always: Vec<usize>,
}

impl RuleSet {
    /// The rule set for a configuration; the common built-in-only set is compiled once per process.
    pub(crate) fn shared(
        builtin: bool,
        custom: &[CustomRule],
    ) -> Result<Arc<Self>, RedactionConfigError> {
        static BUILTIN_ONLY: OnceLock<Arc<RuleSet>> = OnceLock::new();
        if builtin && custom.is_empty() {
            if let Some(set) = BUILTIN_ONLY.get() {
                return Ok(set.clone());
            }
            let set = Arc::new(RuleSet::new(true, &[])?);
            return Ok(BUILTIN_ONLY.get_or_init(|| set).clone());
        }
        Ok(Arc::new(RuleSet::new(builtin, custom)?))
    }

    pub(crate) fn new(builtin: bool, custom: &[CustomRule]) -> Result<Self, RedactionConfigError> {
        let mut rules = Vec::new();
        let mut keywords: Vec<(String, usize)> = Vec::new();
        if builtin {
            for rule in BUILTIN {
                let index = rules.len();
                rules.push(CompiledRule {
                    id: rule.id.to_owned(),
                    regex: RuleRegex::Lazy(rule.regex, OnceLock::new()),
                    group: 1,
                    entropy: rule.entropy,
                    multiline: rule.multiline,
                    assignment: matches!(
                        rule.id,
                        "password-assignment"
                            | "generic-api-key"
                            | "authorization-header"
                            | "cookie-header"
                    ),
                });
                keywords.extend(rule.keywords.iter().map(|k| (k.to_string(), index)));
            }
        }
        let mut always = Vec::new();
        for rule in custom {
            let index = rules.len();
            let regex = compile(&rule.id, &rule.regex)?;
            let group = usize::from(regex.captures_len() > 1);
            rules.push(CompiledRule {
                id: rule.id.clone(),
                regex: RuleRegex::Ready(regex),
                group,
                entropy: None,
                multiline: false,
                assignment: false,
            });
            if rule.keywords.is_empty() {
                always.push(index);
            } else {
                keywords.extend(rule.keywords.iter().map(|k| (k.to_lowercase(), index)));
            }
        }
        let mut unique: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (keyword, rule) in keywords {
            match unique.iter().position(|k| *k == keyword) {
                Some(i) => keyword_rules[i].push(rule),
                None => {
                    unique.push(keyword);
                    keyword_rules.push(vec![rule]);
                }
            }
        }
        // A leftmost-longest search reports "authorization", never the "auth" inside it, so each
        // keyword also enables the rules of every keyword it contains.
        let closure: Vec<Vec<usize>> = unique
            .iter()
            .map(|outer| {
                let mut rules: Vec<usize> = Vec::new();
                for (inner, inner_rules) in unique.iter().zip(&keyword_rules) {
                    if outer.contains(inner.as_str()) {
                        rules.extend(inner_rules);
                    }
                }
                rules.sort_unstable();
                rules.dedup();
                rules
            })
            .collect();
        let keyword_rules = closure;
        let prefilter = if unique.is_empty() {
            None
        } else {
            Some(Prefilter::new(&unique)?)
        };
        Ok(RuleSet {
            rules,
            keyword_rules,
            prefilter,
            always,
        })
    }

    /// Byte ranges of every secret the rules find in `text`, and, when `extents` is given, the whole
    /// match of every rule there (keyword and context included, secret or not): where a stream must
    /// not cut, or the part after the cut would no longer match.
    pub(crate) fn find(
        &self,
        text: &[u8],
        out: &mut Vec<Range<usize>>,
        mut extents: Option<&mut Vec<Range<usize>>>,
    ) {
        for &rule in &self.always {
            self.run(rule, text, 0, out, extents.as_deref_mut());
        }
        let Some(prefilter) = &self.prefilter else {
            return;
        };
        // Evaluate candidate rules once per window (a line, or a bounded slice of a long line),
        // with the union of the rules whose keywords occur in it.
        let mut window: Option<Range<usize>> = None;
        let mut pending: Vec<usize> = Vec::new();
        let mut multiline_done = false;
        for (pos, keyword) in prefilter.hits(text) {
            if let Some(w) = &window
                && !w.contains(&pos)
            {
                let extents = extents.as_deref_mut();
                self.run_window(
                    text,
                    w.clone(),
                    &mut pending,
                    &mut multiline_done,
                    out,
                    extents,
                );
            }
            if window.as_ref().is_none_or(|w| !w.contains(&pos)) {
                window = Some(line_window(text, pos));
            }
            for &rule in &self.keyword_rules[keyword] {
                if !pending.contains(&rule) {
                    pending.push(rule);
                }
            }
        }
        if let Some(w) = window {
            self.run_window(text, w, &mut pending, &mut multiline_done, out, extents);
        }
    }

    fn run_window(
        &self,
        text: &[u8],
        window: Range<usize>,
        pending: &mut Vec<usize>,
        multiline_done: &mut bool,
        out: &mut Vec<Range<usize>>,
        mut extents: Option<&mut Vec<Range<usize>>>,
    ) {
        for rule in pending.drain(..) {
            if self.rules[rule].multiline {
                if *multiline_done {
                    continue;
                }
                // A PEM block spans lines: search from this line on, far enough to reach its end.
                let end = (window.start + MULTILINE_WINDOW).min(text.len());
                let extents = extents.as_deref_mut();
                self.run(rule, &text[window.start..end], window.start, out, extents);
                if end == text.len() {
                    *multiline_done = true;
                }
            } else {
                let extents = extents.as_deref_mut();
                self.run(rule, &text[window.clone()], window.start, out, extents);
            }
        }
    }

    fn run(
        &self,
        index: usize,
        text: &[u8],
        offset: usize,
        out: &mut Vec<Range<usize>>,
        mut extents: Option<&mut Vec<Range<usize>>>,
    ) {
        let rule = &self.rules[index];
        let Some(regex) = rule.regex.get(&rule.id) else {
            return;
        };
        for caps in regex.captures_iter(text) {
            if let (Some(extents), Some(whole)) = (extents.as_deref_mut(), caps.get(0)) {
                extents.push(offset + whole.start()..offset + whole.end());
            }
            let Some(m) = caps.get(rule.group).or_else(|| caps.get(0)) else {
                continue;
            };
            let secret = m.as_bytes();
            if secret.is_empty() {
                continue;
            }
            if let Some(min) = rule.entropy
                && shannon_entropy(secret) < min
            {
                continue;
            }
            if rule.assignment && is_stopword(secret) {
                continue;
            }
            out.push(offset + m.start()..offset + m.end());
        }
    }

    /// The ids of the rules, for diagnostics.
    pub(crate) fn ids(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.id.as_str()).collect()
    }
}

fn is_stopword(value: &[u8]) -> bool {
    let value = value.to_ascii_lowercase();
    STOPWORDS.iter().any(|s| value == s.as_bytes())
        || value.starts_with(b"${")
        || value.starts_with(b"{{")
        || value.starts_with(b"<")
        || value.iter().all(|b| *b == b'*' || *b == b'x')
}

fn compile(id: &str, pattern: &str) -> Result<Regex, RedactionConfigError> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(16 << 20)
        .build()
        .map_err(|e| RedactionConfigError::InvalidRule {
            id: id.to_owned(),
            reason: e.to_string(),
        })
}

/// The line around `pos`, cut to [`WINDOW`] bytes on either side when the line is longer.
fn line_window(text: &[u8], pos: usize) -> Range<usize> {
    let lo = pos.saturating_sub(WINDOW);
    let hi = (pos + WINDOW).min(text.len());
    let start = memchr::memrchr(b'\n', &text[lo..pos]).map_or(lo, |i| lo + i + 1);
    let end = memchr::memchr(b'\n', &text[pos..hi]).map_or(hi, |i| pos + i);
    start..end
}

#[cfg(test)]
mod tests;
