//! Text made safe for a terminal: what a profile or a plugin wrote is shown, never obeyed.

/// `text` with every control character escaped (`\u{1b}`, `\n`), so text from a profile's config
/// or a plugin's evidence cannot move the cursor, retitle the terminal or forge extra lines.
pub fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(printable("plain text"), "plain text");
        assert_eq!(printable("a\x1b]0;pwned\x07b"), "a\\u{1b}]0;pwned\\u{7}b");
        assert_eq!(printable("two\nlines\r"), "two\\nlines\\r");
    }
}
