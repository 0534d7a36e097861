//! `POST /zendesk/app/session`: the sidebar app's backend call. Returns the
//! agent's IM credentials and the ticket's group, joining the agent when
//! Zendesk says they are the assignee.

use crate::config::Config;
use crate::records::{TOKEN_KEY, TicketRecord, ticket_key};
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

#[derive(Deserialize)]
struct Input {
    ticket_id: Option<serde_json::Value>,
}

/// Lifetime of the agent UserSig handed to the app.
const AGENT_USERSIG_SECS: u64 = 86_400;

pub async fn handle(config: &Config, headers: &HeaderMap, body: &[u8], now: u64) -> JsonResponse {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let claims = match zendesk::app::verify(
        authorization,
        &config.app_secret,
        &config.jwt_issuer,
        &config.app_audience,
    ) {
        Ok(claims) => claims,
        Err(e) => {
            eprintln!("rejected Zendesk app call: {e}");
            return reply::error(StatusCode::UNAUTHORIZED, e.to_string());
        }
    };
    let input: Input = match serde_json::from_slice(body) {
        Ok(input) => input,
        Err(e) => {
            return reply::bad_field(
                "body",
                format!("the body is not the expected JSON object: {e}"),
            );
        }
    };
    let ticket_id = match input.ticket_id {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let Some(ticket_id) = ticket_id else {
        return reply::bad_field("ticket_id", "`ticket_id` must be a ticket number");
    };
    let records = match Records::open() {
        Ok(records) => records,
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let key = ticket_key(&ticket_id.to_string());
    let mut ticket: TicketRecord = match records.get(&key) {
        Ok(Some(ticket)) => ticket,
        Ok(None) => {
            return reply::error(
                StatusCode::NOT_FOUND,
                format!("ticket {ticket_id} was not opened from chat"),
            );
        }
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let agent = claims.sub;
    let account = config.agent_account(&agent);

    // Zendesk is the source of truth for who is assigned.
    let token: Option<String> = records.get(TOKEN_KEY).ok().flatten();
    let mut zendesk = config.zendesk(token.clone());
    let shown = zendesk.get_ticket(ticket_id).await;
    if zendesk.token().map(String::from) != token
        && let Some(new_token) = zendesk.token()
    {
        let _ = records.put(TOKEN_KEY, &new_token);
    }
    let shown = match shown {
        Ok(shown) => shown,
        Err(e) => {
            return reply::error(
                StatusCode::BAD_GATEWAY,
                format!("Zendesk show ticket failed: {e}"),
            );
        }
    };
    let assigned = shown.assignee_id.map(|id| id.to_string()) == Some(agent.clone());
    let mut joined = false;
    if assigned && !ticket.dissolved {
        // Joins them and removes any former agent, as the assignment
        // webhook would: whichever arrives first, the group converges.
        if let Err(e) = connector::im::converge_agents(
            &config.im.client(),
            &ticket.group_id,
            &config.agent_prefix,
            Some(&account),
        )
        .await
        {
            return reply::error(StatusCode::BAD_GATEWAY, format!("IM join failed: {e}"));
        }
        joined = true;
        if ticket.assignee.as_deref() != Some(agent.as_str()) {
            ticket.assignee = Some(agent.clone());
            if let Err(e) = records.put(&key, &ticket) {
                return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e);
            }
        }
    }
    reply::json(
        StatusCode::OK,
        &serde_json::json!({
            "user_id": account,
            "usersig": config.im.signer.generate(&account, now, AGENT_USERSIG_SECS),
            "sdk_app_id": config.im.signer.sdk_app_id(),
            "group_id": ticket.group_id,
            "joined": joined,
            "dissolved": ticket.dissolved,
        }),
    )
}
