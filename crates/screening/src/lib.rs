//! Screening IM messages with the [`moderation`] engine: what the moderator
//! judges before a message is delivered, and what the chatbot relay judges
//! before the robot's answer is sent (the robot's messages skip the
//! before-send callback, so the relay is the only place they are screened).
//!
//! - [`builtin`]: the lexicons in `lexicons/`, compiled at build time.
//! - [`media`]: what of a delivered message the external service is asked
//!   about after delivery, and what it cannot judge.
//! - [`outcome`]: what a hit leads to, and the rule that says so.
//! - [`policy`]: the `moderator_policy` variable: what each match leads to,
//!   what to do when a text cannot be screened.
//! - [`review`]: decisions as the review list keeps them and as events
//!   announce them, and the filters of the list.
//! - [`scopes`]: the conversations a part of the policy applies to, and the
//!   senders it exempts.
//! - [`strikes`]: repeated violations counted in a sliding window, and the
//!   mutes they bring.
//! - [`verdict`]: the verdict on a message body (every text a client shows,
//!   each alone and the text elements joined), a group's texts, or a text.
//! - [`stored`] (feature `spin`): the run-time overlay from the key-value
//!   store, for components.
//!
//! ```
//! use screening::policy::{Outcome, Policy};
//! use screening::verdict::Layers;
//!
//! let policy = Policy::parse("").unwrap();
//! let layers = Layers { builtin: screening::builtin(), overlay: None };
//! let body: Vec<tim::message::MsgElement> = serde_json::from_value(serde_json::json!([
//!     {"MsgType": "TIMTextElem", "MsgContent": {"Text": "go kill "}},
//!     {"MsgType": "TIMTextElem", "MsgContent": {"Text": "yourself"}},
//! ])).unwrap();
//! assert_eq!(layers.message(&policy, &body).outcome, Outcome::Reject);
//! ```

#![warn(missing_docs)]

pub mod media;
pub mod outcome;
pub mod policy;
pub mod review;
pub mod scopes;
#[cfg(feature = "spin")]
pub mod stored;
pub mod strikes;
pub mod verdict;

use moderation::Lexicon;
use std::sync::OnceLock;

static COMPILED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/lexicon.bin"));

/// The built-in lexicon, used in place: a fresh instance reads only the
/// parts of it a scan touches.
pub fn builtin() -> &'static Lexicon {
    static BUILTIN: OnceLock<Lexicon> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        Lexicon::from_static(COMPILED).expect("build.rs wrote a lexicon this crate can read")
    })
}

/// A name as others will see it: what a user typed as their name becomes
/// their IM nickname, shown beside every message and never screened by
/// IM's callbacks, so every hit of the built-in lexicon is masked whatever
/// its action (a name cannot be refused once the request is accepted).
///
/// ```
/// assert_eq!(screening::shown_name("Alice Example"), "Alice Example");
/// assert!(!screening::shown_name("go kill yourself").contains("kill"));
/// ```
pub fn shown_name(name: &str) -> String {
    moderation::mask(name, &builtin().scan(name))
}
