//! The batches of Case / AgentWork changes the Apex triggers send to
//! `POST /salesforce/events`, checked whole before anything is applied.
//!
//! ```
//! use salesforce::events::{Event, parse};
//!
//! let body = br#"{"events": [{"type": "case_closed", "case_id": "500000000000001AAA"}]}"#;
//! let events = parse(body).unwrap();
//! assert!(matches!(&events[0], Event::CaseClosed { case_id } if case_id == "500000000000001AAA"));
//!
//! let bad = br#"{"events": [{"type": "case_closed", "case_id": "nope"}]}"#;
//! assert_eq!(parse(bad).unwrap_err().field, "events[0].case_id");
//! ```

use serde::Deserialize;
use serde_json::Value;

/// A trigger invocation carries at most 200 records; allow a little more.
pub const MAX_EVENTS: usize = 500;

#[derive(Deserialize)]
struct Batch {
    events: Option<Vec<Value>>,
}

/// One validated event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Omni-Channel routed the Case to an agent (`AgentWork` accepted).
    AgentAssigned {
        /// The Case (500…).
        case_id: String,
        /// The agent (005…).
        user_id: String,
    },
    /// The Case's owner changed; owners are users (005…) or queues (00G…).
    OwnerChanged {
        /// The Case (500…).
        case_id: String,
        /// The previous owner.
        old_owner: Option<String>,
        /// The new owner.
        new_owner: Option<String>,
    },
    /// The Case was closed.
    CaseClosed {
        /// The Case (500…).
        case_id: String,
    },
    /// The Case was deleted.
    CaseDeleted {
        /// The Case (500…).
        case_id: String,
    },
    /// A closed Case was reopened, or a deleted open Case was undeleted: its
    /// chat starts again in a new group, with the requester and the owner.
    CaseReopened {
        /// The Case (500…).
        case_id: String,
        /// The owner, when it is an agent (005…) who should join.
        owner: Option<String>,
    },
}

impl Event {
    /// The Case it is about.
    pub fn case_id(&self) -> &str {
        match self {
            Event::AgentAssigned { case_id, .. }
            | Event::OwnerChanged { case_id, .. }
            | Event::CaseClosed { case_id }
            | Event::CaseDeleted { case_id }
            | Event::CaseReopened { case_id, .. } => case_id,
        }
    }

    /// Its `type`, as Apex sends it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::AgentAssigned { .. } => "agent_assigned",
            Event::OwnerChanged { .. } => "owner_changed",
            Event::CaseClosed { .. } => "case_closed",
            Event::CaseDeleted { .. } => "case_deleted",
            Event::CaseReopened { .. } => "case_reopened",
        }
    }
}

/// Why a batch was refused: the field at fault (`events[3].case_id`) and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BatchError {
    /// The field, as a JSON path.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> BatchError {
    BatchError {
        field: field.into(),
        message: message.into(),
    }
}

/// A Salesforce record id: 15 or 18 alphanumerics with the given key prefix.
pub fn is_salesforce_id(id: &str, prefix: &str) -> bool {
    (id.len() == 15 || id.len() == 18)
        && id.starts_with(prefix)
        && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Parses and checks a whole batch: every event valid, or the first fault.
pub fn parse(body: &[u8]) -> Result<Vec<Event>, BatchError> {
    let batch: Batch = serde_json::from_slice(body).map_err(|e| {
        refuse(
            "body",
            format!("the body is not the expected JSON object: {e}"),
        )
    })?;
    let events = batch
        .events
        .ok_or_else(|| refuse("events", "`events` is required"))?;
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(refuse(
            "events",
            format!("`events` must hold 1 to {MAX_EVENTS} events"),
        ));
    }
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let field = |name: &str| format!("events[{i}].{name}");
            let text = |name: &str| {
                event
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
            };
            let case_id = text("case_id")
                .filter(|id| is_salesforce_id(id, "500"))
                .ok_or_else(|| {
                    refuse(
                        field("case_id"),
                        "a Case id (500…, 15 or 18 characters) is required",
                    )
                })?
                .to_string();
            let owner = |name: &str| -> Result<Option<String>, BatchError> {
                match text(name) {
                    None => Ok(None),
                    Some(id) if is_salesforce_id(id, "005") || is_salesforce_id(id, "00G") => {
                        Ok(Some(id.to_string()))
                    }
                    Some(_) => Err(refuse(
                        field(name),
                        "a User (005…) or Queue (00G…) id is expected",
                    )),
                }
            };
            match text("type") {
                Some("agent_assigned") => {
                    let user_id = text("user_id")
                        .filter(|id| is_salesforce_id(id, "005"))
                        .ok_or_else(|| refuse(field("user_id"), "a User id (005…) is required"))?
                        .to_string();
                    Ok(Event::AgentAssigned { case_id, user_id })
                }
                Some("owner_changed") => Ok(Event::OwnerChanged {
                    case_id,
                    old_owner: owner("old_owner_id")?,
                    new_owner: owner("new_owner_id")?,
                }),
                Some("case_closed") => Ok(Event::CaseClosed { case_id }),
                Some("case_deleted") => Ok(Event::CaseDeleted { case_id }),
                Some("case_reopened") => {
                    let owner = text("owner_id")
                        .map(|id| {
                            is_salesforce_id(id, "005")
                                .then(|| id.to_string())
                                .ok_or_else(|| {
                                    refuse(field("owner_id"), "a User id (005…) is expected")
                                })
                        })
                        .transpose()?;
                    Ok(Event::CaseReopened { case_id, owner })
                }
                Some(other) => Err(refuse(
                    field("type"),
                    format!(
                        "unknown type `{other}`: use agent_assigned, owner_changed, case_closed, case_deleted or case_reopened"
                    ),
                )),
                None => Err(refuse(field("type"), "`type` is required")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fault_names_its_field() {
        let case = "500000000000001AAA";
        for (body, field) in [
            (serde_json::json!(null), "body"),
            (serde_json::json!({}), "events"),
            (serde_json::json!({"events": []}), "events"),
            (
                serde_json::json!({"events": [{"type": "case_closed", "case_id": case}, {"type": "x", "case_id": case}]}),
                "events[1].type",
            ),
            (
                serde_json::json!({"events": [{"case_id": case}]}),
                "events[0].type",
            ),
            (
                serde_json::json!({"events": [{"type": "agent_assigned", "case_id": case, "user_id": "00G000000000001"}]}),
                "events[0].user_id",
            ),
            (
                serde_json::json!({"events": [{"type": "owner_changed", "case_id": case, "new_owner_id": "001000000000001"}]}),
                "events[0].new_owner_id",
            ),
            (
                serde_json::json!({"events": [{"type": "case_reopened", "case_id": case, "owner_id": "00G000000000001"}]}),
                "events[0].owner_id",
            ),
        ] {
            assert_eq!(
                parse(body.to_string().as_bytes()).unwrap_err().field,
                field,
                "{body}"
            );
        }
        let too_many: Vec<_> = (0..=MAX_EVENTS)
            .map(|_| serde_json::json!({"type": "case_closed", "case_id": case}))
            .collect();
        let body = serde_json::json!({ "events": too_many }).to_string();
        assert_eq!(parse(body.as_bytes()).unwrap_err().field, "events");
    }

    #[test]
    fn a_reopened_case_names_its_agent_owner_or_none() {
        let body = br#"{"events": [{"type": "case_reopened", "case_id": "500000000000001", "owner_id": "005000000000001"}, {"type": "case_reopened", "case_id": "500000000000002"}]}"#;
        assert_eq!(
            parse(body).unwrap(),
            [
                Event::CaseReopened {
                    case_id: "500000000000001".into(),
                    owner: Some("005000000000001".into()),
                },
                Event::CaseReopened {
                    case_id: "500000000000002".into(),
                    owner: None,
                },
            ]
        );
    }

    #[test]
    fn owners_may_be_users_or_queues() {
        let body = br#"{"events": [{"type": "owner_changed", "case_id": "500000000000001", "old_owner_id": "00G000000000001", "new_owner_id": " 005000000000001AAA "}]}"#;
        assert_eq!(
            parse(body).unwrap(),
            [Event::OwnerChanged {
                case_id: "500000000000001".into(),
                old_owner: Some("00G000000000001".into()),
                new_owner: Some("005000000000001AAA".into()),
            }]
        );
    }
}
