//! Judging what a client shows against the lexicons and the policy: which
//! hits count, the strongest outcome, and the masked body when masking is
//! the outcome.
//!
//! A message body is judged on every text a client renders
//! ([`tim::shown`]), each on its own, and on its text elements joined, as
//! clients display them side by side: `["go kill ", "yourself"]` is one
//! sentence on screen, so it is one sentence here. A term found only in the
//! joined text is masked in each element it spans.

use crate::policy::{ExternalAnswer, Outcome, Policy, TextCheck};
use moderation::{Hit, Lexicon};
use serde_json::Value;
use tim::message::MsgElement;
use tim::shown::{Source, replace_at, shown_texts};

/// The lexicons a request scans: built in, plus the run-time overlay.
pub struct Layers<'a> {
    /// Built in.
    pub builtin: &'a Lexicon,
    /// Added at run time.
    pub overlay: Option<&'a Lexicon>,
}

/// A hit and what the policy makes of it.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Rule id for logs: `lexicon:<n>`, `overlay:<n>` or `moderations:<category>`.
    pub rule: String,
    /// Category.
    pub category: String,
    /// Severity.
    pub severity: u8,
    /// Outcome.
    pub outcome: Outcome,
    /// The matched text (logged only when the policy says so).
    pub excerpt: String,
    /// The word or words around the match (see [`context`]): what an
    /// allowlist entry needs to undo this finding and no other, when a
    /// reviewer marks it a false positive.
    pub context: String,
}

impl Finding {
    /// A finding from outside the lexicons: the external service, or a text
    /// that could not be screened (`category` says which).
    pub fn external(category: &str, outcome: Outcome) -> Self {
        Self {
            rule: format!("moderations:{category}"),
            category: category.to_string(),
            severity: 0,
            outcome,
            excerpt: String::new(),
            context: String::new(),
        }
    }

    /// What the external service's answer adds to a verdict under
    /// `policy`: a flagged category rejects; a service that failed rejects
    /// only when the policy fails closed.
    pub fn of_external(policy: &Policy, answer: ExternalAnswer<'_>) -> Option<Self> {
        match answer {
            ExternalAnswer::Flagged(category) => Some(Self::external(category, Outcome::Reject)),
            ExternalAnswer::Passed => None,
            ExternalAnswer::Unavailable if policy.external.text == TextCheck::FailClosed => {
                Some(Self::external("unavailable", Outcome::Reject))
            }
            ExternalAnswer::Unavailable => None,
        }
    }
}

/// The longest [`Finding::context`], in characters (an allowlist entry's
/// limit).
const MAX_CONTEXT_CHARS: usize = 200;

/// The run of text around `span` up to whitespace on either side, without
/// the punctuation at its ends (`Scunthorpe,` → `Scunthorpe`), never
/// cutting into the span; where that run is longer than an allowlist entry
/// may be (Chinese has no spaces), the span with up to ten characters each
/// side. An allowlist entry of the context undoes the hit where it stood,
/// while the term alone still matches everywhere else.
///
/// ```
/// use screening::verdict::context;
///
/// let text = "Greetings from Scunthorpe, UK";
/// let start = text.find("cunt").unwrap();
/// assert_eq!(context(text, start..start + 4), "Scunthorpe");
/// ```
pub fn context(text: &str, span: std::ops::Range<usize>) -> String {
    let is_edge = |c: char| c.is_whitespace();
    let mut start = text[..span.start].rfind(is_edge).map_or(0, |i| {
        i + text[i..].chars().next().map_or(1, char::len_utf8)
    });
    let mut end = text[span.end..]
        .find(is_edge)
        .map_or(text.len(), |i| span.end + i);
    let trim = |c: char| c.is_ascii_punctuation() || (!c.is_alphanumeric() && !c.is_whitespace());
    while start < span.start {
        let c = text[start..].chars().next().expect("start < span.start");
        if !trim(c) {
            break;
        }
        start += c.len_utf8();
    }
    while end > span.end {
        let c = text[..end].chars().next_back().expect("end > span.end");
        if !trim(c) {
            break;
        }
        end -= c.len_utf8();
    }
    if text[start..end].chars().count() <= MAX_CONTEXT_CHARS {
        return text[start..end].to_string();
    }
    let before: usize = text[start..span.start]
        .chars()
        .rev()
        .take(10)
        .map(char::len_utf8)
        .sum();
    let after: usize = text[span.end..end]
        .chars()
        .take(10)
        .map(char::len_utf8)
        .sum();
    let around = &text[span.start - before..span.end + after];
    around.chars().take(MAX_CONTEXT_CHARS).collect()
}

/// The verdict on a whole message.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Strongest outcome over all findings (`Allow` with none).
    pub outcome: Outcome,
    /// Every finding that is not `Allow`.
    pub findings: Vec<Finding>,
    /// The body with masked spans, when the outcome is `Mask`.
    pub masked: Option<Vec<MsgElement>>,
}

impl Verdict {
    /// No finding yet: `Allow`, to [`Verdict::add`] to.
    pub fn allow() -> Self {
        Self {
            outcome: Outcome::Allow,
            findings: Vec::new(),
            masked: None,
        }
    }

    /// Adds a finding, raising the outcome if it is stronger.
    pub fn add(&mut self, finding: Finding) {
        self.outcome = self.outcome.max(finding.outcome);
        if self.outcome > Outcome::Mask {
            self.masked = None;
        }
        self.findings.push(finding);
    }
}

impl Layers<'_> {
    /// The hits in `text` that the policy does not allow, with their findings.
    fn findings(&self, policy: &Policy, text: &str) -> Vec<(Finding, Hit)> {
        let mut out = Vec::new();
        for hit in self.builtin.scan_with(self.overlay, text) {
            let outcome = policy.outcome(&hit);
            if outcome == Outcome::Allow {
                continue;
            }
            let finding = Finding {
                rule: format!(
                    "{}:{}",
                    if hit.layer == 0 { "lexicon" } else { "overlay" },
                    hit.term
                ),
                category: hit.category.to_string(),
                severity: hit.severity,
                outcome,
                excerpt: text[hit.span.clone()].to_string(),
                context: context(text, hit.span.clone()),
            };
            out.push((finding, hit));
        }
        out
    }

    /// Judges a message body: every text a client shows (custom elements
    /// only when the policy says so), alone and with the text elements
    /// joined.
    pub fn message(&self, policy: &Policy, body: &[MsgElement]) -> Verdict {
        let mut value = serde_json::to_value(body).unwrap_or(Value::Null);
        let shown: Vec<_> = shown_texts(&value)
            .into_iter()
            .filter(|s| policy.custom_elems || s.source != Source::Custom)
            .collect();
        let mut verdict = Verdict::allow();
        // Per shown text, the hits to mask, in that text's own offsets.
        let mut masks: Vec<Vec<Hit>> = vec![Vec::new(); shown.len()];
        for (index, text) in shown.iter().enumerate() {
            for (finding, hit) in self.findings(policy, &text.text) {
                if finding.outcome == Outcome::Mask {
                    masks[index].push(hit);
                }
                verdict.add(finding);
            }
        }
        // The text elements as the screen shows them: one string.
        let parts: Vec<usize> = (0..shown.len())
            .filter(|&i| shown[i].source == Source::Text)
            .collect();
        if parts.len() > 1 {
            let mut joined = String::new();
            let mut ranges = Vec::with_capacity(parts.len());
            for &i in &parts {
                let start = joined.len();
                joined.push_str(&shown[i].text);
                ranges.push(start..joined.len());
            }
            for (finding, hit) in self.findings(policy, &joined) {
                let spanned: Vec<usize> = (0..parts.len())
                    .filter(|&k| ranges[k].start < hit.span.end && hit.span.start < ranges[k].end)
                    .collect();
                if spanned.len() < 2 {
                    continue; // found in that element alone already
                }
                if finding.outcome == Outcome::Mask {
                    for k in spanned {
                        let range = &ranges[k];
                        let mut part = hit.clone();
                        part.span = hit.span.start.max(range.start) - range.start
                            ..hit.span.end.min(range.end) - range.start;
                        masks[parts[k]].push(part);
                    }
                }
                verdict.add(finding);
            }
        }
        if verdict.outcome == Outcome::Mask {
            for (text, mut hits) in shown.iter().zip(masks) {
                if hits.is_empty() {
                    continue;
                }
                hits.sort_by_key(|h| (h.span.start, std::cmp::Reverse(h.span.end)));
                replace_at(&mut value, &text.path, &moderation::mask(&text.text, &hits));
            }
            verdict.masked = serde_json::from_value(value).ok();
        }
        verdict
    }

    /// Judges texts that cannot be masked (a group's name, introduction and
    /// notification): anything that is not `Allow` or `Flag` refuses them.
    pub fn unmaskable(&self, policy: &Policy, texts: &[&str]) -> Verdict {
        let mut verdict = Verdict::allow();
        for text in texts {
            for (mut finding, _) in self.findings(policy, text) {
                if finding.outcome > Outcome::Flag {
                    finding.outcome = Outcome::Reject;
                }
                verdict.add(finding);
            }
        }
        verdict
    }

    /// Judges a text that was already shown and can only be replaced (a
    /// group's name, introduction or notification after a change): the
    /// verdict, and the text with every hit the policy does not allow or
    /// only flags masked, whatever its outcome.
    pub fn scrub(&self, policy: &Policy, text: &str) -> (Verdict, String) {
        let mut verdict = Verdict::allow();
        let mut hits = Vec::new();
        for (finding, hit) in self.findings(policy, text) {
            if finding.outcome > Outcome::Flag {
                hits.push(hit);
            }
            verdict.add(finding);
        }
        (verdict, moderation::mask(text, &hits))
    }

    /// Judges one text (a robot's answer): the verdict, and the text with
    /// the `Mask` hits masked.
    pub fn text(&self, policy: &Policy, text: &str) -> (Verdict, String) {
        let mut verdict = Verdict::allow();
        let mut masked = Vec::new();
        for (finding, hit) in self.findings(policy, text) {
            if finding.outcome == Outcome::Mask {
                masked.push(hit);
            }
            verdict.add(finding);
        }
        (verdict, moderation::mask(text, &masked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layers() -> Layers<'static> {
        Layers {
            builtin: crate::builtin(),
            overlay: None,
        }
    }

    fn body(value: Value) -> Vec<MsgElement> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_external_answer_rejects_when_flagged_and_when_closed_and_failed() {
        let open = Policy::parse(r#"{"external": {"text": "fail-open"}}"#).unwrap();
        let closed = Policy::parse(r#"{"external": {"text": "fail-closed"}}"#).unwrap();
        let flagged = Finding::of_external(&open, ExternalAnswer::Flagged("violence")).unwrap();
        assert_eq!(
            (flagged.outcome, flagged.rule.as_str()),
            (Outcome::Reject, "moderations:violence")
        );
        assert!(Finding::of_external(&open, ExternalAnswer::Passed).is_none());
        assert!(
            Finding::of_external(&open, ExternalAnswer::Unavailable).is_none(),
            "fail-open delivers"
        );
        let failed = Finding::of_external(&closed, ExternalAnswer::Unavailable).unwrap();
        assert_eq!(failed.category, "unavailable");
    }

    #[test]
    fn scrubbing_masks_every_hit_whatever_its_outcome() {
        let policy = Policy::default();
        let (verdict, scrubbed) = layers().scrub(&policy, "Team: go kill yourself");
        assert_eq!(verdict.outcome, Outcome::Reject);
        assert!(scrubbed.starts_with("Team: "), "{scrubbed}");
        assert!(!scrubbed.contains("kill"), "{scrubbed}");
        let (verdict, same) = layers().scrub(&policy, "Refund questions");
        assert_eq!(
            (verdict.outcome, same.as_str()),
            (Outcome::Allow, "Refund questions")
        );
    }

    #[test]
    fn a_term_split_across_text_elements_is_found_and_masked_in_each() {
        let policy = Policy::parse(r#"{"rules": [{"category": "*", "action": "mask"}]}"#).unwrap();
        let verdict = layers().message(
            &policy,
            &body(json!([
                {"MsgType": "TIMTextElem", "MsgContent": {"Text": "please go kill "}},
                {"MsgType": "TIMFaceElem", "MsgContent": {"Index": 1}},
                {"MsgType": "TIMTextElem", "MsgContent": {"Text": "yourself now"}},
            ])),
        );
        assert_eq!(verdict.outcome, Outcome::Mask);
        let masked = serde_json::to_value(verdict.masked.unwrap()).unwrap();
        let first = masked[0]["MsgContent"]["Text"].as_str().unwrap();
        let last = masked[2]["MsgContent"]["Text"].as_str().unwrap();
        assert!(
            !first.contains("kill") && first.starts_with("please "),
            "{first}"
        );
        assert!(
            !last.contains("yourself") && last.ends_with(" now"),
            "{last}"
        );
    }

    #[test]
    fn every_rendered_field_is_screened() {
        let policy = Policy::parse("").unwrap();
        for element in [
            json!({"MsgType": "TIMCustomElem", "MsgContent": {"Data": "{\"t\":\"go kill yourself\"}"}}),
            json!({"MsgType": "TIMCustomElem", "MsgContent": {"Ext": "go kill yourself"}}),
            json!({"MsgType": "TIMRelayElem", "MsgContent": {"Title": "go kill yourself"}}),
            json!({"MsgType": "TIMRelayElem", "MsgContent": {"MsgList": [{"MsgBody": [
                {"MsgType": "TIMTextElem", "MsgContent": {"Text": "go kill yourself"}}]}]}}),
            json!({"MsgType": "TIMLocationElem", "MsgContent": {"Desc": "go kill yourself"}}),
            json!({"MsgType": "TIMFileElem", "MsgContent": {"FileName": "go kill yourself.pdf"}}),
            json!({"MsgType": "TIMFaceElem", "MsgContent": {"Index": "x", "Data": "go kill yourself"}}),
            json!({"MsgType": "TIMNewElem", "MsgContent": {"Caption": "go kill yourself"}}),
        ] {
            let verdict = layers().message(&policy, &body(json!([element.clone()])));
            assert_eq!(verdict.outcome, Outcome::Reject, "{element}");
        }
        let opted_out = Policy::parse(r#"{"custom_elems": false}"#).unwrap();
        let custom =
            body(json!([{"MsgType": "TIMCustomElem", "MsgContent": {"Desc": "go kill yourself"}}]));
        assert_eq!(
            layers().message(&opted_out, &custom).outcome,
            Outcome::Allow
        );
    }

    #[test]
    fn clean_messages_and_media_pass() {
        let policy = Policy::parse("").unwrap();
        let verdict = layers().message(
            &policy,
            &body(json!([
                {"MsgType": "TIMTextElem", "MsgContent": {"Text": "see you "}},
                {"MsgType": "TIMTextElem", "MsgContent": {"Text": "tomorrow"}},
                {"MsgType": "TIMImageElem", "MsgContent": {"UUID": "kill-yourself.png"}},
            ])),
        );
        assert_eq!(verdict.outcome, Outcome::Allow, "{:?}", verdict.findings);
    }

    #[test]
    fn a_flag_delivers_untouched_and_is_a_finding() {
        let policy = Policy::parse(r#"{"rules": [{"category": "*", "action": "flag"}]}"#).unwrap();
        let verdict = layers().message(
            &policy,
            &body(json!([
            {"MsgType": "TIMTextElem", "MsgContent": {"Text": "go kill yourself"}}])),
        );
        assert_eq!(verdict.outcome, Outcome::Flag);
        assert!(verdict.masked.is_none());
        assert_eq!(verdict.findings[0].outcome, Outcome::Flag);
        let (verdict, same) = layers().scrub(&policy, "Team: go kill yourself");
        assert_eq!(
            (verdict.outcome, same.as_str()),
            (Outcome::Flag, "Team: go kill yourself")
        );
        let verdict = layers().unmaskable(&policy, &["go kill yourself"]);
        assert_eq!(
            verdict.outcome,
            Outcome::Flag,
            "a flagged group name is created"
        );
    }

    #[test]
    fn the_context_of_a_finding_is_the_words_around_it() {
        let at = |text: &str, term: &str| {
            let start = text.find(term).unwrap();
            context(text, start..start + term.len())
        };
        assert_eq!(at("(Scunthorpe)", "cunt"), "Scunthorpe");
        assert_eq!(at("go kill yourself", "kill"), "kill");
        assert_eq!(at("...kill", "kill"), "kill");
        assert_eq!(at("¡¡kill!!", "kill"), "kill");
        assert_eq!(at("Dickinson's poems", "Dick"), "Dickinson's");
        assert_eq!(at("今天去看新闻网站吧", "闻网"), "今天去看新闻网站吧");
        let long = format!("{}傻逼{}", "好".repeat(300), "好".repeat(300));
        let around = at(&long, "傻逼");
        assert_eq!(
            around,
            format!("{}傻逼{}", "好".repeat(10), "好".repeat(10))
        );
    }

    #[test]
    fn texts_that_cannot_be_masked_are_refused() {
        let policy = Policy::parse(r#"{"rules": [{"category": "*", "action": "mask"}]}"#).unwrap();
        let verdict = layers().unmaskable(&policy, &["Study group", "go kill yourself"]);
        assert_eq!(verdict.outcome, Outcome::Reject);
        let (verdict, masked) = layers().text(&policy, "ok, go kill yourself");
        assert_eq!(verdict.outcome, Outcome::Mask);
        assert!(!masked.contains("kill"), "{masked}");
    }
}
