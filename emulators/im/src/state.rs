//! What the emulator remembers: accounts, robots, groups with their members
//! and messages, one-to-one messages, and every webhook it delivered.

pub(crate) use loopback::unix_now as now;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A group message as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupMessage {
    /// `MsgSeq`.
    pub seq: u64,
    /// Sender.
    pub from: String,
    /// Body as delivered (after any replacement by a webhook).
    pub body: Value,
    /// `Random`.
    pub random: u64,
    /// Unix seconds.
    pub time: u64,
    /// Recalled since.
    pub recalled: bool,
    /// Mentioned accounts (`GroupAtInfo`).
    pub at: Vec<String>,
    /// `CloudCustomData` written by `modify_group_msg` (the emulator keeps
    /// no sender's own).
    pub cloud_custom_data: Option<String>,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Id.
    pub id: String,
    /// Type.
    pub group_type: String,
    /// Name.
    pub name: String,
    /// Introduction.
    pub introduction: String,
    /// Notification.
    pub notification: String,
    /// Owner.
    pub owner: Option<String>,
    /// Who created it (the REST identifier).
    pub created_by: String,
    /// Members in join order.
    pub members: Vec<String>,
    /// Messages in order.
    pub messages: Vec<GroupMessage>,
    /// System notifications: (recipients, empty for all; content).
    pub notifications: Vec<(Vec<String>, String)>,
    /// Next `MsgSeq`.
    pub next_seq: u64,
    /// Members muted by `forbid_send_msg`, with the Unix second the mute
    /// ends; kept when they leave, as IM keeps it.
    pub muted_until: BTreeMap<String, u64>,
}

/// An account's global mute (`setnospeaking`): the Unix second each side
/// ends, `u64::MAX` for ever, 0 for none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NoSpeaking {
    /// One-to-one messages.
    pub c2c_until: u64,
    /// Group messages.
    pub group_until: u64,
}

/// A one-to-one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct C2cMessage {
    /// `MsgKey`.
    pub key: String,
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// Body as delivered.
    pub body: Value,
    /// Unix seconds.
    pub time: u64,
    /// Recalled since.
    pub recalled: bool,
    /// For streamed messages (`send_stream_msg`): chunks received, and
    /// whether the last one (`Finish: 1`) came.
    pub stream: Option<(u32, bool)>,
    /// `CloudCustomData` written by `modify_c2c_msg` (the emulator keeps
    /// no sender's own).
    pub cloud_custom_data: Option<String>,
}

/// One webhook delivery and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// `CallbackCommand`.
    pub command: String,
    /// Body sent.
    pub body: Value,
    /// HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The JSON answer, when there was one.
    pub answer: Option<Value>,
    /// Transport error or bad answer.
    pub error: Option<String>,
}

/// Everything, as a snapshot tests can assert on.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct State {
    /// Imported accounts.
    pub accounts: BTreeSet<String>,
    /// Nicknames set on import (`Nick`), by account.
    pub nicks: BTreeMap<String, String>,
    /// Profile pictures set on import (`FaceUrl`), by account.
    pub faces: BTreeMap<String, String>,
    /// Robots.
    pub robots: BTreeSet<String>,
    /// Live groups by id (destroyed ones are removed).
    pub groups: BTreeMap<String, Group>,
    /// Ids of groups destroyed so far, in order.
    pub destroyed_groups: Vec<String>,
    /// One-to-one messages in order.
    pub c2c: Vec<C2cMessage>,
    /// Webhook deliveries in order.
    pub deliveries: Vec<Delivery>,
    /// REST calls received: (`service/command`, IM `ErrorCode` answered).
    pub calls: Vec<(String, i64)>,
    /// Global mutes by account.
    pub no_speaking: BTreeMap<String, NoSpeaking>,
    pub(crate) next_auto_group: u64,
    pub(crate) next_c2c_seq: u64,
}

impl State {
    /// Whether `account` can send or be added: imported, a robot, or an admin.
    pub fn exists(&self, account: &str, admins: &[String]) -> bool {
        self.accounts.contains(account)
            || self.robots.contains(account)
            || admins.iter().any(|a| a == account)
    }

    /// Whether `account` may not send to `group_id` at `now`: muted in the
    /// group, or for all groups.
    pub fn muted_in_group(&self, group_id: &str, account: &str, now: u64) -> bool {
        let in_group = self
            .groups
            .get(group_id)
            .and_then(|g| g.muted_until.get(account))
            .is_some_and(|until| now < *until);
        let everywhere = self
            .no_speaking
            .get(account)
            .is_some_and(|m| now < m.group_until);
        in_group || everywhere
    }

    /// Whether `account` may not send one-to-one messages at `now`.
    pub fn muted_c2c(&self, account: &str, now: u64) -> bool {
        self.no_speaking
            .get(account)
            .is_some_and(|m| now < m.c2c_until)
    }

    /// Messages of a group that were not recalled, as (sender, text) pairs.
    pub fn group_texts(&self, group_id: &str) -> Vec<(String, String)> {
        self.groups
            .get(group_id)
            .map(|g| {
                g.messages
                    .iter()
                    .filter(|m| !m.recalled)
                    .map(|m| (m.from.clone(), text_of(&m.body)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Deliveries of one webhook command.
    pub fn deliveries_of(&self, command: &str) -> Vec<&Delivery> {
        self.deliveries
            .iter()
            .filter(|d| d.command == command)
            .collect()
    }
}

/// The text elements of a `MsgBody`, joined.
pub fn text_of(body: &Value) -> String {
    body.as_array()
        .map(|elements| {
            elements
                .iter()
                .filter(|e| e["MsgType"] == "TIMTextElem")
                .filter_map(|e| e["MsgContent"]["Text"].as_str())
                .collect()
        })
        .unwrap_or_default()
}
