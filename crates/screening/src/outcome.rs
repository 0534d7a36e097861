//! What a hit leads to ([`Outcome`]) and the rule that says so ([`Rule`]):
//! the words every part of a policy is written in, shared by
//! [`crate::policy`], [`crate::scopes`] and [`crate::strikes`].

use moderation::Action;
use serde::Deserialize;

/// A hit's outcome, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Let it through untouched.
    Allow,
    /// Let it through untouched, and record the decision (an event and the
    /// review list): a new lexicon tried on live traffic before it blocks
    /// anything.
    Flag,
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
            Outcome::Flag => "flag",
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
