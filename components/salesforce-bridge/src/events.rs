//! `POST /salesforce/events`: a batch of Case / AgentWork changes from the
//! Apex triggers. Each event is applied idempotently (the Case trigger and
//! the AgentWork trigger both report an Omni-Channel acceptance), and each
//! gets its own result.

use crate::config::{CloseAction, Config, is_salesforce_id};
use crate::records::{CaseRecord, case_key};
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

/// A trigger invocation carries at most 200 records; allow a little more.
const MAX_EVENTS: usize = 500;

#[derive(Deserialize)]
struct Batch {
    events: Option<Vec<Value>>,
}

/// One validated event.
enum Event {
    AgentAssigned {
        case_id: String,
        user_id: String,
    },
    OwnerChanged {
        case_id: String,
        old_owner: Option<String>,
        new_owner: Option<String>,
    },
    CaseClosed {
        case_id: String,
    },
    CaseDeleted {
        case_id: String,
    },
}

impl Event {
    fn case_id(&self) -> &str {
        match self {
            Event::AgentAssigned { case_id, .. }
            | Event::OwnerChanged { case_id, .. }
            | Event::CaseClosed { case_id }
            | Event::CaseDeleted { case_id } => case_id,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Event::AgentAssigned { .. } => "agent_assigned",
            Event::OwnerChanged { .. } => "owner_changed",
            Event::CaseClosed { .. } => "case_closed",
            Event::CaseDeleted { .. } => "case_deleted",
        }
    }
}

fn parse(body: &[u8]) -> Result<Vec<Event>, JsonResponse> {
    let batch: Batch = serde_json::from_slice(body).map_err(|e| {
        reply::bad_field(
            "body",
            format!("the body is not the expected JSON object: {e}"),
        )
    })?;
    let events = batch
        .events
        .ok_or_else(|| reply::bad_field("events", "`events` is required"))?;
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(reply::bad_field(
            "events",
            format!("`events` must hold 1 to {MAX_EVENTS} events"),
        ));
    }
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let field = |name: &str| format!("events[{i}].{name}");
            let text = |name: &str| event.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
            let case_id = text("case_id")
                .filter(|id| is_salesforce_id(id, "500"))
                .ok_or_else(|| reply::bad_field(&field("case_id"), "a Case id (500…, 15 or 18 characters) is required"))?
                .to_string();
            let owner = |name: &str| -> Result<Option<String>, JsonResponse> {
                match text(name) {
                    None => Ok(None),
                    Some(id) if is_salesforce_id(id, "005") || is_salesforce_id(id, "00G") => Ok(Some(id.to_string())),
                    Some(_) => Err(reply::bad_field(&field(name), "a User (005…) or Queue (00G…) id is expected")),
                }
            };
            match text("type") {
                Some("agent_assigned") => {
                    let user_id = text("user_id")
                        .filter(|id| is_salesforce_id(id, "005"))
                        .ok_or_else(|| reply::bad_field(&field("user_id"), "a User id (005…) is required"))?
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
                Some(other) => Err(reply::bad_field(
                    &field("type"),
                    format!("unknown type `{other}`: use agent_assigned, owner_changed, case_closed or case_deleted"),
                )),
                None => Err(reply::bad_field(&field("type"), "`type` is required")),
            }
        })
        .collect()
}

/// Validates the whole batch first (a bad one changes nothing), then applies
/// each event and reports each result.
pub async fn handle(config: &Config, records: &Records, body: &[u8]) -> JsonResponse {
    let events = match parse(body) {
        Ok(events) => events,
        Err(response) => return response,
    };
    let mut results = Vec::new();
    let mut failed = 0;
    for (index, event) in events.iter().enumerate() {
        let (result, detail) = match apply(config, records, event).await {
            Ok((result, detail)) => (result, detail),
            Err(detail) => {
                failed += 1;
                eprintln!(
                    "Salesforce event {} for {}: {detail}",
                    event.kind(),
                    event.case_id()
                );
                ("failed", detail)
            }
        };
        results.push(json!({ "index": index, "type": event.kind(), "case_id": event.case_id(), "result": result, "detail": detail }));
    }
    let status = if failed == 0 {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    reply::json(status, &json!({ "results": results, "failed": failed }))
}

type Applied = Result<(&'static str, String), String>;

async fn apply(config: &Config, records: &Records, event: &Event) -> Applied {
    let key = case_key(event.case_id());
    let Some(mut case): Option<CaseRecord> = records.get(&key)? else {
        return Ok(("ignored", "this Case was not opened from chat".into()));
    };
    if case.dissolved {
        return Ok(("ignored", "the Case's group is already dissolved".into()));
    }
    let outcome = match event {
        Event::AgentAssigned { user_id, .. } => add(config, &mut case, user_id).await,
        Event::OwnerChanged {
            old_owner,
            new_owner,
            ..
        } => {
            let mut notes = Vec::new();
            let mut changed = false;
            if let Some(new) = new_owner.as_deref().filter(|id| id.starts_with("005")) {
                let (result, note) = add(config, &mut case, new).await?;
                changed |= result == "applied";
                notes.push(note);
            }
            // Removed whether or not the record lists them: a concurrent
            // batch may have added them without this record seeing it, and
            // IM's removal of a non-member succeeds.
            if let Some(old) = old_owner
                .as_deref()
                .filter(|id| id.starts_with("005") && Some(*id) != new_owner.as_deref())
            {
                config
                    .im
                    .client()
                    .delete_group_member(&case.group_id, &[config.agent_account(old)], false)
                    .await
                    .map_err(|e| e.to_string())?;
                case.agents.retain(|a| a != old);
                changed = true;
                notes.push(format!("{old} left"));
            }
            if notes.is_empty() {
                notes.push("queue owners do not join".into());
            }
            Ok((
                if changed { "applied" } else { "unchanged" },
                notes.join("; "),
            ))
        }
        Event::CaseClosed { .. } => dissolve(config, &mut case, true).await,
        Event::CaseDeleted { .. } => dissolve(config, &mut case, false).await,
    }?;
    records.put(&key, &case)?;
    Ok(outcome)
}

async fn add(config: &Config, case: &mut CaseRecord, user_id: &str) -> Applied {
    // The record may miss an agent a concurrent batch added (its write
    // lost), never list one IM lacks (it is written after IM agreed): so a
    // listed agent needs no call, and an unlisted one is added (idempotent).
    if case.agents.iter().any(|a| a == user_id) {
        return Ok(("unchanged", format!("{user_id} is already in the group")));
    }
    connector::im::add_agent(
        &config.im.client(),
        &case.group_id,
        &config.agent_account(user_id),
    )
    .await
    .map_err(|e| e.to_string())?;
    case.agents.push(user_id.to_string());
    Ok(("applied", format!("{user_id} joined")))
}

async fn dissolve(config: &Config, case: &mut CaseRecord, closed: bool) -> Applied {
    let im = config.im.client();
    if closed
        && config.close_action == CloseAction::NotifyThenDissolve
        && !config.close_notice.is_empty()
    {
        // A notice to a group that is already gone is not an error here.
        match im
            .send_group_system_notification(&case.group_id, &config.close_notice, &[])
            .await
        {
            Ok(()) => {}
            Err(e) if e.code() == Some(10010) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    im.dissolve_group(&case.group_id)
        .await
        .map_err(|e| e.to_string())?;
    case.dissolved = true;
    Ok(("applied", "group dissolved".into()))
}
