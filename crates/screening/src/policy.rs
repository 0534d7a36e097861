//! What to do with what matched: the `moderator_policy` variable (JSON).
//!
//! ```json
//! {"rules": [{"category": "contact", "action": "allow"},
//!            {"category": "*", "min_severity": 4, "action": "reject"}],
//!  "reject": {"group_code": 10100, "c2c_code": 120001, "info": "Not sent: it breaks the rules."},
//!  "custom_elems": true, "group_names": true, "log_text": false, "on_error": "reject",
//!  "external": {"text": "fail-open", "media": true, "budget_ms": 1200,
//!               "model": "omni-moderation-latest", "thresholds": {"sexual": 0.5}}}
//! ```
//!
//! A hit's action is the first rule that matches its category (`*` for
//! any) at or above `min_severity`; with no matching rule, the action its
//! lexicon gives it.
//!
//! A policy that does not parse is an error for whoever loads it, never "no
//! moderation": `switchboard up` refuses to start, and the moderator answers
//! every message it cannot judge with [`Policy::on_error`]'s default.

use moderation::{Action, Hit};
use serde::Deserialize;
use std::collections::BTreeMap;
use tim::events::Scope;

/// A hit's outcome, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Let it through untouched.
    Allow,
    /// Deliver with the match masked.
    Mask,
    /// Drop silently.
    Drop,
    /// Refuse; the sender is told.
    Reject,
}

impl Outcome {
    /// Name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Mask => "mask",
            Outcome::Drop => "drop",
            Outcome::Reject => "reject",
        }
    }
}

impl From<Action> for Outcome {
    fn from(action: Action) -> Self {
        match action {
            Action::Mask => Outcome::Mask,
            Action::Drop => Outcome::Drop,
            Action::Reject => Outcome::Reject,
        }
    }
}

/// One policy rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Category, or `*`.
    pub category: String,
    /// Lowest severity the rule applies to.
    #[serde(default)]
    pub min_severity: u8,
    /// What to do.
    pub action: Outcome,
}

/// How a refusal is worded.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectConfig {
    /// Custom code for groups (10100–10200); without it, IM's generic 10016.
    pub group_code: Option<i64>,
    /// Custom code for one-to-one (120001–130000); without it, 20006.
    pub c2c_code: Option<i64>,
    /// Text shown to the sender with a custom code.
    #[serde(default)]
    pub info: String,
}

/// When the external service is unavailable for a text check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextCheck {
    /// Text is judged by the lexicons only.
    #[default]
    Off,
    /// Ask the service; without an answer in the budget, deliver.
    FailOpen,
    /// Ask the service; without an answer in the budget, refuse.
    FailClosed,
}

/// The external moderation service's use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExternalConfig {
    /// Text checks inside the callback.
    pub text: TextCheck,
    /// Check images and videos after delivery, recall what is flagged.
    pub media: bool,
    /// Time allowed for a text check (IM waits 2 s in all).
    pub budget_ms: u64,
    /// Model.
    pub model: String,
    /// Per-category score thresholds (others: the service's own flags).
    pub thresholds: BTreeMap<String, f64>,
}

impl Default for ExternalConfig {
    fn default() -> Self {
        Self {
            text: TextCheck::Off,
            media: true,
            budget_ms: 1200,
            model: "omni-moderation-latest".into(),
            thresholds: BTreeMap::new(),
        }
    }
}

/// `moderator_policy`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Per-category rules, first match wins.
    pub rules: Vec<Rule>,
    /// Refusal wording.
    pub reject: RejectConfig,
    /// Screen custom elements' `Data`, `Desc` and `Ext` (on by default:
    /// clients render them).
    pub custom_elems: bool,
    /// Screen group names on creation.
    pub group_names: bool,
    /// Put the matched text in decision logs (off: only ids).
    pub log_text: bool,
    /// External moderation service.
    pub external: ExternalConfig,
    /// What a message that cannot be screened (its body does not parse, the
    /// overlay cannot be read) gets: `reject` (default), `drop` or `allow`.
    pub on_error: Outcome,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            reject: RejectConfig::default(),
            custom_elems: true,
            group_names: true,
            log_text: false,
            external: ExternalConfig::default(),
            on_error: Outcome::Reject,
        }
    }
}

impl Policy {
    /// What to do about `hit`.
    pub fn outcome(&self, hit: &Hit) -> Outcome {
        self.rules
            .iter()
            .find(|r| {
                (r.category == "*" || r.category == hit.category) && hit.severity >= r.min_severity
            })
            .map_or(hit.action.into(), |r| r.action)
    }

    /// The refusal answer for `scope`.
    pub fn reject_answer(&self, scope: Scope) -> tim::events::Answer {
        let code = match scope {
            Scope::Group => self.reject.group_code,
            Scope::C2c => self.reject.c2c_code,
        };
        code.and_then(|code| tim::events::Answer::reject_with(scope, code, &self.reject.info).ok())
            .unwrap_or_else(tim::events::Answer::reject)
    }

    /// Parses `moderator_policy` (empty: the defaults) and checks it; the
    /// error names the field at fault.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let policy: Policy = if raw.trim().is_empty() {
            Policy::default()
        } else {
            serde_json::from_str(raw).map_err(|e| format!("moderator_policy: {e}"))?
        };
        policy.validate()?;
        Ok(policy)
    }

    fn validate(&self) -> Result<(), String> {
        if self.on_error == Outcome::Mask {
            return Err(
                "moderator_policy: on_error `mask` cannot apply to text that was not screened; use reject, drop or allow"
                    .into(),
            );
        }
        for (code, scope, field) in [
            (self.reject.group_code, Scope::Group, "reject.group_code"),
            (self.reject.c2c_code, Scope::C2c, "reject.c2c_code"),
        ] {
            if let Some(code) = code
                && !scope.custom_codes().contains(&code)
            {
                let range = scope.custom_codes();
                return Err(format!(
                    "moderator_policy: {field} {code} is outside {}–{}",
                    range.start(),
                    range.end()
                ));
            }
        }
        if self.external.budget_ms == 0 || self.external.budget_ms > 1800 {
            return Err(format!(
                "moderator_policy: external.budget_ms {} must be 1–1800 (IM waits 2000 ms in all)",
                self.external.budget_ms
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_screen_everything_and_fail_closed() {
        let policy = Policy::parse("  ").unwrap();
        assert!(policy.custom_elems && policy.group_names);
        assert_eq!(policy.on_error, Outcome::Reject);
    }

    #[test]
    fn a_bad_policy_names_its_fault() {
        for (raw, says) in [
            ("{\"rules\": [", "moderator_policy: EOF"),
            ("{\"on_eror\": \"allow\"}", "unknown field `on_eror`"),
            ("{\"on_error\": \"mask\"}", "on_error `mask`"),
            ("{\"reject\": {\"group_code\": 5}}", "reject.group_code 5"),
            ("{\"external\": {\"budget_ms\": 0}}", "budget_ms 0"),
        ] {
            let error = Policy::parse(raw).unwrap_err();
            assert!(error.contains(says), "{raw}: {error}");
        }
    }
}
