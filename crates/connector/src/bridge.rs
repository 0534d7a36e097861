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
