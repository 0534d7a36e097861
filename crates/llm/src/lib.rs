//! LLM providers behind one call, with no I/O of its own (runs natively and
//! in `wasm32-wasip2` components over any [`transport::Transport`]).
//!
//! - OpenAI-compatible Chat Completions (`POST {base}/chat/completions`):
//!   OpenAI, DeepSeek, Moonshot, Qwen/DashScope, Tencent Hunyuan, Ollama,
//!   vLLM, llama.cpp.
//! - Anthropic Messages (`POST {base}/v1/messages`, `x-api-key`,
//!   `anthropic-version: 2023-06-01`, required `max_tokens`).
//! - MiniMax `chatcompletion_v2`, whose errors arrive in `base_resp` even on
//!   HTTP 200 (1002 rate limit, 1008 balance, 1026/1027 sensitive content).
//!
//! Retries follow the providers' SDKs: 408, 409, 429 and 5xx (and MiniMax
//! 1002) are retried with backoff honouring `retry-after-ms` / `retry-after`;
//! exhausted quota (OpenAI `insufficient_quota`, MiniMax 1008, Anthropic
//! billing) never is. [`complete_with_fallback`] walks an ordered provider
//! list.

#![warn(missing_docs)]

pub mod moderations;
mod providers;

pub use providers::{ProviderKind, SseText, parse_sse_text};

use serde::{Deserialize, Serialize};
use std::time::Duration;
use transport::{HttpResponse, Transport};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person.
    User,
    /// The model.
    Assistant,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who.
    pub role: Role,
    /// What.
    pub content: String,
}

/// One provider to try.
#[derive(Clone)]
pub struct Provider {
    /// Wire format.
    pub kind: ProviderKind,
    /// Base URL (`https://api.openai.com/v1`, `https://api.anthropic.com`, …).
    pub base_url: String,
    /// API key (never logged).
    pub api_key: String,
    /// Model name.
    pub model: String,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {} at {}", self.kind, self.model, self.base_url)
    }
}

impl Provider {
    /// `kind/model`, for logs and errors.
    pub fn label(&self) -> String {
        format!("{}/{}", self.kind.name(), self.model)
    }
}

/// What to ask.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// System prompt.
    pub system: Option<String>,
    /// The conversation, oldest first, ending with the user's message.
    pub messages: Vec<Message>,
    /// Upper bound of the answer's tokens.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// A stable hash of the end user (OpenAI `safety_identifier`).
    pub safety_identifier: String,
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The text.
    pub text: String,
    /// Which provider answered (`kind/model`).
    pub provider: String,
}

/// Why a provider gave no answer. Every variant carries the provider and,
/// when known, its request id — never the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// Quota or balance exhausted: retrying cannot help.
    #[error("{provider}: quota exhausted ({message}) [request id {request_id:?}]")]
    Quota {
        /// `kind/model`.
        provider: String,
        /// Provider's request id.
        request_id: Option<String>,
        /// Provider's message.
        message: String,
    },
    /// The provider refused the content (MiniMax 1026/1027, refusals).
    #[error("{provider}: content refused as sensitive ({message}) [request id {request_id:?}]")]
    Sensitive {
        /// `kind/model`.
        provider: String,
        /// Provider's request id.
        request_id: Option<String>,
        /// Provider's message.
        message: String,
    },
    /// Any other error answer (after retries where they apply).
    #[error("{provider}: HTTP {status}: {message} [request id {request_id:?}]")]
    Api {
        /// `kind/model`.
        provider: String,
        /// HTTP status (or MiniMax status code).
        status: u16,
        /// Provider's request id.
        request_id: Option<String>,
        /// Provider's message.
        message: String,
    },
    /// No answer in time.
    #[error("{provider}: no answer within {seconds} s")]
    Timeout {
        /// `kind/model`.
        provider: String,
        /// The limit.
        seconds: u64,
    },
    /// No response at all.
    #[error("{provider}: unreachable: {message}")]
    Transport {
        /// `kind/model`.
        provider: String,
        /// Why.
        message: String,
    },
}

/// Retry settings (the SDKs' defaults: 2 retries, 0.5 s doubling to 8 s).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff.
    pub base_delay: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// `sha256:<hex>` of a user id, ≤ 64 characters (OpenAI `safety_identifier`).
pub fn safety_identifier(user: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(user.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{}", &hex[..48])
}

/// How long the provider asked to wait: `retry-after-ms`, then
/// `retry-after` in seconds; only 0–60 s is honoured. Values that are no
/// duration at all (negative, NaN, infinite, too large) are ignored: they
/// come from outside and must never panic.
pub fn retry_after(response: &HttpResponse) -> Option<Duration> {
    let ms = response
        .header("retry-after-ms")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok());
    let secs = || {
        response
            .header("retry-after")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
    };
    ms.or_else(secs).filter(|d| *d <= Duration::from_secs(60))
}

enum Attempt {
    Done(Completion),
    Retry(LlmError, Option<Duration>),
    Fail(LlmError),
}

/// Asks one provider, retrying where safe, within `timeout` per attempt.
pub async fn complete<T: Transport>(
    transport: &T,
    provider: &Provider,
    request: &ChatRequest,
    retry: RetryPolicy,
    timeout: Duration,
) -> Result<Completion, LlmError> {
    let mut backoff = retry.base_delay;
    let mut attempt = 0;
    loop {
        let outcome = match send_once(transport, provider, request, timeout).await {
            Ok(response) => providers::interpret(provider, &response),
            Err(error) => Attempt::Retry(error, None),
        };
        match outcome {
            Attempt::Done(completion) => return Ok(completion),
            Attempt::Fail(error) => return Err(error),
            Attempt::Retry(error, wait) => {
                if attempt >= retry.max_retries {
                    return Err(error);
                }
                attempt += 1;
                transport.sleep(wait.unwrap_or(backoff)).await;
                backoff = (backoff * 2).min(retry.max_delay);
            }
        }
    }
}

async fn send_once<T: Transport>(
    transport: &T,
    provider: &Provider,
    request: &ChatRequest,
    timeout: Duration,
) -> Result<HttpResponse, LlmError> {
    let http = providers::build(provider, request, false);
    let send = std::pin::pin!(transport.send(http));
    let expire = std::pin::pin!(transport.sleep(timeout));
    match futures::future::select(send, expire).await {
        futures::future::Either::Left((Ok(response), _)) => Ok(response),
        futures::future::Either::Left((Err(message), _)) => Err(LlmError::Transport {
            provider: provider.label(),
            message,
        }),
        futures::future::Either::Right(((), _)) => Err(LlmError::Timeout {
            provider: provider.label(),
            seconds: timeout.as_secs(),
        }),
    }
}

/// Tries each provider in order; the first answer wins. On failure, every
/// provider's error in order. Quota and sensitive-content errors move on to
/// the next provider too (another provider may have quota).
pub async fn complete_with_fallback<T: Transport>(
    transport: &T,
    providers: &[Provider],
    request: &ChatRequest,
    retry: RetryPolicy,
    timeout: Duration,
) -> Result<Completion, Vec<LlmError>> {
    let mut errors = Vec::new();
    for provider in providers {
        match complete(transport, provider, request, retry, timeout).await {
            Ok(completion) => return Ok(completion),
            Err(error) => errors.push(error),
        }
    }
    Err(errors)
}

/// The HTTP request for a streaming completion (OpenAI-compatible only).
pub fn stream_request(
    provider: &Provider,
    request: &ChatRequest,
) -> Option<transport::HttpRequest> {
    matches!(provider.kind, ProviderKind::OpenAi).then(|| providers::build(provider, request, true))
}

#[cfg(test)]
mod retry_after_tests {
    use super::{HttpResponse, retry_after};
    use std::time::Duration;

    fn with(name: &str, value: &str) -> HttpResponse {
        HttpResponse {
            status: 429,
            headers: vec![(name.to_string(), value.to_string())],
            body: Vec::new(),
        }
    }

    #[test]
    fn values_that_are_no_duration_are_ignored_not_a_panic() {
        for value in ["-1", "NaN", "inf", "-inf", "1e300"] {
            assert_eq!(retry_after(&with("retry-after", value)), None, "{value}");
            assert_eq!(retry_after(&with("retry-after-ms", value)), None, "{value}");
        }
        assert_eq!(
            retry_after(&with("retry-after-ms", "250")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(&with("retry-after", "2")),
            Some(Duration::from_secs(2))
        );
        assert_eq!(retry_after(&with("retry-after", "61")), None);
    }
}

/// Outside input never panics: retry headers and streamed answers. Run
/// with every `cargo test`.
#[cfg(test)]
mod no_panic {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn retry_headers_and_streams(value in ".{0,40}", number in any::<f64>(), sse in ".{0,300}") {
            for v in [value.clone(), number.to_string(), format!("{number:e}")] {
                for name in ["retry-after", "retry-after-ms"] {
                    let response = transport::HttpResponse {
                        status: 429,
                        headers: vec![(name.to_string(), v.clone())],
                        body: Vec::new(),
                    };
                    if let Some(d) = super::retry_after(&response) {
                        prop_assert!(d <= std::time::Duration::from_secs(60));
                    }
                }
            }
            let mut buffer = sse;
            let _ = crate::parse_sse_text(&mut buffer);
        }
    }
}
