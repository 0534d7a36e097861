//! `GET /health`: a liveness endpoint for load balancers and Kubernetes
//! probes (SpinKube), answering which application and version is deployed.

use bytes::Bytes;
use http::{Method, StatusCode};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    connector::edge::serve(req, out, health).await
}

/// Answers `GET`/`HEAD` with `{"status":"ok","application":..,"version":..}`.
async fn health(req: connector::edge::Request) -> connector::edge::Response {
    let (status, body) = if req.method() == Method::GET || req.method() == Method::HEAD {
        let application =
            spin_sdk::variables::get("application").unwrap_or_else(|_| "switchboard".into());
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
    let mut response = http::Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}
