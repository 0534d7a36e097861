//! The run-time overlay: extra terms and allowlist entries an operator adds
//! without a redeploy. Stored as JSON (the moderator keeps it in the
//! key-value store), validated field by field, compiled into a small second
//! [`Lexicon`] that is scanned together with the built-in one
//! ([`Lexicon::scan_with`]).
//!
//! Compiling is slow next to a request: a quarter of a millisecond for ten
//! terms, tens of milliseconds for a thousand, and on Spin every request
//! is a fresh instance. So the compiled form is kept in the store too
//! ([`COMPILED_KEY`], see [`pack`] and [`unpack`]), tied to the JSON it
//! came from, and an instance loads it in microseconds.

use crate::{Action, Lexicon, Options, Term};
use serde::{Deserialize, Serialize};

/// Key under which components keep the overlay in the `default`
/// key-value store.
pub const STORE_KEY: &str = "moderation:overlay";

/// Key under which components keep the overlay's compiled form, beside
/// its JSON under [`STORE_KEY`] (see [`pack`]).
pub const COMPILED_KEY: &str = "moderation:overlay.compiled";

/// Most terms (and, separately, allowlist entries) an overlay may hold: it
/// is compiled when it changes, in the request that first sees it.
pub const MAX_ENTRIES: usize = 10_000;
/// Longest term or allowlist entry, in characters.
pub const MAX_TERM_CHARS: usize = 200;

/// Extra terms and allowlist entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overlay {
    /// Extra terms.
    #[serde(default)]
    pub terms: Vec<OverlayTerm>,
    /// Extra allowlist entries (they also suppress built-in terms).
    #[serde(default)]
    pub allow: Vec<String>,
}

/// One extra term, as JSON: `{"text": "…", "category": "…", "severity": 2,
/// "action": "reject", "whole_word": false, "regex": false}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayTerm {
    /// The term (or pattern, with `regex`).
    pub text: String,
    /// Category, for per-category policy.
    pub category: String,
    /// Severity, default 1.
    #[serde(default = "one")]
    pub severity: u8,
    /// `mask` (default), `drop` or `reject`.
    #[serde(default = "mask")]
    pub action: Action,
    /// Whole-word matching.
    #[serde(default)]
    pub whole_word: bool,
    /// `text` is a regular expression.
    #[serde(default)]
    pub regex: bool,
}

fn one() -> u8 {
    1
}

fn mask() -> Action {
    Action::Mask
}

/// What is wrong with an overlay, naming the field (`terms[2].category`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct OverlayError {
    /// JSON path of the field.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Overlay {
    /// Adds `other`'s terms and entries, skipping exact duplicates.
    pub fn merge(&mut self, other: Overlay) {
        for term in other.terms {
            if !self.terms.contains(&term) {
                self.terms.push(term);
            }
        }
        for entry in other.allow {
            if !self.allow.contains(&entry) {
                self.allow.push(entry);
            }
        }
    }

    /// Compiles the overlay; the error names the first bad field.
    pub fn compile(&self, options: Options) -> Result<Lexicon, OverlayError> {
        let error = |field: String, message: &str| OverlayError {
            field,
            message: message.to_string(),
        };
        if self.terms.len() > MAX_ENTRIES {
            return Err(error("terms".into(), "more than 10000 terms"));
        }
        if self.allow.len() > MAX_ENTRIES {
            return Err(error("allow".into(), "more than 10000 entries"));
        }
        let mut terms = Vec::with_capacity(self.terms.len());
        for (i, term) in self.terms.iter().enumerate() {
            let text = term.text.trim();
            if text.is_empty() {
                return Err(error(format!("terms[{i}].text"), "must not be empty"));
            }
            if text.chars().count() > MAX_TERM_CHARS {
                return Err(error(
                    format!("terms[{i}].text"),
                    "longer than 200 characters",
                ));
            }
            let category = term.category.trim();
            if category.is_empty()
                || category.len() > 64
                || !category
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(error(
                    format!("terms[{i}].category"),
                    "1–64 characters of a-z, 0-9, `-`, `_`",
                ));
            }
            if term.regex
                && let Err(e) = regex_lite::Regex::new(text)
            {
                return Err(OverlayError {
                    field: format!("terms[{i}].text"),
                    message: format!("not a regular expression: {e}"),
                });
            }
            terms.push(Term {
                text: text.to_string(),
                category: category.to_string(),
                severity: term.severity,
                action: term.action,
                whole_word: term.whole_word,
                regex: term.regex,
            });
        }
        for (i, entry) in self.allow.iter().enumerate() {
            if entry.trim().is_empty() || entry.chars().count() > MAX_TERM_CHARS {
                return Err(error(format!("allow[{i}]"), "1–200 characters"));
            }
        }
        Lexicon::with_options(terms, self.allow.clone(), options).map_err(|e| {
            let at = self.terms.iter().position(|t| t.text.trim() == e.term);
            OverlayError {
                field: at.map_or("terms".into(), |i| format!("terms[{i}].text")),
                message: e.message,
            }
        })
    }
}

/// What names a stored overlay's JSON: its 128-bit XXH3 hash. Every
/// fresh instance hashes the whole JSON. Inside wasm, which has no SHA
/// instructions, SHA-256 of a 1,000-entry overlay (124 KB) cost about a
/// millisecond per instance, and XXH3 took that away (`docs/benchmarks.md`).
/// A cryptographic hash would add nothing here: whoever can write the
/// compiled form can also write any digest beside it. The digest only has
/// to tell one version of the overlay from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JsonDigest([u8; DIGEST_BYTES]);

/// How many bytes of a kept form (see [`pack`]) are the digest; the
/// lexicon's bytes follow.
pub const DIGEST_BYTES: usize = 16;

impl JsonDigest {
    /// The digest of the overlay JSON `json`, byte for byte as stored.
    pub fn of(json: &[u8]) -> Self {
        Self(xxhash_rust::xxh3::xxh3_128(json).to_le_bytes())
    }
}

/// The compiled form of an overlay to keep under [`COMPILED_KEY`]: the
/// digest of the JSON it was compiled from, then the lexicon's bytes
/// (which carry the normalization options it was compiled with).
///
/// ```
/// use moderation::overlay::{JsonDigest, Overlay, pack, unpack};
/// use moderation::Options;
///
/// let json = br#"{"terms": [{"text": "blorp", "category": "custom"}]}"#;
/// let overlay: Overlay = serde_json::from_slice(json).unwrap();
/// let compiled = overlay.compile(Options::default()).unwrap();
/// let kept = pack(JsonDigest::of(json), &compiled);
///
/// // The same JSON and options: loaded, not compiled again.
/// let loaded = unpack(JsonDigest::of(json), &Options::default(), &kept).unwrap();
/// assert_eq!(loaded.scan("b l o r p").len(), 1);
///
/// // The JSON changed since: not used.
/// let changed = br#"{"terms": []}"#;
/// assert!(unpack(JsonDigest::of(changed), &Options::default(), &kept).is_none());
/// ```
pub fn pack(json: JsonDigest, lexicon: &Lexicon) -> Vec<u8> {
    let mut kept = json.0.to_vec();
    kept.extend_from_slice(&lexicon.to_bytes());
    kept
}

/// The lexicon in `kept` (what [`pack`] wrote), when it was compiled from
/// the JSON named `json` with `options`; `None` when it was not (the
/// overlay changed since, or the deployment normalizes differently) or
/// when the bytes do not load. Every part is checked, as for any bytes
/// from outside ([`Lexicon::from_bytes`]).
pub fn unpack(json: JsonDigest, options: &Options, kept: &[u8]) -> Option<Lexicon> {
    let (digest, bytes) = kept.split_first_chunk::<DIGEST_BYTES>()?;
    if *digest != json.0 {
        return None;
    }
    Lexicon::from_bytes(bytes)
        .ok()
        .filter(|lexicon| lexicon.options() == options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_form_is_used_only_for_its_own_json_and_options() {
        let json = br#"{"terms": [{"text": "blorp", "category": "custom", "action": "reject"}], "allow": ["blorpington"]}"#;
        let overlay: Overlay = serde_json::from_slice(json).unwrap();
        let options = Options::default();
        let compiled = overlay.compile(options).unwrap();
        let kept = pack(JsonDigest::of(json), &compiled);

        let loaded = unpack(JsonDigest::of(json), &options, &kept).unwrap();
        for text in ["b.l.o.r.p", "blorpington", "clean"] {
            assert_eq!(loaded.scan(text), compiled.scan(text), "{text}");
        }
        // One byte more in the JSON (a space) names another overlay.
        let mut spaced = json.to_vec();
        spaced.push(b' ');
        assert!(unpack(JsonDigest::of(&spaced), &options, &kept).is_none());
        // Compiled with other options: not what this deployment screens with.
        let mut other = options;
        other.pinyin = !other.pinyin;
        assert!(unpack(JsonDigest::of(json), &other, &kept).is_none());
        // Damaged or cut short: not loaded.
        let d = DIGEST_BYTES;
        for cut in [0, d - 1, d, d + 8, kept.len() - 1] {
            assert!(
                unpack(JsonDigest::of(json), &options, &kept[..cut]).is_none(),
                "cut at {cut}"
            );
        }
        let mut damaged = kept.clone();
        damaged[DIGEST_BYTES] ^= 0xff;
        assert!(unpack(JsonDigest::of(json), &options, &damaged).is_none());
    }

    #[test]
    fn an_overlay_adds_terms_and_its_allowlist_applies_to_the_base() {
        let base = Lexicon::new(vec![Term::new("shit", "profanity", 2)], vec![]).unwrap();
        let overlay: Overlay = serde_json::from_str(
            r#"{"terms": [{"text": "blorp", "category": "custom", "action": "reject"}], "allow": ["shitzu"]}"#,
        )
        .unwrap();
        let overlay = overlay.compile(*base.options()).unwrap();
        let hits = base.scan_with(Some(&overlay), "b.l.o.r.p and a shitzu, shit");
        assert_eq!(hits.len(), 2, "{hits:?}");
        assert_eq!((hits[0].layer, hits[0].action), (1, Action::Reject));
        assert_eq!((hits[1].layer, &*hits[1].category), (0, "profanity"));
    }

    #[test]
    fn bad_fields_are_named() {
        let bad = |json: &str| {
            serde_json::from_str::<Overlay>(json)
                .unwrap()
                .compile(Options::default())
                .unwrap_err()
                .field
        };
        assert_eq!(
            bad(r#"{"terms": [{"text": "ok", "category": "a"}, {"text": " ", "category": "a"}]}"#),
            "terms[1].text"
        );
        assert_eq!(
            bad(r#"{"terms": [{"text": "x", "category": "no spaces"}]}"#),
            "terms[0].category"
        );
        assert_eq!(
            bad(r#"{"terms": [{"text": "(", "category": "a", "regex": true}]}"#),
            "terms[0].text"
        );
        assert_eq!(
            bad(r#"{"terms": [{"text": "...", "category": "a"}]}"#),
            "terms[0].text",
            "nothing left after normalization"
        );
        assert!(
            serde_json::from_str::<Overlay>(
                r#"{"terms": [{"text": "x", "category": "a", "action": "explode"}]}"#
            )
            .is_err()
        );
    }
}

/// A stored overlay comes from the admin API and the key-value store:
/// whatever it holds, reading and compiling it never panics.
#[cfg(test)]
mod no_panic {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn overlays(text in r#"\{"terms":\[\{"text":".{0,12}","category":"[a-z]{0,6}","severity":[0-9]{1,3}(,"action":"(mask|drop|reject|x)")?(,"whole_word":(true|false))?\}\],"allow":\[".{0,8}"\]\}|.{0,120}"#) {
            if let Ok(overlay) = serde_json::from_str::<super::Overlay>(&text) {
                let _ = overlay.compile(crate::Options::default());
            }
        }
    }
}
