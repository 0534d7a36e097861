//! What the bridge remembers in the key-value store.

use serde::{Deserialize, Serialize};

/// What a support request needs from Salesforce, beside the steps both
/// bridges share (`sf:request:<request id>`, see
/// [`connector::request_flow::Progress`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CaseSteps {
    /// Set once Salesforce created the Case.
    pub case_id: Option<String>,
}

/// A Case the bridge created (`sf:case:<case id>`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaseRecord {
    /// Its IM group.
    pub group_id: String,
    /// The requester's IM account.
    pub requester: String,
    /// The requester's name as they gave it, their nickname in a new group.
    #[serde(default)]
    pub requester_name: String,
    /// Salesforce users (005…) currently in the group.
    pub agents: Vec<String>,
    /// The group was dissolved.
    pub dissolved: bool,
    /// How often the Case was reopened after its group was dissolved: each
    /// reopening starts a new group, `<group>#<n>`, because IM does not
    /// promise that a dissolved group's id can be used again.
    #[serde(default)]
    pub reopened: u32,
    /// When it was opened from chat (Unix seconds; 0 for records from
    /// before this was kept): the wait notice counts from it.
    #[serde(default)]
    pub opened_at: u64,
}

/// The latest Case `user` opened from chat (its id), for "my open request".
pub fn latest_key(user: &str) -> String {
    format!("sf:latest:{user}")
}

pub fn case_key(case_id: &str) -> String {
    format!("sf:case:{case_id}")
}

/// The replay claim of an Apex call's nonce.
pub fn nonce_claim(nonce: &str) -> String {
    format!("sf:nonce:{nonce}")
}

pub const SESSION_KEY: &str = "sf:session";
