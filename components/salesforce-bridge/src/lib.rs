//! Salesforce case bridge (routes under `/salesforce/`).
//!
//! | route | caller | authentication |
//! |---|---|---|
//! | `POST /salesforce/requests` | the end user's chat app (browsers: `cors_allowed_origins`) | the user's IM UserSig |
//! | `POST /salesforce/requests/open` | the same: the user's open Case, to continue it | the user's IM UserSig |
//! | `POST /salesforce/events` | Apex (Queueable callout from the Case and AgentWork triggers) | HMAC of timestamp, nonce and body (or bearer secret) |
//! | `POST /salesforce/im` | IM's after-send callbacks, passed on by the gateway: the chat copied into the Case | IM's `Sign` over `im_callback_token` |
//! | `POST /salesforce/agent-usersig` | Apex (the agent's chat UI controller) | same as events |
//! | `POST /salesforce/chat/join`, `/chat/history`, `/chat/send` | Apex (the Case chat component's controller), as the running user | same as events |

#![allow(
    clippy::result_large_err,
    reason = "handlers return a ready HTTP response as their error; it is built once per request, not on a hot path"
)]

mod agent_chat;
mod chat;
mod config;
mod create;
mod events;
mod records;

use config::{Config, Inbound};
use connector::edge::Request;
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::{HeaderMap, StatusCode};
use salesforce::events::is_salesforce_id;
use salesforce::inbound::{self, InboundError};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

/// Bodies above this are refused.
const MAX_BODY: usize = 512 * 1024;
/// Lifetime of an agent UserSig.
const AGENT_USERSIG_SECS: u64 = 86_400;

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    connector::edge::serve(req, out, bridge).await
}

async fn bridge(req: Request) -> JsonResponse {
    let routes = [
        "/requests",
        "/requests/open",
        "/events",
        "/im",
        "/agent-usersig",
        "/chat/join",
        "/chat/history",
        "/chat/send",
    ];
    let routes = connector::bridge::Routes {
        prefix: "/salesforce",
        all: &routes,
        end_user: &["/requests", "/requests/open"],
        max_body: MAX_BODY,
    };
    let prepared = connector::bridge::prepare(req, &routes, Config::load, |config: &Config| {
        &config.im.signer
    })
    .await;
    let p = match prepared {
        Ok(p) => p,
        Err(response) => return response,
    };
    let (config, headers, body, now) = (p.config, p.headers, p.body, p.now);
    if p.route == "/im" {
        // IM's own signature, not Apex's.
        return chat::from_im(&config, &p.query, &body, now);
    }
    if let Some(user) = p.user {
        let answer = if p.route == "/requests/open" {
            create::open_request(&user)
        } else {
            create::handle(&config, &user, &body).await
        };
        return connector::bridge::with_cors(answer, p.cors_origin.as_ref());
    }
    let records = match Records::open() {
        Ok(records) => records,
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let claim = match authenticate_apex(&config, &headers, &body, now) {
        Ok(claim) => claim,
        Err(e) => {
            eprintln!("rejected Salesforce call: {e}");
            return reply::error(StatusCode::UNAUTHORIZED, e.to_string());
        }
    };
    let work = async {
        match p.route.as_str() {
            "/events" => events::handle(&config, &records, &body).await,
            "/agent-usersig" => agent_usersig(&config, &body, now).await,
            chat => agent_chat::handle(chat, &config, &records, &body, now).await,
        }
    };
    let Some((name, until)) = claim else {
        return work.await;
    };
    let response = match records.once(&name, until, work).await {
        Ok(Some(response)) => response,
        Ok(None) => {
            let e = InboundError::Replayed;
            eprintln!("rejected Salesforce call: {e}");
            return reply::error(StatusCode::UNAUTHORIZED, e.to_string());
        }
        Err(e) => {
            // Without the claim a replay could pass: refuse the call.
            eprintln!("Salesforce call refused, replay state unavailable: {e}");
            return reply::error(StatusCode::SERVICE_UNAVAILABLE, e);
        }
    };
    connector::edge::after_response(async move {
        if let Err(e) = records.sweep_claims(now, CLAIM_SWEEP_SECS) {
            eprintln!("sweeping ended claims: {e}");
        }
    });
    response
}

/// Ended replay claims are deleted at most this often.
const CLAIM_SWEEP_SECS: u64 = 3600;

/// Verifies an Apex call. In HMAC mode it returns the replay claim the call
/// must win: its nonce, for as long as its timestamp could pass.
fn authenticate_apex(
    config: &Config,
    headers: &HeaderMap,
    body: &[u8],
    now: u64,
) -> Result<Option<(String, u64)>, InboundError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match &config.inbound {
        Inbound::Bearer(secret) => {
            inbound::verify_bearer(secret, header("authorization")).map(|()| None)
        }
        Inbound::Hmac(secret) => {
            let verified = inbound::verify_hmac(
                secret,
                header(inbound::TIMESTAMP_HEADER),
                header(inbound::NONCE_HEADER),
                header(inbound::SIGNATURE_HEADER),
                body,
                now,
                config.inbound_window,
            )?;
            Ok(Some((
                records::nonce_claim(&verified.nonce),
                verified.replayable_until,
            )))
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
