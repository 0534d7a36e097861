//! `POST /zendesk/requests`: an end user asks for help from the chat app.

use crate::config::Config;
use crate::records::{TOKEN_KEY, TicketRecord, TicketSteps, latest_key, ticket_key};
use connector::reply::{self, JsonResponse};
use connector::request::SupportRequest;
use connector::request_flow;
use connector::state::{Claim, Records};
use http::StatusCode;
use zendesk::api::{NewTicket, Requester, ZendeskError};

/// A claim that never ends: the greeting belongs to its ticket for good.
const FOREVER: u64 = u64::MAX;

/// `POST /zendesk/requests/open`: the user's latest ticket from chat while
/// its chat is open, else 404.
pub fn open_request(user: &str) -> JsonResponse {
    connector::bridge::open_request(
        user,
        &latest_key(user),
        "ticket_id",
        ticket_key,
        |ticket: &TicketRecord| {
            (!ticket.dissolved && ticket.requester == user).then(|| ticket.group_id.clone())
        },
    )
}

/// Creates the ticket, the group and the greeting, resuming any earlier
/// attempt of the same request (see [`connector::request_flow`]).
pub async fn handle(config: &Config, user: &str, body: &[u8]) -> JsonResponse {
    request_flow::handle(body, true, async |records, request| {
        run(config, records, user, request).await
    })
    .await
}

async fn run(
    config: &Config,
    records: &Records,
    user: &str,
    request: &SupportRequest,
) -> Result<JsonResponse, JsonResponse> {
    let internal = |e: String| reply::error(StatusCode::INTERNAL_SERVER_ERROR, e);
    let idempotency_key = request.idempotency_key.as_deref().unwrap_or_default();
    let mut admitted = request_flow::admit::<TicketSteps>(records, "zd", user, request)?;
    let replay = admitted.progress.steps.greeted;

    // 1. The ticket (Zendesk's Idempotency-Key makes a retry safe even if we
    //    never learned the id of a ticket created before a failure).
    let ticket_id = match admitted.progress.steps.ticket_id {
        Some(id) => id,
        None => {
            let token: Option<String> = records.get(TOKEN_KEY).map_err(internal)?;
            let mut zendesk = config.zendesk(token.clone());
            let created = zendesk
                .create_ticket(
                    &NewTicket {
                        subject: request.subject.clone(),
                        description: request.description_for_agents(user),
                        // Never the e-mail from the body: Zendesk would file
                        // the ticket as that address's user and mail them.
                        requester: config
                            .requester_domain
                            .as_deref()
                            .map(|domain| Requester::bound_to(user, &request.name, domain)),
                        external_id: user.to_string(),
                        tags: vec!["switchboard".into(), "chat".into()],
                    },
                    &format!("switchboard:{user}:{idempotency_key}"),
                )
                .await;
            request_flow::keep_refreshed(records, TOKEN_KEY, token.as_deref(), zendesk.token())?;
            let created = created.map_err(|e| match e {
                ZendeskError::RateLimited { retry_after } => {
                    let mut response = reply::error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("Zendesk is rate limiting ticket creation; retry after {retry_after} s with the same idempotency_key"),
                    );
                    response.headers_mut().insert("retry-after", retry_after.into());
                    response
                }
                ZendeskError::IdempotencyMismatch => reply::json(
                    StatusCode::CONFLICT,
                    &serde_json::json!({"error": "Zendesk already saw this idempotency_key with a different request", "field": "idempotency_key"}),
                ),
                other => reply::upstream("Zendesk ticket creation failed", other),
            })?;
            admitted.progress.steps.ticket_id = Some(created.ticket_id);
            records
                .put(&admitted.key, &admitted.progress)
                .map_err(internal)?;
            let ticket = TicketRecord {
                group_id: config.group_id(created.ticket_id),
                requester: user.to_string(),
                assignee: None,
                dissolved: false,
                last_event_time: None,
                opened_at: connector::config::unix_now(),
            };
            records
                .put(&ticket_key(&created.ticket_id.to_string()), &ticket)
                .map_err(internal)?;
            created.ticket_id
        }
    };
    let group_id = config.group_id(ticket_id);
    let im = config.im.client();

    // 2. The group, with the requester in it.
    request_flow::open_group(
        records,
        &mut admitted,
        &im,
        user,
        request_flow::Group {
            id: &group_id,
            name: &format!("Ticket #{ticket_id}"),
            nickname: &request.name,
        },
        (&latest_key(user), &ticket_id),
    )
    .await?;

    // 3. The greeting, once however many copies of the request race here
    //    (the claim is the ticket's for good, or given back if IM fails).
    if !admitted.progress.steps.greeted {
        let greeting = format!("zd:greeting:{ticket_id}");
        if records.claim(&greeting, FOREVER).map_err(internal)? == Claim::Won {
            let sent = im
                .send_group_system_notification(&group_id, &config.greeting, &[])
                .await;
            if let Err(e) = sent {
                let _ = records.release(&greeting, FOREVER);
                return Err(reply::upstream("IM greeting failed", e));
            }
        }
        admitted.progress.steps.greeted = true;
        records
            .put(&admitted.key, &admitted.progress)
            .map_err(internal)?;
    }

    // 4. Out of business hours, when agents are back (advisory: a failure
    //    is logged, and the next attempt of the request posts it).
    if let Some(notice) = config
        .availability
        .out_of_hours_notice(connector::config::unix_now())
    {
        let claim = format!("zd:hours-notice:{ticket_id}");
        if let Err(e) = connector::im::notify_once(records, &im, &group_id, &claim, &notice).await {
            eprintln!("ticket {ticket_id}: out-of-hours notice not posted: {e}");
        }
    }

    Ok(reply::created(
        replay,
        &serde_json::json!({ "ticket_id": ticket_id, "group_id": group_id, "user_id": user }),
    ))
}
