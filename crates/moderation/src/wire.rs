//! The compiled form of a [`Lexicon`]: what a build script writes and a
//! component embeds with `include_bytes!`. It is laid out to be *used in
//! place*: a fixed-size record per term and a double-array trie (`yada`)
//! that is searched directly in the bytes, so a fresh instance does no work
//! proportional to the lexicon's size before its first scan.
//!
//! Layout, little-endian:
//!
//! | part | encoding |
//! |---|---|
//! | magic | `SBLEX\0\0\x04` |
//! | normalization | `u32` bits, in the order of [`Options`]'s fields |
//! | categories | `u32` count, then `u32` length + UTF-8 each |
//! | terms | `u32` count, then 4 bytes each: category `u16`, severity `u8`, flags `u8` (action in bits 0–1, whole word bit 2, regex bit 3) |
//! | regex rules | `u32` count, then term index `u32`, the 32-byte set of bytes one of which every match holds (see the `prefilter` module), `u32` length + UTF-8 pattern |
//! | trie | `u32` length (0 = none), then the double array |
//!
//! Trie keys are the normalized terms, their variants (see the `variants`
//! module) and allowlist entries; values are the term index — plus
//! `2^29` for a variant matching as a whole word only, `2^28` for one
//! matching at the start of a word — or `2^30 + i` for allowlist entry `i`.

use crate::prefilter::{self, ByteSet};
use crate::variants::{Anchor, Homophones};
use crate::{ALLOW, Action, BuildError, Options, Term, compile_regexes, normalize, variants};
use std::ops::Range;
use yada::DoubleArray;
use yada::builder::DoubleArrayBuilder;

const MAGIC: &[u8; 8] = b"SBLEX\0\0\x04";
const RECORD: usize = 4;

/// Compiled bytes that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("compiled lexicon: {0}")]
pub struct WireError(String);

impl WireError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Where the parts are.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Number of terms.
    pub terms: usize,
    /// Offset of the first term record.
    pub records_at: usize,
    /// The trie's bytes.
    pub trie: Option<Range<usize>>,
}

/// What is read eagerly: small parts only.
pub(crate) struct Header {
    pub layout: Layout,
    pub options: Options,
    pub categories: Vec<String>,
    pub regexes: Vec<RegexRule>,
}

/// A regular-expression rule as the compiled form keeps it.
pub(crate) struct RegexRule {
    /// Its term index.
    pub term: usize,
    /// Bytes one of which every match holds.
    pub needs: ByteSet,
    /// The pattern.
    pub pattern: String,
}

/// One term record.
pub(crate) struct Record {
    pub category: usize,
    pub severity: u8,
    pub action: Action,
    pub whole_word: bool,
    pub regex: bool,
}

/// Compiles terms and allowlist entries.
pub(crate) fn compile(
    terms: &[Term],
    allow: &[String],
    options: Options,
    homophones: &Homophones,
) -> Result<Vec<u8>, BuildError> {
    let fail = |term: &str, message: &str| BuildError {
        term: term.to_string(),
        message: message.to_string(),
    };
    if terms.len() >= START_OF_WORD as usize || allow.len() >= ALLOW as usize {
        return Err(fail("", "more than 2^28 terms or 2^30 allowlist entries"));
    }
    if options.homophones {
        for (c, alternatives) in homophones {
            for alternative in alternatives {
                if normalize::normalize(alternative, &options).text.is_empty() {
                    return Err(fail(
                        &c.to_string(),
                        &format!("homophone `{alternative}`: nothing left after normalization"),
                    ));
                }
            }
        }
    }
    compile_regexes(terms)?;
    let mut categories: Vec<&str> = Vec::new();
    let mut records = Vec::with_capacity(terms.len() * RECORD);
    for term in terms {
        let category = match categories.iter().position(|c| *c == term.category) {
            Some(at) => at,
            None => {
                categories.push(&term.category);
                categories.len() - 1
            }
        };
        let category =
            u16::try_from(category).map_err(|_| fail(&term.text, "more than 65536 categories"))?;
        records.extend_from_slice(&category.to_le_bytes());
        records.push(term.severity);
        records.push(
            term.action as u8 | (u8::from(term.whole_word) << 2) | (u8::from(term.regex) << 3),
        );
    }
    let mut keys: Vec<(String, u32)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, term) in terms.iter().enumerate().filter(|(_, t)| !t.regex) {
        let key = normalize::normalize(&term.text, &options).text;
        if key.is_empty() {
            return Err(fail(&term.text, "nothing left after normalization"));
        }
        if key.contains('\0') {
            return Err(fail(&term.text, "contains NUL"));
        }
        if seen.insert(key.clone()) {
            keys.push((key, i as u32));
        }
        for (key, anchor) in variants::keys(term, &options, homophones) {
            if seen.insert(key.clone()) {
                keys.push((key, i as u32 | anchor_bits(anchor)));
            }
        }
    }
    for (i, entry) in allow.iter().enumerate() {
        let key = normalize::normalize(entry, &options).text;
        if !key.is_empty() && !key.contains('\0') && seen.insert(key.clone()) {
            keys.push((key, ALLOW + i as u32));
        }
    }
    keys.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let trie = if keys.is_empty() {
        Vec::new()
    } else {
        let keyset: Vec<(&[u8], u32)> = keys.iter().map(|(k, v)| (k.as_bytes(), *v)).collect();
        DoubleArrayBuilder::build(&keyset)
            .map_err(|e| fail("", &format!("the trie cannot be built: {e}")))?
    };

    let mut out = Vec::with_capacity(64 + records.len() + trie.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&options.bits().to_le_bytes());
    push_u32(&mut out, categories.len());
    for category in &categories {
        push_str(&mut out, category);
    }
    push_u32(&mut out, terms.len());
    out.extend_from_slice(&records);
    let regexes: Vec<(usize, &Term)> = terms.iter().enumerate().filter(|(_, t)| t.regex).collect();
    push_u32(&mut out, regexes.len());
    for (index, term) in regexes {
        push_u32(&mut out, index);
        out.extend_from_slice(&prefilter::required_bytes(&term.text).to_bytes());
        push_str(&mut out, &term.text);
    }
    push_u32(&mut out, trie.len());
    out.extend_from_slice(&trie);
    Ok(out)
}

/// A variant's anchor in its trie value.
pub(crate) const WHOLE_WORD: u32 = 1 << 29;
/// See [`WHOLE_WORD`].
pub(crate) const START_OF_WORD: u32 = 1 << 28;

fn anchor_bits(anchor: Anchor) -> u32 {
    match anchor {
        Anchor::AsTerm => 0,
        Anchor::WordStart => START_OF_WORD,
        Anchor::WholeWord => WHOLE_WORD,
    }
}

/// A term value's index and anchor (`None` for an allowlist entry).
pub(crate) fn term_value(value: u32) -> Option<(usize, Anchor)> {
    if value >= ALLOW {
        return None;
    }
    let anchor = if value & WHOLE_WORD != 0 {
        Anchor::WholeWord
    } else if value & START_OF_WORD != 0 {
        Anchor::WordStart
    } else {
        Anchor::AsTerm
    };
    Some(((value & (START_OF_WORD - 1)) as usize, anchor))
}

fn push_u32(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(&(value as u32).to_le_bytes());
}

fn push_str(out: &mut Vec<u8>, text: &str) {
    push_u32(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

/// Reads the small parts and finds the large ones. With `check_all`, every
/// term record and every trie unit is checked too (bytes from outside);
/// without, only what is read here (bytes this crate wrote at build time).
pub(crate) fn read_header(bytes: &[u8], check_all: bool) -> Result<Header, WireError> {
    let mut reader = Reader { bytes, at: 0 };
    if reader.take(MAGIC.len())? != MAGIC {
        return Err(WireError::new(
            "not a compiled lexicon (bad magic or version)",
        ));
    }
    let options = Options::from_bits(u32::from_le_bytes(reader.array()?));
    let categories = (0..reader.u32()?)
        .map(|_| reader.string())
        .collect::<Result<Vec<_>, _>>()?;
    let terms = reader.u32()? as usize;
    let records_at = reader.at;
    let records = reader.take(
        terms
            .checked_mul(RECORD)
            .ok_or_else(|| WireError::new("term count overflows"))?,
    )?;
    let regexes = (0..reader.u32()?)
        .map(|_| {
            let index = reader.u32()? as usize;
            if index >= terms {
                return Err(WireError::new(format!(
                    "regex rule for missing term {index}"
                )));
            }
            Ok(RegexRule {
                term: index,
                needs: ByteSet::from_bytes(reader.array()?),
                pattern: reader.string()?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let length = reader.u32()? as usize;
    let trie_at = reader.at;
    let trie = reader.take(length)?;
    if reader.at != bytes.len() {
        return Err(WireError::new("trailing bytes"));
    }
    if check_all {
        for record in records.chunks_exact(RECORD) {
            if usize::from(u16::from_le_bytes([record[0], record[1]])) >= categories.len()
                || record[3] & 3 == 3
            {
                return Err(WireError::new("a term record is damaged"));
            }
        }
        if length > 0 {
            DoubleArray::new(trie).map_err(|e| WireError::new(format!("trie: {e}")))?;
        }
    }
    Ok(Header {
        layout: Layout {
            terms,
            records_at,
            trie: (length > 0).then_some(trie_at..trie_at + length),
        },
        options,
        categories,
        regexes,
    })
}

/// Term record `index`.
pub(crate) fn record(bytes: &[u8], layout: &Layout, index: usize) -> Record {
    assert!(index < layout.terms, "term {index} of {}", layout.terms);
    let at = layout.records_at + index * RECORD;
    let r = &bytes[at..at + RECORD];
    Record {
        category: usize::from(u16::from_le_bytes([r[0], r[1]])),
        severity: r[2],
        action: match r[3] & 3 {
            0 => Action::Mask,
            1 => Action::Drop,
            _ => Action::Reject,
        },
        whole_word: r[3] & 4 != 0,
        regex: r[3] & 8 != 0,
    }
}

/// The trie, searched in place.
pub(crate) fn trie<'a>(bytes: &'a [u8], layout: &Layout) -> Option<DoubleArray<&'a [u8]>> {
    let range = layout.trie.clone()?;
    // SAFETY: the trie bytes were either checked unit by unit when loaded
    // from outside (`read_header` with `check_all`), or written by
    // `compile` (at run time, or at build time for an embedded lexicon,
    // which is then as trusted as the code it is linked into).
    Some(unsafe { DoubleArray::new_unchecked(&bytes[range]) })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| WireError::new("truncated"))?;
        let part = &self.bytes[self.at..end];
        self.at = end;
        Ok(part)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn string(&mut self) -> Result<String, WireError> {
        let length = self.u32()? as usize;
        String::from_utf8(self.take(length)?.to_vec())
            .map_err(|_| WireError::new("a string is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Action, Lexicon, Term};

    fn sample() -> Lexicon {
        let mut email = Term::new(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}", "contact", 1);
        email.regex = true;
        let mut ass = Term::new("ass", "profanity", 1);
        ass.whole_word = true;
        ass.action = Action::Reject;
        Lexicon::new(
            vec![Term::new("傻逼", "insult", 3), ass, email],
            vec!["assess".into()],
        )
        .unwrap()
    }

    #[test]
    fn round_trips_and_scans_the_same() {
        let lexicon = sample();
        let bytes = lexicon.to_bytes();
        let copied = Lexicon::from_bytes(&bytes).unwrap();
        let in_place = Lexicon::from_static(Box::leak(bytes.into_boxed_slice())).unwrap();
        for loaded in [&copied, &in_place] {
            assert_eq!(loaded.len(), 3);
            assert_eq!(loaded.term(1), lexicon.term(1));
            for text in ["傻@逼 ass, assess, mail ＢＯＢ@example.com", "clean", ""] {
                assert_eq!(loaded.scan(text), lexicon.scan(text), "{text}");
            }
        }
        assert_eq!(copied.scan("mail ＢＯＢ@example.com").len(), 1);
        assert_eq!(
            (lexicon.term(1).category, lexicon.term(1).action),
            ("profanity", Action::Reject)
        );
    }

    #[test]
    fn damaged_bytes_are_refused() {
        let bytes = sample().to_bytes();
        assert!(Lexicon::from_bytes(b"nonsense").is_err());
        for cut in [4, 12, 20, bytes.len() - 1] {
            assert!(Lexicon::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Lexicon::from_bytes(&longer).is_err());
        let mut old_version = bytes.clone();
        old_version[7] = 1;
        assert!(Lexicon::from_bytes(&old_version).is_err());
    }
}
