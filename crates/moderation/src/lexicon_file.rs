//! The plain-text lexicon format: one term per line, grouped by file, with a
//! header of `# key: value` lines that apply to every term below them.
//!
//! ```text
//! # category: profanity
//! # severity: 2
//! # action: mask
//! # whole_word: true
//! # source: written for Switchboard (CC0)
//! shit
//! !shitake
//! re:https?://\S+
//! ```
//!
//! - `category` (required before the first term), `severity` (0–255,
//!   default 1), `action` (`mask`, `reject`, `drop`; default `mask`),
//!   `whole_word` (`true`/`false`, default `false`; meaningful for Latin
//!   terms), `source` (attribution, kept for the record).
//! - A header line may appear again later to change the values for the
//!   terms after it.
//! - `re:pattern` is a regular-expression rule (`regex-lite` syntax) with
//!   the same metadata, for URLs, e-mail addresses, phone numbers.
//! - `!term` is an allowlist entry; blank lines and `#` lines without a
//!   known key are ignored.
//! - `~逼 比 笔 币` says a character of Chinese terms may be written as any
//!   of the following homophones or look-alikes (see
//!   [`variants`](crate::variants)); one line per character, the lines of
//!   every file forming one table.
//! - `# normalize: pinyin_initials=on, leetspeak=off` turns normalization
//!   steps and variants ([`Options`](crate::Options), by field name) on or
//!   off for the whole lexicon.

use crate::{Action, Homophones, Options, Term};

/// Terms and allowlist entries read from lexicon files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Terms with their metadata.
    pub terms: Vec<Term>,
    /// Allowlist entries.
    pub allow: Vec<String>,
    /// `source` attributions seen.
    pub sources: Vec<String>,
    /// Normalization switches (`# normalize:` lines over the defaults).
    pub options: Options,
    /// Homophones of Chinese terms' characters (`~` lines).
    pub homophones: Homophones,
}

/// A line that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LexiconError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads one lexicon file's text into `into`.
pub fn parse(text: &str, into: &mut Parsed) -> Result<(), LexiconError> {
    let mut category: Option<String> = None;
    let mut severity = 1u8;
    let mut action = Action::Mask;
    let mut whole_word = false;
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let error = |message: String| LexiconError {
            line: number + 1,
            message,
        };
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let Some((key, value)) = comment.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim() {
                "category" if !value.is_empty() => category = Some(value.to_string()),
                "category" => return Err(error("empty category".into())),
                "severity" => {
                    severity = value
                        .parse()
                        .map_err(|_| error(format!("severity `{value}` is not 0–255")))?
                }
                "action" => {
                    action = Action::from_name(value).ok_or_else(|| {
                        error(format!("action `{value}`: use mask, reject or drop"))
                    })?
                }
                "whole_word" => {
                    whole_word = match value {
                        "true" => true,
                        "false" => false,
                        other => {
                            return Err(error(format!("whole_word `{other}`: use true or false")));
                        }
                    }
                }
                "source" => into.sources.push(value.to_string()),
                "normalize" => {
                    for setting in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let unknown = || {
                            error(format!(
                                "normalize `{setting}`: use name=on or name=off, names: {}",
                                Options::NAMES.join(", ")
                            ))
                        };
                        let (name, on) = setting.split_once('=').ok_or_else(unknown)?;
                        let on = match on.trim() {
                            "on" => true,
                            "off" => false,
                            _ => return Err(unknown()),
                        };
                        into.options.set(name.trim(), on).ok_or_else(unknown)?;
                    }
                }
                _ => {}
            }
            continue;
        }
        if let Some(table) = line.strip_prefix('~') {
            let mut words = table.split_whitespace();
            let mut first = words.next().unwrap_or("").chars();
            let (Some(c), None) = (first.next(), first.next()) else {
                return Err(error(
                    "a homophone line is `~` and one character, then its alternatives".into(),
                ));
            };
            let alternatives: Vec<String> = words.map(str::to_string).collect();
            if alternatives.is_empty() {
                return Err(error(format!("homophones of `{c}`: none given")));
            }
            let entry = into.homophones.entry(c).or_default();
            for alternative in alternatives {
                if !entry.contains(&alternative) {
                    entry.push(alternative);
                }
            }
            continue;
        }
        if let Some(allowed) = line.strip_prefix('!') {
            into.allow.push(allowed.trim().to_string());
            continue;
        }
        let category = category
            .clone()
            .ok_or_else(|| error("a term before any `# category:` line".into()))?;
        let (text, regex) = match line.strip_prefix("re:") {
            Some(pattern) => (pattern.trim(), true),
            None => (line, false),
        };
        if regex && let Err(e) = regex_lite::Regex::new(text) {
            return Err(error(format!("regular expression: {e}")));
        }
        into.terms.push(Term {
            text: text.to_string(),
            category,
            severity,
            action,
            whole_word,
            regex,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_apply_to_the_terms_below() {
        let mut parsed = Parsed::default();
        parse(
            "# source: test\n# category: profanity\n# severity: 2\n# whole_word: true\nass\n!assess\n\n# category: spam\n# action: reject\n# whole_word: false\n代开发票\n",
            &mut parsed,
        )
        .unwrap();
        assert_eq!(parsed.terms.len(), 2);
        assert_eq!(
            (
                parsed.terms[0].category.as_str(),
                parsed.terms[0].severity,
                parsed.terms[0].whole_word
            ),
            ("profanity", 2, true)
        );
        assert_eq!(
            (parsed.terms[1].category.as_str(), parsed.terms[1].action),
            ("spam", Action::Reject)
        );
        assert_eq!(parsed.allow, ["assess"]);
        assert_eq!(parsed.sources, ["test"]);
    }

    #[test]
    fn homophones_and_switches() {
        let mut parsed = Parsed::default();
        parse(
            "# normalize: pinyin_initials=on, leetspeak=off\n~逼 比 笔\n~逼 笔 币\n",
            &mut parsed,
        )
        .unwrap();
        assert!(parsed.options.pinyin_initials && !parsed.options.leetspeak);
        assert_eq!(parsed.homophones[&'逼'], ["比", "笔", "币"]);
        for (text, says) in [
            (
                "# normalize: pinyin=maybe\n",
                "line 1: normalize `pinyin=maybe`",
            ),
            (
                "# normalize: nothing=on\n",
                "line 1: normalize `nothing=on`",
            ),
            ("~逼\n", "line 1: homophones of `逼`: none given"),
            (
                "~傻逼 沙比\n",
                "line 1: a homophone line is `~` and one character",
            ),
        ] {
            let error = parse(text, &mut Parsed::default()).unwrap_err().to_string();
            assert!(error.starts_with(says), "{text}: {error}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        let mut parsed = Parsed::default();
        assert_eq!(parse("word\n", &mut parsed).unwrap_err().line, 1);
        assert_eq!(
            parse("# category: x\n# action: explode\n", &mut parsed)
                .unwrap_err()
                .line,
            2
        );
        assert!(parse("# category: x\n# severity: 300\n", &mut parsed).is_err());
        let bad_regex = parse("# category: x\nok\nre:(unclosed\n", &mut parsed).unwrap_err();
        assert_eq!(bad_regex.line, 3);
        assert!(
            bad_regex.message.contains("regular expression"),
            "{bad_regex}"
        );
    }
}
