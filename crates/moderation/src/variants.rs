//! Spellings of a term that normalization cannot reach from the text side,
//! compiled into the lexicon as extra keys of the same term.
//!
//! Normalization maps many writings of a letter to one, which works when
//! the evasion is per character. Some evasions are not: a respelling
//! (`phuk`), a romanization (`shabi` for 傻逼), a homophone (`煞笔`) or a
//! hidden letter (`b*tch`) changes the word itself. Mapping those on the
//! text side would rewrite clean text too (`笔` in 毛笔 is a brush, not
//! an insult), so instead each term brings its own variants, and only a
//! text that spells a listed term that way matches. Each kind has its
//! switch in [`Options`]:
//!
//! | switch | variants | matches |
//! |---|---|---|
//! | `phonetic` | `ck`→`k`/`kk`/`q`, `ph`↔`f`, hard `c`→`k`, inner `s`→`z`, inner `i`→`y`, final `er`→`a`/`ah`, final `y`→`ie`, `x`→`ks`; up to two at once | at the start of a word (`phukin`), as a whole word for whole-word terms |
//! | `pinyin` | every reading of every character, joined (`shabi`); spaced (`sha bi`) follows from separators | as a whole word; terms of two or more syllables only |
//! | `pinyin_initials` | the initials (`sb`) | as a whole word |
//! | `homophones` | the lexicon's table (`~逼 比 笔 币`), one or more characters replaced | like the term |
//! | `self_censored` | one or two inner letters of a Latin term of 3–8 letters hidden by `*`, `#`, `%`, … | like the term |
//!
//! ```
//! use moderation::{Homophones, Lexicon, Options, Term};
//!
//! let homophones = Homophones::from([('逼', vec!["笔".to_string()])]);
//! let lexicon = Lexicon::with_homophones(
//!     vec![Term::new("傻逼", "insult", 2), Term::new("bitch", "profanity", 2)],
//!     vec![],
//!     Options::default(),
//!     &homophones,
//! )
//! .unwrap();
//! for text in ["你是傻笔", "ni shi shabi ma", "what a b*tch", "sha bi"] {
//!     assert_eq!(lexicon.scan(text).len(), 1, "{text}");
//! }
//! // A homophone changes a listed term only: a brush is still a brush.
//! assert!(lexicon.scan("这支毛笔很好").is_empty());
//! ```

use crate::Term;
use crate::normalize::{Options, normalize, normalize_as};
use pinyin::ToPinyinMulti;

/// Characters of Chinese terms and what they may be written as instead
/// (homophones, look-alikes): `'逼' → ["比", "笔", "币"]`. Lexicon files
/// give it as `~逼 比 笔 币` lines.
pub type Homophones = std::collections::BTreeMap<char, Vec<String>>;

/// Where a key may match, beyond what its term asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Anchor {
    /// Wherever the term itself may.
    AsTerm,
    /// Not glued to a letter or digit before it.
    WordStart,
    /// Not glued to a letter or digit on either side.
    WholeWord,
}

/// At most this many variants of one kind per term, so a long term with
/// many readings cannot multiply the lexicon.
const MAX_PER_KIND: usize = 16;

/// The normalized keys of a term besides its own: (key, anchor).
pub(crate) fn keys(
    term: &Term,
    options: &Options,
    homophones: &Homophones,
) -> Vec<(String, Anchor)> {
    let mut keys = Vec::new();
    let mut add = |key: String, anchor: Anchor| {
        if !key.is_empty() && !key.contains('\0') {
            keys.push((key, anchor));
        }
    };
    let latin = term.text.len() >= 3 && term.text.bytes().all(|b| b.is_ascii_alphabetic());
    if latin {
        let word = term.text.to_ascii_lowercase();
        if options.phonetic {
            let anchor = if term.whole_word {
                Anchor::WholeWord
            } else {
                Anchor::WordStart
            };
            for respelling in respellings(&word) {
                add(normalize(&respelling, options).text, anchor);
            }
        }
        if options.self_censored {
            for censored in censored(&word) {
                add(normalize_as(&censored, options, true).text, Anchor::AsTerm);
            }
        }
    }
    if options.pinyin {
        for (reading, anchor) in pinyin_readings(&term.text, options.pinyin_initials) {
            add(normalize(&reading, options).text, anchor);
        }
    }
    if options.homophones && !homophones.is_empty() {
        for spelling in homophone_spellings(&term.text, homophones) {
            add(normalize(&spelling, options).text, Anchor::AsTerm);
        }
    }
    keys
}

/// English respellings of a lowercase word, one or two rules applied.
fn respellings(word: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut frontier = vec![word.to_string()];
    for _ in 0..2 {
        let mut next = Vec::new();
        for spelling in &frontier {
            for respelled in respell_once(spelling) {
                if respelled != word && !found.contains(&respelled) && found.len() < MAX_PER_KIND {
                    found.push(respelled.clone());
                    next.push(respelled);
                }
            }
        }
        frontier = next;
    }
    found
}

/// Every single-rule respelling of `word`.
fn respell_once(word: &str) -> Vec<String> {
    let bytes = word.as_bytes();
    let mut out = Vec::new();
    let mut replace = |at: usize, len: usize, with: &str| {
        out.push(format!("{}{with}{}", &word[..at], &word[at + len..]));
    };
    for at in 0..bytes.len() {
        let rest = &word[at..];
        let next = bytes.get(at + 1).copied();
        let last = at + 1 == bytes.len();
        if rest.starts_with("ck") {
            replace(at, 2, "k");
            replace(at, 2, "kk");
            replace(at, 2, "q");
        }
        if rest.starts_with("ph") {
            replace(at, 2, "f");
        }
        match bytes[at] {
            b'f' => replace(at, 1, "ph"),
            // A hard c: not before e, i, y (soft) nor h, k (other sounds).
            b'c' if !matches!(next, Some(b'e' | b'i' | b'y' | b'h' | b'k')) => replace(at, 1, "k"),
            b's' if at > 0 => replace(at, 1, "z"),
            b'i' if at > 0 => replace(at, 1, "y"),
            b'y' if last => replace(at, 1, "ie"),
            b'x' => replace(at, 1, "ks"),
            _ => {}
        }
        if rest == "er" {
            replace(at, 2, "a");
            replace(at, 2, "ah");
        }
    }
    out
}

/// `word` with one run of one or two inner letters hidden by `*`, keeping
/// at least two letters shown (`b*tch`, `a**hole`, `f**k`).
fn censored(word: &str) -> Vec<String> {
    let n = word.len();
    if !(3..=8).contains(&n) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for run in 1..=2 {
        for at in 1..n.saturating_sub(run) {
            if n - run >= 2 && at + run < n {
                out.push(format!(
                    "{}{}{}",
                    &word[..at],
                    "*".repeat(run),
                    &word[at + run..]
                ));
            }
        }
    }
    out
}

/// The pinyin of a term with at least two Chinese syllables, joined, for
/// each combination of the characters' readings; with `initials`, their
/// first letters too. Characters without a reading are kept as written.
fn pinyin_readings(text: &str, initials: bool) -> Vec<(String, Anchor)> {
    let mut readings: Vec<Vec<&'static str>> = Vec::new();
    let mut syllables = 0;
    let mut spellings = vec![String::new()];
    for c in text.chars() {
        let mut of_char: Vec<&'static str> = Vec::new();
        if let Some(multi) = c.to_pinyin_multi() {
            for reading in (0..multi.count()).map(|i| multi.get(i)) {
                if !of_char.contains(&reading.plain()) {
                    of_char.push(reading.plain());
                }
            }
        }
        if of_char.is_empty() {
            for spelling in &mut spellings {
                spelling.push(c);
            }
        } else {
            syllables += 1;
            spellings = spellings
                .iter()
                .flat_map(|s| of_char.iter().map(move |r| format!("{s}{r}")))
                .take(MAX_PER_KIND)
                .collect();
        }
        readings.push(of_char);
    }
    if syllables < 2 {
        return Vec::new();
    }
    let mut out: Vec<(String, Anchor)> = spellings
        .into_iter()
        .map(|s| (s, Anchor::WholeWord))
        .collect();
    if initials {
        let mut first = String::new();
        for (c, of_char) in text.chars().zip(&readings) {
            match of_char.first() {
                Some(reading) => first.extend(reading.chars().next()),
                None => first.push(c),
            }
        }
        out.push((first, Anchor::WholeWord));
    }
    out
}

/// `text` with one or more of its characters replaced by their
/// homophones, every combination up to [`MAX_PER_KIND`].
fn homophone_spellings(text: &str, homophones: &Homophones) -> Vec<String> {
    let mut spellings = vec![String::new()];
    for c in text.chars() {
        let mut options = vec![c.to_string()];
        if let Some(alternatives) = homophones.get(&c) {
            options.extend(alternatives.iter().cloned());
        }
        spellings = spellings
            .iter()
            .flat_map(|s| options.iter().map(move |o| format!("{s}{o}")))
            .take(MAX_PER_KIND + 1)
            .collect();
    }
    spellings.retain(|s| s != text);
    spellings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respellings_of_english_terms() {
        let fuck = respellings("fuck");
        for expected in ["fuk", "phuck", "phuk", "fuq", "fukk"] {
            assert!(
                fuck.contains(&expected.to_string()),
                "{expected} in {fuck:?}"
            );
        }
        assert!(respellings("wanker").contains(&"wanka".to_string()));
        assert!(respellings("dick").contains(&"dyck".to_string()));
        assert!(
            respellings("douchebag").iter().all(|r| !r.contains("douk")),
            "ch stays"
        );
        assert!(
            respellings("shit").iter().all(|r| !r.starts_with('z')),
            "no initial z"
        );
        assert!(respellings("a").is_empty());
    }

    #[test]
    fn censored_spellings_keep_two_letters() {
        assert_eq!(censored("ass"), ["a*s"]);
        let bitch = censored("bitch");
        assert!(bitch.contains(&"b*tch".to_string()) && bitch.contains(&"b**ch".to_string()));
        assert!(censored("asshole").contains(&"a**hole".to_string()));
        assert!(censored("fuck").contains(&"f**k".to_string()));
        assert!(!censored("fuck").contains(&"***k".to_string()));
        assert!(
            censored("motherfucker").is_empty(),
            "long terms are not expanded"
        );
    }

    #[test]
    fn pinyin_of_chinese_terms() {
        let readings = pinyin_readings("傻逼", true);
        assert!(readings.contains(&("shabi".to_string(), Anchor::WholeWord)));
        assert!(readings.contains(&("sb".to_string(), Anchor::WholeWord)));
        assert!(
            !pinyin_readings("傻逼", false)
                .iter()
                .any(|(r, _)| r == "sb")
        );
        assert!(
            pinyin_readings("屎", false).is_empty(),
            "one syllable is too ambiguous"
        );
        assert!(
            pinyin_readings("傻b", false).is_empty(),
            "one syllable and a letter"
        );
        assert_eq!(
            pinyin_readings("代开b", false),
            [("daikaib".to_string(), Anchor::WholeWord)]
        );
        assert!(
            pinyin_readings("草泥马", false)
                .iter()
                .any(|(r, _)| r == "caonima")
        );
    }

    #[test]
    fn homophones_replace_any_characters() {
        let table = Homophones::from([
            ('傻', vec!["沙".into(), "煞".into()]),
            ('逼', vec!["比".into(), "笔".into()]),
        ]);
        let spellings = homophone_spellings("傻逼", &table);
        assert_eq!(spellings.len(), 8, "{spellings:?}");
        assert!(spellings.contains(&"沙笔".to_string()) && spellings.contains(&"傻比".to_string()));
        assert!(!spellings.contains(&"傻逼".to_string()));
    }
}
