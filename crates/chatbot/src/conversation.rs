//! A message to a robot, what the robot remembers of a conversation, and the
//! key-value names both are kept under.

use crate::settings::{GroupMemory, Robot};
use llm::{Message, Role};
use serde::{Deserialize, Serialize};

/// How long after it was sent a message counts as answered: IM redelivers
/// within minutes.
pub const SEEN_SECS: u64 = 24 * 3600;

/// A message to a robot, as the webhook described it.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The robot account.
    pub robot: String,
    /// The sender.
    pub user: String,
    /// The group, for group messages.
    pub group: Option<String>,
    /// Identity of the message for deduplication.
    pub message_id: String,
    /// When IM says it was sent (Unix seconds, `MsgTime`), if it says.
    pub sent_at: Option<u64>,
    /// The text (mentions of the robot removed).
    pub text: String,
    /// The whole message as text, media as bracketed links (what memory
    /// and a handoff's transcript keep); the text alone when it has none.
    pub shown: String,
    /// Whether the message had non-text elements only.
    pub non_text: bool,
}

impl Incoming {
    /// The claim that this message is being answered, and until when
    /// (Unix seconds) it holds. The window runs from the message's own
    /// time, so every delivery of it names the same claim.
    pub fn claim(&self, now: u64) -> (String, u64) {
        (
            format!("bot:seen:{}:{}", self.robot, self.message_id),
            self.sent_at.unwrap_or(now).saturating_add(SEEN_SECS),
        )
    }

    /// The key of the sender's token bucket for `robot`.
    pub fn rate_key(&self, robot: &Robot) -> String {
        format!("bot:rate:{}:{}", robot.id, self.user)
    }

    /// The key of the conversation this message belongs to: one per user
    /// in one-to-one chats; in groups one per user or one per group, as the
    /// robot's `memory.group_scope` says.
    pub fn memory_key(&self, robot: &Robot) -> String {
        match &self.group {
            None => format!("bot:mem:{}:c2c:{}", robot.id, self.user),
            Some(group) if robot.memory.group_scope == GroupMemory::Group => {
                format!("bot:mem:{}:g:{group}", robot.id)
            }
            Some(group) => format!("bot:mem:{}:g:{group}:{}", robot.id, self.user),
        }
    }
}

/// What a robot remembers of one conversation, as stored.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// When it was last written (Unix seconds).
    pub updated: u64,
    /// The turns, oldest first: what the model is sent.
    pub messages: Vec<Message>,
    /// What is kept of each turn beside it, for a handoff's transcript;
    /// shorter for memories stored before this was kept.
    #[serde(default)]
    pub notes: Vec<TurnNote>,
    /// How many answers in a row the model marked as unsure (see
    /// [`crate::handoff::Handoff::unsure`]).
    #[serde(default)]
    pub unsure_streak: u32,
}

/// What memory keeps of a turn beside what the model is sent.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnNote {
    /// When it was said (Unix seconds; 0: unknown).
    pub at: u64,
    /// The turn as agents read it — media as links, which the model is not
    /// sent — when it differs from the model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown: Option<String>,
}

impl Memory {
    /// Adds the user's `text` as the next turn (`shown`: the message as
    /// agents read it, when that differs), forgetting everything before if
    /// the conversation was idle longer than the robot allows.
    pub fn ask(&mut self, robot: &Robot, text: &str, shown: Option<&str>, now: u64) {
        if now.saturating_sub(self.updated) > robot.memory.idle_secs {
            self.messages.clear();
            self.notes.clear();
        }
        let shown = shown.filter(|s| *s != text).map(str::to_string);
        self.push(Role::User, text.to_string(), shown, now);
    }

    fn push(&mut self, role: Role, content: String, shown: Option<String>, now: u64) {
        // Notes line up with turns from the first turn stored with one.
        self.notes.resize(self.messages.len(), TurnNote::default());
        self.messages.push(Message { role, content });
        self.notes.push(TurnNote { at: now, shown });
    }

    /// Adds the robot's `answer`, then drops the oldest turns beyond the
    /// robot's bounds (always keeping the last).
    pub fn answered(&mut self, robot: &Robot, answer: String, now: u64) {
        self.push(Role::Assistant, answer, None, now);
        let (max_messages, max_chars) = (robot.memory.max_messages, robot.memory.max_chars);
        let chars = |messages: &[Message]| {
            messages
                .iter()
                .map(|m| m.content.chars().count())
                .sum::<usize>()
        };
        while self.messages.len() > 1
            && (self.messages.len() > max_messages || chars(&self.messages) > max_chars)
        {
            self.messages.remove(0);
            if !self.notes.is_empty() {
                self.notes.remove(0);
            }
        }
        self.updated = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn robot(memory: &str) -> Robot {
        let robots = format!(
            r#"[{{"id": "@RBT#r", "providers": [{{"kind": "openai", "model": "m"}}], "memory": {memory}}}]"#
        );
        let settings = Settings::from_variables(|name| match name {
            "chatbot_robots" => robots.clone(),
            "llm_openai_url" => "http://llm".into(),
            _ => String::new(),
        })
        .unwrap();
        settings.robots[0].clone()
    }

    fn incoming(group: Option<&str>, user: &str) -> Incoming {
        Incoming {
            robot: "@RBT#r".into(),
            user: user.into(),
            group: group.map(str::to_string),
            message_id: "m1".into(),
            sent_at: Some(1_000),
            text: "hi".into(),
            shown: "hi".into(),
            non_text: false,
        }
    }

    #[test]
    fn group_memory_is_per_user_unless_the_robot_shares_it() {
        let per_user = robot("{}");
        let shared = robot(r#"{"group_scope": "group"}"#);
        let (alice, bob) = (incoming(Some("g"), "alice"), incoming(Some("g"), "bob"));
        assert_ne!(alice.memory_key(&per_user), bob.memory_key(&per_user));
        assert_eq!(alice.memory_key(&shared), bob.memory_key(&shared));
        // A one-to-one chat never shares a key with a group.
        assert_ne!(
            incoming(None, "alice").memory_key(&shared),
            alice.memory_key(&shared)
        );
    }

    #[test]
    fn the_claim_window_runs_from_the_message_time() {
        let message = incoming(None, "alice");
        let (name, until) = message.claim(5_000_000);
        assert_eq!(until, 1_000 + SEEN_SECS);
        assert_eq!(
            name,
            message.claim(9_999_999).0,
            "every delivery names one claim"
        );
        let undated = Incoming {
            sent_at: None,
            ..message
        };
        assert_eq!(undated.claim(5_000).1, 5_000 + SEEN_SECS);
    }

    #[test]
    fn memory_forgets_after_idle_and_keeps_within_bounds() {
        let robot = robot(r#"{"max_messages": 3, "max_chars": 10, "idle_secs": 60}"#);
        let mut memory = Memory::default();
        memory.ask(&robot, "one", None, 100);
        memory.answered(&robot, "two".into(), 100);
        memory.ask(&robot, "three", None, 120);
        memory.answered(&robot, "four".into(), 120);
        // Four turns > 3 and 15 characters > 10: the oldest go.
        let kept: Vec<&str> = memory.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(kept, ["three", "four"]);
        assert_eq!(memory.updated, 120);
        memory.ask(&robot, "again", None, 181);
        assert_eq!(memory.messages.len(), 1, "idle over 60 s forgets");
        // The last turn stays even when it alone is over the bound.
        memory.answered(&robot, "a very long answer".into(), 181);
        assert_eq!(memory.messages.len(), 1);
        assert_eq!(memory.messages[0].role, Role::Assistant);
    }
}
