//! Which regular-expression rules a text can skip without running them.
//!
//! A rule's pattern is read once, when the lexicon is compiled, into a set
//! of bytes at least one of which is in every match: `:` for a URL rule,
//! `@` for an e-mail one, `+` for an international phone number. A text
//! with none of those bytes cannot match, so the rule is neither run nor —
//! in a fresh instance, where every rule would otherwise be compiled for
//! every request — compiled. Most chat has no `@` or `://`, so most
//! messages run no rule at all.
//!
//! The set is a necessary condition, never a sufficient one: a text with
//! one of its bytes still runs the rule, which alone decides.
//!
//! Patterns are matched by `regex-lite` but read here with `regex-syntax`,
//! whose Unicode mode is a superset of `regex-lite`'s ASCII classes and
//! ASCII case folding. One case is the other way round: a negated class
//! (`\W`, `[^\w]`) leaves out fewer non-ASCII characters in `regex-lite`.
//! So every class's set also holds every byte that starts a non-ASCII
//! character, which keeps the condition necessary under either reading.
//! A pattern `regex-syntax` cannot read gets the full set: always run.

use regex_syntax::hir::{Class, Hir, HirKind};

/// A set of byte values.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteSet([u64; 4]);

impl std::fmt::Debug for ByteSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries((0..=255u8).filter(|&b| self.contains(b)))
            .finish()
    }
}

/// The bytes that start a character of two or more bytes in UTF-8.
const NON_ASCII_LEADS: std::ops::RangeInclusive<u8> = 0xC2..=0xF4;

impl ByteSet {
    /// Every byte: a rule that must always run.
    pub const ALL: ByteSet = ByteSet([u64::MAX; 4]);

    /// The bytes `bytes` holds.
    pub fn of(bytes: &[u8]) -> Self {
        let mut set = Self::default();
        for &b in bytes {
            set.insert(b);
        }
        set
    }

    fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    fn insert_range(&mut self, bytes: std::ops::RangeInclusive<u8>) {
        for b in bytes {
            self.insert(b);
        }
    }

    /// Whether `b` is in the set.
    pub fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    /// Whether the two sets share a byte.
    pub fn meets(&self, other: &ByteSet) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }

    fn union(mut self, other: ByteSet) -> Self {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
        self
    }

    /// How often a text is expected to hold one of the bytes: letters,
    /// digits, spaces and non-ASCII bytes are everywhere in chat, ASCII
    /// punctuation is not. Only used to pick the most telling set.
    fn commonness(&self) -> u32 {
        (0..=255u8)
            .filter(|&b| self.contains(b))
            .map(|b| {
                if b.is_ascii_graphic() && !b.is_ascii_alphanumeric() {
                    1
                } else {
                    8
                }
            })
            .sum()
    }

    /// The set as 32 bytes, for the compiled lexicon.
    pub fn to_bytes(self) -> [u8; 32] {
        let mut out = [0; 32];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    /// The set [`to_bytes`](Self::to_bytes) wrote.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut words = [0; 4];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            *word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        }
        Self(words)
    }
}

/// The bytes one of which every match of `pattern` contains; the full set
/// when there is no such byte (a pattern that can match the empty string)
/// or the pattern cannot be read.
pub fn required_bytes(pattern: &str) -> ByteSet {
    match regex_syntax::Parser::new().parse(pattern) {
        Ok(hir) => needed(&hir).unwrap_or(ByteSet::ALL),
        Err(_) => ByteSet::ALL,
    }
}

/// The least common set of bytes one of which every match of `hir`
/// contains, or `None` when a match may contain no particular byte.
fn needed(hir: &Hir) -> Option<ByteSet> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(literal) => literal
            .0
            .iter()
            .map(|&b| ByteSet::of(&[b]))
            .min_by_key(ByteSet::commonness),
        HirKind::Class(Class::Unicode(class)) => {
            let mut set = ByteSet::default();
            for range in class.ranges() {
                set.insert_range(utf8_lead(range.start())..=utf8_lead(range.end()));
            }
            set.insert_range(NON_ASCII_LEADS);
            Some(set)
        }
        HirKind::Class(Class::Bytes(class)) => {
            let mut set = ByteSet::default();
            for range in class.ranges() {
                set.insert_range(range.start()..=range.end());
            }
            Some(set)
        }
        HirKind::Repetition(repetition) if repetition.min > 0 => needed(&repetition.sub),
        HirKind::Repetition(_) => None,
        HirKind::Capture(capture) => needed(&capture.sub),
        HirKind::Concat(parts) => parts
            .iter()
            .filter_map(needed)
            .min_by_key(ByteSet::commonness),
        HirKind::Alternation(branches) => branches
            .iter()
            .map(needed)
            .try_fold(ByteSet::default(), |all, branch| Some(all.union(branch?))),
    }
}

/// The first byte of `c` in UTF-8 (it grows with the code point, so a
/// range of characters starts with the bytes between its ends' leads).
fn utf8_lead(c: char) -> u8 {
    let mut buffer = [0; 4];
    c.encode_utf8(&mut buffer).as_bytes()[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(pattern: &str, text: &str) -> bool {
        required_bytes(pattern).meets(&ByteSet::of(text.as_bytes()))
    }

    #[test]
    fn the_shipped_contact_rules_need_their_punctuation() {
        let url = r"(?i)https?://[!#-;=?-~]+";
        let email = r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}\b";
        let international = r"\+[0-9]{1,3}[ -]?[0-9]{2,4}([ -]?[0-9]{2,4}){2,3}\b";
        assert_eq!(format!("{:?}", required_bytes(url)), "{58}");
        assert_eq!(format!("{:?}", required_bytes(email)), "{64}");
        assert_eq!(format!("{:?}", required_bytes(international)), "{43}");
        assert!(!runs(url, "see you at the station tonight"));
        assert!(runs(url, "see HTTPS://example.com"));
        assert!(!runs(email, "mail me, not here"));
        assert!(runs(email, "a@b.cn"));
    }

    #[test]
    fn a_pattern_that_can_match_nothing_in_particular_always_runs() {
        for pattern in ["a*", "", r"\b", "(a|)", "x?y*", "(?i)(ab|c*)"] {
            assert_eq!(required_bytes(pattern), ByteSet::ALL, "{pattern}");
        }
        // Not a pattern `regex-syntax` reads.
        assert_eq!(required_bytes("(unclosed"), ByteSet::ALL);
    }

    #[test]
    fn alternation_needs_a_byte_of_any_branch() {
        let set = required_bytes("cat@|dog#");
        assert!(set.contains(b'@') && set.contains(b'#'));
        assert!(runs("cat@|dog#", "dog#"));
        assert!(!runs("cat@|dog#", "cat dog"));
    }

    #[test]
    fn negated_classes_keep_every_non_ascii_lead() {
        // `regex-lite`'s `\W` takes every non-ASCII character, the
        // Unicode reading takes fewer; the set must not miss them.
        assert!(runs(r"\W", "中"));
        assert!(runs(r"[^a-z]", "é"));
        assert!(runs(r"(?i)k", "\u{212A}"));
    }

    #[test]
    fn a_rule_skipped_by_its_set_never_matches() {
        let patterns = [
            r"(?i)https?://[!#-;=?-~]+",
            r"(?i)\bwww\.[a-z0-9-]+(\.[a-z0-9-]+)+[!#-;=?-~]*",
            r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}\b",
            r"(\+?86[ -]?)?\b1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}\b",
            r"\W\d+",
            "微信|vx",
        ];
        let texts = [
            "visit www.example.com now",
            "HTTP://x.y",
            "call 13812345678",
            "+86 138 1234 5678",
            "me@example.org",
            "加我微信",
            "no contact here",
            "数字１２３",
            "tab\t42",
        ];
        for pattern in patterns {
            let regex = regex_lite::Regex::new(pattern).unwrap();
            for text in texts {
                if regex.is_match(text) {
                    assert!(runs(pattern, text), "{pattern} skips {text:?}");
                }
            }
        }
    }

    proptest::proptest! {
        /// Whatever the text, a rule its set skips does not match it.
        #[test]
        fn the_set_is_necessary_for_the_shipped_rules(
            text in r"[a-zA-Z0-9 .:/@+\-_%#中微信é\u{212A}ſ１]{0,40}"
        ) {
            for pattern in [
                r"(?i)https?://[!#-;=?-~]+",
                r"(?i)\bwww\.[a-z0-9-]+(\.[a-z0-9-]+)+[!#-;=?-~]*",
                r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}\b",
                r"(\+?86[ -]?)?\b1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}\b",
                r"\+[0-9]{1,3}[ -]?[0-9]{2,4}([ -]?[0-9]{2,4}){2,3}\b",
                r"(?i)k\W",
            ] {
                let regex = regex_lite::Regex::new(pattern).unwrap();
                proptest::prop_assert!(!regex.is_match(&text) || runs(pattern, &text));
            }
        }
    }

    #[test]
    fn sets_survive_the_compiled_form() {
        let set = required_bytes(r"(?i)\bwww\.x");
        assert_eq!(ByteSet::from_bytes(set.to_bytes()), set);
    }
}
