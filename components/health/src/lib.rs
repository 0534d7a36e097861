//! `GET /health`: a liveness endpoint for load balancers and Kubernetes
//! probes (SpinKube), answering which application and version is deployed.

use bytes::Bytes;
use spin_sdk::http::{FullBody, Method, Request, Response, StatusCode};
use spin_sdk::http_service;

/// Answers `GET`/`HEAD` with `{"status":"ok","application":..,"version":..}`.
#[http_service]
async fn health(req: Request) -> Response<FullBody<Bytes>> {
    let (status, body) = if req.method() == Method::GET || req.method() == Method::HEAD {
        let application = spin_sdk::variables::get("application")
            .await
            .unwrap_or_else(|_| "switchboard".into());
        (
            StatusCode::OK,
            serde_json::json!({
                "status": "ok",
                "application": application,
                "version": env!("CARGO_PKG_VERSION"),
            }),
        )
    } else {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            serde_json::json!({ "error": "method not allowed: use GET" }),
        )
    };
    let mut response = Response::new(FullBody::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}
