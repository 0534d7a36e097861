//! The shipped `spin.toml` as `switchboard up` runs it: with the built-in IM
//! emulator as the default backend.

use switchboard::emulators::Backends;
use switchboard_tests::{Runner, Stack};

async fn start(label: &str) -> (Runner, Backends) {
    let Stack {
        runner, backends, ..
    } = Stack::start(label, &["application_name=acme-support"]).await;
    (runner, backends)
}

#[tokio::test]
async fn health_answers_with_the_configured_application_name() {
    let (runner, _backends) = start("shipped-health").await;
    let (status, body) = runner.get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["application"], "acme-support");
    let (status, body) = runner
        .send(runner.client.post(format!("{}/health", runner.url)))
        .await;
    assert_eq!(status, 405);
    assert!(body["error"].as_str().unwrap().contains("GET"));
}

#[tokio::test]
async fn without_credentials_the_im_emulator_is_the_backend_and_its_signed_webhooks_pass_the_gateway()
 {
    let (_runner, backends) = start("shipped-emulator").await;
    let im = backends
        .im
        .as_ref()
        .expect("the IM emulator starts when no IM credentials are set");
    // The demo accounts exist from the start.
    let text = serde_json::json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello bob"}}]);
    let answer = im.user_send_c2c("alice", "bob", text.clone()).await;
    assert_eq!(answer["ErrorCode"], 0, "{answer}");

    let state = im.state();
    let before = state.deliveries_of("C2C.CallbackBeforeSendMsg");
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].status, Some(200), "{:?}", before[0]);
    assert_eq!(before[0].answer.as_ref().unwrap()["ErrorCode"], 0);
    assert_eq!(state.c2c.len(), 1);
    assert_eq!(state.c2c[0].body, text);
}

#[tokio::test]
async fn a_webhook_signed_with_another_token_is_refused_by_the_gateway() {
    let (runner, backends) = start("shipped-wrong-token").await;
    let im = backends.im.as_ref().unwrap();
    im.set_callback(
        Some(format!("{}/im/webhook", runner.url)),
        Some("not-the-token".into()),
    );
    im.import_account("alice");
    im.import_account("bob");
    let text = serde_json::json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]);
    im.user_send_c2c("alice", "bob", text).await;
    let state = im.state();
    let before = state.deliveries_of("C2C.CallbackBeforeSendMsg");
    assert_eq!(before[0].status, Some(401));
    assert!(
        before[0].answer.as_ref().unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("does not match")
    );
    // IM's default when a before-callback fails is to deliver.
    assert_eq!(state.c2c.len(), 1);
}
