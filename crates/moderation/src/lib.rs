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
//! )
//! .unwrap();
//! let text = "what the s.h.i.t, i love shitake";
//! let hits = lexicon.scan(text);
//! assert_eq!(hits.len(), 1);
//! assert_eq!(&text[hits[0].span.clone()], "s.h.i.t");
//! assert_eq!(moderation::mask(text, &hits), "what the *******, i love shitake");
//! ```

#![warn(missing_docs)]

pub mod lexicon_file;
pub mod normalize;
pub mod overlay;
mod prefilter;
#[cfg(feature = "synthetic")]
pub mod synthetic;
pub mod variants;
mod wire;

pub use normalize::{Normalized, Options};
pub use variants::Homophones;
pub use wire::WireError;

use std::ops::Range;
use std::sync::Arc;
use variants::Anchor;

/// What a match calls for (the moderator maps it to IM's answer).
///
/// Ordered by strength: when a message has several hits, the strongest
/// action wins (a refusal tells the sender, so it beats a silent drop).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Deliver with the match masked.
    Mask,
    /// Drop the message silently; the sender believes it was sent.
    Drop,
    /// Refuse the message; the sender is told.
    Reject,
}

impl Action {
    /// The name used in lexicon files and configuration.
    pub fn name(self) -> &'static str {
        match self {
            Action::Mask => "mask",
            Action::Drop => "drop",
            Action::Reject => "reject",
        }
    }

    /// Reads `mask`, `drop` or `reject`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "mask" => Some(Action::Mask),
            "drop" => Some(Action::Drop),
            "reject" => Some(Action::Reject),
            _ => None,
        }
    }
}

/// A sensitive term, or a regular-expression rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The term as written in the lexicon (a pattern when `regex` is set).
    pub text: String,
    /// Category (`profanity`, `spam`, …), for per-category actions.
    pub category: String,
    /// Severity, higher is worse.
    pub severity: u8,
    /// What a match calls for.
    pub action: Action,
    /// Match only as a whole word (Latin-script terms).
    pub whole_word: bool,
    /// `text` is a regular expression (URLs, e-mail addresses, phone
    /// numbers), matched against the text with only width, case, format
    /// characters and numerals normalized — separators stay, since they
    /// are what such patterns are made of.
    pub regex: bool,
}

impl Term {
    /// A term matched anywhere, masked.
    pub fn new(text: &str, category: &str, severity: u8) -> Self {
        Self {
            text: text.to_string(),
            category: category.to_string(),
            severity,
            action: Action::Mask,
            whole_word: false,
            regex: false,
        }
    }
}

/// A match in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Byte range in the original text.
    pub span: Range<usize>,
    /// Which lexicon matched: 0 for the one scanned, 1 for the overlay
    /// passed to [`Lexicon::scan_with`].
    pub layer: usize,
    /// Index of the term in that lexicon (a stable rule id for logs).
    pub term: usize,
    /// Its category (shared with the lexicon: a hit allocates nothing for
    /// it).
    pub category: Arc<str>,
    /// Its severity.
    pub severity: u8,
    /// Its action.
    pub action: Action,
}

/// A lexicon that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule `{term}`: {message}")]
pub struct BuildError {
    /// The offending term.
    pub term: String,
    /// What is wrong with it.
    pub message: String,
}

/// Terms, rules and allowlist entries compiled into one double-array trie.
///
/// A lexicon *is* its compiled form (see the `wire` module for the
/// layout): built once — at compile time for the shipped lexicons — and
/// then either copied ([`from_bytes`](Self::from_bytes)) or used in place
/// ([`from_static`](Self::from_static)), which is what lets a fresh wasm
/// instance scan with a 100k-term lexicon without loading it first: only
/// the pages a scan touches are ever read. Immutable, so it can be shared
/// between callers.
pub struct Lexicon {
    blob: Blob,
    layout: wire::Layout,
    options: Options,
    categories: Vec<Arc<str>>,
    regexes: Vec<PatternRule>,
}

/// A regular-expression rule, compiled on the first text that has one of
/// the bytes its matches need (see the `prefilter` module): a fresh
/// instance compiles no rule a request's text cannot match.
struct PatternRule {
    term: usize,
    needs: prefilter::ByteSet,
    pattern: String,
    compiled: std::sync::OnceLock<regex_lite::Regex>,
}

impl PatternRule {
    /// The compiled rule; `None` only for a pattern that does not compile,
    /// which a lexicon this crate built never has (bytes from outside are
    /// checked when loaded).
    fn regex(&self) -> Option<&regex_lite::Regex> {
        if let Some(regex) = self.compiled.get() {
            return Some(regex);
        }
        let regex = regex_lite::Regex::new(&self.pattern).ok()?;
        Some(self.compiled.get_or_init(|| regex))
    }
}

/// The compiled bytes, owned or embedded in the binary.
enum Blob {
    Owned(Vec<u8>),
    Static(&'static [u8]),
}

impl std::ops::Deref for Blob {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Blob::Owned(bytes) => bytes,
            Blob::Static(bytes) => bytes,
        }
    }
}

/// What a lexicon knows about one of its terms at scan time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermInfo<'a> {
    /// Category.
    pub category: &'a str,
    /// Severity.
    pub severity: u8,
    /// Action.
    pub action: Action,
    /// Whole-word only.
    pub whole_word: bool,
    /// A regular-expression rule.
    pub regex: bool,
}

/// Trie values at or above this are allowlist entries (yada values are
/// below 2^31).
const ALLOW: u32 = 1 << 30;

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon")
            .field("terms", &self.layout.terms)
            .field("regexes", &self.regexes.len())
            .field("bytes", &self.blob.len())
            .finish()
    }
}

impl Lexicon {
    /// Compiles terms and allowlist entries with the default normalization.
    pub fn new(terms: Vec<Term>, allow: Vec<String>) -> Result<Self, BuildError> {
        Self::with_options(terms, allow, Options::default())
    }

    /// Compiles with explicit normalization options (applied to terms and
    /// text alike, so they always meet in the same form).
    pub fn with_options(
        terms: Vec<Term>,
        allow: Vec<String>,
        options: Options,
    ) -> Result<Self, BuildError> {
        Self::with_homophones(terms, allow, options, &Homophones::new())
    }

    /// Compiles with explicit options and a table of homophones for the
    /// Chinese terms (see [`variants`]).
    pub fn with_homophones(
        terms: Vec<Term>,
        allow: Vec<String>,
        options: Options,
        homophones: &Homophones,
    ) -> Result<Self, BuildError> {
        let bytes = wire::compile(&terms, &allow, options, homophones)?;
        Self::load(Blob::Owned(bytes), false).map_err(|e| BuildError {
            term: String::new(),
            message: e.to_string(),
        })
    }

    /// Compiles what lexicon files said: their terms, allowlist entries,
    /// `# normalize:` switches and `~` homophone lines.
    pub fn from_parsed(parsed: &lexicon_file::Parsed) -> Result<Self, BuildError> {
        Self::with_homophones(
            parsed.terms.clone(),
            parsed.allow.clone(),
            parsed.options,
            &parsed.homophones,
        )
    }

    /// The compiled form, for [`from_bytes`](Self::from_bytes) or
    /// [`from_static`](Self::from_static).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.blob.to_vec()
    }

    /// Loads a compiled lexicon, copying it and checking every part.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        Self::load(Blob::Owned(bytes.to_vec()), true)
    }

    /// Uses a compiled lexicon embedded in the binary in place: nothing is
    /// copied and the trie is not read until a scan walks it.
    ///
    /// The header and term table are checked; the trie itself is trusted,
    /// as it was written by [`to_bytes`](Self::to_bytes) at build time (a
    /// damaged trie gives wrong matches, never undefined behaviour: every
    /// read is bounds-checked).
    pub fn from_static(bytes: &'static [u8]) -> Result<Self, WireError> {
        Self::load(Blob::Static(bytes), false)
    }

    fn load(blob: Blob, check_trie: bool) -> Result<Self, WireError> {
        let header = wire::read_header(&blob, check_trie)?;
        let regexes = header
            .regexes
            .into_iter()
            .map(|rule| {
                let compiled = std::sync::OnceLock::new();
                // Bytes from outside are checked now; our own build-time
                // bytes were checked when they were compiled.
                if check_trie {
                    let regex = regex_lite::Regex::new(&rule.pattern)
                        .map_err(|e| WireError::new(format!("rule {}: {e}", rule.term)))?;
                    let _ = compiled.set(regex);
                }
                Ok(PatternRule {
                    term: rule.term,
                    needs: rule.needs,
                    pattern: rule.pattern,
                    compiled,
                })
            })
            .collect::<Result<_, WireError>>()?;
        Ok(Self {
            layout: header.layout,
            options: header.options,
            categories: header.categories.into_iter().map(Arc::from).collect(),
            regexes,
            blob,
        })
    }

    /// Number of terms and rules (rule ids are `0..len()`).
    pub fn len(&self) -> usize {
        self.layout.terms
    }

    /// Whether there are no terms or rules.
    pub fn is_empty(&self) -> bool {
        self.layout.terms == 0
    }

    /// What the lexicon knows about term `index` (panics when out of range).
    pub fn term(&self, index: usize) -> TermInfo<'_> {
        let record = wire::record(&self.blob, &self.layout, index);
        TermInfo {
            category: &self.categories[record.category],
            severity: record.severity,
            action: record.action,
            whole_word: record.whole_word,
            regex: record.regex,
        }
    }

    /// The category of term `index`, shared.
    fn category(&self, index: usize) -> Arc<str> {
        let record = wire::record(&self.blob, &self.layout, index);
        self.categories[record.category].clone()
    }

    /// The normalization this lexicon was compiled with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Every non-overlapping hit in `text`, in order. An allowlist entry
    /// overlapping a hit suppresses it (`shitake` is not `shit`); among
    /// overlapping hits the longer, then the more severe, wins.
    pub fn scan(&self, text: &str) -> Vec<Hit> {
        self.scan_with(None, text)
    }

    /// Every match of the trie in normalized text, overlapping, as (start,
    /// end, value): a prefix search from each character.
    fn matches(&self, normalized: &str, mut found: impl FnMut(usize, usize, u32)) {
        let Some(trie) = wire::trie(&self.blob, &self.layout) else {
            return;
        };
        // Keys never contain NUL (it ends a key in the trie), so a NUL in
        // the text only splits it.
        let mut base = 0;
        for segment in normalized.split('\0') {
            for (start, _) in segment.char_indices() {
                for (value, length) in trie.common_prefix_search(&segment[start..]) {
                    // A value naming no term can only come from damaged
                    // bytes; it is no match rather than a panic.
                    if wire::term_value(value).is_none_or(|(term, _)| term < self.layout.terms) {
                        found(base + start, base + start + length, value);
                    }
                }
            }
            base += segment.len() + 1;
        }
    }

    /// Like [`scan`](Self::scan), with a second lexicon layered on top
    /// (terms and allowlist entries added at run time). Both layers'
    /// allowlists apply to both layers' hits. The overlay should be
    /// compiled with the same [`Options`]; the text is normalized once,
    /// with this lexicon's.
    pub fn scan_with(&self, overlay: Option<&Lexicon>, text: &str) -> Vec<Hit> {
        let layers: Vec<&Lexicon> = std::iter::once(self).chain(overlay).collect();
        let mut allowed: Vec<Range<usize>> = Vec::new();
        let mut candidates: Vec<Candidate> = Vec::new();
        if layers.iter().any(|l| l.layout.trie.is_some()) {
            // The self-censored pass reads `*` as a hidden letter; it runs
            // only when the text has such a symbol, so most chat pays
            // nothing for it.
            let censored =
                self.options.self_censored && text.chars().any(normalize::is_censor_symbol);
            for keep_censored in [false, true] {
                if keep_censored && !censored {
                    break;
                }
                let normalized = normalize::normalize_as(text, &self.options, keep_censored);
                for (layer, lexicon) in layers.iter().enumerate() {
                    lexicon.matches(&normalized.text, |start, end, value| {
                        let Some(span) = normalized.original_span(start, end) else {
                            return;
                        };
                        // Letters read off digits and symbols alone (`455`
                        // as `ass`) are a number, not a word: leetspeak
                        // needs a letter of its own in the span (`a55`).
                        // (The original is tested first: a letter there
                        // ends the check at once, and most spans have one.)
                        if text[span.clone()].chars().all(reads_as_number)
                            && normalized.text[start..end].chars().any(char::is_alphabetic)
                        {
                            return;
                        }
                        match wire::term_value(value) {
                            None => allowed.push(span),
                            Some((term, anchor)) => candidates.push(Candidate {
                                span,
                                layer,
                                term,
                                severity: lexicon.term(term).severity,
                                anchor,
                                censored: keep_censored,
                            }),
                        }
                    });
                }
            }
        }
        if layers.iter().any(|l| !l.regexes.is_empty()) {
            let light = normalize::normalize(text, &self.options.for_patterns());
            let present = prefilter::ByteSet::of(light.text.as_bytes());
            for (layer, lexicon) in layers.iter().enumerate() {
                for rule in &lexicon.regexes {
                    if !rule.needs.meets(&present) {
                        continue;
                    }
                    let Some(regex) = rule.regex() else {
                        continue;
                    };
                    for m in regex.find_iter(&light.text) {
                        if let Some(span) = light.original_span(m.start(), m.end()) {
                            candidates.push(Candidate {
                                span,
                                layer,
                                term: rule.term,
                                severity: lexicon.term(rule.term).severity,
                                anchor: Anchor::AsTerm,
                                censored: false,
                            });
                        }
                    }
                }
            }
        }
        if candidates.is_empty() {
            return Vec::new();
        }
        candidates.retain(|c| !allowed.iter().any(|a| overlaps(a, &c.span)));
        let term = |c: &Candidate| layers[c.layer].term(c.term);
        // Longest first, then most severe, then leftmost; the sort is
        // stable, so ties keep the order they were found in.
        candidates.sort_by_key(|c| {
            (
                std::cmp::Reverse(c.span.end - c.span.start),
                std::cmp::Reverse(c.severity),
                c.span.start,
                c.anchor,
            )
        });
        let mut chosen: Vec<Hit> = Vec::new();
        for candidate in candidates {
            let span = candidate.span.clone();
            if chosen.iter().any(|h| overlaps(&h.span, &span)) {
                continue;
            }
            let t = term(&candidate);
            let whole = t.whole_word
                || candidate.anchor == Anchor::WholeWord
                || (!t.regex && bridges_a_gap(text, &span, candidate.censored));
            if whole && !whole_word(text, &span) {
                continue;
            }
            if candidate.anchor == Anchor::WordStart && !word_start(text, &span) {
                continue;
            }
            chosen.push(Hit {
                span,
                layer: candidate.layer,
                term: candidate.term,
                category: layers[candidate.layer].category(candidate.term),
                severity: t.severity,
                action: t.action,
            });
        }
        chosen.sort_by_key(|h| h.span.start);
        chosen
    }
}

/// Compiles every regular-expression rule (build-time validation).
fn compile_regexes(terms: &[Term]) -> Result<Vec<(usize, regex_lite::Regex)>, BuildError> {
    terms
        .iter()
        .enumerate()
        .filter(|(_, t)| t.regex)
        .map(|(i, t)| {
            regex_lite::Regex::new(&t.text)
                .map(|r| (i, r))
                .map_err(|e| BuildError {
                    term: t.text.clone(),
                    message: e.to_string(),
                })
        })
        .collect()
}

/// A character that is part of a number rather than a word when a whole
/// span is made of them: ASCII digits and symbols, and numerals of any
/// script (`⑤`). Look-alike letters (`🅰`, `🇦`) are not.
fn reads_as_number(c: char) -> bool {
    (c.is_ascii() && !c.is_ascii_alphabetic()) || c.is_numeric()
}

/// A match before the choice among overlapping ones.
struct Candidate {
    span: Range<usize>,
    layer: usize,
    term: usize,
    /// The term's severity (read once, not at every comparison).
    severity: u8,
    /// What the key that matched asks of the word boundaries.
    anchor: Anchor,
    /// Found by the self-censored pass (its `*` are letters, not gaps).
    censored: bool,
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Whether a match was made by skipping a visible separator (`s h i t`,
/// `f.u.c.k`). Such a match must also stand as a word on its own, or
/// ordinary text would match across word boundaries (`this hit`).
fn bridges_a_gap(text: &str, span: &Range<usize>, censored: bool) -> bool {
    text[span.clone()].chars().any(|c| {
        normalize::is_visible_separator(c) && !(censored && normalize::is_censor_symbol(c))
    })
}

/// Whether `span` of `text` is not glued to letters or digits on either side.
fn whole_word(text: &str, span: &Range<usize>) -> bool {
    let after = text[span.end..].chars().next();
    word_start(text, span) && !after.is_some_and(glues)
}

/// Whether `span` of `text` is not glued to a letter or digit before it.
fn word_start(text: &str, span: &Range<usize>) -> bool {
    !text[..span.start].chars().next_back().is_some_and(glues)
}

/// Only Latin letters and digits glue: Chinese has no spaces between
/// words, so a CJK neighbour says nothing about word boundaries.
fn glues(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{2E80}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3134F}')
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

    const TERMS: [&str; 4] = ["shit", "傻逼", "发票", "ass"];

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
        .unwrap()
    }

    #[test]
    fn numbers_are_not_leetspeak_words() {
        let term = Term {
            whole_word: true,
            ..Term::new("ass", "profanity", 2)
        };
        let lexicon = Lexicon::new(vec![term], vec![]).unwrap();
        assert!(lexicon.scan("Sentence number 455 of the answer").is_empty());
        assert_eq!(lexicon.scan("what an a55").len(), 1);
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
    fn separators_do_not_join_ordinary_words() {
        let l = lexicon();
        assert!(l.scan("this hit song").is_empty(), "s hit across words");
        assert!(l.scan("a classic ass").len() == 1);
        assert_eq!(l.scan("你是傻@逼吗").len(), 1, "CJK neighbours do not glue");
        assert_eq!(l.scan("so s.h.i.t!").len(), 1);
    }

    #[test]
    fn regex_rules_and_action_order() {
        let mut url = Term::new(r"https?://\S+", "contact", 1);
        url.regex = true;
        let l = Lexicon::new(vec![url], vec!["https://example.com".into()]).unwrap();
        let text = "see ＨＴＴＰＳ://evil.test/x and https://example.com";
        let hits = l.scan(text);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(&text[hits[0].span.clone()], "ＨＴＴＰＳ://evil.test/x");
        assert!(Action::Reject > Action::Drop && Action::Drop > Action::Mask);
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
            (&*hits[0].category, &*hits[1].category),
            ("profanity", "insult")
        );
    }

    proptest! {
        /// Every reported span, normalized on its own, is the matched
        /// term: offsets map back exactly, whatever the evasion.
        #[test]
        fn spans_hold_the_term(text in "[shitSHIT傻逼發票代开 .@\u{200B}ｓｈ①⑤$]{0,40}") {
            let l = lexicon();
            for hit in l.scan(&text) {
                let term = normalize::normalize(TERMS[hit.term], l.options()).text;
                let found = normalize::normalize(&text[hit.span.clone()], l.options()).text;
                prop_assert!(found.contains(&term), "{:?} in {:?} -> {:?}", term, &text[hit.span.clone()], found);
            }
        }

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
