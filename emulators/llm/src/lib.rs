//! A loopback emulator of three LLM APIs for tests and `switchboard up`:
//! OpenAI-compatible `POST /v1/chat/completions` (with SSE streaming),
//! Anthropic `POST /v1/messages` and MiniMax `POST /v1/text/chatcompletion_v2`.
//! Each takes [`API_KEY`] as `Authorization: Bearer`; Anthropic also as
//! `x-api-key`, and refuses a call without an `anthropic-version` date.
//! The vendors' own Node SDKs are the reference (`tests/tests/llm_sdks.rs`).
//!
//! Answers are deterministic, derived from the input:
//! `"<model> (turn <n>): <last user message>"`, where `n` counts the user
//! messages sent — so a test sees whether conversation memory was carried.
//! A last message `LONG:<n>` is answered with `n` characters of numbered
//! sentences. `POST /v1/moderations` (OpenAI) flags an input — text, or
//! an image URL — that contains `unsafe-<category>` (`unsafe-sexual`,
//! `unsafe-violence`, …) with score 0.97 for that category; everything else
//! scores 0.001. Tencent Cloud's `TextModeration` and `ImageModeration`
//! (`POST /` with `X-TC-Action`, TC3-HMAC-SHA256 signed) are answered as
//! [`tencent`] describes. Latency, 429 with `retry-after`, quota errors and
//! 5xx can be injected per provider; every request is recorded.

#![warn(missing_docs)]

pub mod tencent;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::{Request, Response, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The key every provider accepts.
pub const API_KEY: &str = "llm-emulator-api-key";

/// An API family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Api {
    /// OpenAI-compatible Chat Completions.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// MiniMax chatcompletion_v2.
    MiniMax,
    /// OpenAI `POST /v1/moderations`.
    Moderation,
    /// Tencent Cloud TMS / IMS (`POST /` with `X-TC-Action`).
    TencentModeration,
}

/// A failure to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 429 rate limit with `retry-after-ms`.
    RateLimited {
        /// Milliseconds to ask for.
        retry_after_ms: u64,
    },
    /// Quota / balance exhausted.
    Quota,
    /// HTTP 500.
    ServerError,
}

/// One request received.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    /// Which API.
    pub api: Api,
    /// The JSON body.
    pub body: Value,
    /// HTTP status answered.
    pub status: u16,
}

impl Recorded {
    /// The user/assistant messages sent (system prompt excluded).
    pub fn conversation(&self) -> Vec<(String, String)> {
        self.body["messages"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .filter(|m| m["role"] != "system")
                    .map(|m| {
                        (
                            m["role"].as_str().unwrap_or("").to_string(),
                            m["content"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Knobs {
    failures: HashMap<Api, VecDeque<Failure>>,
    latency: Duration,
    moderation_latency: Duration,
    chunk_delay: Duration,
}

struct Shared {
    knobs: Mutex<Knobs>,
    recorded: Mutex<Vec<Recorded>>,
    /// Video results posted back, with the status each was answered.
    video_results: Mutex<Vec<(tencent::VideoResult, Option<u16>)>>,
    /// Keep video results instead of posting them (a test posts them).
    hold_video_results: std::sync::atomic::AtomicBool,
    http: reqwest::Client,
}

/// A running emulator; stops when dropped.
pub struct LlmEmulator {
    server: loopback::Server,
    shared: Arc<Shared>,
}

impl LlmEmulator {
    /// Starts it on `listen` (port 0 for any free port).
    pub async fn start(listen: SocketAddr) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared {
            knobs: Mutex::new(Knobs {
                chunk_delay: Duration::from_millis(20),
                ..Knobs::default()
            }),
            recorded: Mutex::default(),
            video_results: Mutex::default(),
            hold_video_results: std::sync::atomic::AtomicBool::new(false),
            http: reqwest::Client::new(),
        });
        let handler_shared = shared.clone();
        let server = loopback::serve(listen, move |request| {
            let shared = handler_shared.clone();
            async move { route(&shared, request).await }
        })
        .await?;
        Ok(Self { server, shared })
    }

    /// `http://<addr>` (Anthropic and MiniMax base URL).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `http://<addr>/v1` (OpenAI-compatible base URL).
    pub fn openai_url(&self) -> String {
        format!("{}/v1", self.server.url())
    }

    /// Delays every answer.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.knobs.lock().unwrap().latency = latency;
    }

    /// The next request to `api` fails this way (queued).
    /// Delay before every moderation answer (chat latency is separate).
    pub fn set_moderation_latency(&self, latency: Duration) {
        self.shared.knobs.lock().unwrap().moderation_latency = latency;
    }

    /// The next request to `api` is answered with `failure`.
    pub fn fail_next(&self, api: Api, failure: Failure) {
        self.shared
            .knobs
            .lock()
            .unwrap()
            .failures
            .entry(api)
            .or_default()
            .push_back(failure);
    }

    /// Every request received so far.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.shared.recorded.lock().unwrap().clone()
    }

    /// With `true`, video results are kept (in [`Self::video_results`],
    /// unanswered) instead of posted: a test delivers them itself, as
    /// often and as concurrently as it likes.
    pub fn hold_video_results(&self, hold: bool) {
        self.shared
            .hold_video_results
            .store(hold, std::sync::atomic::Ordering::SeqCst);
    }

    /// Every video result posted back (or held) so far, with the HTTP
    /// status it was answered (`None`: held, or no answer).
    pub fn video_results(&self) -> Vec<(tencent::VideoResult, Option<u16>)> {
        self.shared.video_results.lock().unwrap().clone()
    }
}

/// The deterministic answer to a conversation.
pub fn answer_for(model: &str, body: &Value) -> String {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let users: Vec<&str> = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str())
        .collect();
    let last = users.last().copied().unwrap_or("");
    if let Some(n) = last
        .strip_prefix("LONG:")
        .and_then(|n| n.trim().parse::<usize>().ok())
    {
        let mut text = String::new();
        let mut i = 1;
        while text.len() < n {
            text.push_str(&format!("Sentence number {i} of the long answer. "));
            i += 1;
        }
        text.truncate(n);
        return text;
    }
    format!("{model} (turn {}): {last}", users.len())
}

type Body = BoxBody<Bytes, Infallible>;

fn full(status: u16, headers: &[(&str, String)], body: Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = response.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    h.insert(
        "x-request-id",
        http::HeaderValue::from_static("req-emulated"),
    );
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            h.insert(name, value);
        }
    }
    response
}

async fn route(shared: &Arc<Shared>, request: Request<hyper::body::Incoming>) -> Response<Body> {
    let Ok(request) = loopback::Received::read(request).await else {
        return full(
            400,
            &[],
            json!({ "error": { "message": "the request body could not be read" } }),
        );
    };
    let path = request.path.as_str();
    if path == "/" && request.headers.contains_key("x-tc-action") {
        return tencent_call(shared, request).await;
    }
    let api = match path {
        "/v1/chat/completions" | "/chat/completions" => Api::OpenAi,
        "/v1/messages" => Api::Anthropic,
        "/v1/text/chatcompletion_v2" => Api::MiniMax,
        "/v1/moderations" | "/moderations" => Api::Moderation,
        _ => {
            return full(
                404,
                &[],
                json!({ "error": { "message": format!("no route {path}") } }),
            );
        }
    };
    let key_ok = key_accepted(api, &request.headers);
    // Anthropic refuses a call that does not say which API version it is
    // written for.
    let version_missing = api == Api::Anthropic
        && request
            .header("anthropic-version")
            .is_none_or(|v| !is_api_version(v));
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let (latency, failure, chunk_delay) = {
        let mut knobs = shared.knobs.lock().unwrap();
        let failure = knobs.failures.get_mut(&api).and_then(VecDeque::pop_front);
        let latency = if api == Api::Moderation {
            knobs.moderation_latency
        } else {
            knobs.latency
        };
        (latency, failure, knobs.chunk_delay)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = if key_ok && version_missing {
        full(
            400,
            &[],
            json!({ "type": "error", "error": { "type": "invalid_request_error", "message": "anthropic-version: header is required (a date such as 2023-06-01)" } }),
        )
    } else {
        respond(api, key_ok, failure, &body, chunk_delay)
    };
    shared.recorded.lock().unwrap().push(Recorded {
        api,
        body,
        status: response.status().as_u16(),
    });
    response
}

/// Whether the request carries [`API_KEY`] the way its API takes it:
/// `Authorization: Bearer` everywhere, and for Anthropic also `x-api-key`
/// (what its API documents; its current Node SDK sends the bearer form).
fn key_accepted(api: Api, headers: &http::HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer "));
    bearer == Some(API_KEY) || (api == Api::Anthropic && header("x-api-key") == Some(API_KEY))
}

/// An `anthropic-version` value: a date, `YYYY-MM-DD`.
fn is_api_version(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// Posts a video task's result a moment after the task was created, as
/// Tencent Cloud does once the video is judged.
async fn post_video_result(shared: Arc<Shared>, result: tencent::VideoResult) {
    tokio::time::sleep(VIDEO_RESULT_DELAY).await;
    if shared
        .hold_video_results
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        shared.video_results.lock().unwrap().push((result, None));
        return;
    }
    let sent = shared
        .http
        .post(&result.url)
        .header("content-type", "application/json")
        .header(tencent_cloud::callback::SIGNATURE_HEADER, &result.signature)
        .body(result.body.clone())
        .send()
        .await;
    let status = sent.ok().map(|response| response.status().as_u16());
    shared.video_results.lock().unwrap().push((result, status));
}

/// How long a video "takes" to judge.
const VIDEO_RESULT_DELAY: Duration = Duration::from_millis(300);

async fn tencent_call(shared: &Arc<Shared>, request: loopback::Received) -> Response<Body> {
    let (latency, failure) = {
        let mut knobs = shared.knobs.lock().unwrap();
        let failure = knobs
            .failures
            .get_mut(&Api::TencentModeration)
            .and_then(VecDeque::pop_front);
        (knobs.moderation_latency, failure)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let now = loopback::unix_now();
    let (status, answer) = match failure {
        Some(Failure::ServerError) => (500, json!({"message": "internal error"})),
        Some(Failure::RateLimited { .. }) => (
            200,
            json!({"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "too many requests"},
                                "RequestId": "emulated-request"}}),
        ),
        Some(Failure::Quota) => (
            200,
            json!({"Response": {"Error": {"Code": "UnauthorizedOperation.Unauthorized", "Message": "service not opened or in arrears"},
                                "RequestId": "emulated-request"}}),
        ),
        None => (200, tencent::answer(&request.headers, &request.body, now)),
    };
    let params: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    if let Some(result) = tencent::video_result(&params, &answer) {
        tokio::spawn(post_video_result(shared.clone(), result));
    }
    shared.recorded.lock().unwrap().push(Recorded {
        api: Api::TencentModeration,
        body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
        status,
    });
    full(status, &[], answer)
}

fn respond(
    api: Api,
    key_ok: bool,
    failure: Option<Failure>,
    body: &Value,
    chunk_delay: Duration,
) -> Response<Body> {
    if !key_ok {
        return full(
            401,
            &[],
            json!({ "error": { "type": "authentication_error", "message": "invalid api key" } }),
        );
    }
    let model = body["model"].as_str().unwrap_or("model");
    match (api, failure) {
        (Api::MiniMax, Some(Failure::RateLimited { .. })) => {
            return full(
                200,
                &[],
                json!({ "base_resp": { "status_code": 1002, "status_msg": "rate limit" } }),
            );
        }
        (Api::MiniMax, Some(Failure::Quota)) => {
            return full(
                200,
                &[],
                json!({ "base_resp": { "status_code": 1008, "status_msg": "insufficient balance" } }),
            );
        }
        (_, Some(Failure::RateLimited { retry_after_ms })) => {
            return full(
                429,
                &[("retry-after-ms", retry_after_ms.to_string())],
                json!({ "type": "error", "error": { "type": "rate_limit_error", "code": "rate_limit_exceeded", "message": "Rate limit reached" } }),
            );
        }
        (Api::Anthropic, Some(Failure::Quota)) => {
            return full(
                400,
                &[],
                json!({ "type": "error", "error": { "type": "billing_error", "message": "Your credit balance is too low" } }),
            );
        }
        (_, Some(Failure::Quota)) => {
            return full(
                429,
                &[],
                json!({ "error": { "type": "insufficient_quota", "code": "insufficient_quota", "message": "You exceeded your current quota" } }),
            );
        }
        (_, Some(Failure::ServerError)) => {
            return full(
                500,
                &[],
                json!({ "error": { "type": "api_error", "message": "emulated server error" } }),
            );
        }
        _ => {}
    }

    if api == Api::Anthropic && body["max_tokens"].as_u64().is_none() {
        return full(
            400,
            &[],
            json!({ "type": "error", "error": { "type": "invalid_request_error", "message": "max_tokens: Field required" } }),
        );
    }
    let text = answer_for(model, body);
    match api {
        Api::Moderation => full(200, &[], moderation(model, &body["input"])),
        // Answered by `tencent_call` before routing by path.
        Api::TencentModeration => full(404, &[], json!({"message": "not routed here"})),
        Api::OpenAi if body["stream"] == true => stream(model, text, chunk_delay),
        Api::OpenAi => full(
            200,
            &[],
            json!({
                "id": "chatcmpl-emu", "object": "chat.completion", "model": model,
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
            }),
        ),
        Api::Anthropic => full(
            200,
            &[],
            json!({
                "id": "msg_emu", "type": "message", "role": "assistant", "model": model,
                "content": [{ "type": "text", "text": text }], "stop_reason": "end_turn",
            }),
        ),
        Api::MiniMax => full(
            200,
            &[],
            json!({
                "id": "mm-emu", "object": "chat.completion", "model": model,
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
                "base_resp": { "status_code": 0, "status_msg": "" },
            }),
        ),
    }
}

/// An SSE stream of the answer, word by word, `delay` apart.
fn stream(model: &str, text: String, delay: Duration) -> Response<Body> {
    let model = model.to_string();
    let mut pieces: Vec<String> = text.split_inclusive(' ').map(String::from).collect();
    pieces.push(String::new());
    let events = futures::stream::iter(pieces.into_iter().enumerate()).then(move |(i, piece)| {
        let model = model.clone();
        async move {
            if i > 0 {
                tokio::time::sleep(delay).await;
            }
            let data = if piece.is_empty() {
                "data: [DONE]\n\n".to_string()
            } else {
                let chunk = json!({ "object": "chat.completion.chunk", "model": model,
                    "choices": [{ "index": 0, "delta": { "content": piece }, "finish_reason": null }] });
                format!("data: {chunk}\n\n")
            };
            Ok::<_, Infallible>(Frame::data(Bytes::from(data)))
        }
    });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(events)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    response
}

use futures::StreamExt as _;

/// Every category `omni-moderation-latest` reports.
const MODERATION_CATEGORIES: &[&str] = &[
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
];

/// A moderation answer: one result per input for strings and string
/// arrays, one result for a multi-modal input array (as OpenAI does).
fn moderation(model: &str, input: &Value) -> Value {
    let groups: Vec<Vec<String>> = match input {
        Value::String(text) => vec![vec![text.clone()]],
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .map(|i| vec![i.as_str().unwrap_or("").to_string()])
            .collect(),
        Value::Array(items) => vec![
            items
                .iter()
                .map(|i| match i["type"].as_str() {
                    Some("image_url") => i["image_url"]["url"].as_str().unwrap_or("").to_string(),
                    _ => i["text"].as_str().unwrap_or("").to_string(),
                })
                .collect(),
        ],
        _ => vec![],
    };
    let results: Vec<Value> = groups
        .iter()
        .map(|parts| {
            let mut categories = serde_json::Map::new();
            let mut scores = serde_json::Map::new();
            let mut flagged = false;
            for category in MODERATION_CATEGORIES {
                let hit = parts
                    .iter()
                    .any(|p| p.contains(&format!("unsafe-{category}")));
                flagged |= hit;
                categories.insert(category.to_string(), json!(hit));
                scores.insert(category.to_string(), json!(if hit { 0.97 } else { 0.001 }));
            }
            json!({ "flagged": flagged, "categories": categories, "category_scores": scores })
        })
        .collect();
    json!({ "id": "modr-emulator", "model": model, "results": results })
}
