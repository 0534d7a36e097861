//! What the bridge remembers in the key-value store.

use serde::{Deserialize, Serialize};

/// What a support request needs from Zendesk, beside the steps both
/// bridges share (`zd:request:<request id>`, see
/// [`connector::request_flow::Progress`]): each is recorded as soon as it
/// is done, so a retry resumes after the last one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TicketSteps {
    /// Set once Zendesk created the ticket.
    pub ticket_id: Option<u64>,
    /// The greeting was posted.
    pub greeted: bool,
}

/// A ticket the bridge created (`zd:ticket:<id>`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TicketRecord {
    /// Its IM group.
    pub group_id: String,
    /// The requester's IM account.
    pub requester: String,
    /// The Zendesk agent currently in the group.
    pub assignee: Option<String>,
    /// The group was dissolved.
    pub dissolved: bool,
    /// When the last event applied to it happened (Unix seconds): an older
    /// one, retried late, is ignored rather than rolling the ticket back.
    #[serde(default)]
    pub last_event_time: Option<u64>,
    /// When it was opened (Unix seconds; 0 for records from before this
    /// was kept): the wait notice counts from it.
    #[serde(default)]
    pub opened_at: u64,
}

/// The latest ticket `user` opened from chat (its id), for "my open request".
pub fn latest_key(user: &str) -> String {
    format!("zd:latest:{user}")
}

pub fn ticket_key(ticket_id: &str) -> String {
    format!("zd:ticket:{ticket_id}")
}

/// The claim of one delivery (an event id, or the canonical MAC).
pub fn seen_key(delivery_id: &str) -> String {
    format!("zd:seen:{delivery_id}")
}

/// How long after its event a delivery stays claimed: Zendesk retries a
/// failed delivery for hours, and a replay outside the signature window is
/// refused anyway.
pub const SEEN_SECS: u64 = 24 * 3600;

pub const TOKEN_KEY: &str = "zd:oauth-token";
