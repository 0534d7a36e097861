//! `POST /zendesk/webhook`: Zendesk tells the bridge about assignments,
//! status changes and deletions.

use crate::config::Config;
use crate::records::{TicketRecord, seen_key, ticket_key};
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::{HeaderMap, StatusCode};
use zendesk::webhook::{self, Change, EventError};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Verifies, deduplicates and applies one delivery. Work is marked done only
/// after it succeeded, so a failed delivery (5xx) is retried by Zendesk and a
/// duplicate one is answered without repeating anything.
pub async fn handle(config: &Config, headers: &HeaderMap, body: &[u8], now: u64) -> JsonResponse {
    let unauthorized = |message: String| {
        eprintln!("rejected Zendesk webhook: {message}");
        reply::error(StatusCode::UNAUTHORIZED, message)
    };
    let (Some(signature), Some(timestamp)) = (
        header(headers, webhook::SIGNATURE_HEADER),
        header(headers, webhook::TIMESTAMP_HEADER),
    ) else {
        return unauthorized("missing x-zendesk-webhook-signature / -timestamp headers".into());
    };
    if let Err(e) = webhook::verify(
        &config.webhook_secret,
        timestamp,
        body,
        signature,
        now,
        config.webhook_window,
    ) {
        return unauthorized(e.to_string());
    }
    let event = match webhook::parse_event(body) {
        Ok(event) => event,
        Err(EventError::Unhandled(kind)) => {
            return reply::json(
                StatusCode::OK,
                &serde_json::json!({ "ignored": format!("event type `{kind}` is not used") }),
            );
        }
        Err(e) => return reply::bad_field("body", e.to_string()),
    };
    let records = match Records::open() {
        Ok(records) => records,
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let delivery_ids: Vec<String> = [
        header(headers, webhook::INVOCATION_HEADER).map(String::from),
        event.event_id.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    for id in &delivery_ids {
        match records.has(&seen_key(id)) {
            Ok(true) => {
                return reply::json(StatusCode::OK, &serde_json::json!({ "duplicate": id }));
            }
            Ok(false) => {}
            Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
        }
    }
    let key = ticket_key(&event.ticket_id);
    let mut ticket: TicketRecord = match records.get(&key) {
        Ok(Some(ticket)) => ticket,
        Ok(None) => {
            return reply::json(
                StatusCode::OK,
                &serde_json::json!({ "ignored": format!("ticket {} was not opened from chat", event.ticket_id) }),
            );
        }
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let mut applied = Vec::new();
    for change in &event.changes {
        match apply(config, &mut ticket, change).await {
            Ok(Some(what)) => applied.push(what),
            Ok(None) => {}
            Err(e) => {
                // Keep what was done so far; Zendesk retries the rest.
                let _ = records.put(&key, &ticket);
                eprintln!("Zendesk webhook for ticket {}: {e}", event.ticket_id);
                return reply::error(StatusCode::BAD_GATEWAY, e);
            }
        }
    }
    if let Err(e) = records.put(&key, &ticket) {
        return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e);
    }
    for id in &delivery_ids {
        if let Err(e) = records.put(&seen_key(id), &now) {
            return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e);
        }
    }
    reply::json(
        StatusCode::OK,
        &serde_json::json!({ "ticket_id": event.ticket_id, "applied": applied }),
    )
}

async fn apply(
    config: &Config,
    ticket: &mut TicketRecord,
    change: &Change,
) -> Result<Option<String>, String> {
    if ticket.dissolved {
        return Ok(None);
    }
    let im = config.im.client();
    match change {
        Change::Assigned(agent) if *agent == ticket.assignee => Ok(None),
        Change::Assigned(agent) => {
            if let Some(agent) = agent {
                connector::im::add_agent(&im, &ticket.group_id, &config.agent_account(agent))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            if let Some(previous) = &ticket.assignee {
                let account = config.agent_account(previous);
                im.delete_group_member(&ticket.group_id, &[account], false)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            let what = match (agent, &ticket.assignee) {
                (Some(new), Some(old)) => format!("agent {old} left, agent {new} joined"),
                (Some(new), None) => format!("agent {new} joined"),
                (None, Some(old)) => format!("agent {old} left"),
                (None, None) => String::new(),
            };
            ticket.assignee = agent.clone();
            Ok(Some(what))
        }
        Change::Status(status) if config.dissolves_on(status) => {
            dissolve(config, ticket, status).await
        }
        Change::Deleted if config.dissolves_on("deleted") => {
            dissolve(config, ticket, "deleted").await
        }
        Change::Status(_) | Change::Deleted => Ok(None),
    }
}

async fn dissolve(
    config: &Config,
    ticket: &mut TicketRecord,
    reason: &str,
) -> Result<Option<String>, String> {
    config
        .im
        .client()
        .dissolve_group(&ticket.group_id)
        .await
        .map_err(|e| e.to_string())?;
    ticket.dissolved = true;
    Ok(Some(format!("group dissolved ({reason})")))
}
