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
//! A rule's action may be `flag`: the message is delivered untouched and
//! the decision recorded (an event, the review list; see [`crate::review`]),
//! to try a new lexicon on live traffic before it blocks anything.
//!
//! `exempt` names senders never screened, `strikes` the mutes that repeated
//! violations bring (see [`crate::strikes`]), and `scopes` replaces either,
//! or the rules, for some conversations (see [`crate::scopes`]):
//!
//! ```json
//! {"exempt": {"admins": true, "robots": true},
//!  "strikes": {"window_secs": 3600, "penalties": [{"after": 3, "mute_secs": 600}]},
//!  "scopes": [{"name": "support", "group_ids": ["SFCASE#*", "ZDTICKET#*"],
//!              "exempt": {"admins": true, "prefixes": ["sf-", "zd-"]}}]}
//! ```
//!
//! A policy that does not parse is an error for whoever loads it, never "no
//! moderation": `switchboard up` refuses to start, and the moderator answers
//! every message it cannot judge with [`Policy::on_error`]'s default.

use moderation::Hit;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use tim::events::Scope;

pub use crate::outcome::{Outcome, Rule};
use crate::scopes::{Conversation, Exempt, PolicyScope};
use crate::strikes::Strikes;

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

/// What the external moderation service said of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalAnswer<'a> {
    /// It flagged the text in this category.
    Flagged(&'a str),
    /// It found nothing.
    Passed,
    /// It did not answer within the budget, or failed.
    Unavailable,
}

/// Which external moderation service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// OpenAI's `/moderations` (or a compatible endpoint):
    /// `moderation_api_*`.
    #[default]
    OpenAi,
    /// Tencent Cloud Text Moderation and Image Moderation: `tencent_*`.
    Tencent,
}

/// What becomes of a delivered message whose media the service flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaAction {
    /// Recall it: clients show that a message was recalled.
    #[default]
    Recall,
    /// Overwrite it with [`ExternalConfig::notice`] (`modify_group_msg`,
    /// `modify_c2c_msg`), its `CloudCustomData` saying why, so a
    /// conversation keeps its place and says what happened. AVChatRoom
    /// messages cannot be modified: they are recalled.
    Notice,
}

/// The external moderation service's use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExternalConfig {
    /// The service: `openai` (default) or `tencent`.
    pub provider: Provider,
    /// Text checks inside the callback.
    pub text: TextCheck,
    /// Check images and videos after delivery; what is flagged gets
    /// [`ExternalConfig::media_action`].
    pub media: bool,
    /// `recall` (default) or `notice`.
    pub media_action: MediaAction,
    /// The text a flagged message is overwritten with under
    /// [`MediaAction::Notice`].
    pub notice: String,
    /// Time allowed for a text check (IM waits 2 s in all).
    pub budget_ms: u64,
    /// Model.
    pub model: String,
    /// Per-category score thresholds, 0–1 (others: the service's own
    /// flags). With Tencent Cloud, a `Review` suggestion stops a message
    /// when its label (lower case: `ad`, `abuse`, …) has a threshold its
    /// score reaches; `Block` always does.
    pub thresholds: BTreeMap<String, f64>,
}

impl Default for ExternalConfig {
    fn default() -> Self {
        Self {
            provider: Provider::OpenAi,
            text: TextCheck::Off,
            media: true,
            media_action: MediaAction::Recall,
            notice: "This message was removed: it breaks the rules.".into(),
            budget_ms: 1200,
            model: "omni-moderation-latest".into(),
            thresholds: BTreeMap::new(),
        }
    }
}

/// What is kept of decisions for review (see [`crate::review`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewConfig {
    /// Keep every decision that is not `allow` in the review list (on by
    /// default: it is how false positives are found and undone).
    pub store: bool,
    /// How long a decision stays in the list, in seconds (1 hour to 400
    /// days; 30 days by default).
    pub retention_secs: u64,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        Self {
            store: true,
            retention_secs: 30 * 86_400,
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
    /// Senders never screened nor struck (by default, nobody: agents and
    /// admins are screened as everyone is).
    pub exempt: Exempt,
    /// Mutes for repeated violations (off without penalties).
    pub strikes: Strikes,
    /// Conversations with their own rules, exemptions or strikes; the first
    /// that matches wins.
    pub scopes: Vec<PolicyScope>,
    /// The review list.
    pub review: ReviewConfig,
    /// The scope this policy was resolved for by
    /// [`Policy::for_conversation`]; `None` for the document's own.
    #[serde(skip)]
    pub scope: Option<String>,
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
            exempt: Exempt::default(),
            strikes: Strikes::default(),
            scopes: Vec::new(),
            review: ReviewConfig::default(),
            scope: None,
        }
    }
}

impl Policy {
    /// The policy for one conversation: the first scope that covers it
    /// replaces the rules, exemptions and strikes it names; with none, the
    /// document as it is.
    pub fn for_conversation(&self, conversation: &Conversation<'_>) -> Cow<'_, Policy> {
        let Some(scope) = self.scopes.iter().find(|s| s.covers(conversation)) else {
            return Cow::Borrowed(self);
        };
        Cow::Owned(Policy {
            rules: scope.rules.clone().unwrap_or_else(|| self.rules.clone()),
            exempt: scope.exempt.clone().unwrap_or_else(|| self.exempt.clone()),
            strikes: scope
                .strikes
                .clone()
                .unwrap_or_else(|| self.strikes.clone()),
            scopes: Vec::new(),
            scope: Some(scope.name.clone()),
            ..self.clone()
        })
    }

    /// The scope's name for logs and strike counters: `default` for the
    /// document's own.
    pub fn scope_name(&self) -> &str {
        self.scope.as_deref().unwrap_or("default")
    }

    /// What to do about `hit`.
    pub fn outcome(&self, hit: &Hit) -> Outcome {
        self.rules
            .iter()
            .find(|r| {
                (r.category == "*" || *r.category == *hit.category)
                    && hit.severity >= r.min_severity
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

    /// IM's answer to a before-callback for `outcome`; `masked` is the
    /// replacement body of a `Mask` (without one, a mask refuses: a message
    /// that cannot be masked is not delivered as it is).
    pub fn answer(
        &self,
        outcome: Outcome,
        scope: Scope,
        masked: Option<Vec<tim::message::MsgElement>>,
    ) -> tim::events::Answer {
        match outcome {
            Outcome::Allow | Outcome::Flag => tim::events::Answer::ok(),
            Outcome::Mask => {
                masked.map_or_else(|| self.reject_answer(scope), tim::events::Answer::replace)
            }
            Outcome::Drop => tim::events::Answer::silent_drop(),
            Outcome::Reject => self.reject_answer(scope),
        }
    }

    /// Whether a message with this verdict so far and this text goes to the
    /// external service too: only when the policy asks, there is text, and
    /// the lexicons do not already stop it.
    pub fn asks_external(&self, so_far: Outcome, text: &str) -> bool {
        self.external.text != TextCheck::Off && so_far < Outcome::Drop && !text.trim().is_empty()
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
        if matches!(self.on_error, Outcome::Mask | Outcome::Flag) {
            return Err(format!(
                "moderator_policy: on_error `{}` cannot apply to text that was not screened; use reject, drop or allow",
                self.on_error.name()
            ));
        }
        const RETENTION: std::ops::RangeInclusive<u64> = 3600..=400 * 86_400;
        if !RETENTION.contains(&self.review.retention_secs) {
            return Err(format!(
                "moderator_policy: review.retention_secs {} must be {}–{} (an hour to 400 days)",
                self.review.retention_secs,
                RETENTION.start(),
                RETENTION.end()
            ));
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
        self.strikes.validate("moderator_policy: strikes")?;
        let mut names = BTreeSet::new();
        for (index, scope) in self.scopes.iter().enumerate() {
            scope.validate(index)?;
            if !names.insert(scope.name.as_str()) {
                return Err(format!(
                    "moderator_policy: scopes[{index}].name: `{}` is used twice",
                    scope.name
                ));
            }
        }
        if self.external.budget_ms == 0 || self.external.budget_ms > 1800 {
            return Err(format!(
                "moderator_policy: external.budget_ms {} must be 1–1800 (IM waits 2000 ms in all)",
                self.external.budget_ms
            ));
        }
        let notice = self.external.notice.trim().chars().count();
        if self.external.media_action == MediaAction::Notice && !(1..=500).contains(&notice) {
            return Err(format!(
                "moderator_policy: external.notice has {notice} characters; a notice needs 1–500"
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
    fn a_notice_replaces_flagged_media_only_when_it_says_something() {
        let policy = Policy::parse(r#"{"external": {"media_action": "notice"}}"#).unwrap();
        assert_eq!(policy.external.media_action, MediaAction::Notice);
        assert!(
            policy.external.notice.contains("removed"),
            "a default notice"
        );
        let empty = Policy::parse(r#"{"external": {"media_action": "notice", "notice": " "}}"#);
        assert_eq!(
            empty.unwrap_err(),
            "moderator_policy: external.notice has 0 characters; a notice needs 1–500"
        );
        // A recall never shows the notice, so it is not checked.
        assert!(Policy::parse(r#"{"external": {"notice": ""}}"#).is_ok());
        let unknown = Policy::parse(r#"{"external": {"media_action": "hide"}}"#).unwrap_err();
        assert!(unknown.contains("unknown variant `hide`"), "{unknown}");
    }

    #[test]
    fn the_first_scope_that_covers_a_conversation_replaces_what_it_names() {
        use crate::scopes::Kind;
        let policy = Policy::parse(
            r#"{"rules": [{"category": "*", "action": "reject"}],
                "exempt": {"admins": true},
                "strikes": {"penalties": [{"after": 3, "mute_secs": 60}]},
                "scopes": [
                    {"name": "support", "group_ids": ["SFCASE#*"], "rules": [{"category": "*", "action": "mask"}]},
                    {"name": "cases", "group_ids": ["SFCASE#*"], "exempt": {"robots": true}},
                    {"name": "direct", "kinds": ["c2c"], "exempt": {"robots": true}, "strikes": {"penalties": []}}
                ]}"#,
        )
        .unwrap();
        let case = policy.for_conversation(&Conversation {
            kind: Some(Kind::Public),
            group_id: Some("SFCASE#500000000000001"),
        });
        assert_eq!(case.scope_name(), "support");
        assert_eq!(case.rules[0].action, Outcome::Mask);
        assert!(case.exempt.admins, "not replaced: the document's");
        assert!(case.strikes.enabled(), "not replaced: the document's");
        assert!(case.scopes.is_empty());
        let direct = policy.for_conversation(&Conversation {
            kind: Some(Kind::C2c),
            group_id: None,
        });
        assert_eq!(direct.scope_name(), "direct");
        assert_eq!(direct.rules[0].action, Outcome::Reject);
        assert!(direct.exempt.robots && !direct.exempt.admins);
        assert!(!direct.strikes.enabled());
        let lobby = policy.for_conversation(&Conversation {
            kind: Some(Kind::Public),
            group_id: Some("lobby"),
        });
        assert!(matches!(lobby, Cow::Borrowed(_)));
        assert_eq!(lobby.scope_name(), "default");
    }

    #[test]
    fn a_bad_policy_names_its_fault() {
        for (raw, says) in [
            ("{\"rules\": [", "moderator_policy: EOF"),
            ("{\"on_eror\": \"allow\"}", "unknown field `on_eror`"),
            ("{\"on_error\": \"mask\"}", "on_error `mask`"),
            ("{\"on_error\": \"flag\"}", "on_error `flag`"),
            (
                r#"{"review": {"retention_secs": 60}}"#,
                "review.retention_secs 60 must be 3600–34560000",
            ),
            ("{\"reject\": {\"group_code\": 5}}", "reject.group_code 5"),
            ("{\"external\": {\"budget_ms\": 0}}", "budget_ms 0"),
            (
                r#"{"scopes": [{"name": "a"}, {"name": "a"}]}"#,
                "scopes[1].name: `a` is used twice",
            ),
            (
                r#"{"scopes": [{"name": "a", "kinds": ["Galaxy"]}]}"#,
                "unknown variant `Galaxy`",
            ),
            (
                r#"{"scopes": [{"name": "a", "kinds": ["c2c"], "group_ids": ["x*"]}]}"#,
                "scopes[0].group_ids: one-to-one",
            ),
            (r#"{"scopes": [{"name": "a b"}]}"#, "scopes[0].name: `a b`"),
            (
                r#"{"scopes": [{"name": "a", "strikes": {"window_secs": 0}}]}"#,
                "scopes[0].strikes.window_secs: 0",
            ),
            (
                r#"{"strikes": {"penalties": [{"after": 2, "mute_secs": 60}, {"after": 1, "mute_secs": 60}]}}"#,
                "strikes.penalties[1].after: 1",
            ),
        ] {
            let error = Policy::parse(raw).unwrap_err();
            assert!(error.contains(says), "{raw}: {error}");
        }
    }

    #[test]
    fn each_outcome_gets_its_answer_and_a_mask_without_a_body_refuses() {
        let policy = Policy::parse(r#"{"reject": {"group_code": 10150, "info": "no"}}"#).unwrap();
        let body = vec![tim::message::MsgElement::text("**")];
        let json = |outcome, scope, masked| policy.answer(outcome, scope, masked).to_json();
        assert_eq!(
            json(Outcome::Allow, Scope::Group, None),
            tim::events::Answer::ok().to_json()
        );
        assert_eq!(
            json(Outcome::Flag, Scope::C2c, None),
            tim::events::Answer::ok().to_json()
        );
        assert_eq!(
            json(Outcome::Drop, Scope::Group, None),
            tim::events::Answer::silent_drop().to_json()
        );
        assert_eq!(
            json(Outcome::Mask, Scope::Group, Some(body.clone())),
            tim::events::Answer::replace(body).to_json()
        );
        let refusal = policy.reject_answer(Scope::Group).to_json();
        assert!(String::from_utf8_lossy(&refusal).contains("10150"));
        assert_eq!(json(Outcome::Reject, Scope::Group, None), refusal);
        assert_eq!(json(Outcome::Mask, Scope::Group, None), refusal);
    }

    #[test]
    fn the_external_service_is_asked_only_when_it_can_change_the_answer() {
        let off = Policy::parse("").unwrap();
        let open = Policy::parse(r#"{"external": {"text": "fail-open"}}"#).unwrap();
        assert!(!off.asks_external(Outcome::Allow, "hello"));
        assert!(open.asks_external(Outcome::Mask, "hello"));
        assert!(
            !open.asks_external(Outcome::Drop, "hello"),
            "already stopped"
        );
        assert!(!open.asks_external(Outcome::Allow, "  "), "no text");
    }
}
