//! `/moderation/overlay`: the terms and allowlist entries operators add to
//! the moderator without a redeploy, kept as JSON in the `default`
//! key-value store the moderator reads (it recompiles when the stored bytes
//! change, so an update applies to the next message).
//!
//! - `GET` — the overlay.
//! - `PUT` — replace it: `{"terms": [{"text", "category", "severity"?,
//!   "action"?, "whole_word"?, "regex"?}], "allow": ["…"]}`.
//! - `POST` — add to it (same shape; duplicates skipped).
//! - `DELETE` — remove it.
//!
//! Every call needs `Authorization: Bearer <moderation_admin_token>`
//! (compared in constant time; with no token set the endpoint is off). A
//! body that does not validate gets 400 naming the field and changes
//! nothing.

use connector::edge::Request;
use connector::reply::{self, JsonResponse};
use http::{Method, StatusCode};
use moderation::overlay::{Overlay, STORE_KEY as OVERLAY_KEY};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::key_value::Store;

/// 10,000 terms of up to 200 characters, with JSON around them.
const MAX_BODY: usize = 4 * 1024 * 1024;

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    connector::edge::serve(req, out, admin).await
}

async fn admin(req: Request) -> JsonResponse {
    if req.uri().path() != "/moderation/overlay" {
        return reply::error(
            StatusCode::NOT_FOUND,
            "the moderation admin API is /moderation/overlay",
        );
    }
    let token = reply::optional_variable("moderation_admin_token");
    if let Err(response) = connector::auth::bearer(req.headers(), &token, "moderation_admin_token")
    {
        return response;
    }
    let method = req.method().clone();
    let (parts, body) = req.into_parts();
    let body = match reply::read_body(&parts.headers, body, MAX_BODY).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let store = match Store::open_default() {
        Ok(store) => store,
        Err(e) => {
            return reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("key-value store: cannot open `default`: {e:?}"),
            );
        }
    };
    let current = match store.get(OVERLAY_KEY) {
        Ok(Some(bytes)) => serde_json::from_slice::<Overlay>(&bytes).unwrap_or_default(),
        Ok(None) => Overlay::default(),
        Err(e) => {
            return reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("key-value store: reading `{OVERLAY_KEY}`: {e:?}"),
            );
        }
    };
    let next = match method {
        Method::GET => return summary(StatusCode::OK, &current),
        Method::DELETE => {
            return match store.delete(OVERLAY_KEY) {
                Ok(()) => summary(StatusCode::OK, &Overlay::default()),
                Err(e) => reply::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("key-value store: deleting `{OVERLAY_KEY}`: {e:?}"),
                ),
            };
        }
        Method::PUT | Method::POST => {
            let incoming: Overlay = match serde_json::from_slice(&body) {
                Ok(overlay) => overlay,
                Err(e) => return reply::bad_field("body", format!("not an overlay: {e}")),
            };
            if method == Method::PUT {
                incoming
            } else {
                let mut merged = current;
                merged.merge(incoming);
                merged
            }
        }
        _ => {
            return reply::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "use GET, PUT, POST or DELETE",
            );
        }
    };
    // Compiling is the validation: the moderator compiles the same way.
    if let Err(e) = next.compile(moderation::Options::default()) {
        return reply::bad_field(&e.field, e.message);
    }
    let bytes = serde_json::to_vec(&next).expect("an overlay serializes");
    match store.set(OVERLAY_KEY, &bytes) {
        Ok(()) => summary(StatusCode::OK, &next),
        Err(e) => reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("key-value store: writing `{OVERLAY_KEY}`: {e:?}"),
        ),
    }
}

fn summary(status: StatusCode, overlay: &Overlay) -> JsonResponse {
    reply::json(
        status,
        &serde_json::json!({
            "terms": overlay.terms,
            "allow": overlay.allow,
            "counts": { "terms": overlay.terms.len(), "allow": overlay.allow.len() },
        }),
    )
}
