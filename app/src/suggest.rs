//! "Did you mean …?": the closest known word to a misspelt one.

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo:
/// at most one edit for short words, two for words of five or more characters, three from ten.
/// Ties go to the earliest candidate. Case differences count as edits, as keys are case-sensitive.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = word.chars().count();
    let limit = match len {
        0..=4 => 1,
        5..=9 => 2,
        _ => 3,
    };
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters each cost one (so `expcet` is one edit from `expect`).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        for (a, b, want) in [
            ("", "", 0),
            ("expect", "expect", 0),
            ("expects", "expect", 1),
            ("expcet", "expect", 1),
            ("sevrity", "severity", 1),
            ("kitten", "sitting", 3),
            ("", "abc", 3),
        ] {
            assert_eq!(distance(a, b), want, "{a} / {b}");
        }
    }

    #[test]
    fn suggests_only_plausible_typos() {
        let keys = [
            "id",
            "name",
            "description",
            "severity",
            "depends_on",
            "observations",
        ];
        assert_eq!(closest("nmae", keys), Some("name"));
        assert_eq!(closest("dependson", keys), Some("depends_on"));
        assert_eq!(closest("observation", keys), Some("observations"));
        assert_eq!(closest("ids", keys), Some("id"));
        assert_eq!(closest("remediation", keys), None);
        assert_eq!(closest("x", keys), None);
    }
}
