//! Zendesk ticket bridge (routes under `/zendesk/`).
//!
//! | route | caller | authentication |
//! |---|---|---|
//! | `POST /zendesk/requests` | the end user's chat app | the user's IM UserSig |
//! | `POST /zendesk/webhook` | Zendesk webhooks | `x-zendesk-webhook-signature` |
//! | `POST /zendesk/app/session` | the Zendesk sidebar app, via Zendesk's proxy | HS256 app JWT |

#![allow(
    clippy::result_large_err,
    reason = "handlers return a ready HTTP response as their error; it is built once per request, not on a hot path"
)]

mod config;
mod create;
mod records;
mod session;
mod webhook;

use connector::edge::Request;
use connector::reply::JsonResponse;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

/// Bodies above this are refused before parsing.
const MAX_BODY: usize = 128 * 1024;
/// Every Zendesk or Salesforce call of one request ends within this: the
/// caller (Zendesk's webhook, an Apex callout, the sidebar app) waits 10 s.
pub(crate) const CALLER_BUDGET: std::time::Duration = std::time::Duration::from_secs(9);

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    connector::edge::serve(req, out, bridge).await
}

async fn bridge(req: Request) -> JsonResponse {
    let routes = ["/requests", "/webhook", "/app/session"];
    let prepared = connector::bridge::prepare(
        req,
        "/zendesk",
        &routes,
        "/requests",
        MAX_BODY,
        config::Config::load,
        |config: &config::Config| &config.im.signer,
    )
    .await;
    let p = match prepared {
        Ok(p) => p,
        Err(response) => return response,
    };
    match (p.route.as_str(), p.user) {
        ("/requests", Some(user)) => create::handle(&p.config, &user, &p.body).await,
        ("/webhook", _) => webhook::handle(&p.config, &p.headers, &p.body, p.now).await,
        _ => session::handle(&p.config, &p.headers, &p.body, p.now).await,
    }
}
