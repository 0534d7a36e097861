//! `POST /zendesk/requests`: an end user asks for help from the chat app.

use crate::config::Config;
use crate::records::{RequestRecord, TOKEN_KEY, TicketRecord, request_key, ticket_key};
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use serde::Deserialize;
use spin_sdk::http::StatusCode;
use tim::rest::{CreateGroup, MemberAccount, Outcome};
use zendesk::api::{NewTicket, ZendeskError};

#[derive(Deserialize)]
struct Input {
    subject: Option<String>,
    description: Option<String>,
    name: Option<String>,
    email: Option<String>,
    idempotency_key: Option<String>,
}

/// A checked request.
struct Valid {
    subject: String,
    description: String,
    name: String,
    email: String,
    idempotency_key: String,
}

fn text(value: Option<String>, field: &str, max: usize) -> Result<String, JsonResponse> {
    let value = value.map(|v| v.trim().to_string()).unwrap_or_default();
    if value.is_empty() {
        return Err(reply::bad_field(field, format!("`{field}` is required")));
    }
    if value.chars().count() > max {
        return Err(reply::bad_field(
            field,
            format!("`{field}` is longer than {max} characters"),
        ));
    }
    Ok(value)
}

fn validate(body: &[u8]) -> Result<Valid, JsonResponse> {
    let input: Input = serde_json::from_slice(body).map_err(|e| {
        reply::bad_field(
            "body",
            format!("the body is not the expected JSON object: {e}"),
        )
    })?;
    let email = text(input.email, "email", 254)?;
    let valid_email = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    }) && !email.contains(char::is_whitespace);
    if !valid_email {
        return Err(reply::bad_field(
            "email",
            format!("`{email}` is not an e-mail address"),
        ));
    }
    let idempotency_key = text(input.idempotency_key, "idempotency_key", 128)?;
    if !idempotency_key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(reply::bad_field(
            "idempotency_key",
            "use printable ASCII without spaces",
        ));
    }
    Ok(Valid {
        subject: text(input.subject, "subject", 150)?,
        description: text(input.description, "description", 30_000)?,
        name: text(input.name, "name", 255)?,
        email,
        idempotency_key,
    })
}

fn upstream(what: &str, error: impl std::fmt::Display) -> JsonResponse {
    eprintln!("{what}: {error}");
    reply::error(StatusCode::BAD_GATEWAY, format!("{what}: {error}"))
}

/// Creates the ticket, the group and the greeting, resuming any earlier
/// attempt with the same idempotency key.
pub async fn handle(config: &Config, user: &str, body: &[u8]) -> JsonResponse {
    let request = match validate(body) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let records = match Records::open().await {
        Ok(records) => records,
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    match run(config, &records, user, &request).await {
        Ok(response) => response,
        Err(response) => response,
    }
}

async fn run(
    config: &Config,
    records: &Records,
    user: &str,
    request: &Valid,
) -> Result<JsonResponse, JsonResponse> {
    let internal = |e: String| reply::error(StatusCode::INTERNAL_SERVER_ERROR, e);
    let key = request_key(user, &request.idempotency_key);
    let fingerprint = serde_json::json!([
        request.subject,
        request.description,
        request.name,
        request.email
    ])
    .to_string();
    let mut record: RequestRecord = records
        .get(&key)
        .await
        .map_err(internal)?
        .unwrap_or_default();
    let replay = record.greeted;
    if record.fingerprint.is_empty() {
        record.fingerprint = fingerprint;
        records.put(&key, &record).await.map_err(internal)?;
    } else if record.fingerprint != fingerprint {
        return Err(reply::json(
            StatusCode::CONFLICT,
            &serde_json::json!({
                "error": "idempotency_key was already used for a different request",
                "field": "idempotency_key",
            }),
        ));
    }

    // 1. The ticket (Zendesk's Idempotency-Key makes a retry safe even if we
    //    never learned the id of a ticket created before a failure).
    let ticket_id = match record.ticket_id {
        Some(id) => id,
        None => {
            let token: Option<String> = records.get(TOKEN_KEY).await.map_err(internal)?;
            let mut zendesk = config.zendesk(token.clone());
            let created = zendesk
                .create_ticket(
                    &NewTicket {
                        subject: request.subject.clone(),
                        description: request.description.clone(),
                        requester_name: request.name.clone(),
                        requester_email: request.email.clone(),
                        external_id: user.to_string(),
                        tags: vec!["switchboard".into(), "chat".into()],
                    },
                    &format!("switchboard:{user}:{}", request.idempotency_key),
                )
                .await;
            if zendesk.token().map(String::from) != token
                && let Some(new_token) = zendesk.token()
            {
                records.put(TOKEN_KEY, &new_token).await.map_err(internal)?;
            }
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
                other => upstream("Zendesk ticket creation failed", other),
            })?;
            record.ticket_id = Some(created.ticket_id);
            records.put(&key, &record).await.map_err(internal)?;
            let ticket = TicketRecord {
                group_id: config.group_id(created.ticket_id),
                requester: user.to_string(),
                assignee: None,
                dissolved: false,
            };
            records
                .put(&ticket_key(&created.ticket_id.to_string()), &ticket)
                .await
                .map_err(internal)?;
            created.ticket_id
        }
    };
    let group_id = config.group_id(ticket_id);
    let im = config.im();

    // 2. The group, with the requester in it.
    if !record.group_ready {
        im.account_import(user, Some(&request.name))
            .await
            .map_err(|e| upstream("IM account import failed", e))?;
        let outcome = im
            .ensure_group(&CreateGroup {
                group_type: "Public".into(),
                name: format!("Ticket #{ticket_id}").chars().take(30).collect(),
                group_id: Some(group_id.clone()),
                apply_join_option: Some("DisableApply".into()),
                members: vec![MemberAccount {
                    account: user.to_string(),
                }],
                ..Default::default()
            })
            .await
            .map_err(|e| upstream("IM group creation failed", e))?;
        if outcome == Outcome::AlreadyDone {
            im.ensure_member(&group_id, user)
                .await
                .map_err(|e| upstream("IM add member failed", e))?;
        }
        record.group_ready = true;
        records.put(&key, &record).await.map_err(internal)?;
    }

    // 3. The greeting.
    if !record.greeted {
        im.send_group_system_notification(&group_id, &config.greeting, &[])
            .await
            .map_err(|e| upstream("IM greeting failed", e))?;
        record.greeted = true;
        records.put(&key, &record).await.map_err(internal)?;
    }

    let status = if replay {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(reply::json(
        status,
        &serde_json::json!({ "ticket_id": ticket_id, "group_id": group_id, "user_id": user }),
    ))
}
