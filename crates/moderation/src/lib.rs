//! Sensitive-content matching for IM messages, with the evasions people use
//! against word filters undone first (see [`normalize`]), one automaton over
//! the normalized text, and exact spans in the original for reporting and
//! masking.
//!
//! ```
//! use moderation::{Lexicon, Term};
//!
//! let lexicon = Lexicon::new(
//!     vec![Term::new("shit", "profanity", 2)],
//!     vec!["shitake".to_string()],
//! );
//! let text = "what the s.h.i.t, i love shitake";
//! let hits = lexicon.scan(text);
//! assert_eq!(hits.len(), 1);
//! assert_eq!(&text[hits[0].span.clone()], "s.h.i.t");
//! assert_eq!(moderation::mask(text, &hits), "what the *******, i love shitake");
//! ```

pub mod lexicon_file;
pub mod normalize;

pub use normalize::{Normalized, Options};

/// What a match calls for (the moderator maps it to IM's answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Deliver with the match masked.
    Mask,
    /// Refuse the message; the sender is told.
    Reject,
    /// Drop the message silently; the sender believes it was sent.
    Drop,
}

use daachorse::{CharwiseDoubleArrayAhoCorasick, CharwiseDoubleArrayAhoCorasickBuilder, MatchKind};

/// A sensitive term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The term as written in the lexicon.
    pub text: String,
    /// Category (`profanity`, `spam`, …), for per-category actions.
    pub category: String,
    /// Severity, higher is worse.
    pub severity: u8,
    /// What a match calls for.
    pub action: Action,
    /// Match only as a whole word (Latin-script terms).
    pub whole_word: bool,
}

impl Term {
    /// A term matched anywhere.
    pub fn new(text: &str, category: &str, severity: u8) -> Self {
        Self {
            text: text.to_string(),
            category: category.to_string(),
            severity,
            action: Action::Mask,
            whole_word: false,
        }
    }
}

/// A match in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Byte range in the original text.
    pub span: std::ops::Range<usize>,
    /// Index of the term in the lexicon.
    pub term: usize,
    /// Its category.
    pub category: String,
    /// Its severity.
    pub severity: u8,
    /// Its action.
    pub action: Action,
}

/// Terms and allowlist entries compiled into one automaton.
pub struct Lexicon {
    terms: Vec<Term>,
    options: Options,
    /// Values: term index, or `u32::MAX - i` for allowlist entry `i`.
    automaton: Option<CharwiseDoubleArrayAhoCorasick<u32>>,
}

const ALLOW: u32 = u32::MAX / 2;

impl Lexicon {
    /// Compiles terms and allowlist entries with the default normalization.
    pub fn new(terms: Vec<Term>, allow: Vec<String>) -> Self {
        Self::with_options(terms, allow, Options::default())
    }

    /// Compiles with explicit normalization options (applied to terms and
    /// text alike, so they always meet in the same form).
    pub fn with_options(terms: Vec<Term>, allow: Vec<String>, options: Options) -> Self {
        let mut patterns: Vec<(String, u32)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, term) in terms.iter().enumerate() {
            let normalized = normalize::normalize(&term.text, &options).text;
            if !normalized.is_empty() && seen.insert(normalized.clone()) {
                patterns.push((normalized, i as u32));
            }
        }
        for (i, entry) in allow.iter().enumerate() {
            let normalized = normalize::normalize(entry, &options).text;
            if !normalized.is_empty() && seen.insert(normalized.clone()) {
                patterns.push((normalized, ALLOW + i as u32));
            }
        }
        let automaton = (!patterns.is_empty()).then(|| {
            CharwiseDoubleArrayAhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build_with_values(patterns)
                .expect("distinct, non-empty patterns always build")
        });
        Self {
            terms,
            options,
            automaton,
        }
    }

    /// The terms.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Every non-overlapping hit in `text`, in order. An allowlist entry
    /// overlapping a hit suppresses it (`shitake` is not `shit`); among
    /// overlapping hits the longer, then the more severe, wins.
    pub fn scan(&self, text: &str) -> Vec<Hit> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        let normalized = normalize::normalize(text, &self.options);
        let mut allowed: Vec<std::ops::Range<usize>> = Vec::new();
        let mut candidates: Vec<(std::ops::Range<usize>, u32)> = Vec::new();
        for m in automaton.find_overlapping_iter(&normalized.text) {
            if m.value() >= ALLOW {
                allowed.push(m.start()..m.end());
            } else {
                candidates.push((m.start()..m.end(), m.value()));
            }
        }
        candidates.retain(|(range, _)| {
            !allowed
                .iter()
                .any(|a| a.start < range.end && range.start < a.end)
        });
        candidates.sort_by(|(a, ta), (b, tb)| {
            (b.end - b.start)
                .cmp(&(a.end - a.start))
                .then(
                    self.terms[*tb as usize]
                        .severity
                        .cmp(&self.terms[*ta as usize].severity),
                )
                .then(a.start.cmp(&b.start))
        });
        let mut chosen: Vec<Hit> = Vec::new();
        for (range, term) in candidates {
            let Some(span) = normalized.original_span(range.start, range.end) else {
                continue;
            };
            if chosen
                .iter()
                .any(|h| h.span.start < span.end && span.start < h.span.end)
            {
                continue;
            }
            let t = &self.terms[term as usize];
            if t.whole_word && !whole_word(text, &span) {
                continue;
            }
            chosen.push(Hit {
                span,
                term: term as usize,
                category: t.category.clone(),
                severity: t.severity,
                action: t.action,
            });
        }
        chosen.sort_by_key(|h| h.span.start);
        chosen
    }
}

/// Whether `span` of `text` is not glued to letters or digits on either side.
fn whole_word(text: &str, span: &std::ops::Range<usize>) -> bool {
    let before = text[..span.start].chars().next_back();
    let after = text[span.end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// `text` with every hit replaced by `*`, one per character; everything
/// else (emoji included) untouched.
pub fn mask(text: &str, hits: &[Hit]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for hit in hits {
        if hit.span.start < at {
            continue;
        }
        out.push_str(&text[at..hit.span.start]);
        out.extend(std::iter::repeat_n(
            '*',
            text[hit.span.clone()].chars().count(),
        ));
        at = hit.span.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lexicon() -> Lexicon {
        let mut ass = Term::new("ass", "profanity", 1);
        ass.whole_word = true;
        Lexicon::new(
            vec![
                Term::new("shit", "profanity", 2),
                Term::new("傻逼", "insult", 3),
                Term::new("发票", "spam", 1),
                ass,
            ],
            vec!["shitake".into()],
        )
    }

    #[test]
    fn evasions_are_caught_and_reported_in_the_original() {
        let l = lexicon();
        for (text, found) in [
            ("what s h i t", "s h i t"),
            ("ＳＨＩＴ happens", "ＳＨＩＴ"),
            ("傻@逼", "傻@逼"),
            ("代开發票", "發票"),
            ("shhhiiit", "shhhiiit"),
            ("sh\u{200B}it", "sh\u{200B}it"),
        ] {
            let hits = l.scan(text);
            assert_eq!(hits.len(), 1, "{text}: {hits:?}");
            assert_eq!(&text[hits[0].span.clone()], found);
        }
    }

    #[test]
    fn allowlist_and_whole_word() {
        let l = lexicon();
        assert!(l.scan("I love shitake mushrooms").is_empty());
        assert!(l.scan("a classic bass").is_empty(), "ass inside words");
        assert_eq!(l.scan("you ass!").len(), 1);
    }

    #[test]
    fn masking_keeps_the_rest() {
        let l = lexicon();
        let text = "😀 s.h.i.t 傻逼 ok 🎉";
        assert_eq!(mask(text, &l.scan(text)), "😀 ******* ** ok 🎉");
        let hits = l.scan(text);
        assert_eq!(
            (hits[0].category.as_str(), hits[1].category.as_str()),
            ("profanity", "insult")
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_spans_are_valid(text in "\\PC{0,200}") {
            let l = lexicon();
            let hits = l.scan(&text);
            for hit in &hits {
                prop_assert!(text.is_char_boundary(hit.span.start) && text.is_char_boundary(hit.span.end));
                prop_assert!(hit.span.start < hit.span.end);
            }
            let masked = mask(&text, &hits);
            prop_assert_eq!(masked.chars().count(), text.chars().count());
        }
    }
}
