//! `POST /salesforce/events`: a batch of Case / AgentWork changes from the
//! Apex triggers. Each event is applied idempotently (the Case trigger and
//! the AgentWork trigger both report an Omni-Channel acceptance), and each
//! gets its own result.

use crate::config::{CloseAction, Config};
use crate::records::{CaseRecord, case_key};
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::StatusCode;
use salesforce::events::{Event, parse};
use serde_json::json;

/// Validates the whole batch first (a bad one changes nothing), then applies
/// each event and reports each result.
pub async fn handle(config: &Config, records: &Records, body: &[u8]) -> JsonResponse {
    let events = match parse(body) {
        Ok(events) => events,
        Err(e) => return reply::bad_field(&e.field, e.message),
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
    let outcome = match event {
        // The one change that concerns a dissolved group: it starts a new one.
        Event::CaseReopened { owner, .. } => {
            reopen(config, &mut case, event.case_id(), owner.as_deref()).await
        }
        _ if case.dissolved => {
            return Ok(("ignored", "the Case's group is already dissolved".into()));
        }
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

/// A reopened (or undeleted) Case whose group was dissolved gets a new group
/// with the requester, and the owner when an agent owns it. A Case whose
/// group still exists (its closure never reached the bridge) keeps it.
async fn reopen(
    config: &Config,
    case: &mut CaseRecord,
    case_id: &str,
    owner: Option<&str>,
) -> Applied {
    if !case.dissolved {
        return match owner {
            Some(owner) => add(config, case, owner).await,
            None => Ok(("unchanged", "the Case's group was never dissolved".into())),
        };
    }
    let round = case.reopened + 1;
    let group_id = format!("{}#{round}", config.group_id(case_id));
    let nickname = if case.requester_name.is_empty() {
        case.requester.clone()
    } else {
        case.requester_name.clone()
    };
    let im = config.im.client();
    connector::im::open_group(
        &im,
        &group_id,
        &format!("Case {case_id}"),
        &case.requester,
        &nickname,
    )
    .await
    .map_err(|e| e.to_string())?;
    case.group_id = group_id;
    case.reopened = round;
    case.dissolved = false;
    case.agents.clear();
    let mut note = format!("reopened in {}", case.group_id);
    if let Some(owner) = owner {
        let (_, joined) = add(config, case, owner).await?;
        note = format!("{note}; {joined}");
    }
    Ok(("applied", note))
}
