//! The IM gateway (real wasm in the runner): forged, stale, wrong-app and
//! valid webhooks; dispatch to a component; unknown commands answered OK.

use switchboard_tests::{Runner, config, fixture, now};
use tim::webhook::sign;

const TOKEN: &str = "test-callback-token";

fn url(runner: &Runner, app: &str, command: &str, signature: Option<(String, u64)>) -> String {
    let mut url = format!(
        "{}/im/webhook?SdkAppid={app}&CallbackCommand={command}&contenttype=json&ClientIP=1.2.3.4&OptPlatform=Web",
        runner.url
    );
    if let Some((sign, time)) = signature {
        url.push_str(&format!("&Sign={sign}&RequestTime={time}"));
    }
    url
}

fn signed(time: u64) -> Option<(String, u64)> {
    Some((sign(TOKEN, &time.to_string()), time))
}

async fn post(runner: &Runner, url: String, body: &serde_json::Value) -> (u16, serde_json::Value) {
    runner.send(runner.client.post(url).json(body)).await
}

async fn recorded(runner: &Runner) -> Option<serde_json::Value> {
    let (status, body) = runner.get("/probe/kv/last-webhook").await;
    (status == 200).then(|| serde_json::from_str(body["value"].as_str().unwrap()).unwrap())
}

fn after_send_body() -> serde_json::Value {
    serde_json::json!({
        "CallbackCommand": "Group.CallbackAfterSendMsg", "GroupId": "CASE#1", "From_Account": "alice",
        "MsgSeq": 7, "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}],
        "EventTime": "1670574414123"
    })
}

#[tokio::test]
async fn forged_stale_wrong_app_and_unsigned_calls_are_401_and_never_dispatched() {
    let runner = Runner::start(&config(fixture("gateway"), "gw-reject"))
        .await
        .unwrap();
    let body = after_send_body();
    let command = "Group.CallbackAfterSendMsg";
    let t = now();
    let cases = [
        (
            "forged",
            url(
                &runner,
                "1400000000",
                command,
                Some((sign("guessed-token", &t.to_string()), t)),
            ),
            "does not match",
        ),
        (
            "stale",
            url(&runner, "1400000000", command, signed(t - 120)),
            "away from now",
        ),
        (
            "future",
            url(&runner, "1400000000", command, signed(t + 120)),
            "away from now",
        ),
        (
            "wrong app",
            url(&runner, "1400000999", command, signed(t)),
            "another application",
        ),
        (
            "unsigned",
            url(&runner, "1400000000", command, None),
            "not signed",
        ),
        (
            "no app",
            format!("{}/im/webhook?CallbackCommand={command}", runner.url),
            "SdkAppid",
        ),
    ];
    for (label, url, reason) in cases {
        let (status, answer) = post(&runner, url, &body).await;
        assert_eq!(status, 401, "{label}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(reason),
            "{label}: {answer}"
        );
    }
    assert_eq!(
        recorded(&runner).await,
        None,
        "a rejected webhook reached the handler"
    );
    assert!(runner.logged("rejected IM webhook"));
}

#[tokio::test]
async fn a_valid_webhook_is_dispatched_and_the_handler_answers() {
    let runner = Runner::start(&config(fixture("gateway"), "gw-dispatch"))
        .await
        .unwrap();
    let body = after_send_body();
    let (status, answer) = post(
        &runner,
        url(
            &runner,
            "1400000000",
            "Group.CallbackAfterSendMsg",
            signed(now()),
        ),
        &body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["set"], "last-webhook",
        "the handler's own answer comes back: {answer}"
    );
    assert_eq!(recorded(&runner).await, Some(body));

    // Prefix entries dispatch too; the handler sees the path from the table.
    let (status, answer) = post(
        &runner,
        url(&runner, "1400000000", "Test.Anything", signed(now())),
        &serde_json::json!({"x": 1}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["path"], "/echo");
    assert_eq!(answer["method"], "POST");
    assert_eq!(answer["body"], r#"{"x":1}"#);
}

#[tokio::test]
async fn unknown_commands_are_answered_ok_without_dispatch() {
    let runner = Runner::start(&config(fixture("gateway"), "gw-unknown"))
        .await
        .unwrap();
    let (status, answer) = post(
        &runner,
        url(&runner, "1400000000", "State.StateChange", signed(now())),
        &serde_json::json!({"Info": {"Action": "Login", "To_Account": "u"}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        serde_json::json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0})
    );
    assert_eq!(recorded(&runner).await, None);
}

#[tokio::test]
async fn bad_bodies_and_methods_are_refused() {
    let runner = Runner::start(&config(fixture("gateway"), "gw-bad"))
        .await
        .unwrap();
    let (status, answer) = runner
        .send(
            runner
                .client
                .post(url(
                    &runner,
                    "1400000000",
                    "Group.CallbackAfterGroupFull",
                    signed(now()),
                ))
                .body("{not json"),
        )
        .await;
    // Unrouted: nobody will read it, so the gateway says what is wrong.
    assert_eq!(status, 400);
    assert_eq!(answer["field"], "body");
    assert_eq!(recorded(&runner).await, None);
    let (status, _) = runner.get("/im/webhook").await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn an_after_callback_with_several_owners_tells_each_and_names_the_one_that_failed() {
    let mut config = config(fixture("gateway"), "gw-fan-out");
    config
        .variables
        .add_command_line(
            "im_gateway_routes=Group.CallbackAfterSendMsg=im-handler/kv/last-webhook+no-such-component+im-handler/kv/second-webhook",
        )
        .unwrap();
    let runner = Runner::start(&config).await.unwrap();
    let body = after_send_body();
    let (status, answer) = post(
        &runner,
        url(
            &runner,
            "1400000000",
            "Group.CallbackAfterSendMsg",
            signed(now()),
        ),
        &body,
    )
    .await;
    // The owner after the failed one was still told.
    assert_eq!(recorded(&runner).await, Some(body.clone()));
    let (second, stored) = runner.get("/probe/kv/second-webhook").await;
    assert_eq!(second, 200, "{stored}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(stored["value"].as_str().unwrap()).unwrap(),
        body
    );
    // IM hears of the failure, named.
    assert_eq!(status, 502, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("no-such-component"),
        "{answer}"
    );
}
