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

use connector::reply::{self, JsonResponse};
use spin_sdk::http::{Method, Request, StatusCode};
use spin_sdk::http_service;

/// Bodies above this are refused before parsing.
const MAX_BODY: usize = 128 * 1024;

#[http_service]
async fn bridge(req: Request) -> JsonResponse {
    let path = req
        .headers()
        .get("spin-path-info")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if req.method() != Method::POST {
        return reply::error(StatusCode::METHOD_NOT_ALLOWED, "use POST");
    }
    if !matches!(path.as_str(), "/requests" | "/webhook" | "/app/session") {
        return reply::error(StatusCode::NOT_FOUND, format!("no route /zendesk{path}"));
    }
    let config = match config::Config::load().await {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return reply::error(StatusCode::INTERNAL_SERVER_ERROR, message);
        }
    };
    let now = reply::unix_now();
    let headers = req.headers().clone();
    let user = if path == "/requests" {
        match connector::auth::end_user(&headers, &config.im.signer, now) {
            Ok(user) => Some(user),
            Err(response) => return response,
        }
    } else {
        None
    };
    let body = match reply::read_body(&headers, req.into_body(), MAX_BODY).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    match (path.as_str(), user) {
        ("/requests", Some(user)) => create::handle(&config, &user, &body).await,
        ("/webhook", _) => webhook::handle(&config, &headers, &body, now).await,
        _ => session::handle(&config, &headers, &body, now).await,
    }
}
