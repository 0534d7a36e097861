//! The run-time overlay: extra terms and allowlist entries an operator adds
//! without a redeploy. Stored as JSON (the moderator keeps it in the
//! key-value store), validated field by field, compiled into a small second
//! [`Lexicon`] that is scanned together with the built-in one
//! ([`Lexicon::scan_with`]).

use crate::{Action, Lexicon, Options, Term};
use serde::{Deserialize, Serialize};

/// Key under which components keep the overlay in the `default`
/// key-value store.
pub const STORE_KEY: &str = "moderation:overlay";

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

#[cfg(test)]
mod tests {
    use super::*;

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
