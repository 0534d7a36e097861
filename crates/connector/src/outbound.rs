//! Spin's outbound HTTP (`wasi:http/outgoing-handler` 0.2) behind the
//! transports the `tim`, Zendesk, Salesforce and LLM clients are written
//! against, plus [`send`] for callers that stream the answer.

use crate::edge::{self, Body};
use spin_sdk::http::{IncomingResponse, Method};
use std::time::Duration;

/// A response whose body has not been read yet.
pub struct Streamed {
    /// Status code.
    pub status: u16,
    /// Headers, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, read on demand.
    pub body: Body,
}

/// What an error may say about a URL: scheme, host and path. Query strings
/// carry credentials (IM's `usersig`), so they never reach a message.
pub fn redacted(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}

fn method(name: &str) -> Method {
    match name {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "HEAD" => Method::Head,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    }
}

/// Sends one request and returns as soon as the response head arrived.
/// The error says which request failed and why (never the query string).
pub async fn send(
    method_name: &str,
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<Streamed, String> {
    let mut builder = spin_sdk::http::Request::builder();
    builder.method(method(method_name)).uri(url).body(body);
    for (name, value) in headers {
        builder.header(name.as_str(), value.as_str());
    }
    let response: IncomingResponse = spin_sdk::http::send(builder.build())
        .await
        .map_err(|e| format!("{method_name} {}: {e}", redacted(url)))?;
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    Ok(Streamed {
        status,
        headers,
        body: Body::of_response(response),
    })
}

/// The outbound HTTP of the component instance.
#[derive(Clone, Copy, Debug, Default)]
pub struct SpinHttp;

impl SpinHttp {
    async fn exchange(
        &self,
        method_name: &str,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<(u16, Vec<(String, String)>, Vec<u8>), String> {
        let response = send(method_name, url, headers, body).await?;
        let body = response
            .body
            .read(usize::MAX)
            .await
            .map_err(|e| format!("{method_name} {}: {e}", redacted(url)))?;
        Ok((response.status, response.headers, body.to_vec()))
    }
}

impl tim::rest::Transport for SpinHttp {
    async fn post_json(
        &self,
        url: &str,
        body: Vec<u8>,
        _timeout: Duration,
    ) -> Result<Vec<u8>, tim::rest::TransportError> {
        let headers = [("content-type".to_string(), "application/json".to_string())];
        let (status, _, body) = self
            .exchange("POST", url, &headers, body)
            .await
            .map_err(tim::rest::TransportError)?;
        if !(200..300).contains(&status) {
            return Err(tim::rest::TransportError(format!(
                "IM answered HTTP {status}"
            )));
        }
        Ok(body)
    }

    async fn sleep(&self, duration: Duration) {
        edge::sleep(duration).await;
    }
}

impl transport::Transport for SpinHttp {
    async fn send(
        &self,
        request: transport::HttpRequest,
    ) -> Result<transport::HttpResponse, String> {
        let (status, headers, body) = self
            .exchange(request.method, &request.url, &request.headers, request.body)
            .await?;
        Ok(transport::HttpResponse {
            status,
            headers,
            body,
        })
    }

    async fn sleep(&self, duration: Duration) {
        edge::sleep(duration).await;
    }
}
