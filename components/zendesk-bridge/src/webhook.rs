//! `POST /zendesk/webhook`: Zendesk tells the bridge about assignments,
//! status changes, deletions and comments.

use crate::config::Config;
use crate::records::{SEEN_SECS, TicketRecord, seen_key, ticket_key};
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::{HeaderMap, StatusCode};
use zendesk::webhook::{self, Change, EventError};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Verifies, deduplicates and applies one delivery. The delivery is claimed
/// before it is applied and the claim given back if applying fails, so a
/// failed delivery (5xx) is retried by Zendesk, and a duplicate — later or
/// concurrent — is answered without repeating anything.
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
    // Duplicates are recognised by what the signature covers: the event's
    // own id (in the body), else the signed content itself in its
    // canonical form (our own MAC, not the header's spelling). The
    // invocation-id header is not signed, so an attacker could change it
    // at will. The claim is atomic, so concurrent copies apply once.
    let event_time = event.time.or_else(|| webhook::parse_timestamp(timestamp));
    let delivery = event
        .event_id
        .clone()
        .unwrap_or_else(|| webhook::sign(&config.webhook_secret, timestamp, body));
    // The claim's window starts at the event's own (signed) time, so every
    // copy of one event names the same claim.
    let until = event_time.unwrap_or(now).saturating_add(SEEN_SECS);
    let claim = seen_key(&delivery);
    let applied = records.once(
        &claim,
        until,
        apply_event(config, &records, &event, event_time),
    );
    let response = match applied.await {
        Ok(Some(response)) => response,
        Ok(None) => return reply::json(StatusCode::OK, &serde_json::json!({ "duplicate": true })),
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    connector::edge::after_response(async move {
        if let Err(e) = records.sweep_claims(now, CLAIM_SWEEP_SECS) {
            eprintln!("sweeping ended claims: {e}");
        }
    });
    response
}

/// Ended delivery claims are deleted at most this often.
const CLAIM_SWEEP_SECS: u64 = 3600;

/// Applies one verified event to its ticket. A server error means it did
/// not (fully) take effect: its claim is released and Zendesk retries.
async fn apply_event(
    config: &Config,
    records: &Records,
    event: &webhook::TicketEvent,
    event_time: Option<u64>,
) -> JsonResponse {
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
    // A comment is news whatever came before it; only changes of state can
    // be overtaken by a later one.
    let changes_state = event
        .changes
        .iter()
        .any(|c| !matches!(c, Change::Commented(_)));
    if changes_state
        && let (Some(time), Some(last)) = (event_time, ticket.last_event_time)
        && time < last
    {
        return reply::json(
            StatusCode::OK,
            &serde_json::json!({ "ignored": format!("older than the last event applied to ticket {}", event.ticket_id) }),
        );
    }
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
    if changes_state {
        ticket.last_event_time = ticket.last_event_time.max(event_time);
    }
    if let Err(e) = records.put(&key, &ticket) {
        return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e);
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
        Change::Assigned(agent) => {
            // Converged against IM's membership even when the stored
            // assignee already matches: the sidebar may have joined the
            // new agent first, with the previous one still in the group.
            let account = agent.as_deref().map(|a| config.agent_account(a));
            let removed = connector::im::converge_agents(
                &im,
                &ticket.group_id,
                &config.agent_prefix,
                account.as_deref(),
            )
            .await
            .map_err(|e| e.to_string())?;
            let joined = agent.is_some() && *agent != ticket.assignee;
            ticket.assignee = agent.clone();
            let mut what = Vec::new();
            if !removed.is_empty() {
                what.push(format!("{} left", removed.join(", ")));
            }
            if let (true, Some(agent)) = (joined, agent) {
                what.push(format!("agent {agent} joined"));
            }
            Ok((!what.is_empty()).then(|| what.join(", ")))
        }
        Change::Status(status) if config.dissolves_on(status) => {
            dissolve(config, ticket, status).await
        }
        Change::Deleted if config.dissolves_on("deleted") => {
            dissolve(config, ticket, "deleted").await
        }
        Change::Status(_) | Change::Deleted => Ok(None),
        Change::Commented(comment) => crate::chat::to_im(config, ticket, comment).await,
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
