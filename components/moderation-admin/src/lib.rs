//! The moderator's admin API, behind `Authorization: Bearer
//! <moderation_admin_token>` (compared in constant time; with no token set
//! the API is off):
//!
//! - `/moderation/overlay`: the terms and allowlist entries operators add
//!   to the moderator without a redeploy (see [`overlay`]).
//! - `/moderation/review`: the decisions the moderator made that were not
//!   `allow`, filtered; one of them by id; marking one a false positive,
//!   which adds its allowlist entries to the overlay (see [`review`]).
//! - `/moderation/tencent/video`: Tencent Cloud's video moderation results,
//!   authenticated by their own signature, not the token (see [`video`]).
//!
//! Both live in the `default` key-value store the moderator reads. A body
//! or query that does not validate gets 400 naming the field and changes
//! nothing.

mod overlay;
mod review;
mod video;

use connector::edge::Request;
use connector::reply::{self, JsonResponse};
use http::StatusCode;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

/// 10,000 terms of up to 200 characters, with JSON around them.
const MAX_BODY: usize = 4 * 1024 * 1024;

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    connector::edge::serve(req, out, admin).await
}

/// What a path names.
enum Route<'a> {
    Overlay,
    Review,
    Decision(&'a str),
    FalsePositive(&'a str),
}

impl<'a> Route<'a> {
    fn of(path: &'a str) -> Option<Self> {
        if path == "/moderation/overlay" {
            return Some(Route::Overlay);
        }
        let rest = path.strip_prefix("/moderation/review")?;
        match rest.strip_prefix('/') {
            None if rest.is_empty() => Some(Route::Review),
            None => None,
            Some(rest) => Some(match rest.split_once('/') {
                None => Route::Decision(rest),
                Some((id, "false-positive")) => Route::FalsePositive(id),
                Some(_) => return None,
            }),
        }
    }
}

async fn admin(req: Request) -> JsonResponse {
    let path = req.uri().path().to_string();
    // Tencent Cloud's results carry their own signature, not the token.
    if path == video::PATH {
        return video::result(req).await;
    }
    let Some(route) = Route::of(&path) else {
        return reply::error(
            StatusCode::NOT_FOUND,
            "the moderation admin API is /moderation/overlay, /moderation/review, \
             /moderation/review/<id> and /moderation/review/<id>/false-positive \
             (and /moderation/tencent/video for Tencent Cloud's results)",
        );
    };
    let token = connector::config::optional_variable("moderation_admin_token");
    if let Err(response) = connector::auth::bearer(req.headers(), &token, "moderation_admin_token")
    {
        return response;
    }
    let method = req.method().clone();
    let query = req.uri().query().unwrap_or("").to_string();
    let (parts, body) = req.into_parts();
    let body = match connector::edge::read_body(&parts.headers, body, MAX_BODY).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let records = match connector::state::Records::open() {
        Ok(records) => records,
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let result = match route {
        Route::Overlay => overlay::handle(&records, &method, &body),
        Route::Review => review::list(&records, &method, &query),
        Route::Decision(id) => review::one(&records, &method, id),
        Route::FalsePositive(id) => review::false_positive(&records, &method, id, &body),
    };
    result.unwrap_or_else(|e| reply::error(StatusCode::INTERNAL_SERVER_ERROR, e))
}
