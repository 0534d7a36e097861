//! The panel's chat calls, each authenticated by the panel session
//! (`Authorization: Bearer`), never by an agent id the browser sends:
//!
//! - `POST /zendesk/app/join` `{ticket_id}`: asks Zendesk who is assigned;
//!   the assignee joins the ticket's group (imported with their Zendesk
//!   name), and the answer says what the agent may do.
//! - `POST /zendesk/app/history` `{ticket_id, after?, before?}`: the chat,
//!   newest page, or what came after the cursor `after`, or the page up to
//!   `before`.
//! - `POST /zendesk/app/send` `{ticket_id, text, client_id}`: sends as the
//!   agent's IM account after Zendesk confirms they are the assignee. The
//!   message goes through IM's callbacks like anyone's, so moderation
//!   applies to agents too. `client_id` names the message: a retry (or a
//!   concurrent copy) is sent once.

use crate::config::{Config, PanelSettings};
use crate::panel::{SESSION_SECS, start_session};
use crate::records::{TOKEN_KEY, TicketRecord, ticket_key};
use connector::agent_chat::Roles;
use connector::agent_panel::{self, Chat, Cursor, Outgoing, Sender};
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use zendesk::app::PanelSession;

/// Calls one agent may make per minute to each route: a panel polls every
/// 3 s (20 a minute); more is a stuck or hostile client.
const CALLS_PER_MINUTE: i64 = 60;
/// Messages one agent may send per minute.
const SENDS_PER_MINUTE: i64 = 20;

struct Caller<'a> {
    settings: &'a PanelSettings,
    session: PanelSession,
    /// A fresh session to hand back, when this one is in its second half.
    renewed: Option<String>,
    account: String,
    /// The prefix of this agent's marks in the store.
    key: String,
    records: Records,
}

impl Caller<'_> {
    /// The ticket's chat as this agent sees it.
    fn chat<'a>(
        &'a self,
        config: &'a Config,
        im: &'a tim::rest::Client<connector::outbound::SpinHttp>,
        ticket: &'a TicketRecord,
    ) -> Chat<'a> {
        Chat {
            im,
            group_id: &ticket.group_id,
            roles: Roles {
                viewer: &self.account,
                requester: Some(ticket.requester.as_str()).filter(|r| !r.is_empty()),
                agent_prefix: &config.agent_prefix,
                admin: &config.im.admin,
            },
        }
    }
}

pub async fn handle(
    route: &str,
    config: &Config,
    headers: &HeaderMap,
    body: &[u8],
    now: u64,
) -> JsonResponse {
    let mut caller = match authenticate(config, headers, route, now).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let input: Value = match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => value,
        _ => return reply::bad_field("body", "the body must be a JSON object"),
    };
    let ticket_id = match &input["ticket_id"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let Some(ticket_id) = ticket_id.filter(|id| *id > 0) else {
        return reply::bad_field("ticket_id", "`ticket_id` must be a ticket number");
    };
    let key = ticket_key(&ticket_id.to_string());
    let ticket: TicketRecord = match caller.records.get(&key) {
        Ok(Some(ticket)) => ticket,
        Ok(None) => {
            return reply::error(
                StatusCode::NOT_FOUND,
                format!("ticket {ticket_id} was not opened from chat"),
            );
        }
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let mut response = match route {
        "/app/join" => join(config, &caller, &key, ticket, ticket_id).await,
        "/app/history" => history(config, &caller, &ticket, ticket_id, &input).await,
        _ => send(config, &caller, &key, ticket, ticket_id, &input, now).await,
    };
    if let Some(session) = caller.renewed.take()
        && let Ok(mut answer) = serde_json::from_slice::<Value>(response.body())
        && answer.is_object()
    {
        answer["session"] = json!(session);
        let status = response.status();
        let retry_after = response.headers().get("retry-after").cloned();
        response = reply::json(status, &answer);
        if let Some(value) = retry_after {
            response.headers_mut().insert("retry-after", value);
        }
    }
    response
}

async fn authenticate<'a>(
    config: &'a Config,
    headers: &HeaderMap,
    route: &str,
    now: u64,
) -> Result<Caller<'a>, JsonResponse> {
    let settings = config.panel.as_ref().map_err(|message| {
        eprintln!("{message}");
        reply::error(StatusCode::INTERNAL_SERVER_ERROR, message)
    })?;
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let session = PanelSession::verify(header, &settings.session_secret, now).map_err(|e| {
        eprintln!("rejected Zendesk panel call: {e}");
        reply::error(StatusCode::UNAUTHORIZED, e)
    })?;
    let records =
        Records::open().map_err(|e| reply::error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let key = format!("zd:agent:{}", session.agent);
    let limit = if route == "/app/send" {
        SENDS_PER_MINUTE
    } else {
        CALLS_PER_MINUTE
    };
    agent_panel::within_limit(&records, &key, route, limit, now)?;
    let renewed = if session.exp.saturating_sub(now) < SESSION_SECS / 2 {
        Some(
            start_session(config, settings, session.agent, now)
                .await
                .map_err(|(status, message)| reply::error(status, message))?,
        )
    } else {
        None
    };
    Ok(Caller {
        settings,
        account: config.agent_account(&session.agent.to_string()),
        key,
        session,
        renewed,
        records,
    })
}

/// Who Zendesk says is assigned, keeping the refreshed OAuth token.
async fn zendesk_assignee(
    config: &Config,
    records: &Records,
    ticket_id: u64,
) -> Result<Option<u64>, JsonResponse> {
    let token: Option<String> = records.get(TOKEN_KEY).ok().flatten();
    let mut zendesk = config.zendesk(token.clone());
    let shown = zendesk.get_ticket(ticket_id).await;
    if zendesk.token().map(String::from) != token
        && let Some(new_token) = zendesk.token()
    {
        let _ = records.put(TOKEN_KEY, &new_token);
    }
    shown
        .map(|t| t.assignee_id)
        .map_err(|e| reply::upstream("Zendesk show ticket", e))
}

/// Puts the assignee in the group (and no other agent), named as in
/// Zendesk, with their Zendesk photo.
async fn seat_assignee(
    config: &Config,
    caller: &Caller<'_>,
    key: &str,
    ticket: &mut TicketRecord,
) -> Result<(), JsonResponse> {
    let im = config.im.client();
    agent_panel::import_agent(
        &im,
        &caller.account,
        &caller.session.name,
        caller.session.photo.as_deref(),
    )
    .await?;
    connector::im::converge_agents(
        &im,
        &ticket.group_id,
        &config.agent_prefix,
        Some(&caller.account),
    )
    .await
    .map_err(|e| reply::upstream("IM join", e))?;
    let agent = caller.session.agent.to_string();
    if ticket.assignee.as_deref() != Some(agent.as_str()) {
        ticket.assignee = Some(agent);
        caller
            .records
            .put(key, ticket)
            .map_err(|e| reply::error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    }
    Ok(())
}

fn is_assignee(caller: &Caller<'_>, ticket: &TicketRecord) -> bool {
    ticket.assignee.as_deref() == Some(caller.session.agent.to_string().as_str())
}

async fn join(
    config: &Config,
    caller: &Caller<'_>,
    key: &str,
    mut ticket: TicketRecord,
    ticket_id: u64,
) -> JsonResponse {
    let assignee = match zendesk_assignee(config, &caller.records, ticket_id).await {
        Ok(assignee) => assignee,
        Err(response) => return response,
    };
    let assigned = assignee == Some(caller.session.agent);
    if assigned && !ticket.dissolved {
        if let Err(response) = seat_assignee(config, caller, key, &mut ticket).await {
            return response;
        }
    } else if !assigned && !caller.settings.unassigned_may_read {
        return not_yours(ticket_id);
    }
    let im = config.im.client();
    let members = match agent_panel::members(caller.chat(config, &im, &ticket)).await {
        Ok(members) => members,
        Err(response) => return response,
    };
    reply::json(
        StatusCode::OK,
        &json!({
            "ticket_id": ticket_id,
            "group_id": ticket.group_id,
            "you": caller.account,
            "you_name": caller.session.name,
            "assignee_id": assignee,
            "assigned": assigned,
            "dissolved": ticket.dissolved,
            "can_send": assigned && !ticket.dissolved,
            "members": members,
        }),
    )
}

fn not_yours(ticket_id: u64) -> JsonResponse {
    reply::error(
        StatusCode::FORBIDDEN,
        format!("ticket {ticket_id} is not assigned to you: take it in Zendesk to join its chat"),
    )
}

async fn history(
    config: &Config,
    caller: &Caller<'_>,
    ticket: &TicketRecord,
    ticket_id: u64,
    input: &Value,
) -> JsonResponse {
    let assigned = is_assignee(caller, ticket);
    if !assigned && !caller.settings.unassigned_may_read {
        return not_yours(ticket_id);
    }
    let cursor = match Cursor::from_body(input) {
        Ok(cursor) => cursor,
        Err(response) => return response,
    };
    let im = config.im.client();
    match agent_panel::history(caller.chat(config, &im, ticket), cursor).await {
        Ok(page) => {
            let mut answer = page.to_json();
            answer["can_send"] = json!(assigned && !ticket.dissolved);
            answer["dissolved"] = json!(ticket.dissolved);
            reply::json(StatusCode::OK, &answer)
        }
        Err(response) => response,
    }
}

async fn send(
    config: &Config,
    caller: &Caller<'_>,
    key: &str,
    mut ticket: TicketRecord,
    ticket_id: u64,
    input: &Value,
    now: u64,
) -> JsonResponse {
    let message = match Outgoing::from_body(input) {
        Ok(message) => message,
        Err(response) => return response,
    };
    if ticket.dissolved {
        return reply::error(
            StatusCode::CONFLICT,
            format!("the chat of ticket {ticket_id} has ended"),
        );
    }
    // Zendesk decides, not a record a webhook may not have updated yet.
    match zendesk_assignee(config, &caller.records, ticket_id).await {
        Ok(Some(assignee)) if assignee == caller.session.agent => {}
        Ok(_) => return not_yours(ticket_id),
        Err(response) => return response,
    }
    // Seating the agent may update the record: the chat reads a copy.
    let seen = ticket.clone();
    let im = config.im.client();
    let sender = Sender {
        key: &caller.key,
        account: &caller.account,
        name: &caller.session.name,
    };
    agent_panel::send_once(
        caller.chat(config, &im, &seen),
        &caller.records,
        sender,
        &message,
        seat_assignee(config, caller, key, &mut ticket),
        now,
    )
    .await
}
