//! What both ticket bridges do before a request reaches its handler: POST
//! only, a known route under the component's prefix, configuration loaded
//! (500 naming the variable at fault), the end user authenticated on the
//! public request routes (which browsers may also reach cross-origin, see
//! [`crate::cors`]), and the body read within a size limit.

use crate::edge::Request;
use crate::reply::{self, JsonResponse};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use tim::usersig::Signer;

/// A request that passed the checks every bridge route shares.
pub struct Prepared<C> {
    /// The route (`spin-path-info`), e.g. `/requests`.
    pub route: String,
    /// The query string, as sent (IM's signed one, on the route the IM
    /// gateway passes webhooks to).
    pub query: String,
    /// The bridge's configuration.
    pub config: C,
    /// The request headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The authenticated end user, on the user routes only.
    pub user: Option<String>,
    /// The browser origin let in (`cors_allowed_origins`), whose answer
    /// must carry the CORS headers: pass it to [`with_cors`].
    pub cors_origin: Option<http::HeaderValue>,
    /// Unix seconds when the request arrived.
    pub now: u64,
}

/// Every upstream call of one bridge request ends within this: the caller
/// (Zendesk's webhook, an Apex callout, the sidebar app) waits 10 s.
pub const CALLER_BUDGET: std::time::Duration = std::time::Duration::from_secs(9);

/// The routes a bridge serves and the limit they share: what [`prepare`]
/// checks a request against.
pub struct Routes<'a> {
    /// Where the bridge is mounted (`/zendesk`), for messages.
    pub prefix: &'a str,
    /// Every route it serves, below the prefix.
    pub all: &'a [&'a str],
    /// Those whose caller is an end user: UserSig-authenticated, and
    /// browsers' preflights and origins checked.
    pub end_user: &'a [&'a str],
    /// The largest request body, in bytes.
    pub max_body: usize,
}

/// Runs the shared checks: a route of `routes`, the configuration `load`ed,
/// the end user authenticated on their routes with the IM `signer` of the
/// configuration, the body read within the limit.
pub async fn prepare<C>(
    req: Request,
    routes: &Routes<'_>,
    load: impl FnOnce() -> Result<C, String>,
    signer: impl Fn(&C) -> &Signer,
) -> Result<Prepared<C>, JsonResponse> {
    let route = route_of(&req, routes);
    let user_route = routes.end_user.contains(&route.as_str());
    let cors_origin = if user_route {
        browser_origin(&req)?
    } else {
        None
    };
    let with_origin = |response| with_cors(response, cors_origin.as_ref());
    if req.method() != Method::POST {
        return Err(reply::error(StatusCode::METHOD_NOT_ALLOWED, "use POST"));
    }
    if !routes.all.contains(&route.as_str()) {
        return Err(reply::error(
            StatusCode::NOT_FOUND,
            format!("no route {}{route}", routes.prefix),
        ));
    }
    let config = load().map_err(|message| {
        eprintln!("{message}");
        with_origin(reply::error(StatusCode::INTERNAL_SERVER_ERROR, message))
    })?;
    let now = crate::config::unix_now();
    let headers = req.headers().clone();
    let query = req.uri().query().unwrap_or("").to_string();
    let user = if user_route {
        Some(crate::auth::end_user(&headers, signer(&config), now).map_err(with_origin)?)
    } else {
        None
    };
    let body = crate::edge::read_body(&headers, req.into_body(), routes.max_body)
        .await
        .map_err(with_origin)?;
    Ok(Prepared {
        route,
        query,
        config,
        headers,
        body,
        user,
        cors_origin,
        now,
    })
}

/// The route below the bridge's prefix. A request through the bridge's
/// public route has it as `spin-path-info` (`/requests` under
/// `/zendesk/...`, wherever the manifest mounts it). A request another
/// component chains to `http://<bridge>.spin.internal/zendesk/requests`
/// matches Spin's synthetic `/...` route, so its path info is the whole
/// path: the prefix is taken off when what is left is one of the routes.
fn route_of(req: &Request, routes: &Routes<'_>) -> String {
    let info = req
        .headers()
        .get("spin-path-info")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match info.strip_prefix(routes.prefix) {
        Some(rest) if !routes.all.contains(&info) && routes.all.contains(&rest) => rest.to_string(),
        _ => info.to_string(),
    }
}

/// The `Origin` of a browser's call to a user route, when
/// `cors_allowed_origins` lets it in; the whole answer (204 or 403) when it
/// is a preflight or an origin not let in.
fn browser_origin(req: &Request) -> Result<Option<http::HeaderValue>, JsonResponse> {
    use crate::cors::{AllowedOrigins, Preflight};
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let origin = header("origin");
    if origin.is_none() && req.method() != Method::OPTIONS {
        return Ok(None);
    }
    let allowed = AllowedOrigins::parse(&crate::config::optional_variable("cors_allowed_origins"))
        .map_err(|message| reply::error(StatusCode::INTERNAL_SERVER_ERROR, message))?;
    let origin_value = req.headers().get("origin").cloned();
    if req.method() == Method::OPTIONS {
        return Err(
            match allowed.preflight(
                origin,
                header("access-control-request-method"),
                header("access-control-request-headers"),
            ) {
                Preflight::Allowed => {
                    let mut response = http::Response::new(Bytes::new());
                    *response.status_mut() = StatusCode::NO_CONTENT;
                    let mut response = with_cors(response, origin_value.as_ref());
                    let h = response.headers_mut();
                    h.insert(
                        "access-control-allow-methods",
                        http::HeaderValue::from_static("POST"),
                    );
                    h.insert(
                        "access-control-allow-headers",
                        http::HeaderValue::from_static(crate::cors::ALLOWED_HEADERS),
                    );
                    h.insert("access-control-max-age", crate::cors::MAX_AGE_SECS.into());
                    response
                }
                Preflight::Refused(reason) => reply::error(StatusCode::FORBIDDEN, reason),
            },
        );
    }
    match origin {
        Some(origin) if allowed.allows(origin) => Ok(origin_value),
        Some(origin) => Err(reply::error(
            StatusCode::FORBIDDEN,
            crate::cors::refusal(origin),
        )),
        None => Ok(None),
    }
}

/// `response` with the CORS headers for `origin` (the one let in), or
/// unchanged when the call was not a browser's. Never
/// `Access-Control-Allow-Credentials`: end users authenticate by header.
pub fn with_cors(mut response: JsonResponse, origin: Option<&http::HeaderValue>) -> JsonResponse {
    if let Some(origin) = origin {
        let h = response.headers_mut();
        h.insert("access-control-allow-origin", origin.clone());
        h.insert(
            "access-control-expose-headers",
            http::HeaderValue::from_static(crate::cors::EXPOSED_HEADERS),
        );
        h.append("vary", http::HeaderValue::from_static("origin"));
    }
    response
}

/// Admits a new support request from `user`, or answers 429 with
/// `retry-after`: a user cannot flood the help desk (or, through it,
/// anyone's mailbox) with tickets. The limit is the variable
/// `requests_per_user_per_hour` (`0` turns it off; its default is
/// spin.toml's, like every default of a variable): that many in
/// each clock hour (UTC). Repeating a request (`request` names it: its
/// idempotency key or content) is not a new one and is never limited.
pub fn admit_new_request(
    records: &crate::state::Records,
    bridge: &str,
    user: &str,
    request: &str,
    now: u64,
) -> Result<(), JsonResponse> {
    let per_hour: u32 = crate::config::number("requests_per_user_per_hour", None)
        .map_err(|e| reply::error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
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

/// The answer to "my open request" (`POST <bridge>/requests/open`): the
/// latest ticket or Case `user` opened from chat, as stored under
/// `latest_key` (its id), while `open_group` says its chat is still open
/// (returning its group), so a returning user continues it instead of
/// opening another. 404 when there is none.
pub fn open_request<R: serde::de::DeserializeOwned>(
    user: &str,
    latest_key: &str,
    id_field: &str,
    record_key: impl Fn(&str) -> String,
    open_group: impl Fn(&R) -> Option<String>,
) -> JsonResponse {
    let records = match crate::state::Records::open() {
        Ok(records) => records,
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    // The id as the create answer gave it: a number (Zendesk) or a string
    // (Salesforce).
    let latest: Option<serde_json::Value> = match records.get(latest_key) {
        Ok(latest) => latest,
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let open = latest.and_then(|id| {
        let key = id.as_str().map_or_else(|| id.to_string(), String::from);
        let record: R = records.get(&record_key(&key)).ok().flatten()?;
        open_group(&record).map(|group| (id, group))
    });
    match open {
        Some((id, group)) => reply::json(
            StatusCode::OK,
            &serde_json::json!({ id_field: id, "group_id": group, "user_id": user }),
        ),
        // `user_id` tells a caller this answer is about the user, not a
        // wrong URL's 404 (the chatbot relay resumes on it).
        None => reply::json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({
                "error": format!("`{user}` has no open request"),
                "user_id": user,
            }),
        ),
    }
}
