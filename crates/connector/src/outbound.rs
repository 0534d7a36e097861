//! Spin's outbound HTTP (`wasi:http/outgoing-handler` 0.2) behind the one
//! [`transport::Transport`] the `tim`, Zendesk, Salesforce and LLM clients are
//! written against, plus [`SpinHttp::open`] for callers that read the answer
//! as it arrives (an LLM's stream, a component's answer relayed as it is):
//! every exchange, streamed or not, ends when its [`SpinHttp`]'s budget does.

use crate::edge::{self, Body};
use crate::url::{check_scheme, redacted};
use spin_sdk::http::{IncomingResponse, Method};
use std::time::Duration;

/// The request every exchange is made of (see [`transport`]).
pub use transport::HttpRequest;

/// A response whose body has not been read yet.
struct Streamed {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

/// A response read as it arrives, every read within the limit of the
/// exchange that opened it ([`SpinHttp::open`]).
pub struct Streaming {
    /// Status code.
    pub status: u16,
    /// Headers, in the order received.
    pub headers: Vec<(String, String)>,
    body: Body,
    deadline: std::time::Instant,
    /// The exchange's limit, for errors.
    limit: Duration,
    /// For errors: the method and the URL without its query.
    what: String,
}

/// What the next read of a [`Streaming`] body brought.
#[derive(Debug)]
pub enum Chunk {
    /// More of the body.
    Data(Vec<u8>),
    /// The body is complete.
    End,
    /// The exchange failed; why.
    Failed(String),
    /// The exchange's limit passed first.
    Expired,
}

impl Streaming {
    /// The next piece of the body.
    pub async fn chunk(&mut self) -> Chunk {
        let remaining = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        match within(remaining, self.body.chunk()).await {
            None => Chunk::Expired,
            Some(None) => Chunk::End,
            Some(Some(Ok(data))) => Chunk::Data(data),
            Some(Some(Err(e))) => Chunk::Failed(format!("{}: {e}", self.what)),
        }
    }

    /// The whole body, at most `max` bytes, within the exchange's limit.
    pub async fn read(self, max: usize) -> Result<bytes::Bytes, String> {
        let remaining = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        match within(remaining, self.body.read(max)).await {
            None => Err(format!(
                "{}: no answer within {} ms",
                self.what,
                self.limit.as_millis()
            )),
            Some(Ok(body)) => Ok(body),
            Some(Err(e)) => Err(format!("{}: {e}", self.what)),
        }
    }
}

/// `future`'s output, or `None` when `limit` passed first (the future is
/// dropped: its exchange abandoned).
async fn within<F: std::future::Future>(limit: Duration, future: F) -> Option<F::Output> {
    let future = std::pin::pin!(future);
    let expire = std::pin::pin!(edge::sleep(limit));
    match futures::future::select(future, expire).await {
        futures::future::Either::Left((output, _)) => Some(output),
        futures::future::Either::Right(_) => None,
    }
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
async fn send(
    method_name: &str,
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<Streamed, String> {
    let allow_http = crate::config::optional_variable("allow_insecure_http") == "true";
    check_scheme(url, allow_http).map_err(|e| format!("{method_name} {e}"))?;
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

/// How long calls through [`SpinHttp::default`] may take in all: work
/// nobody waits on (after a webhook's answer).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);

/// The largest answer body an upstream call reads (Zendesk, Salesforce and
/// LLM answers are far smaller); a larger one is an error, not a buffer.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The outbound HTTP of the component instance, with a deadline: every
/// call through it ends (its attempt abandoned, so a retry never overlaps
/// it) when the caller's budget is spent.
///
/// Create one per request with [`SpinHttp::within`] the budget of whoever
/// waits for the answer: IM waits 2 s for a webhook, Zendesk 10 s, Apex
/// callouts 10 s by default.
#[derive(Clone, Copy, Debug)]
pub struct SpinHttp {
    deadline: std::time::Instant,
}

impl Default for SpinHttp {
    fn default() -> Self {
        Self::within(DEFAULT_BUDGET)
    }
}

impl SpinHttp {
    /// Calls that must all be done within `budget` from now.
    pub fn within(budget: Duration) -> Self {
        Self {
            deadline: std::time::Instant::now() + budget,
        }
    }

    /// What is left of the budget.
    pub fn remaining(&self) -> Duration {
        self.deadline
            .saturating_duration_since(std::time::Instant::now())
    }

    /// The timeout of one exchange: its own limit, if it has one, inside
    /// what is left of the budget.
    fn limit(&self, request: &transport::HttpRequest) -> Duration {
        request
            .timeout
            .map_or(self.remaining(), |limit| limit.min(self.remaining()))
    }

    /// Sends `request` and returns when the response head arrived, for a
    /// body read as it comes ([`Streaming::chunk`]) or whole
    /// ([`Streaming::read`]). The whole exchange, head and body, ends within
    /// its limit: the request's own timeout inside what is left of the
    /// budget.
    pub async fn open(&self, request: transport::HttpRequest) -> Result<Streaming, String> {
        let limit = self.limit(&request);
        let deadline = std::time::Instant::now() + limit;
        let what = format!("{} {}", request.method, redacted(&request.url));
        let sent = send(request.method, &request.url, &request.headers, request.body);
        match within(limit, sent).await {
            None => Err(format!("{what}: no answer within {} ms", limit.as_millis())),
            Some(Err(e)) => Err(e),
            Some(Ok(response)) => Ok(Streaming {
                status: response.status,
                headers: response.headers,
                body: response.body,
                deadline,
                limit,
                what,
            }),
        }
    }
}

impl transport::Transport for SpinHttp {
    async fn send(
        &self,
        request: transport::HttpRequest,
    ) -> Result<transport::HttpResponse, String> {
        let mut response = self.open(request).await?;
        let status = response.status;
        let headers = std::mem::take(&mut response.headers);
        let body = response.read(MAX_ANSWER_BYTES).await?;
        Ok(transport::HttpResponse {
            status,
            headers,
            body: body.to_vec(),
        })
    }

    async fn sleep(&self, duration: Duration) {
        edge::sleep(duration).await;
    }
}
