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

/// What the bridge knows of the Case an event is about: what a decision
/// depends on.
#[derive(Debug, Clone, Copy)]
pub struct CaseState<'a> {
    /// Its group was dissolved.
    pub dissolved: bool,
    /// The Salesforce users (005…) the bridge has seen join its group.
    pub agents: &'a [String],
    /// Whether closing the Case tells the group before dissolving it.
    pub notify_on_close: bool,
}

/// One change to make for an event, in IM and in the bridge's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Add this agent (005…) to the group.
    Join(String),
    /// Remove this user (005…) from the group.
    Leave(String),
    /// Tell the group the Case is closed.
    Notify,
    /// Dissolve the group.
    Dissolve,
    /// Start a new group for the Case, with the requester.
    Reopen,
    /// Nothing to do for this part of the event; why (for the result).
    Note(String),
}

impl Step {
    /// Whether the step changes anything.
    pub fn changes(&self) -> bool {
        !matches!(self, Step::Note(_))
    }
}

/// What to do about one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing concerns the bridge; why.
    Ignore(&'static str),
    /// These steps, in order. None of them changes anything when they are
    /// all [`Step::Note`]s: the event is `unchanged`.
    Apply(Vec<Step>),
}

/// Decides what `event` does to a Case the bridge opened. Every decision is
/// idempotent: the Case trigger and the AgentWork trigger both report an
/// Omni-Channel acceptance, and Apex may send a batch again.
///
/// ```
/// use salesforce::events::{CaseState, Decision, Event, Step, decide};
///
/// let agents = vec!["005A".to_string()];
/// let case = CaseState { dissolved: false, agents: &agents, notify_on_close: true };
/// let moved = Event::OwnerChanged {
///     case_id: "500X".into(),
///     old_owner: Some("005A".into()),
///     new_owner: Some("00GQUEUE".into()),
/// };
/// // A queue does not join; the agent who owned the Case leaves.
/// assert_eq!(decide(&moved, &case), Decision::Apply(vec![Step::Leave("005A".into())]));
/// ```
pub fn decide(event: &Event, case: &CaseState<'_>) -> Decision {
    let join = |user: &str| {
        if case.agents.iter().any(|a| a == user) {
            // The record may miss an agent a concurrent batch added (its
            // write lost), never list one IM lacks (it is written after IM
            // agreed): a listed agent needs no call.
            Step::Note(format!("{user} is already in the group"))
        } else {
            Step::Join(user.to_string())
        }
    };
    let is_user = |id: &&str| id.starts_with("005");
    match event {
        // The one change that concerns a dissolved group: it starts a new one.
        Event::CaseReopened { owner, .. } if case.dissolved => {
            let mut steps = vec![Step::Reopen];
            // The new group has no agents yet.
            steps.extend(owner.iter().map(|owner| Step::Join(owner.clone())));
            Decision::Apply(steps)
        }
        Event::CaseReopened { owner, .. } => Decision::Apply(vec![match owner {
            Some(owner) => join(owner),
            None => Step::Note("the Case's group was never dissolved".into()),
        }]),
        _ if case.dissolved => Decision::Ignore("the Case's group is already dissolved"),
        Event::AgentAssigned { user_id, .. } => Decision::Apply(vec![join(user_id)]),
        Event::OwnerChanged {
            old_owner,
            new_owner,
            ..
        } => {
            let mut steps = Vec::new();
            if let Some(new) = new_owner.as_deref().filter(is_user) {
                steps.push(join(new));
            }
            // Removed whether or not the record lists them: a concurrent
            // batch may have added them without this record seeing it, and
            // IM's removal of a non-member succeeds.
            if let Some(old) = old_owner
                .as_deref()
                .filter(|id| is_user(id) && Some(*id) != new_owner.as_deref())
            {
                steps.push(Step::Leave(old.to_string()));
            }
            if steps.is_empty() {
                steps.push(Step::Note("queue owners do not join".into()));
            }
            Decision::Apply(steps)
        }
        Event::CaseClosed { .. } if case.notify_on_close => {
            Decision::Apply(vec![Step::Notify, Step::Dissolve])
        }
        Event::CaseClosed { .. } | Event::CaseDeleted { .. } => {
            Decision::Apply(vec![Step::Dissolve])
        }
    }
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

    mod decisions {
        use super::super::*;

        fn case(dissolved: bool, agents: &[&str]) -> (bool, Vec<String>) {
            (dissolved, agents.iter().map(|a| a.to_string()).collect())
        }

        fn decided(event: Event, dissolved: bool, agents: &[&str], notify: bool) -> Decision {
            let (dissolved, agents) = case(dissolved, agents);
            decide(
                &event,
                &CaseState {
                    dissolved,
                    agents: &agents,
                    notify_on_close: notify,
                },
            )
        }

        fn assigned(user: &str) -> Event {
            Event::AgentAssigned {
                case_id: "500X".into(),
                user_id: user.into(),
            }
        }

        fn owner(old: Option<&str>, new: Option<&str>) -> Event {
            Event::OwnerChanged {
                case_id: "500X".into(),
                old_owner: old.map(str::to_string),
                new_owner: new.map(str::to_string),
            }
        }

        #[test]
        fn an_assignment_joins_once() {
            assert_eq!(
                decided(assigned("005A"), false, &[], false),
                Decision::Apply(vec![Step::Join("005A".into())])
            );
            let again = decided(assigned("005A"), false, &["005A"], false);
            assert_eq!(
                again,
                Decision::Apply(vec![Step::Note("005A is already in the group".into())])
            );
        }

        #[test]
        fn owners_that_are_users_join_and_leave_and_queues_do_not() {
            assert_eq!(
                decided(owner(Some("005A"), Some("005B")), false, &["005A"], false),
                Decision::Apply(vec![Step::Join("005B".into()), Step::Leave("005A".into())])
            );
            // The old owner leaves even if the record never saw them join.
            assert_eq!(
                decided(owner(Some("005A"), Some("00GQ")), false, &[], false),
                Decision::Apply(vec![Step::Leave("005A".into())])
            );
            assert_eq!(
                decided(owner(Some("00GQ"), Some("00GR")), false, &[], false),
                Decision::Apply(vec![Step::Note("queue owners do not join".into())])
            );
            // The same owner on both sides does not leave.
            assert_eq!(
                decided(owner(Some("005A"), Some("005A")), false, &["005A"], false),
                Decision::Apply(vec![Step::Note("005A is already in the group".into())])
            );
        }

        #[test]
        fn closing_notifies_when_configured_and_deleting_never_does() {
            let closed = Event::CaseClosed {
                case_id: "500X".into(),
            };
            let deleted = Event::CaseDeleted {
                case_id: "500X".into(),
            };
            assert_eq!(
                decided(closed.clone(), false, &[], true),
                Decision::Apply(vec![Step::Notify, Step::Dissolve])
            );
            assert_eq!(
                decided(closed, false, &[], false),
                Decision::Apply(vec![Step::Dissolve])
            );
            assert_eq!(
                decided(deleted, false, &[], true),
                Decision::Apply(vec![Step::Dissolve])
            );
        }

        #[test]
        fn a_dissolved_group_only_reopens() {
            for event in [
                assigned("005A"),
                owner(None, Some("005A")),
                Event::CaseClosed {
                    case_id: "500X".into(),
                },
            ] {
                assert_eq!(
                    decided(event, true, &["005A"], true),
                    Decision::Ignore("the Case's group is already dissolved")
                );
            }
            let reopened = |owner: Option<&str>| Event::CaseReopened {
                case_id: "500X".into(),
                owner: owner.map(str::to_string),
            };
            // The new group has no agents: the owner joins even if listed before.
            assert_eq!(
                decided(reopened(Some("005A")), true, &["005A"], false),
                Decision::Apply(vec![Step::Reopen, Step::Join("005A".into())])
            );
            assert_eq!(
                decided(reopened(None), false, &[], false),
                Decision::Apply(vec![Step::Note(
                    "the Case's group was never dissolved".into()
                )])
            );
            assert_eq!(
                decided(reopened(Some("005A")), false, &["005A"], false),
                Decision::Apply(vec![Step::Note("005A is already in the group".into())])
            );
        }
    }
}
