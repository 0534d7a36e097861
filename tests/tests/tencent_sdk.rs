//! Tencent Cloud's official Node SDK (`tencentcloud-sdk-nodejs-tms`, `-ims`,
//! and `-common`'s `CommonClient` for AMS and VM, from npm, pinned in
//! `tests/node/package-lock.json`) is the reference for our TC3-HMAC-SHA256
//! signer and for the TMS / IMS / AMS / VM emulator: the SDK's own
//! signer must produce our signatures for the same requests, and the SDK's
//! clients must be answered by the emulator as Tencent Cloud would,
//! including a refusal of a forged signature.
//!
//! `tests/node/node_modules` is installed with `npm ci` on first use.

use serde_json::{Value, json};
use tencent_cloud::tc3::{self, Credential, Signable};

/// Runs `tencent-sdk.cjs` with `args` and `stdin` (see
/// [`switchboard_tests::node::run`]).
fn node(args: &[&str], stdin: &str) -> Value {
    switchboard_tests::node::run("tencent-sdk.cjs", args, stdin)
}

#[test]
fn the_official_sdk_signs_every_request_as_we_do() {
    let credential = Credential {
        secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE".into(),
        secret_key: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE".into(),
    };
    let cases = [
        (
            "tms",
            "tms.tencentcloudapi.com",
            "application/json",
            r#"{"Content":"5L2g5aW9"}"#,
            1_764_147_600u64,
        ),
        (
            "ims",
            "ims.tencentcloudapi.com",
            "application/json",
            r#"{"FileUrl":"https://x/y.png","DataId":"群:1"}"#,
            1_764_201_599,
        ),
        (
            "ams",
            "ams.tencentcloudapi.com",
            "application/json",
            r#"{"FileUrl":"https://x/v.m4a","FileFormat":"m4a","DataId":"c2c:k"}"#,
            1_764_201_600,
        ),
        (
            "tms",
            "tms.intl.tencentcloudapi.com",
            "application/json; charset=utf-8",
            "{}",
            946_684_800,
        ),
        (
            "tms",
            "127.0.0.1",
            "application/json",
            r#"{"Content":"","BizType":"chat"}"#,
            4_102_444_800,
        ),
    ];
    let requests: Vec<Value> = cases
        .iter()
        .map(|(service, host, content_type, payload, timestamp)| {
            json!({"service": service, "host": host, "contentType": content_type, "payload": payload,
                   "timestamp": timestamp, "secretId": credential.secret_id, "secretKey": credential.secret_key})
        })
        .collect();
    let theirs = node(&["sign"], &Value::from(requests).to_string());
    for (index, (service, host, content_type, payload, timestamp)) in cases.iter().enumerate() {
        let ours = tc3::authorization(
            &credential,
            &Signable {
                service,
                host,
                content_type,
                payload: payload.as_bytes(),
                timestamp: *timestamp,
            },
        );
        assert_eq!(theirs[index], ours, "case {index}: {host} at {timestamp}");
    }
}

#[tokio::test]
async fn the_official_sdk_is_answered_by_the_emulator_and_a_forged_key_refused() {
    use llm_emulator::{Api, LlmEmulator, tencent};
    let emulator = LlmEmulator::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let port = emulator.url().rsplit(':').next().unwrap().to_string();
    let results = tokio::task::spawn_blocking(move || {
        node(
            &["call", &port, tencent::SECRET_ID, tencent::SECRET_KEY],
            "",
        )
    })
    .await
    .unwrap();
    assert_eq!(
        results["clean"],
        json!({"Suggestion": "Pass", "Label": "Normal", "Score": 0}),
        "{results}"
    );
    assert_eq!(
        results["abuse"],
        json!({"Suggestion": "Block", "Label": "Abuse", "Score": 97})
    );
    assert_eq!(
        results["review"],
        json!({"Suggestion": "Review", "Label": "Ad", "Score": 60})
    );
    assert_eq!(
        results["image"],
        json!({"Suggestion": "Block", "Label": "Porn", "Score": 97})
    );
    assert_eq!(
        results["forged"],
        json!({"error": "AuthFailure.SignatureFailure"})
    );
    assert_eq!(
        results["audio"],
        json!({"Suggestion": "Block", "Label": "Abuse", "Score": 97})
    );
    assert_eq!(
        results["video"],
        json!({"Code": "OK", "DataId": "sdk-5", "hasTaskId": true}),
        "VM (version 2021-09-22) takes the SDK's task"
    );
    assert_eq!(
        results["silk"],
        json!({"error": "InvalidParameterValue.FileFormat"}),
        "Tencent's short-audio check reads wav, mp3 and m4a"
    );
    let calls: Vec<_> = emulator
        .recorded()
        .into_iter()
        .filter(|r| r.api == Api::TencentModeration)
        .collect();
    assert_eq!(calls.len(), 8, "every SDK call reached the emulator");
    assert_eq!(
        calls[3].body["FileUrl"],
        "https://cdn.example/unsafe-porn.png"
    );
}
