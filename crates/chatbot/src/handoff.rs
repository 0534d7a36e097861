//! Handing a conversation from a robot to people: when a user asks for a
//! person, or the robot cannot answer, the relay opens a ticket (Zendesk) or
//! Case (Salesforce) through that bridge's own `POST …/requests` route — the
//! same idempotency and the same requester binding as a request from the
//! chat app — with the conversation so far as its description, and then
//! stays quiet to that user while the request is open.
//!
//! Everything here is pure: what triggers a handoff ([`Handoff::trigger`]),
//! the transcript agents read first ([`transcript`]), and the control state
//! kept per robot and user ([`Control`]). The relay does the calls.
//!
//! ```
//! use chatbot::handoff::{Handoff, Trigger};
//!
//! let handoff: Handoff = serde_json::from_str(r#"{"to": "zendesk"}"#).unwrap();
//! assert_eq!(handoff.trigger("/human"), Some(Trigger::Command));
//! assert_eq!(handoff.trigger("Can I talk to a human, please?"), Some(Trigger::Phrase));
//! assert_eq!(handoff.trigger("转人工"), Some(Trigger::Phrase));
//! // A single-word phrase counts only as the whole message: these ask about
//! // something else.
//! assert_eq!(handoff.trigger("Is the agent app down?"), None);
//! assert_eq!(handoff.trigger("人工智能是什么？"), None);
//! ```

use crate::conversation::Memory;
use llm::Role;
use serde::{Deserialize, Serialize};
use tim::message::transcript_line;

/// The help desk a robot hands off to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Desk {
    /// A Zendesk ticket, through the Zendesk bridge.
    Zendesk,
    /// A Salesforce Case, through the Salesforce bridge.
    Salesforce,
}

impl Desk {
    /// The bridge's request route reached by Spin service chaining: the
    /// bridge runs in the same Spin application (its component id is
    /// `zendesk-bridge` / `salesforce-bridge`, as in this repository's
    /// `spin.toml`).
    pub fn chained_requests_url(self) -> &'static str {
        match self {
            Desk::Zendesk => "http://zendesk-bridge.spin.internal/zendesk/requests",
            Desk::Salesforce => "http://salesforce-bridge.spin.internal/salesforce/requests",
        }
    }

    /// The field of the bridge's answer naming what it opened.
    pub fn id_field(self) -> &'static str {
        match self {
            Desk::Zendesk => "ticket_id",
            Desk::Salesforce => "case_id",
        }
    }
}

/// A robot's handoff settings (`"handoff"` in `chatbot_robots`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    /// Where requests go.
    pub to: Desk,
    /// The bridge's `…/requests` URL; by default the bridge in the same
    /// Spin application ([`Desk::chained_requests_url`]). Its origin must
    /// be in the relay's `allowed_outbound_hosts`.
    #[serde(default)]
    pub url: Option<String>,
    /// What the user says to ask for a person. A phrase of one word (or of
    /// one or two Chinese characters) counts only as the whole message; a
    /// longer one anywhere in it, as whole words. Case and surrounding
    /// punctuation do not matter.
    #[serde(default = "default_phrases")]
    pub phrases: Vec<String>,
    /// The command that always hands off.
    #[serde(default = "default_command")]
    pub command: String,
    /// Hand off when every provider failed, instead of apologising.
    #[serde(default = "yes")]
    pub on_provider_failure: bool,
    /// Hand off, instead of answering, a message the moderation policy
    /// (`moderator_policy`) would refuse (drop or reject).
    #[serde(default)]
    pub on_rejected_message: bool,
    /// The mark a model puts in an answer it is unsure of (the relay asks
    /// for it in the system prompt, and takes it out of the answer). Unset:
    /// answers are never counted as unsure.
    #[serde(default)]
    pub unsure_marker: Option<String>,
    /// Hand off after this many unsure answers in a row.
    #[serde(default = "default_after_unsure")]
    pub after_unsure: u32,
    /// Answer the user again once their request is closed (and say so);
    /// when `false`, the robot leaves that user to people for good.
    #[serde(default = "yes")]
    pub resume: bool,
    /// The ticket's or Case's subject.
    #[serde(default = "default_subject")]
    pub subject: String,
    /// Told once the request is open; `{id}` is the ticket or Case.
    #[serde(default = "default_started")]
    pub started_reply: String,
    /// Told when a person was asked for while a request is already open.
    #[serde(default = "default_already")]
    pub already_reply: String,
    /// Told when the request could not be opened.
    #[serde(default = "default_failed")]
    pub failed_reply: String,
    /// Told when the robot answers again after the request closed.
    #[serde(default = "default_resumed")]
    pub resumed_reply: String,
}

fn yes() -> bool {
    true
}
fn default_phrases() -> Vec<String> {
    [
        "human",
        "agent",
        "operator",
        "representative",
        "real person",
        "talk to a human",
        "speak to a human",
        "talk to a person",
        "speak to a person",
        "talk to an agent",
        "speak to an agent",
        "customer service",
        "人工",
        "转人工",
        "人工客服",
        "真人客服",
        "找客服",
    ]
    .map(String::from)
    .to_vec()
}
fn default_after_unsure() -> u32 {
    2
}
fn default_command() -> String {
    "/human".into()
}
fn default_subject() -> String {
    "Chat handed over by the assistant".into()
}
fn default_started() -> String {
    "I've passed our conversation to the support team (request {id}). An agent will join you \
     in the support chat."
        .into()
}
fn default_already() -> String {
    "Your request {id} is open; an agent will answer you in the support chat.".into()
}
fn default_failed() -> String {
    "Sorry, I couldn't reach the support team just now. Please try again in a moment.".into()
}
fn default_resumed() -> String {
    "Your support request is closed. I'm here again if you need anything.".into()
}

/// Why a conversation was handed off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The user sent the handoff command.
    Command,
    /// The user asked for a person in their own words.
    Phrase,
    /// No provider could answer.
    ProviderFailure,
    /// The moderation policy would refuse the user's message.
    Rejected,
    /// The model was unsure of its answers several times in a row.
    Unsure,
}

impl Trigger {
    /// How the transcript names it.
    pub fn describe(self) -> &'static str {
        match self {
            Trigger::Command => "the user sent the handoff command",
            Trigger::Phrase => "the user asked for a person",
            Trigger::ProviderFailure => "the assistant could not answer",
            Trigger::Rejected => "the moderation policy refuses the user's message",
            Trigger::Unsure => "the assistant was unsure of its answers",
        }
    }
}

/// A checked setting that cannot work; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("handoff.{field}: {message}")]
pub struct HandoffError {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl Handoff {
    /// Checks what serde cannot: a usable command, phrases and URL.
    pub fn check(&self) -> Result<(), HandoffError> {
        let error = |field, message: &str| HandoffError {
            field,
            message: message.into(),
        };
        if self.command.trim().is_empty() {
            return Err(error("command", "must not be empty"));
        }
        if self.phrases.iter().any(|p| normalized(p).is_empty()) {
            return Err(error("phrases", "every phrase needs a letter or digit"));
        }
        if let Some(url) = &self.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(error("url", "must be an http:// or https:// URL"));
        }
        if self.subject.trim().is_empty() || self.subject.chars().count() > 150 {
            return Err(error("subject", "must be 1 to 150 characters"));
        }
        if self
            .unsure_marker
            .as_ref()
            .is_some_and(|m| m.trim().is_empty())
        {
            return Err(error("unsure_marker", "must not be empty when set"));
        }
        if self.after_unsure == 0 {
            return Err(error("after_unsure", "must be at least 1"));
        }
        Ok(())
    }

    /// What the system prompt gains so that the model marks the answers it
    /// is unsure of, when `unsure_marker` is set.
    pub fn unsure_instruction(&self) -> Option<String> {
        self.unsure_marker.as_ref().map(|marker| {
            format!(
                "If you are not sure your answer is right, or the question needs a person, \
                 start your answer with {marker}."
            )
        })
    }

    /// The answer without the unsure marker, and whether it had one.
    ///
    /// ```
    /// use chatbot::handoff::Handoff;
    ///
    /// let handoff: Handoff =
    ///     serde_json::from_str(r#"{"to": "zendesk", "unsure_marker": "[unsure]"}"#).unwrap();
    /// assert_eq!(handoff.unsure("[unsure] Maybe Tuesday?"), ("Maybe Tuesday?".into(), true));
    /// assert_eq!(handoff.unsure("On Tuesday."), ("On Tuesday.".into(), false));
    /// ```
    pub fn unsure(&self, answer: &str) -> (String, bool) {
        match &self.unsure_marker {
            Some(marker) if answer.contains(marker.as_str()) => {
                let text = answer.replace(marker.as_str(), " ");
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                (text, true)
            }
            _ => (answer.to_string(), false),
        }
    }

    /// The bridge's `…/requests` URL.
    pub fn requests_url(&self) -> &str {
        self.url
            .as_deref()
            .unwrap_or_else(|| self.to.chained_requests_url())
    }

    /// The bridge's `…/requests/open` URL: the user's open request.
    pub fn open_request_url(&self) -> String {
        format!("{}/open", self.requests_url().trim_end_matches('/'))
    }

    /// Whether `text` asks for a person.
    pub fn trigger(&self, text: &str) -> Option<Trigger> {
        if text.trim() == self.command.trim() {
            return Some(Trigger::Command);
        }
        let said = normalized(text);
        self.phrases
            .iter()
            .any(|phrase| {
                let phrase = normalized(phrase);
                said == phrase || (!is_short(&phrase) && contains_words(&said, &phrase))
            })
            .then_some(Trigger::Phrase)
    }
}

/// Lower case, with every run of characters that are neither letters nor
/// digits turned into one space, trimmed.
fn normalized(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// One word, or one or two Chinese (or other unspaced) characters: too
/// common inside other sentences to mean "a person, please".
fn is_short(phrase: &str) -> bool {
    !phrase.contains(' ') && (phrase.is_ascii() || phrase.chars().count() <= 2)
}

/// `phrase` in `said` on word boundaries (spaces, or either end); phrases
/// in scripts written without spaces match anywhere.
fn contains_words(said: &str, phrase: &str) -> bool {
    if !phrase.is_ascii() {
        return said.contains(phrase);
    }
    said.match_indices(phrase).any(|(at, _)| {
        let before = said[..at].chars().next_back();
        let after = said[at + phrase.len()..].chars().next();
        before.is_none_or(|c| c == ' ') && after.is_none_or(|c| c == ' ')
    })
}

/// What the relay keeps per robot and user while people own the
/// conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Control {
    /// Where the request went.
    pub desk: Desk,
    /// The ticket or Case.
    pub id: String,
    /// Its IM group, where agents and the user chat.
    pub group_id: String,
    /// The group where the user asked for a person; `None`: one-to-one.
    #[serde(default)]
    pub origin_group: Option<String>,
    /// Why it was handed off.
    pub trigger: Trigger,
    /// Unix seconds of the handoff.
    pub since: u64,
}

impl Control {
    /// Where it is stored for `robot` and `user` (one-to-one chats and
    /// groups alike: it is the user who is with people now).
    pub fn key(robot: &str, user: &str) -> String {
        format!("bot:handoff:{robot}:{user}")
    }

    /// The claim that makes one handoff of `robot`'s `user` at a time win
    /// (copies of a webhook, or two quick messages asking for a person).
    pub fn claim_name(robot: &str, user: &str) -> String {
        format!("bot:handoff-claim:{robot}:{user}")
    }
}

/// Who was handed over into a request's group: how the group's end
/// (IM's `Group.CallbackAfterGroupDestroyed`) finds the handoff to end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandedOver {
    /// The robot.
    pub robot: String,
    /// The user.
    pub user: String,
}

impl HandedOver {
    /// Where it is stored for the request's group `group_id`.
    pub fn key(group_id: &str) -> String {
        format!("bot:handoff-group:{group_id}")
    }
}

/// The idempotency key of the request a handoff opens: printable ASCII, at
/// most 128 characters (the bridges' limits), the same for every delivery
/// of the message that triggered it.
pub fn idempotency_key(robot: &str, message_id: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    };
    let key = format!("handoff-{}-{}", clean(robot), clean(message_id));
    key.chars().take(128).collect()
}

/// The conversation as agents read it first: why it was handed off, then
/// who said what and when, oldest first, and — when memory does not hold it
/// yet — the message that triggered it (`last`: its text and time).
///
/// ```
/// use chatbot::conversation::{Memory, TurnNote};
/// use chatbot::handoff::{Trigger, transcript};
/// use llm::{Message, Role};
///
/// let memory = Memory {
///     updated: 1_765_000_100,
///     messages: vec![
///         Message { role: Role::User, content: "My order is late".into() },
///         Message { role: Role::Assistant, content: "Which order?".into() },
///     ],
///     notes: vec![
///         TurnNote { at: 1_765_000_000, shown: None },
///         TurnNote { at: 1_765_000_100, shown: None },
///     ],
///     unsure_streak: 0,
/// };
/// let text = transcript(&memory, "@RBT#assistant", "alice", Some(("/human", 1_765_000_200)), Trigger::Command);
/// assert!(text.starts_with("Handed over by @RBT#assistant: the user sent the handoff command."));
/// assert!(text.contains("[2025-12-06 05:46:40 UTC] alice: My order is late"));
/// assert!(text.contains("[2025-12-06 05:48:20 UTC] @RBT#assistant: Which order?"));
/// assert!(text.ends_with("[2025-12-06 05:50:00 UTC] alice: /human"));
/// ```
pub fn transcript(
    memory: &Memory,
    robot: &str,
    user: &str,
    last: Option<(&str, u64)>,
    trigger: Trigger,
) -> String {
    let mut lines = vec![format!(
        "Handed over by {robot}: {}.\nConversation so far:",
        trigger.describe()
    )];
    for (i, message) in memory.messages.iter().enumerate() {
        let who = match message.role {
            Role::User => user,
            _ => robot,
        };
        let note = memory.notes.get(i);
        let text = note
            .and_then(|n| n.shown.as_deref())
            .unwrap_or(&message.content);
        lines.push(transcript_line(note.map(|n| n.at), who, text));
    }
    if let Some((text, at)) = last {
        lines.push(transcript_line(Some(at), user, text));
    }
    let mut text = lines.join("\n");
    // The bridges take descriptions of up to 30,000 characters: the oldest
    // lines give way, the header and the latest stay.
    const KEEP: usize = 28_000;
    if text.chars().count() > KEEP {
        let header_end = text.find('\n').map_or(0, |i| i + 1);
        let tail: String = {
            let chars: Vec<char> = text.chars().collect();
            chars[chars.len() - (KEEP - 200)..].iter().collect()
        };
        text = format!(
            "{}[earlier messages left out]\n…{tail}",
            &text[..header_end]
        );
    }
    text
}

/// `template` with `{id}` replaced by the request's id.
pub fn fill(template: &str, id: &str) -> String {
    template.replace("{id}", id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handoff(json: &str) -> Handoff {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn phrases_in_several_languages_and_the_command() {
        let h = handoff(r#"{"to": "zendesk"}"#);
        for text in [
            "human",
            "Human!",
            "AGENT",
            "I want to talk to a human",
            "can i speak to an agent?",
            "real person please",
            "人工",
            "转人工",
            "请帮我转人工客服",
            "真人客服在吗",
        ] {
            assert_eq!(h.trigger(text), Some(Trigger::Phrase), "{text}");
        }
        assert_eq!(h.trigger("  /human "), Some(Trigger::Command));
        assert_eq!(h.trigger("/humans"), None);
    }

    #[test]
    fn clean_sentences_stay_with_the_robot() {
        let h = handoff(r#"{"to": "zendesk"}"#);
        for text in [
            "Is the agent app down?",
            "what does a human resources manager do",
            "humane treatment",
            "I am a secret agent",
            "人工智能是什么？",
            "这是人工湖吗",
            "talk to a humanoid robot",
            "",
        ] {
            assert_eq!(h.trigger(text), None, "{text}");
        }
    }

    #[test]
    fn configured_phrases_and_command_replace_the_defaults() {
        let h =
            handoff(r#"{"to": "salesforce", "phrases": ["Mensch bitte"], "command": "!people"}"#);
        assert_eq!(h.trigger("Einen Mensch bitte."), Some(Trigger::Phrase));
        assert_eq!(h.trigger("!people"), Some(Trigger::Command));
        assert_eq!(h.trigger("/human"), None);
        assert_eq!(h.trigger("human"), None);
        assert_eq!(
            h.requests_url(),
            "http://salesforce-bridge.spin.internal/salesforce/requests"
        );
        assert_eq!(
            h.open_request_url(),
            "http://salesforce-bridge.spin.internal/salesforce/requests/open"
        );
    }

    #[test]
    fn checks_name_the_field() {
        let bad = |json: &str| handoff(json).check().unwrap_err().field;
        assert_eq!(bad(r#"{"to": "zendesk", "command": " "}"#), "command");
        assert_eq!(bad(r#"{"to": "zendesk", "phrases": ["?!"]}"#), "phrases");
        assert_eq!(bad(r#"{"to": "zendesk", "url": "ftp://x"}"#), "url");
        assert_eq!(bad(r#"{"to": "zendesk", "subject": ""}"#), "subject");
        assert_eq!(
            bad(r#"{"to": "zendesk", "unsure_marker": " "}"#),
            "unsure_marker"
        );
        assert_eq!(
            bad(r#"{"to": "zendesk", "after_unsure": 0}"#),
            "after_unsure"
        );
        assert!(handoff(r#"{"to": "zendesk"}"#).check().is_ok());
        assert!(serde_json::from_str::<Handoff>(r#"{"to": "freshdesk"}"#).is_err());
        assert!(serde_json::from_str::<Handoff>(r#"{"to": "zendesk", "phrase": []}"#).is_err());
    }

    #[test]
    fn idempotency_keys_are_ascii_and_bounded() {
        let key = idempotency_key("@RBT#assistant", "alice_12_3456");
        assert_eq!(key, "handoff--RBT-assistant-alice-12-3456");
        assert!(idempotency_key("@RBT#a", &"x".repeat(500)).len() <= 128);
        assert!(
            idempotency_key("@RBT#a", "群:1")
                .chars()
                .all(|c| c.is_ascii_graphic())
        );
    }

    #[test]
    fn long_transcripts_keep_the_header_and_the_latest_lines() {
        let memory = Memory {
            updated: 0,
            messages: (0..200)
                .map(|i| llm::Message {
                    role: Role::User,
                    content: format!("line {i} {}", "x".repeat(300)),
                })
                .collect(),
            notes: Vec::new(),
            unsure_streak: 0,
        };
        let text = transcript(&memory, "@RBT#a", "u", Some(("help", 5)), Trigger::Phrase);
        assert!(text.chars().count() <= 30_000);
        assert!(text.starts_with("Handed over by @RBT#a: the user asked for a person."));
        assert!(text.contains("[earlier messages left out]"));
        assert!(text.contains("line 199"));
        assert!(!text.contains("line 0 "));
        assert!(text.contains("[time unknown] u: line 199"));
        assert!(text.ends_with("u: help"));
    }
}
