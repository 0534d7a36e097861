//! `POST /salesforce/events`: a batch of Case / AgentWork changes from the
//! Apex triggers. What each event does is decided by
//! [`salesforce::events::decide`] (idempotently: the Case trigger and the
//! AgentWork trigger both report an Omni-Channel acceptance); this module
//! makes the steps in IM and the record, and reports each event's result.

use crate::config::{CloseAction, Config};
use crate::records::{CaseRecord, case_key};
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::StatusCode;
use salesforce::events::{CaseState, Decision, Event, Step, decide, parse};
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

/// Applies what [`decide`] says about `event`, step by step; the record is
/// written after IM agreed to every step, so it never lists what IM lacks.
async fn apply(config: &Config, records: &Records, event: &Event) -> Applied {
    let key = case_key(event.case_id());
    let Some(mut case): Option<CaseRecord> = records.get(&key)? else {
        return Ok(("ignored", "this Case was not opened from chat".into()));
    };
    let state = CaseState {
        dissolved: case.dissolved,
        agents: &case.agents,
        notify_on_close: config.close_action == CloseAction::NotifyThenDissolve
            && !config.close_notice.is_empty(),
    };
    let steps = match decide(event, &state) {
        Decision::Ignore(why) => return Ok(("ignored", why.into())),
        Decision::Apply(steps) => steps,
    };
    let changed = steps.iter().any(Step::changes);
    let mut notes = Vec::new();
    for step in steps {
        if let Some(note) = perform(config, &mut case, event.case_id(), step).await? {
            notes.push(note);
        }
    }
    if changed {
        records.put(&key, &case)?;
    }
    Ok((
        if changed { "applied" } else { "unchanged" },
        notes.join("; "),
    ))
}

/// Makes one step in IM and in the record; what it did, for the result.
async fn perform(
    config: &Config,
    case: &mut CaseRecord,
    case_id: &str,
    step: Step,
) -> Result<Option<String>, String> {
    let im = config.im.client();
    Ok(match step {
        Step::Note(note) => Some(note),
        Step::Join(user_id) => {
            connector::im::add_agent(&im, &case.group_id, &config.agent_account(&user_id))
                .await
                .map_err(|e| e.to_string())?;
            case.agents.push(user_id.clone());
            Some(format!("{user_id} joined"))
        }
        Step::Leave(user_id) => {
            im.delete_group_member(&case.group_id, &[config.agent_account(&user_id)], false)
                .await
                .map_err(|e| e.to_string())?;
            case.agents.retain(|a| *a != user_id);
            Some(format!("{user_id} left"))
        }
        Step::Notify => {
            // A notice to a group that is already gone is not an error here.
            match im
                .send_group_system_notification(&case.group_id, &config.close_notice, &[])
                .await
            {
                Ok(()) => {}
                Err(e) if e.code() == Some(10010) => {}
                Err(e) => return Err(e.to_string()),
            }
            None
        }
        Step::Dissolve => {
            im.dissolve_group(&case.group_id)
                .await
                .map_err(|e| e.to_string())?;
            case.dissolved = true;
            Some("group dissolved".into())
        }
        // A new group, because IM does not promise that a dissolved
        // group's id can be used again.
        Step::Reopen => {
            let round = case.reopened + 1;
            let group_id = format!("{}#{round}", config.group_id(case_id));
            let nickname = if case.requester_name.is_empty() {
                &case.requester
            } else {
                &case.requester_name
            };
            connector::im::open_group(
                &im,
                &group_id,
                &format!("Case {case_id}"),
                &case.requester,
                nickname,
            )
            .await
            .map_err(|e| e.to_string())?;
            case.group_id = group_id;
            case.reopened = round;
            case.dissolved = false;
            case.agents.clear();
            Some(format!("reopened in {}", case.group_id))
        }
    })
}
