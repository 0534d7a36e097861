//! `POST /salesforce/requests`: an end user asks for help from the chat app.

use crate::config::Config;
use crate::records::{CaseRecord, CaseSteps, SESSION_KEY, case_key, latest_key};
use connector::reply::{self, JsonResponse};
use connector::request::SupportRequest;
use connector::request_flow;
use connector::state::Records;
use http::StatusCode;
use salesforce::api::{NewCase, Session};

/// `POST /salesforce/requests/open`: the user's latest Case from chat while
/// its chat is open, else 404.
pub fn open_request(user: &str) -> JsonResponse {
    connector::bridge::open_request(
        user,
        &latest_key(user),
        "case_id",
        case_key,
        |case: &CaseRecord| {
            (!case.dissolved && case.requester == user).then(|| case.group_id.clone())
        },
    )
}

/// Creates the Case and the group, resuming an earlier attempt of the same
/// request (same idempotency key, or same content without one).
pub async fn handle(config: &Config, user: &str, body: &[u8]) -> JsonResponse {
    request_flow::handle(body, false, async |records, request| {
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
    let mut admitted = request_flow::admit::<CaseSteps>(records, "sf", user, request)?;
    let replay = admitted.progress.group_ready;
    let request_id = admitted.request_id.clone();

    // 1. The Case: upserted by External ID when configured, so even a Case
    //    created before a lost answer is found again rather than duplicated.
    let case_id = match admitted.progress.steps.case_id.clone() {
        Some(id) => id,
        None => {
            let session: Option<Session> = records.get(SESSION_KEY).map_err(internal)?;
            let mut salesforce = config.salesforce(session.clone());
            let case = NewCase {
                subject: request.subject.clone(),
                description: request.description_for_agents(user),
                // The "Web" fields: what a form's user typed, which is
                // what these are (the verified identity is in the
                // description).
                supplied_name: request.name.clone(),
                supplied_email: request.email.clone(),
                origin: config.origin.clone(),
            };
            let created = match &config.external_id_field {
                Some(field) => salesforce
                    .upsert_case(field, &request_id, &case)
                    .await
                    .map(|(id, _)| id),
                None => salesforce.create_case(&case).await,
            };
            request_flow::keep_refreshed(
                records,
                SESSION_KEY,
                session.as_ref(),
                salesforce.session(),
            )?;
            let id = created.map_err(|e| reply::upstream("Salesforce Case creation failed", e))?;
            admitted.progress.steps.case_id = Some(id.clone());
            records
                .put(&admitted.key, &admitted.progress)
                .map_err(internal)?;
            let case = CaseRecord {
                group_id: config.group_id(&id),
                requester: user.to_string(),
                requester_name: request.name.clone(),
                agents: Vec::new(),
                dissolved: false,
                reopened: 0,
                opened_at: connector::config::unix_now(),
            };
            records.put(&case_key(&id), &case).map_err(internal)?;
            id
        }
    };
    // The Case's current group: a reopened Case chats in a new one.
    let group_id = records
        .get::<CaseRecord>(&case_key(&case_id))
        .map_err(internal)?
        .map_or_else(|| config.group_id(&case_id), |case| case.group_id);

    // 2. The group, with the requester in it.
    request_flow::open_group(
        records,
        &mut admitted,
        &config.im.client(),
        user,
        request_flow::Group {
            id: &group_id,
            name: &format!("Case {case_id}"),
            nickname: &request.name,
        },
        (&latest_key(user), &case_id),
    )
    .await?;
    // Out of business hours, when agents are back (advisory: a failure is
    // logged, and the next attempt of the request posts it).
    if let Some(notice) = config
        .availability
        .out_of_hours_notice(connector::config::unix_now())
    {
        let claim = format!("sf:hours-notice:{case_id}");
        let im = config.im.client();
        if let Err(e) = connector::im::notify_once(records, &im, &group_id, &claim, &notice).await {
            eprintln!("Case {case_id}: out-of-hours notice not posted: {e}");
        }
    }
    Ok(reply::created(
        replay,
        &serde_json::json!({ "case_id": case_id, "group_id": group_id, "user_id": user }),
    ))
}
