//! The compiled form of a [`Lexicon`]: what a build script writes and a
//! component embeds with `include_bytes!`, so an instance loads the
//! automaton (a copy of its arrays) instead of building it.
//!
//! Layout, little-endian: magic `SBLEX\0\0\1`, normalization bits (`u16`),
//! allowlist size (`u32`), term count (`u32`), per term: flags (`u8`: 1 =
//! whole word, 2 = regex), severity (`u8`), action (`u8`), text and
//! category (`u32` length + UTF-8 each); then the automaton's length
//! (`u32`, 0 for none) and daachorse's own serialization of it.

use crate::{Action, BuildError, Lexicon, Options, Term, compile_regexes};
use daachorse::CharwiseDoubleArrayAhoCorasick;

const MAGIC: &[u8; 8] = b"SBLEX\0\0\x01";

/// Compiled bytes that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "compiled lexicon: {}", self.0)
    }
}

impl std::error::Error for WireError {}

impl From<BuildError> for WireError {
    fn from(e: BuildError) -> Self {
        Self(e.to_string())
    }
}

impl Lexicon {
    /// The compiled form (see the module docs), for [`from_bytes`](Self::from_bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.options.bits().to_le_bytes());
        out.extend_from_slice(&self.allow_count.to_le_bytes());
        out.extend_from_slice(&(self.terms.len() as u32).to_le_bytes());
        for term in &self.terms {
            out.push(u8::from(term.whole_word) | (u8::from(term.regex) << 1));
            out.push(term.severity);
            out.push(term.action as u8);
            for text in [&term.text, &term.category] {
                out.extend_from_slice(&(text.len() as u32).to_le_bytes());
                out.extend_from_slice(text.as_bytes());
            }
        }
        let automaton = self
            .automaton
            .as_ref()
            .map(|a| a.serialize())
            .unwrap_or_default();
        out.extend_from_slice(&(automaton.len() as u32).to_le_bytes());
        out.extend_from_slice(&automaton);
        out
    }

    /// Loads what [`to_bytes`](Self::to_bytes) wrote. The automaton is
    /// copied, not rebuilt; regular-expression rules are compiled.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        let mut reader = Reader(bytes);
        if reader.take(MAGIC.len())? != MAGIC {
            return Err(WireError("not a compiled lexicon (bad magic)".into()));
        }
        let options = Options::from_bits(u16::from_le_bytes(reader.array()?));
        let allow_count = reader.u32()?;
        let count = reader.u32()? as usize;
        let mut terms = Vec::with_capacity(count.min(bytes.len()));
        for _ in 0..count {
            let [flags, severity, action] = reader.array()?;
            let action = match action {
                0 => Action::Mask,
                1 => Action::Drop,
                2 => Action::Reject,
                other => return Err(WireError(format!("unknown action {other}"))),
            };
            let text = reader.string()?;
            let category = reader.string()?;
            terms.push(Term {
                text,
                category,
                severity,
                action,
                whole_word: flags & 1 != 0,
                regex: flags & 2 != 0,
            });
        }
        let length = reader.u32()? as usize;
        let automaton = if length == 0 {
            None
        } else {
            let (automaton, rest) =
                CharwiseDoubleArrayAhoCorasick::<u32>::deserialize(reader.take(length)?)
                    .map_err(|e| WireError(format!("automaton: {e}")))?;
            if !rest.is_empty() {
                return Err(WireError("automaton: trailing bytes".into()));
            }
            Some(automaton)
        };
        if !reader.0.is_empty() {
            return Err(WireError("trailing bytes".into()));
        }
        let regexes = compile_regexes(&terms)?;
        Ok(Self {
            terms,
            options,
            allow_count,
            automaton,
            regexes,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.0.len() < n {
            return Err(WireError("truncated".into()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
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
            .map_err(|_| WireError("a term is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_scans_the_same() {
        let mut email = Term::new(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}", "contact", 1);
        email.regex = true;
        let mut ass = Term::new("ass", "profanity", 1);
        ass.whole_word = true;
        ass.action = Action::Reject;
        let lexicon = Lexicon::new(
            vec![Term::new("傻逼", "insult", 3), ass, email],
            vec!["assess".into()],
        )
        .unwrap();
        let loaded = Lexicon::from_bytes(&lexicon.to_bytes()).unwrap();
        assert_eq!(loaded.terms(), lexicon.terms());
        for text in ["傻@逼 ass, assess, mail ＢＯＢ@example.com", "clean", ""] {
            assert_eq!(loaded.scan(text), lexicon.scan(text), "{text}");
        }
        assert_eq!(loaded.scan("mail ＢＯＢ@example.com").len(), 1);
    }

    #[test]
    fn damaged_bytes_are_refused() {
        let bytes = Lexicon::new(vec![Term::new("word", "x", 1)], vec![])
            .unwrap()
            .to_bytes();
        assert!(Lexicon::from_bytes(b"nonsense").is_err());
        for cut in [4, 12, 20, bytes.len() - 1] {
            assert!(Lexicon::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Lexicon::from_bytes(&longer).is_err());
    }
}
