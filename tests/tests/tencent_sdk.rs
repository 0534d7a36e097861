//! Tencent Cloud's official Node SDK (`tencentcloud-sdk-nodejs-tms`, `-ims`,
//! from npm, pinned in `tests/node/package-lock.json`) is the reference for
//! our TC3-HMAC-SHA256 signer and for the TMS / IMS emulator: the SDK's own
//! signer must produce our signatures for the same requests, and the SDK's
//! clients must be answered by the emulator as Tencent Cloud would,
//! including a refusal of a forged signature.
//!
//! `tests/node/node_modules` is installed with `npm ci` on first use.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use tencent_cloud::tc3::{self, Credential, Signable};

fn node_dir() -> PathBuf {
    switchboard_tests::root().join("tests/node")
}

/// Installs the SDKs once per test binary (`npm ci`: exactly the lock).
fn installed() -> PathBuf {
    static INSTALL: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let dir = node_dir();
    INSTALL.get_or_init(|| {
        if dir
            .join("node_modules/tencentcloud-sdk-nodejs-tms")
            .is_dir()
        {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .status()
            .expect(
                "npm is needed to install Tencent Cloud's Node SDK (Debian: apt-get install npm)",
            );
        assert!(status.success(), "npm ci --prefix tests/node failed");
    });
    dir
}

/// Runs `tencent-sdk.cjs` with `args`, `stdin` as its input, and parses
/// what it prints.
fn node(args: &[&str], stdin: &str) -> Value {
    use std::io::Write;
    let dir = installed();
    let mut child = Command::new("node")
        .arg(dir.join("tencent-sdk.cjs"))
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node is needed (Debian: apt-get install nodejs)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "node tencent-sdk.cjs {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
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
    let calls: Vec<_> = emulator
        .recorded()
        .into_iter()
        .filter(|r| r.api == Api::TencentModeration)
        .collect();
    assert_eq!(calls.len(), 5, "every SDK call reached the emulator");
    assert_eq!(
        calls[3].body["FileUrl"],
        "https://cdn.example/unsafe-porn.png"
    );
}
