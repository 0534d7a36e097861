//! Where a policy's parts apply: each scope of `moderator_policy` names the
//! conversations it covers (by kind and group id) and replaces the rules,
//! the exempt accounts or the strikes for them; the first scope that
//! matches wins, and a conversation no scope matches gets the document's own.
//!
//! ```
//! use screening::policy::Policy;
//! use screening::scopes::{Conversation, Kind};
//!
//! let policy = Policy::parse(r#"{
//!     "scopes": [
//!         {"name": "support", "group_ids": ["SFCASE#*", "ZDTICKET#*"],
//!          "rules": [{"category": "*", "action": "mask"}]},
//!         {"name": "direct", "kinds": ["c2c"], "exempt": {"robots": true}}
//!     ]
//! }"#).unwrap();
//! let case = Conversation { kind: Some(Kind::Public), group_id: Some("SFCASE#500000000000001") };
//! assert_eq!(policy.for_conversation(&case).scope.as_deref(), Some("support"));
//! let lobby = Conversation { kind: Some(Kind::Public), group_id: Some("lobby") };
//! assert_eq!(policy.for_conversation(&lobby).scope, None);
//! ```

use serde::Deserialize;
use wildmatch::WildMatch;

use crate::outcome::Rule;
use crate::strikes::Strikes;

/// A conversation's kind: one-to-one, or a group of one of IM's types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Kind {
    /// One-to-one.
    #[serde(rename = "c2c")]
    C2c,
    /// A public group (`Public`).
    Public,
    /// A work group (`Private`, `Work` in newer consoles).
    #[serde(alias = "Work")]
    Private,
    /// A meeting group (`ChatRoom`, `Meeting` in newer consoles).
    #[serde(alias = "Meeting")]
    ChatRoom,
    /// A live-streaming group (`AVChatRoom`).
    AVChatRoom,
    /// A community (`Community`).
    Community,
}

impl Kind {
    /// The kind of a group from the `Type` a callback carries; `None` for
    /// a type this version does not know.
    pub fn of_group(group_type: Option<&str>) -> Option<Kind> {
        match group_type? {
            "Public" => Some(Kind::Public),
            "Private" | "Work" => Some(Kind::Private),
            "ChatRoom" | "Meeting" => Some(Kind::ChatRoom),
            "AVChatRoom" => Some(Kind::AVChatRoom),
            "Community" => Some(Kind::Community),
            _ => None,
        }
    }
}

/// The conversation a message is sent in.
#[derive(Debug, Clone, Copy)]
pub struct Conversation<'a> {
    /// Its kind, when known.
    pub kind: Option<Kind>,
    /// The group, for group conversations.
    pub group_id: Option<&'a str>,
}

/// Senders whose messages are never screened nor struck.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Exempt {
    /// The IM administrator (`im_admin`): the connectors' own messages.
    pub admins: bool,
    /// Robots (`@RBT#…`), whose answers the chatbot relay screens itself.
    pub robots: bool,
    /// Accounts starting with one of these: agents, for example, are `sf-…`
    /// (Salesforce) and `zd-…` (Zendesk) unless those prefixes were changed.
    pub prefixes: Vec<String>,
    /// These accounts.
    pub accounts: Vec<String>,
}

impl Exempt {
    /// Whether `sender` is exempt, `admin` being the IM administrator.
    pub fn covers(&self, sender: &str, admin: &str) -> bool {
        (self.admins && sender == admin)
            || (self.robots && sender.starts_with("@RBT#"))
            || self.prefixes.iter().any(|p| sender.starts_with(p.as_str()))
            || self.accounts.iter().any(|a| a == sender)
    }
}

/// One entry of `scopes`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyScope {
    /// Its name, in decision logs and strike counters.
    pub name: String,
    /// The kinds it covers; none listed: every kind.
    #[serde(default)]
    pub kinds: Vec<Kind>,
    /// Group ids it covers, `*` standing for any run of characters; none
    /// listed: every conversation of its kinds, one-to-one included.
    #[serde(default)]
    pub group_ids: Vec<String>,
    /// Rules replacing the document's.
    pub rules: Option<Vec<Rule>>,
    /// Exempt senders replacing the document's.
    pub exempt: Option<Exempt>,
    /// Strikes replacing the document's (`{"penalties": []}` turns them off).
    pub strikes: Option<Strikes>,
}

impl PolicyScope {
    /// Whether it covers `conversation`.
    pub fn covers(&self, conversation: &Conversation<'_>) -> bool {
        let kind_ok = self.kinds.is_empty()
            || conversation
                .kind
                .is_some_and(|kind| self.kinds.contains(&kind));
        let group_ok = self.group_ids.is_empty()
            || conversation.group_id.is_some_and(|id| {
                self.group_ids
                    .iter()
                    .any(|pattern| WildMatch::new(pattern).matches(id))
            });
        kind_ok && group_ok
    }

    /// Checks the entry at `index`; the error names the field at fault.
    pub(crate) fn validate(&self, index: usize) -> Result<(), String> {
        let at = |field: &str| format!("moderator_policy: scopes[{index}].{field}");
        if self.name.trim().is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "{}: `{}` must be letters, digits, - or _",
                at("name"),
                self.name
            ));
        }
        if self.name == "default" {
            return Err(format!(
                "{}: `default` is the name of the document's own rules",
                at("name")
            ));
        }
        for (i, pattern) in self.group_ids.iter().enumerate() {
            if pattern.is_empty() || pattern.len() > 48 {
                return Err(format!(
                    "{}: a group id pattern is 1 to 48 characters",
                    at(&format!("group_ids[{i}]"))
                ));
            }
        }
        if !self.group_ids.is_empty() && self.kinds == [Kind::C2c] {
            return Err(format!(
                "{}: one-to-one conversations have no group id",
                at("group_ids")
            ));
        }
        if let Some(strikes) = &self.strikes {
            strikes.validate(&at("strikes"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(json: &str) -> PolicyScope {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn kinds_and_group_ids_must_both_match() {
        let support = scope(r#"{"name": "s", "kinds": ["Public"], "group_ids": ["SFCASE#*"]}"#);
        let group = |kind, id| Conversation {
            kind: Some(kind),
            group_id: Some(id),
        };
        assert!(support.covers(&group(Kind::Public, "SFCASE#500000000000001")));
        assert!(!support.covers(&group(Kind::Community, "SFCASE#500000000000001")));
        assert!(!support.covers(&group(Kind::Public, "lobby")));
        let c2c = Conversation {
            kind: Some(Kind::C2c),
            group_id: None,
        };
        assert!(!support.covers(&c2c));
        assert!(scope(r#"{"name": "d", "kinds": ["c2c"]}"#).covers(&c2c));
        assert!(scope(r#"{"name": "all"}"#).covers(&c2c));
        let unknown = Conversation {
            kind: None,
            group_id: Some("x"),
        };
        assert!(!scope(r#"{"name": "p", "kinds": ["Public"]}"#).covers(&unknown));
        assert!(scope(r#"{"name": "p", "group_ids": ["*"]}"#).covers(&unknown));
    }

    #[test]
    fn group_types_are_read_with_their_new_names() {
        assert_eq!(Kind::of_group(Some("Work")), Some(Kind::Private));
        assert_eq!(Kind::of_group(Some("Meeting")), Some(Kind::ChatRoom));
        assert_eq!(Kind::of_group(Some("AVChatRoom")), Some(Kind::AVChatRoom));
        assert_eq!(Kind::of_group(Some("Galaxy")), None);
        assert_eq!(Kind::of_group(None), None);
    }

    #[test]
    fn exemptions_cover_what_they_name_only() {
        let exempt: Exempt = serde_json::from_str(
            r#"{"admins": true, "robots": true, "prefixes": ["sf-"], "accounts": ["ops"]}"#,
        )
        .unwrap();
        for sender in [
            "administrator",
            "@RBT#assistant",
            "sf-005000000000001",
            "ops",
        ] {
            assert!(exempt.covers(sender, "administrator"), "{sender}");
        }
        for sender in ["alice", "ops2", "zd-1", "RBT#x"] {
            assert!(!exempt.covers(sender, "administrator"), "{sender}");
        }
        assert!(!Exempt::default().covers("administrator", "administrator"));
    }
}
