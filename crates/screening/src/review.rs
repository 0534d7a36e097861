//! Decisions as they are reviewed and announced: every decision that is
//! not `allow` becomes one [`Decision`], kept in the review list (behind
//! the admin token) and sent as a signed event to the team's endpoint.
//!
//! A decision's [`Decision::id`] is derived from the callback that caused
//! it (command, message key, `EventTime`), so IM delivering the same
//! callback twice names the same decision: it is kept once and announced
//! once.
//!
//! The review list is read with a [`Filter`] parsed from the admin API's
//! query string; a reviewer who finds a false positive marks it, and the
//! finding's [`Found::context`] becomes an allowlist entry of the overlay.
//!
//! ```
//! use screening::review::Filter;
//!
//! let filter = Filter::parse("user=bob&category=spam&since=1764147600&limit=20").unwrap();
//! assert_eq!(filter.limit, 20);
//! let error = Filter::parse("limit=100000").unwrap_err();
//! assert_eq!(error.field, "limit");
//! ```

use crate::policy::Outcome;
use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where decisions are kept: `mod:review:<time, 10 digits>:<id>`, so keys
/// sort by time.
pub const KEY_PREFIX: &str = "mod:review:";

/// The `type` of a decision event.
pub const EVENT_TYPE: &str = "moderation.decision";

/// One finding of a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// Rule id: `lexicon:<n>`, `overlay:<n>` or `moderations:<category>`.
    pub rule: String,
    /// Category.
    pub category: String,
    /// Severity.
    pub severity: u8,
    /// What this finding alone led to.
    pub outcome: String,
    /// The matched text (empty for the external service's findings, and in
    /// events unless the policy logs text).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub excerpt: String,
    /// The words around the match: the allowlist entry a false positive
    /// adds (see [`crate::verdict::context`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
}

/// One decision that was not `allow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// 32 hex digits, the same for every delivery of the same callback.
    pub id: String,
    /// When it was made (the callback's `EventTime` when it has one), Unix
    /// seconds.
    pub time: u64,
    /// The callback.
    pub command: String,
    /// The message's key (as in the decision log).
    pub key: String,
    /// `flag`, `mask`, `drop`, `reject` or `scrub`.
    pub outcome: String,
    /// The deciding finding's category.
    pub category: String,
    /// Its rule.
    pub rule: String,
    /// Its severity.
    pub severity: u8,
    /// The policy scope that decided, when not the document's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Who sent the message (or changed the group).
    pub sender: String,
    /// The group, for group messages and texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The recipient, for one-to-one messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Every finding.
    pub findings: Vec<Found>,
}

/// Where a decision was made, as the callback says.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The callback command.
    pub command: &'a str,
    /// The message's key.
    pub key: &'a str,
    /// The callback's `EventTime` (milliseconds), if any.
    pub event_time_ms: Option<u64>,
    /// Who sent it.
    pub sender: &'a str,
    /// The group, if any.
    pub group_id: Option<&'a str>,
    /// The one-to-one recipient, if any.
    pub to: Option<&'a str>,
    /// The policy scope, when not the document's own.
    pub scope: Option<&'a str>,
}

/// 32 hex digits of SHA-256 over the callback's identity.
fn decision_id(command: &str, key: &str, event_time_ms: Option<u64>) -> String {
    let mut hash = Sha256::new();
    for part in [command, key, &event_time_ms.unwrap_or(0).to_string()] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Decision {
    /// The decision a verdict is, or `None` when it is `allow`.
    /// `outcome` names what was done when that differs from the verdict's
    /// outcome (`scrub` for a group's changed texts).
    pub fn of(
        origin: Origin<'_>,
        verdict: &Verdict,
        outcome: Option<&str>,
        now: u64,
    ) -> Option<Self> {
        if verdict.outcome == Outcome::Allow {
            return None;
        }
        let deciding = verdict
            .findings
            .iter()
            .find(|f| f.outcome == verdict.outcome)?;
        Some(Decision {
            id: decision_id(origin.command, origin.key, origin.event_time_ms),
            time: origin.event_time_ms.map_or(now, |ms| ms / 1000),
            command: origin.command.to_string(),
            key: origin.key.to_string(),
            outcome: outcome.unwrap_or(verdict.outcome.name()).to_string(),
            category: deciding.category.clone(),
            rule: deciding.rule.clone(),
            severity: deciding.severity,
            scope: origin.scope.map(str::to_string),
            sender: origin.sender.to_string(),
            group_id: origin.group_id.map(str::to_string),
            to: origin.to.map(str::to_string),
            findings: verdict
                .findings
                .iter()
                .map(|f| Found {
                    rule: f.rule.clone(),
                    category: f.category.clone(),
                    severity: f.severity,
                    outcome: f.outcome.name().to_string(),
                    excerpt: f.excerpt.clone(),
                    context: f.context.clone(),
                })
                .collect(),
        })
    }

    /// Its key in the store.
    pub fn store_key(&self) -> String {
        format!("{KEY_PREFIX}{:010}:{}", self.time, self.id)
    }

    /// The event announcing it: `{"type": "moderation.decision", …}` with
    /// the decision's fields; the matched text only when `with_text` (the
    /// policy's `log_text`).
    pub fn event(&self, with_text: bool) -> serde_json::Value {
        let mut decision = self.clone();
        if !with_text {
            for found in &mut decision.findings {
                found.excerpt.clear();
                found.context.clear();
            }
        }
        let mut event = serde_json::to_value(&decision).expect("a decision serializes");
        event["type"] = EVENT_TYPE.into();
        event
    }
}

/// The time and id in a key of [`KEY_PREFIX`], without reading it.
pub fn parse_key(key: &str) -> Option<(u64, &str)> {
    let (time, id) = key.strip_prefix(KEY_PREFIX)?.split_once(':')?;
    Some((time.parse().ok()?, id))
}

/// Whether `id` has the shape of a decision id (so it is safe in a key).
pub fn valid_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// How the decision's event fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "state")]
pub enum Delivery {
    /// No endpoint is configured.
    Off,
    /// Being sent.
    Pending,
    /// The endpoint answered 2xx.
    Delivered {
        /// Attempts it took.
        attempts: u32,
    },
    /// Every attempt failed, or the endpoint refused it.
    Failed {
        /// Attempts made.
        attempts: u32,
        /// The last failure (a status or a connection error; never the
        /// secret or the signature).
        error: String,
    },
}

/// A reviewer's verdict that a decision was wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FalsePositive {
    /// When it was marked, Unix seconds.
    pub at: u64,
    /// The allowlist entries it added to the overlay.
    pub allow: Vec<String>,
}

/// A decision as the review list holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reviewed {
    /// The decision.
    #[serde(flatten)]
    pub decision: Decision,
    /// Its event.
    pub delivery: Delivery,
    /// Set once a reviewer marks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub false_positive: Option<FalsePositive>,
}

impl Reviewed {
    /// The allowlist entries that undo it: each finding's context, once.
    pub fn allowlist_entries(&self) -> Vec<String> {
        let mut entries: Vec<String> = Vec::new();
        for found in &self.decision.findings {
            let entry = if found.context.is_empty() {
                &found.excerpt
            } else {
                &found.context
            };
            if !entry.trim().is_empty() && !entries.contains(entry) {
                entries.push(entry.clone());
            }
        }
        entries
    }
}

/// A query parameter that does not hold what it must.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// The parameter.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Which decisions a review listing shows, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// `user`: the sender.
    pub user: Option<String>,
    /// `category`: the deciding category.
    pub category: Option<String>,
    /// `outcome`: flag, mask, drop, reject or scrub.
    pub outcome: Option<String>,
    /// `group`: the group id.
    pub group: Option<String>,
    /// `since`: at or after (Unix seconds).
    pub since: Option<u64>,
    /// `until`: before (Unix seconds); the next page starts at the last
    /// decision's time.
    pub until: Option<u64>,
    /// `false_positive`: only those marked (`true`) or not (`false`).
    pub false_positive: Option<bool>,
    /// `limit`: at most this many (1–1000, 100 by default).
    pub limit: usize,
}

/// The most decisions one listing returns.
pub const MAX_LIMIT: usize = 1000;

const OUTCOMES: [&str; 5] = ["flag", "mask", "drop", "reject", "scrub"];

impl Filter {
    /// Parses a query string; an unknown, repeated or malformed parameter
    /// is an error naming it.
    pub fn parse(query: &str) -> Result<Self, FilterError> {
        let mut filter = Filter {
            user: None,
            category: None,
            outcome: None,
            group: None,
            since: None,
            until: None,
            false_positive: None,
            limit: 100,
        };
        let mut seen = std::collections::BTreeSet::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let error = |message: &str| FilterError {
                field: name.to_string(),
                message: message.to_string(),
            };
            if !seen.insert(name.to_string()) {
                return Err(error("given twice"));
            }
            let value = value.into_owned();
            let time = |value: &str| {
                value
                    .parse::<u64>()
                    .map_err(|_| error("must be Unix seconds"))
            };
            match name.as_ref() {
                "user" => filter.user = Some(value),
                "category" => filter.category = Some(value),
                "group" => filter.group = Some(value),
                "outcome" if OUTCOMES.contains(&value.as_str()) => filter.outcome = Some(value),
                "outcome" => return Err(error("must be flag, mask, drop, reject or scrub")),
                "since" => filter.since = Some(time(&value)?),
                "until" => filter.until = Some(time(&value)?),
                "false_positive" => {
                    filter.false_positive = Some(match value.as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(error("must be true or false")),
                    })
                }
                "limit" => {
                    filter.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| error("must be 1 to 1000"))?
                }
                _ => {
                    return Err(error(
                        "unknown; filter by user, category, outcome, group, since, until, false_positive, limit",
                    ));
                }
            }
        }
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && since >= until
        {
            return Err(FilterError {
                field: "until".into(),
                message: "must be after since".into(),
            });
        }
        Ok(filter)
    }

    /// Whether a decision stored at `time` can match (read from its key,
    /// before the record is read).
    pub fn admits_time(&self, time: u64) -> bool {
        self.since.is_none_or(|since| time >= since) && self.until.is_none_or(|until| time < until)
    }

    /// Whether `reviewed` matches.
    pub fn matches(&self, reviewed: &Reviewed) -> bool {
        let decision = &reviewed.decision;
        let same = |wanted: &Option<String>, actual: Option<&str>| {
            wanted.as_deref().is_none_or(|w| Some(w) == actual)
        };
        self.admits_time(decision.time)
            && same(&self.user, Some(&decision.sender))
            && same(&self.category, Some(&decision.category))
            && same(&self.outcome, Some(&decision.outcome))
            && same(&self.group, decision.group_id.as_deref())
            && self
                .false_positive
                .is_none_or(|marked| marked == reviewed.false_positive.is_some())
    }
}

/// One decision as the moderator logs it: one JSON line on stdout, the
/// matched text only when the policy says so.
pub struct DecisionLog<'a> {
    /// The message key (`group:<id>:<random>`, `c2c:<key>`, …).
    pub key: &'a str,
    /// What was judged (the callback command, or the after-delivery check).
    pub command: &'a str,
    /// What was done (`mask`, `reject`, `recall`, `notice`, …).
    pub outcome: &'a str,
    /// The category.
    pub category: &'a str,
    /// The rule (`lexicon:<n>`, `moderations:<category>`, …).
    pub rule: &'a str,
    /// The severity.
    pub severity: u8,
    /// The external service's score, 0–1.
    pub score: Option<f64>,
    /// The matched text, when the policy logs it.
    pub excerpt: Option<&'a str>,
    /// What failed on the way.
    pub error: Option<&'a str>,
    /// The policy scope that decided, when not the document's own.
    pub scope: Option<&'a str>,
}

/// Prints `log` as one JSON line (only the fields that apply).
pub fn log_decision(log: &DecisionLog) {
    let mut line = serde_json::json!({
        "moderation": log.outcome,
        "key": log.key,
        "command": log.command,
        "category": log.category,
        "rule": log.rule,
        "severity": log.severity,
    });
    if let Some(score) = log.score {
        line["score"] = score.into();
    }
    if let Some(excerpt) = log.excerpt {
        line["text"] = excerpt.into();
    }
    if let Some(error) = log.error {
        line["error"] = error.into();
    }
    if let Some(scope) = log.scope {
        line["scope"] = scope.into();
    }
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::verdict::Layers;

    fn verdict(policy: &str, text: &str) -> Verdict {
        let layers = Layers {
            builtin: crate::builtin(),
            overlay: None,
        };
        let body = serde_json::from_value::<Vec<tim::message::MsgElement>>(serde_json::json!([
            {"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}
        ]))
        .unwrap();
        layers.message(&Policy::parse(policy).unwrap(), &body)
    }

    fn origin(event_time_ms: Option<u64>) -> Origin<'static> {
        Origin {
            command: "Group.CallbackBeforeSendMsg",
            key: "group:room:7",
            event_time_ms,
            sender: "bob",
            group_id: Some("room"),
            to: None,
            scope: None,
        }
    }

    #[test]
    fn the_same_callback_is_the_same_decision() {
        let rejected = verdict("", "go kill yourself");
        let first = Decision::of(origin(Some(1_764_147_600_123)), &rejected, None, 5).unwrap();
        let again = Decision::of(origin(Some(1_764_147_600_123)), &rejected, None, 9).unwrap();
        assert_eq!(first, again, "a redelivery names the same decision");
        assert_eq!(first.time, 1_764_147_600);
        assert!(valid_id(&first.id), "{}", first.id);
        let other = Decision::of(origin(Some(1_764_147_600_124)), &rejected, None, 5).unwrap();
        assert_ne!(first.id, other.id, "another message with the same Random");
        assert_eq!(first.outcome, "reject");
        assert_eq!(first.findings[0].excerpt, "go kill yourself");
        assert_eq!(
            parse_key(&first.store_key()),
            Some((1_764_147_600, first.id.as_str()))
        );
        assert!(Decision::of(origin(None), &verdict("", "hello"), None, 5).is_none());
    }

    #[test]
    fn an_event_carries_text_only_when_the_policy_logs_it() {
        let decision =
            Decision::of(origin(None), &verdict("", "go kill yourself"), None, 5).unwrap();
        let event = decision.event(false);
        assert_eq!(event["type"], EVENT_TYPE);
        assert_eq!(event["id"], decision.id.as_str());
        assert!(!event.to_string().contains("kill"), "{event}");
        assert!(decision.event(true).to_string().contains("kill yourself"));
    }

    #[test]
    fn a_false_positive_is_undone_by_the_words_around_each_finding() {
        let mut decision =
            Decision::of(origin(None), &verdict("", "go kill yourself"), None, 5).unwrap();
        let found = |excerpt: &str, context: &str| Found {
            rule: "overlay:0".into(),
            category: "custom".into(),
            severity: 1,
            outcome: "flag".into(),
            excerpt: excerpt.into(),
            context: context.into(),
        };
        decision.findings = vec![
            found("cunt", "Scunthorpe"),
            found("cunt", "Scunthorpe"),
            found("ass", ""),
            found("", ""),
        ];
        let reviewed = Reviewed {
            decision,
            delivery: Delivery::Off,
            false_positive: None,
        };
        assert_eq!(reviewed.allowlist_entries(), ["Scunthorpe", "ass"]);
    }

    #[test]
    fn filters_match_and_bad_parameters_are_named() {
        let decision = Decision::of(
            origin(Some(2_000_000)),
            &verdict("", "go kill yourself"),
            None,
            5,
        )
        .unwrap();
        let mut reviewed = Reviewed {
            decision,
            delivery: Delivery::Pending,
            false_positive: None,
        };
        let category = reviewed.decision.category.clone();
        for (query, matches) in [
            ("", true),
            ("user=bob", true),
            ("user=alice", false),
            (&*format!("category={category}&outcome=reject"), true),
            ("outcome=flag", false),
            ("group=room", true),
            ("group=other", false),
            ("since=2000", true),
            ("since=2001", false),
            ("until=2000", false),
            ("until=2001", true),
            ("false_positive=false", true),
            ("false_positive=true", false),
        ] {
            assert_eq!(
                Filter::parse(query).unwrap().matches(&reviewed),
                matches,
                "{query}"
            );
        }
        reviewed.false_positive = Some(FalsePositive {
            at: 1,
            allow: vec![],
        });
        assert!(
            Filter::parse("false_positive=true")
                .unwrap()
                .matches(&reviewed)
        );
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=x", "limit"),
            ("since=yesterday", "since"),
            ("outcome=allow", "outcome"),
            ("false_positive=yes", "false_positive"),
            ("usr=bob", "usr"),
            ("user=a&user=b", "user"),
            ("since=10&until=10", "until"),
        ] {
            assert_eq!(Filter::parse(query).unwrap_err().field, field, "{query}");
        }
    }
}
