//! Salesforce case bridge (routes under `/salesforce/`).
//!
//! | route | caller | authentication |
//! |---|---|---|
//! | `POST /salesforce/requests` | the end user's chat app | the user's IM UserSig |
//! | `POST /salesforce/events` | Apex (Queueable callout from the Case and AgentWork triggers) | HMAC of timestamp + body (or bearer secret) |
//! | `POST /salesforce/agent-usersig` | Apex (the agent's chat UI controller) | same as events |

#![allow(
    clippy::result_large_err,
    reason = "handlers return a ready HTTP response as their error; it is built once per request, not on a hot path"
)]

mod config;
mod create;
mod events;
mod records;

use config::{Config, Inbound, is_salesforce_id};
use connector::edge::Request;
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::{HeaderMap, StatusCode};
use salesforce::inbound::{self, InboundError};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

/// Bodies above this are refused.
const MAX_BODY: usize = 512 * 1024;
/// Every Zendesk or Salesforce call of one request ends within this: the
/// caller (Zendesk's webhook, an Apex callout, the sidebar app) waits 10 s.
pub(crate) const CALLER_BUDGET: std::time::Duration = std::time::Duration::from_secs(9);
/// Lifetime of an agent UserSig.
const AGENT_USERSIG_SECS: u64 = 86_400;

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    connector::edge::serve(req, out, bridge).await
}

async fn bridge(req: Request) -> JsonResponse {
    let routes = ["/requests", "/events", "/agent-usersig"];
    let prepared = connector::bridge::prepare(
        req,
        "/salesforce",
        &routes,
        "/requests",
        MAX_BODY,
        Config::load,
        |config: &Config| &config.im.signer,
    )
    .await;
    let p = match prepared {
        Ok(p) => p,
        Err(response) => return response,
    };
    let (config, headers, body, now) = (p.config, p.headers, p.body, p.now);
    if let Some(user) = p.user {
        return create::handle(&config, &user, &body).await;
    }
    let records = match Records::open() {
        Ok(records) => records,
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    if let Err(e) = authenticate_apex(&config, &records, &headers, &body, now) {
        eprintln!("rejected Salesforce call: {e}");
        return reply::error(StatusCode::UNAUTHORIZED, e.to_string());
    }
    if p.route == "/events" {
        events::handle(&config, &records, &body).await
    } else {
        agent_usersig(&config, &body, now).await
    }
}

/// Verifies an Apex call; in HMAC mode also refuses a signature seen before.
fn authenticate_apex(
    config: &Config,
    records: &Records,
    headers: &HeaderMap,
    body: &[u8],
    now: u64,
) -> Result<(), InboundError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match &config.inbound {
        Inbound::Bearer(secret) => inbound::verify_bearer(secret, header("authorization")),
        Inbound::Hmac(secret) => {
            let signature = header(inbound::SIGNATURE_HEADER);
            inbound::verify_hmac(
                secret,
                header(inbound::TIMESTAMP_HEADER),
                signature,
                body,
                now,
                config.inbound_window,
            )?;
            // Keyed by the canonical MAC (ours, not the header's spelling),
            // and only for as long as the timestamp could still pass: later
            // the window refuses the replay by itself.
            let timestamp = header(inbound::TIMESTAMP_HEADER).unwrap_or_default();
            let key = records::seen_signature_key(&inbound::sign(secret, timestamp, body));
            // A store failure must not open the door: treat it as a replay.
            if records
                .marked(&key, now, 2 * config.inbound_window + 1)
                .unwrap_or(true)
            {
                return Err(InboundError::Replayed);
            }
            records.mark(&key, now).map_err(|_| InboundError::Replayed)
        }
    }
}

/// `POST /salesforce/agent-usersig` `{"user_id": "005…"}`: the agent's IM
/// credentials for the chat UI inside Salesforce.
async fn agent_usersig(config: &Config, body: &[u8], now: u64) -> JsonResponse {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return reply::bad_field("body", format!("the body is not JSON: {e}")),
    };
    let Some(user_id) = value["user_id"]
        .as_str()
        .filter(|id| is_salesforce_id(id, "005"))
    else {
        return reply::bad_field(
            "user_id",
            "a Salesforce User id (005…, 15 or 18 characters) is required",
        );
    };
    let account = config.agent_account(user_id);
    if let Err(e) = config.im.client().account_import(&account, None).await {
        return reply::error(
            StatusCode::BAD_GATEWAY,
            format!("IM account import failed: {e}"),
        );
    }
    reply::json(
        StatusCode::OK,
        &serde_json::json!({
            "im_user_id": account,
            "usersig": config.im.signer.generate(&account, now, AGENT_USERSIG_SECS),
            "sdk_app_id": config.im.signer.sdk_app_id(),
            "expires_at": now + AGENT_USERSIG_SECS,
        }),
    )
}
