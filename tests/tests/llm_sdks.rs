//! OpenAI's and Anthropic's official Node SDKs (`openai`,
//! `@anthropic-ai/sdk` from npm, pinned in `tests/node/package-lock.json`)
//! are the reference for the LLM emulator: what a team's own code would
//! send must be answered as the vendor answers it — chat, streaming,
//! moderation, a refused key, a rate limit the SDK retries — and recorded.
//!
//! The SDKs run as `tests/node/llm-sdks.mjs`; `tests/node/node_modules`
//! is installed with `npm ci` on first use.

use llm_emulator::{API_KEY, Api, Failure, LlmEmulator, answer_for};
use serde_json::Value;
use std::time::{Duration, Instant};

async fn emulator() -> LlmEmulator {
    LlmEmulator::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Runs one call of `llm-sdks.mjs` against `emulator`, off the runtime.
async fn sdk(call: &str, emulator: &LlmEmulator, key: &str, retries: u32) -> Value {
    let args = [
        call.to_string(),
        emulator.url(),
        key.to_string(),
        retries.to_string(),
    ];
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        switchboard_tests::node::run("llm-sdks.mjs", &args, "")
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_sdk_chats_streams_and_moderates_against_the_emulator() {
    let emulator = emulator().await;

    let chat = sdk("openai-chat", &emulator, API_KEY, 0).await;
    let recorded = emulator.recorded();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!((recorded[0].api, recorded[0].status), (Api::OpenAi, 200));
    assert_eq!(
        recorded[0].conversation(),
        [("user".to_string(), "hello from the sdk".to_string())]
    );
    assert_eq!(chat["text"], answer_for("gpt-sdk", &recorded[0].body));
    assert_eq!(chat["model"], "gpt-sdk");

    let streamed = sdk("openai-stream", &emulator, API_KEY, 0).await;
    let recorded = emulator.recorded();
    assert_eq!(recorded[1].body["stream"], true);
    assert_eq!(streamed["text"], answer_for("gpt-sdk", &recorded[1].body));
    assert!(streamed["chunks"].as_u64().unwrap() > 1, "{streamed}");

    let moderation = sdk("openai-moderation", &emulator, API_KEY, 0).await;
    assert_eq!(moderation["flagged"], serde_json::json!([false, true]));
    let violence = moderation["violence"][1].as_f64().unwrap();
    assert!(violence > 0.9, "{moderation}");
    assert_eq!(emulator.recorded()[2].api, Api::Moderation);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anthropic_sdk_gets_a_message_from_the_emulator() {
    let emulator = emulator().await;
    let message = sdk("anthropic-message", &emulator, API_KEY, 0).await;
    let recorded = emulator.recorded();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!((recorded[0].api, recorded[0].status), (Api::Anthropic, 200));
    assert_eq!(recorded[0].body["max_tokens"], 64);
    assert_eq!(message["text"], answer_for("claude-sdk", &recorded[0].body));
    assert_eq!(message["stop_reason"], "end_turn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_is_refused_to_both_sdks() {
    let emulator = emulator().await;
    for call in ["openai-chat", "anthropic-message"] {
        let refused = sdk(call, &emulator, "not-the-key", 0).await;
        assert_eq!(refused["error"]["status"], 401, "{call}: {refused}");
        assert_eq!(refused["error"]["name"], "AuthenticationError", "{call}");
        assert_eq!(refused["error"]["type"], "authentication_error", "{call}");
    }
    let statuses: Vec<u16> = emulator.recorded().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sdks_retry_a_rate_limit_after_the_delay_it_asks_for() {
    let emulator = emulator().await;
    for (call, api) in [
        ("openai-chat", Api::OpenAi),
        ("anthropic-message", Api::Anthropic),
    ] {
        emulator.fail_next(
            api,
            Failure::RateLimited {
                retry_after_ms: 400,
            },
        );
        let started = Instant::now();
        let answered = sdk(call, &emulator, API_KEY, 2).await;
        assert!(answered["text"].is_string(), "{call}: {answered}");
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{call} retried before the delay it was given"
        );
        let statuses: Vec<u16> = emulator
            .recorded()
            .iter()
            .filter(|r| r.api == api)
            .map(|r| r.status)
            .collect();
        assert_eq!(statuses, [429, 200], "{call}");
    }
    // Without retries the SDK surfaces the 429 as its own error type.
    emulator.fail_next(Api::OpenAi, Failure::RateLimited { retry_after_ms: 10 });
    let limited = sdk("openai-chat", &emulator, API_KEY, 0).await;
    assert_eq!(limited["error"]["status"], 429, "{limited}");
    assert_eq!(limited["error"]["name"], "RateLimitError");
}

/// Anthropic's API names the version a call is written for; the emulator
/// takes the key either way the API does and refuses a call without a
/// version, as Anthropic does — our own client's form (`x-api-key`,
/// `2023-06-01`) and the SDK's (bearer, its newer date) both pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_calls_need_a_version_and_take_the_key_either_way() {
    let emulator = emulator().await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/messages", emulator.url());
    let body = serde_json::json!({
        "model": "claude-raw", "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
    });
    let send = |headers: &[(&str, &str)]| {
        let mut request = client.post(&url).json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let ours = send(&[("x-api-key", API_KEY), ("anthropic-version", "2023-06-01")])
        .await
        .unwrap();
    assert_eq!(ours.status(), 200);
    let bearer = format!("Bearer {API_KEY}");
    let theirs = send(&[
        ("authorization", &bearer),
        ("anthropic-version", "2026-10-21"),
    ])
    .await
    .unwrap();
    assert_eq!(theirs.status(), 200);
    for version in [None, Some("latest")] {
        let mut headers = vec![("x-api-key", API_KEY)];
        headers.extend(version.map(|v| ("anthropic-version", v)));
        let refused = send(&headers).await.unwrap();
        assert_eq!(refused.status(), 400, "{version:?}");
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["error"]["type"], "invalid_request_error");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("anthropic-version"),
            "{error}"
        );
    }
    let statuses: Vec<u16> = emulator.recorded().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 400, 400]);
}
