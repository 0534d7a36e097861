//! Wire formats of the three provider families.

use crate::{Attempt, ChatRequest, Completion, LlmError, Provider, Role, retry_after};
use serde_json::{Value, json};
use transport::{HttpRequest, HttpResponse};

/// A provider's wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI Chat Completions and compatible APIs.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// MiniMax `chatcompletion_v2`.
    MiniMax,
}

impl ProviderKind {
    /// `openai`, `anthropic`, `minimax`.
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::MiniMax => "minimax",
        }
    }
}

fn role(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

pub(crate) fn build(provider: &Provider, request: &ChatRequest, stream: bool) -> HttpRequest {
    let base = provider.base_url.trim_end_matches('/');
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    let (url, body) = match provider.kind {
        ProviderKind::OpenAi | ProviderKind::MiniMax => {
            let mut messages = Vec::new();
            if let Some(system) = &request.system {
                messages.push(json!({ "role": "system", "content": system }));
            }
            messages.extend(
                request
                    .messages
                    .iter()
                    .map(|m| json!({ "role": role(m.role), "content": m.content })),
            );
            let mut body = json!({
                "model": provider.model,
                "messages": messages,
                "max_completion_tokens": request.max_tokens,
            });
            if let Some(t) = request.temperature {
                body["temperature"] = json!(t);
            }
            headers.push((
                "authorization".into(),
                format!("Bearer {}", provider.api_key),
            ));
            if provider.kind == ProviderKind::OpenAi {
                body["safety_identifier"] = json!(request.safety_identifier);
                if stream {
                    body["stream"] = json!(true);
                }
                (format!("{base}/chat/completions"), body)
            } else {
                (format!("{base}/v1/text/chatcompletion_v2"), body)
            }
        }
        ProviderKind::Anthropic => {
            let mut body = json!({
                "model": provider.model,
                "max_tokens": request.max_tokens,
                "messages": request.messages.iter().map(|m| json!({ "role": role(m.role), "content": m.content })).collect::<Vec<_>>(),
                "metadata": { "user_id": request.safety_identifier },
            });
            if let Some(system) = &request.system {
                body["system"] = json!(system);
            }
            if let Some(t) = request.temperature {
                body["temperature"] = json!(t);
            }
            headers.push(("x-api-key".into(), provider.api_key.clone()));
            headers.push(("anthropic-version".into(), "2023-06-01".into()));
            (format!("{base}/v1/messages"), body)
        }
    };
    HttpRequest {
        method: "POST",
        url,
        headers,
        body: body.to_string().into_bytes(),
        timeout: None,
    }
}

fn request_id(response: &HttpResponse) -> Option<String> {
    ["x-request-id", "request-id", "trace-id"]
        .iter()
        .find_map(|h| response.header(h))
        .map(String::from)
}

/// Reads an answer: the text, or whether and how to retry.
pub(crate) fn interpret(provider: &Provider, response: &HttpResponse) -> Attempt {
    let label = provider.label();
    let id = request_id(response);
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    let status = response.status;
    let error_message = || {
        body["error"]["message"]
            .as_str()
            .or_else(|| body["base_resp"]["status_msg"].as_str())
            .or_else(|| body["message"].as_str())
            .unwrap_or("")
            .to_string()
    };
    if !(200..300).contains(&status) {
        let error_type = body["error"]["type"].as_str().unwrap_or("");
        let error_code = body["error"]["code"].as_str().unwrap_or("");
        let quota = error_code == "insufficient_quota"
            || error_type == "insufficient_quota"
            || error_type == "billing_error"
            || body["error"]["details"]["error_code"] == "enforced_spend_limit_reached";
        if quota {
            return Attempt::Fail(LlmError::Quota {
                provider: label,
                request_id: id,
                message: error_message(),
            });
        }
        let error = LlmError::Api {
            provider: label,
            status,
            request_id: id,
            message: error_message(),
        };
        return if matches!(status, 408 | 409 | 429) || status >= 500 {
            Attempt::Retry(error, retry_after(response))
        } else {
            Attempt::Fail(error)
        };
    }
    if provider.kind == ProviderKind::MiniMax {
        let code = body["base_resp"]["status_code"].as_u64().unwrap_or(0);
        let message = error_message();
        match code {
            0 => {}
            1002 => {
                return Attempt::Retry(
                    LlmError::Api {
                        provider: label,
                        status: 1002,
                        request_id: id,
                        message,
                    },
                    retry_after(response),
                );
            }
            1008 => {
                return Attempt::Fail(LlmError::Quota {
                    provider: label,
                    request_id: id,
                    message,
                });
            }
            1026 | 1027 => {
                return Attempt::Fail(LlmError::Sensitive {
                    provider: label,
                    request_id: id,
                    message,
                });
            }
            1000 | 1001 | 1024 | 1033 => {
                return Attempt::Retry(
                    LlmError::Api {
                        provider: label,
                        status: code as u16,
                        request_id: id,
                        message,
                    },
                    None,
                );
            }
            other => {
                return Attempt::Fail(LlmError::Api {
                    provider: label,
                    status: other as u16,
                    request_id: id,
                    message,
                });
            }
        }
    }
    let text = match provider.kind {
        ProviderKind::OpenAi | ProviderKind::MiniMax => body["choices"][0]["message"]["content"]
            .as_str()
            .map(String::from),
        ProviderKind::Anthropic => body["content"].as_array().map(|blocks| {
            blocks
                .iter()
                .filter(|b| b["type"] == "text")
                .filter_map(|b| b["text"].as_str())
                .collect::<String>()
        }),
    };
    match text.filter(|t| !t.trim().is_empty()) {
        Some(text) => Attempt::Done(Completion {
            text,
            provider: label,
        }),
        None if body["choices"][0]["finish_reason"] == "content_filter"
            || body["stop_reason"] == "refusal" =>
        {
            Attempt::Fail(LlmError::Sensitive {
                provider: label,
                request_id: id,
                message: "the model refused".into(),
            })
        }
        None => Attempt::Fail(LlmError::Api {
            provider: label,
            status,
            request_id: id,
            message: "the answer has no text".into(),
        }),
    }
}

/// Consumes the complete lines of an OpenAI-compatible SSE stream from
/// `buffer`, returning the text deltas and whether `[DONE]` was seen. A
/// trailing partial line stays in the buffer for the next read.
pub fn parse_sse_text(buffer: &mut String) -> (Vec<String>, bool) {
    let mut deltas = Vec::new();
    let mut done = false;
    while let Some(end) = buffer.find('\n') {
        let line: String = buffer.drain(..=end).collect();
        let Some(data) = line.trim_end().strip_prefix("data:") else {
            continue;
        };
        let data = data.trim();
        if data == "[DONE]" {
            done = true;
            continue;
        }
        if let Ok(chunk) = serde_json::from_str::<Value>(data)
            && let Some(text) = chunk["choices"][0]["delta"]["content"].as_str()
            && !text.is_empty()
        {
            deltas.push(text.to_string());
        }
    }
    (deltas, done)
}

/// An OpenAI-compatible SSE stream decoded as its bytes arrive. A read may
/// end inside a UTF-8 character or a line; what is not complete yet waits
/// for the next read.
///
/// ```
/// let mut stream = llm::SseText::default();
/// let bytes = "data: {\"choices\":[{\"delta\":{\"content\":\"héllo\"}}]}\n\ndata: [DONE]\n".as_bytes();
/// // Split inside the two bytes of `é`.
/// let at = bytes.iter().position(|&b| b == 0xC3).unwrap() + 1;
/// assert_eq!(stream.push(&bytes[..at]), (vec![], false));
/// assert_eq!(stream.push(&bytes[at..]), (vec!["héllo".to_string()], true));
/// ```
#[derive(Debug, Default)]
pub struct SseText {
    /// Bytes of a character not complete yet.
    undecoded: Vec<u8>,
    /// Text of a line not complete yet.
    buffer: String,
}

impl SseText {
    /// Adds `bytes` read from the stream: the text deltas of the lines they
    /// complete, and whether `[DONE]` was seen. Bytes that are not UTF-8 at
    /// all are decoded lossily rather than stall the stream.
    pub fn push(&mut self, bytes: &[u8]) -> (Vec<String>, bool) {
        self.undecoded.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.undecoded) {
            Ok(text) => text.len(),
            // Only the end is cut short: keep it for the next read.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.undecoded.len(),
        };
        self.buffer
            .push_str(&String::from_utf8_lossy(&self.undecoded[..valid]));
        self.undecoded.drain(..valid);
        parse_sse_text(&mut self.buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, RetryPolicy, complete, complete_with_fallback};
    use std::time::Duration;
    use transport::testing::{Scripted, answer, block_on};

    fn provider(kind: ProviderKind) -> Provider {
        Provider {
            kind,
            base_url: "https://llm.test/v1/".into(),
            api_key: "sk-secret".into(),
            model: "m".into(),
        }
    }

    fn request() -> ChatRequest {
        ChatRequest {
            system: Some("Be brief.".into()),
            messages: vec![
                Message {
                    role: Role::User,
                    content: "Hi".into(),
                },
                Message {
                    role: Role::Assistant,
                    content: "Hello".into(),
                },
                Message {
                    role: Role::User,
                    content: "Help?".into(),
                },
            ],
            max_tokens: 256,
            temperature: Some(0.2),
            safety_identifier: crate::safety_identifier("alice"),
        }
    }

    const LONG: Duration = Duration::from_secs(1000);

    #[test]
    fn openai_request_and_answer() {
        let t = Scripted::new(vec![answer(
            200,
            &[],
            json!({"choices": [{"message": {"content": "Sure."}, "finish_reason": "stop"}]}),
        )]);
        let done = block_on(complete(
            &&t,
            &provider(ProviderKind::OpenAi),
            &request(),
            RetryPolicy::default(),
            LONG,
        ))
        .unwrap();
        assert_eq!(done.text, "Sure.");
        let sent = &t.sent()[0];
        assert_eq!(sent.url, "https://llm.test/v1/chat/completions");
        let body: Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "Be brief."})
        );
        assert_eq!(body["messages"].as_array().unwrap().len(), 4);
        assert_eq!(body["max_completion_tokens"], 256);
        assert!(
            body["safety_identifier"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
        assert!(!String::from_utf8_lossy(&sent.body).contains("alice"));
    }

    #[test]
    fn anthropic_request_and_answer() {
        let t = Scripted::new(vec![answer(
            200,
            &[],
            json!({"content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}], "stop_reason": "end_turn"}),
        )]);
        let mut p = provider(ProviderKind::Anthropic);
        p.base_url = "https://api.anthropic.com".into();
        assert_eq!(
            block_on(complete(&&t, &p, &request(), RetryPolicy::default(), LONG))
                .unwrap()
                .text,
            "AB"
        );
        let sent = &t.sent()[0];
        assert_eq!(sent.url, "https://api.anthropic.com/v1/messages");
        assert!(
            sent.headers
                .contains(&("anthropic-version".into(), "2023-06-01".into()))
        );
        assert!(
            sent.headers
                .contains(&("x-api-key".into(), "sk-secret".into()))
        );
        let body: Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(body["system"], "Be brief.");
        assert_eq!(body["max_tokens"], 256);
        assert_eq!(body["messages"][0]["role"], "user");
    }

    #[test]
    fn retries_honour_retry_after_and_quota_is_final() {
        let t = Scripted::new(vec![
            answer(
                429,
                &[("retry-after-ms", "250"), ("x-request-id", "req-1")],
                json!({"error": {"message": "slow down", "code": "rate_limit_exceeded"}}),
            ),
            answer(503, &[("retry-after", "1")], json!({})),
            answer(
                200,
                &[],
                json!({"choices": [{"message": {"content": "ok"}}]}),
            ),
        ]);
        assert_eq!(
            block_on(complete(
                &&t,
                &provider(ProviderKind::OpenAi),
                &request(),
                RetryPolicy::default(),
                LONG
            ))
            .unwrap()
            .text,
            "ok"
        );
        assert_eq!(
            *t.slept(),
            [Duration::from_millis(250), Duration::from_secs(1)]
        );

        let t = Scripted::new(vec![answer(
            429,
            &[("x-request-id", "req-9")],
            json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}}),
        )]);
        let error = block_on(complete(
            &&t,
            &provider(ProviderKind::OpenAi),
            &request(),
            RetryPolicy::default(),
            LONG,
        ))
        .unwrap_err();
        assert!(matches!(&error, LlmError::Quota { request_id: Some(id), .. } if id == "req-9"));
        assert_eq!(t.sent().len(), 1, "quota must not be retried");
        assert!(!error.to_string().contains("sk-secret"));
    }

    #[test]
    fn minimax_errors_hide_in_http_200() {
        let mm = provider(ProviderKind::MiniMax);
        let base = |code: u64| json!({"base_resp": {"status_code": code, "status_msg": "x"}});
        let t = Scripted::new(vec![answer(200, &[], base(1008))]);
        assert!(matches!(
            block_on(complete(&&t, &mm, &request(), RetryPolicy::default(), LONG)),
            Err(LlmError::Quota { .. })
        ));
        let t = Scripted::new(vec![answer(200, &[], base(1027))]);
        assert!(matches!(
            block_on(complete(&&t, &mm, &request(), RetryPolicy::default(), LONG)),
            Err(LlmError::Sensitive { .. })
        ));
        let t = Scripted::new(vec![
            answer(200, &[], base(1002)),
            answer(
                200,
                &[],
                json!({"choices": [{"message": {"content": "fine"}}], "base_resp": {"status_code": 0}}),
            ),
        ]);
        assert_eq!(
            block_on(complete(&&t, &mm, &request(), RetryPolicy::default(), LONG))
                .unwrap()
                .text,
            "fine"
        );
        assert_eq!(
            t.sent()[0].url,
            "https://llm.test/v1/v1/text/chatcompletion_v2"
        );
    }

    #[test]
    fn fallback_uses_the_next_provider() {
        let t = Scripted::new(vec![
            answer(400, &[], json!({"error": {"message": "bad model"}})),
            answer(
                200,
                &[],
                json!({"content": [{"type": "text", "text": "from claude"}]}),
            ),
        ]);
        let providers = [
            provider(ProviderKind::OpenAi),
            provider(ProviderKind::Anthropic),
        ];
        let done = block_on(complete_with_fallback(
            &&t,
            &providers,
            &request(),
            RetryPolicy::default(),
            LONG,
        ))
        .unwrap();
        assert_eq!(
            (done.text.as_str(), done.provider.as_str()),
            ("from claude", "anthropic/m")
        );
    }

    #[test]
    fn sse_deltas_and_partial_lines() {
        let mut buffer = String::from(
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\ndata: {\"choi",
        );
        let (deltas, done) = parse_sse_text(&mut buffer);
        assert_eq!(
            (deltas, done),
            (vec!["Hel".to_string(), "lo".to_string()], false)
        );
        buffer.push_str("ces\":[{\"delta\":{\"content\":\"!\"}}]}\n\ndata: [DONE]\n\n");
        let (deltas, done) = parse_sse_text(&mut buffer);
        assert_eq!((deltas, done), (vec!["!".to_string()], true));
    }

    #[test]
    fn a_stream_decodes_across_reads_and_never_stalls_on_bad_bytes() {
        let mut stream = SseText::default();
        let line = "data: {\"choices\":[{\"delta\":{\"content\":\"日本\"}}]}\n";
        // One byte a read: every cut inside a character and a line.
        let mut deltas = Vec::new();
        for byte in line.as_bytes() {
            deltas.extend(stream.push(std::slice::from_ref(byte)).0);
        }
        assert_eq!(deltas, ["日本"]);
        // Invalid UTF-8 inside a line is replaced, not waited on forever.
        let (bad, _) = stream.push(b"data: {\"choices\":[{\"delta\":{\"content\":\"a\xFFb\"}}]}\n");
        assert_eq!(bad, ["a\u{FFFD}b"]);
        assert_eq!(stream.push(b"data: [DONE]\n"), (vec![], true));
    }
}
