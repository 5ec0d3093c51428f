//! `StringMatches` patterns: `*` matches any run of characters (including none); `\*` is a
//! literal star and `\\` a literal backslash. Nothing else is special (no `?`, no classes).

/// A compiled `StringMatches` pattern: the literal pieces between unescaped stars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Literal pieces; a star sits between each pair. One piece means no star at all.
    pieces: Vec<String>,
}

impl Pattern {
    /// Compiles `source`. A backslash makes the next character literal; a trailing lone backslash
    /// stands for itself.
    pub fn new(source: &str) -> Pattern {
        let mut pieces = vec![String::new()];
        let mut chars = source.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let lit = chars.next().unwrap_or('\\');
                    if let Some(last) = pieces.last_mut() {
                        last.push(lit);
                    }
                }
                '*' => pieces.push(String::new()),
                _ => {
                    if let Some(last) = pieces.last_mut() {
                        last.push(c);
                    }
                }
            }
        }
        Pattern { pieces }
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return text.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            return text == first;
        };
        // Anchored prefix and suffix, which must not overlap; the middle pieces are then found
        // left to right, which is optimal for star-only globs.
        if text.len() < first.len() + last.len()
            || !text.starts_with(first.as_str())
            || !text.ends_with(last.as_str())
        {
            return false;
        }
        let mut window = &text[first.len()..text.len() - last.len()];
        for piece in middle {
            match window.find(piece.as_str()) {
                Some(at) => window = &window[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            ("log-*.txt", "log-2024.txt", true),
            ("log-*.txt", "log-.txt", true),
            ("log-*.txt", "log-2024.txt.bak", false),
            ("log-*.txt", "xlog-1.txt", false),
            ("*", "", true),
            ("*", "anything", true),
            ("**", "a", true),
            ("", "", true),
            ("", "a", false),
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("*.txt", ".txt", true),
            ("foo*", "foobar", true),
            ("*bar", "foobar", true),
            ("*oba*", "foobar", true),
            ("a?c", "abc", false),
            ("a?c", "a?c", true),
            ("[ab]", "a", false),
            ("[ab]", "[ab]", true),
            (r"a\*b", "a*b", true),
            (r"a\*b", "axb", false),
            (r"a\\b", r"a\b", true),
            (r"a\\*", r"a\xyz", true),
            (r"a\\\*", r"a\*", true),
            (r"a\", r"a\", true),
            ("h\u{e9}*o", "h\u{e9}llo", true),
            ("*\u{1F600}", "smile \u{1F600}", true),
        ];
        for &(pattern, text, expected) in cases {
            assert_eq!(
                Pattern::new(pattern).matches(text),
                expected,
                "{pattern:?} ~ {text:?}"
            );
        }
    }
}
