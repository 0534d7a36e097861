//! Judging a message body (or a group name) against the lexicons and the
//! policy: which hits count, the strongest outcome, and the masked body
//! when masking is the outcome.

use crate::policy::{Outcome, Policy};
use moderation::{Hit, Lexicon};
use tim::message::MsgElement;

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
}

impl Finding {
    /// A finding from the external service.
    pub fn external(category: &str, outcome: Outcome) -> Self {
        Self {
            rule: format!("moderations:{category}"),
            category: category.to_string(),
            severity: 0,
            outcome,
            excerpt: String::new(),
        }
    }
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
    /// Findings in `text` and the text with the `Mask` findings masked.
    fn judge(&self, policy: &Policy, text: &str) -> (Vec<Finding>, String) {
        let hits = self.builtin.scan_with(self.overlay, text);
        let mut masked: Vec<Hit> = Vec::new();
        let mut findings = Vec::new();
        for hit in hits {
            let outcome = policy.outcome(&hit);
            if outcome == Outcome::Allow {
                continue;
            }
            findings.push(Finding {
                rule: format!(
                    "{}:{}",
                    if hit.layer == 0 { "lexicon" } else { "overlay" },
                    hit.term
                ),
                category: hit.category.clone(),
                severity: hit.severity,
                outcome,
                excerpt: text[hit.span.clone()].to_string(),
            });
            if outcome == Outcome::Mask {
                masked.push(hit);
            }
        }
        let text = moderation::mask(text, &masked);
        (findings, text)
    }

    /// Judges a message body: text elements, and custom elements' `Data`
    /// and `Desc` when the policy says so.
    pub fn message(&self, policy: &Policy, body: &[MsgElement]) -> Verdict {
        let mut findings = Vec::new();
        let mut masked_body = body.to_vec();
        for element in &mut masked_body {
            let fields: Vec<&mut Option<String>> = match element {
                MsgElement::Text(text) => vec![&mut text.text],
                MsgElement::Custom(custom) if policy.custom_elems => {
                    vec![&mut custom.data, &mut custom.desc]
                }
                _ => continue,
            };
            for field in fields {
                if let Some(value) = field.as_mut() {
                    let (found, masked) = self.judge(policy, value);
                    if !found.is_empty() {
                        *value = masked;
                        findings.extend(found);
                    }
                }
            }
        }
        let mut verdict = Verdict {
            outcome: Outcome::Allow,
            findings: Vec::new(),
            masked: Some(masked_body),
        };
        for finding in findings {
            verdict.add(finding);
        }
        if verdict.outcome != Outcome::Mask {
            verdict.masked = None;
        }
        verdict
    }

    /// Judges a group name: it cannot be masked, so anything that is not
    /// `Allow` refuses the creation.
    pub fn group_name(&self, policy: &Policy, name: &str) -> Verdict {
        let (findings, _) = self.judge(policy, name);
        let mut verdict = Verdict {
            outcome: Outcome::Allow,
            findings: Vec::new(),
            masked: None,
        };
        for mut finding in findings {
            finding.outcome = Outcome::Reject;
            verdict.add(finding);
        }
        verdict
    }
}
