//! What both ticket bridges do before a request reaches its handler: POST
//! only, a known route under the component's prefix, configuration loaded
//! (500 naming the variable at fault), the end user authenticated on the
//! public request route, and the body read within a size limit.

use crate::edge::Request;
use crate::reply::{self, JsonResponse};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use tim::usersig::Signer;

/// A request that passed the checks every bridge route shares.
pub struct Prepared<C> {
    /// The route (`spin-path-info`), e.g. `/requests`.
    pub route: String,
    /// The bridge's configuration.
    pub config: C,
    /// The request headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The authenticated end user, on `user_route` only.
    pub user: Option<String>,
    /// Unix seconds when the request arrived.
    pub now: u64,
}

/// Runs the shared checks. `routes` lists the routes served, `user_route`
/// the one whose caller is an end user (UserSig), `prefix` is for messages.
pub async fn prepare<C>(
    req: Request,
    prefix: &str,
    routes: &[&str],
    user_route: &str,
    max_body: usize,
    load: impl FnOnce() -> Result<C, String>,
    signer: impl Fn(&C) -> &Signer,
) -> Result<Prepared<C>, JsonResponse> {
    let route = req
        .headers()
        .get("spin-path-info")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if req.method() != Method::POST {
        return Err(reply::error(StatusCode::METHOD_NOT_ALLOWED, "use POST"));
    }
    if !routes.contains(&route.as_str()) {
        return Err(reply::error(
            StatusCode::NOT_FOUND,
            format!("no route {prefix}{route}"),
        ));
    }
    let config = load().map_err(|message| {
        eprintln!("{message}");
        reply::error(StatusCode::INTERNAL_SERVER_ERROR, message)
    })?;
    let now = reply::unix_now();
    let headers = req.headers().clone();
    let user = if route == user_route {
        Some(crate::auth::end_user(&headers, signer(&config), now)?)
    } else {
        None
    };
    let body = reply::read_body(&headers, req.into_body(), max_body).await?;
    Ok(Prepared {
        route,
        config,
        headers,
        body,
        user,
        now,
    })
}

/// Admits a new support request from `user`, or answers 429 with
/// `retry-after`: a user cannot flood the help desk (or, through it,
/// anyone's mailbox) with tickets. The limit is the variable
/// `requests_per_user_per_hour` (default 10; `0` turns it off): that many in
/// each clock hour (UTC). Repeating a request (`request` names it: its
/// idempotency key or content) is not a new one and is never limited.
pub fn admit_new_request(
    records: &crate::state::Records,
    bridge: &str,
    user: &str,
    request: &str,
    now: u64,
) -> Result<(), JsonResponse> {
    let raw = reply::optional_variable("requests_per_user_per_hour");
    let per_hour: u32 = if raw.is_empty() {
        10
    } else {
        raw.parse().map_err(|_| {
            reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("configuration: requests_per_user_per_hour `{raw}` is not a whole number"),
            )
        })?
    };
    if per_hour == 0 {
        return Ok(());
    }
    // Counted per clock hour, atomically: concurrent requests each get
    // their own count, so the limit holds however many race. Copies of one
    // request (same key, racing before any of them is recorded) count once.
    const HOUR: u64 = 3600;
    let window_end = (now / HOUR + 1) * HOUR;
    let admitted = format!("{bridge}:admitted:{user}:{request}");
    match records.claim(&admitted, window_end) {
        Ok(crate::state::Claim::Won) => {}
        Ok(crate::state::Claim::Taken) => return Ok(()),
        Err(e) => return Err(reply::error(StatusCode::INTERNAL_SERVER_ERROR, e)),
    }
    let name = format!("{bridge}:new-requests:{user}");
    match records.count(&name, window_end) {
        Ok(n) if n <= i64::from(per_hour) => Ok(()),
        Ok(_) => {
            let wait = window_end - now;
            let mut response = reply::error(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "`{user}` opened {per_hour} requests this hour; retry in {wait} s (requests_per_user_per_hour)"
                ),
            );
            response.headers_mut().insert("retry-after", wait.into());
            Err(response)
        }
        Err(e) => Err(reply::error(StatusCode::INTERNAL_SERVER_ERROR, e)),
    }
}
