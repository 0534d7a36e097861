//! The IM emulator through the real `tim` REST client: authentication,
//! state, error codes, and webhooks honoured the way IM honours them.

use im_emulator::{EmulatorConfig, ImEmulator};
use serde_json::json;
use std::time::Duration;
use switchboard_tests::{CallbackServer, ReqwestTransport, now};
use tim::rest::{
    Client, CreateGroup, ImConfig, ImError, MemberAccount, Outcome, RetryPolicy, SendGroupMsg,
    SendMsg,
};
use tim::usersig::Signer;

async fn emulator() -> ImEmulator {
    ImEmulator::start(EmulatorConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn client(im: &ImEmulator, key: &str) -> Client<ReqwestTransport> {
    Client::new(
        ReqwestTransport(reqwest::Client::new()),
        ImConfig {
            base_url: im.url(),
            admin: "administrator".into(),
            signer: Signer::new(1400000000, key),
            timeout: tim::rest::DEFAULT_TIMEOUT,
            retry: RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            },
        },
    )
}

/// A REST call with a hand-made UserSig and raw body, bypassing the client.
async fn raw_call(im: &ImEmulator, command: &str, usersig: &str, body: &str) -> serde_json::Value {
    let url = format!(
        "{}/v4/{command}?sdkappid=1400000000&identifier=administrator&usersig={usersig}&random=1&contenttype=json",
        im.url()
    );
    reqwest::Client::new()
        .post(url)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn group(id: &str, members: &[&str]) -> CreateGroup {
    CreateGroup {
        group_type: "Public".into(),
        name: "Support".into(),
        group_id: Some(id.into()),
        members: members
            .iter()
            .map(|m| MemberAccount {
                account: m.to_string(),
            })
            .collect(),
        ..Default::default()
    }
}

fn text(t: &str) -> Vec<tim::message::MsgElement> {
    vec![tim::message::MsgElement::text(t)]
}

#[tokio::test]
async fn admin_usersig_is_checked_with_the_real_algorithm() {
    let im = emulator().await;
    let wrong = client(&im, "not-the-key");
    assert_eq!(
        wrong.destroy_group("G").await.unwrap_err().code(),
        Some(70009)
    );

    // An expired UserSig, built by hand.
    let signer = Signer::new(1400000000, &EmulatorConfig::default().secret_key);
    let expired = signer.generate("administrator", 1_000, 60);
    let answer = raw_call(&im, "group_open_http_svc/destroy_group", &expired, "{}").await;
    assert_eq!(answer["ErrorCode"], 70001);
    assert!(im.state().calls.iter().all(|(_, code)| *code != 0));
}

#[tokio::test]
async fn groups_members_and_idempotent_helpers() {
    let im = emulator().await;
    let c = client(&im, &EmulatorConfig::default().secret_key);
    // Unknown accounts are refused with IM's code.
    assert_eq!(
        c.create_group(&group("CASE#1", &["alice"]))
            .await
            .unwrap_err()
            .code(),
        Some(10019)
    );
    c.account_import("alice", None).await.unwrap();
    c.account_import("agent-7", Some("Agent Seven"))
        .await
        .unwrap();
    assert_eq!(
        c.ensure_group(&group("CASE#1", &["alice"])).await,
        Ok(Outcome::Done)
    );
    assert_eq!(
        c.ensure_group(&group("CASE#1", &["alice"])).await,
        Ok(Outcome::AlreadyDone)
    );
    assert_eq!(
        c.ensure_member("CASE#1", "agent-7").await,
        Ok(Outcome::Done)
    );
    assert_eq!(
        c.ensure_member("CASE#1", "agent-7").await,
        Ok(Outcome::AlreadyDone)
    );
    assert_eq!(im.state().groups["CASE#1"].members, ["alice", "agent-7"]);

    let info = c
        .get_group_info(&["CASE#1".into(), "NOPE".into()])
        .await
        .unwrap();
    assert_eq!((info[0].error_code, info[0].member_num), (0, Some(2)));
    assert_eq!(info[1].error_code, 10010);

    c.delete_group_member("CASE#1", &["agent-7".into(), "nobody".into()], false)
        .await
        .unwrap();
    assert_eq!(im.state().groups["CASE#1"].members, ["alice"]);
    c.send_group_system_notification("CASE#1", "We're assigning an agent", &[])
        .await
        .unwrap();
    assert_eq!(
        im.state().groups["CASE#1"].notifications[0].1,
        "We're assigning an agent"
    );

    assert_eq!(c.dissolve_group("CASE#1").await, Ok(Outcome::Done));
    assert_eq!(c.dissolve_group("CASE#1").await, Ok(Outcome::AlreadyDone));
    assert_eq!(
        c.destroy_group("CASE#1").await.unwrap_err().code(),
        Some(10010)
    );
    let state = im.state();
    assert!(state.groups.is_empty());
    assert_eq!(state.destroyed_groups, ["CASE#1"]);
}

#[tokio::test]
async fn bad_requests_get_ims_codes() {
    let im = emulator().await;
    let c = client(&im, &EmulatorConfig::default().secret_key);
    assert_eq!(
        c.add_group_member("G-missing", &["administrator".into()], false)
            .await
            .unwrap_err()
            .code(),
        Some(10010)
    );
    let send = SendMsg {
        to: "ghost".into(),
        random: 1,
        body: text("hi"),
        ..Default::default()
    };
    assert_eq!(c.send_msg(&send).await.unwrap_err().code(), Some(90012));
    // Raw JSON errors.
    let sig = Signer::new(1400000000, &EmulatorConfig::default().secret_key).generate(
        "administrator",
        now(),
        600,
    );
    let answer = raw_call(&im, "openim/sendmsg", &sig, "{oops").await;
    assert_eq!(answer["ErrorCode"], 90001);
    assert!(matches!(
        c.create_robot("robot-1", None).await,
        Err(ImError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn before_send_answers_are_honoured_and_robots_get_bot_webhooks() {
    let im = emulator().await;
    let hook = CallbackServer::start(|command, body| {
        let text = body["MsgBody"][0]["MsgContent"]["Text"]
            .as_str()
            .unwrap_or("");
        match (command, text) {
            (_, "reject me") => json!({"ActionStatus": "OK", "ErrorCode": 1, "ErrorInfo": "no"}),
            (_, "custom") => {
                json!({"ActionStatus": "OK", "ErrorCode": 10150, "ErrorInfo": "blocked word"})
            }
            (_, "drop me") => json!({"ActionStatus": "OK", "ErrorCode": 2, "ErrorInfo": ""}),
            ("Group.CallbackBeforeSendMsg", "mask me") => {
                json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "",
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "m*** me"}}]})
            }
            _ => json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}),
        }
    })
    .await;
    im.set_callback(Some(hook.url.clone()), Some("tok".into()));
    let c = client(&im, &EmulatorConfig::default().secret_key);
    c.account_import("alice", None).await.unwrap();
    c.create_robot("@RBT#helper", Some("Helper")).await.unwrap();
    c.ensure_group(&group("ROOM", &["alice", "@RBT#helper"]))
        .await
        .unwrap();

    let body = |t: &str| json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}]);
    assert_eq!(
        im.user_send_group("alice", "ROOM", body("reject me"), vec![])
            .await["ErrorCode"],
        10016
    );
    assert_eq!(
        im.user_send_group("alice", "ROOM", body("custom"), vec![])
            .await["ErrorCode"],
        10150
    );
    assert_eq!(
        im.user_send_group("alice", "ROOM", body("drop me"), vec![])
            .await["ErrorCode"],
        0
    );
    assert_eq!(
        im.user_send_group("alice", "ROOM", body("mask me"), vec![])
            .await["ErrorCode"],
        0
    );
    assert_eq!(
        im.user_send_group("alice", "ROOM", body("hi @@RBT#helper"), vec![])
            .await["ErrorCode"],
        0
    );
    assert_eq!(
        im.user_send_c2c("alice", "@RBT#helper", body("reject me"))
            .await["ErrorCode"],
        20006
    );
    assert_eq!(
        im.user_send_c2c("alice", "@RBT#helper", body("question"))
            .await["ErrorCode"],
        0
    );

    // What IM delivered: neither rejected nor dropped messages; the masked copy.
    let texts = im.state().group_texts("ROOM");
    assert_eq!(
        texts,
        [
            ("alice".to_string(), "m*** me".to_string()),
            ("alice".to_string(), "hi @@RBT#helper".to_string())
        ]
    );
    // Robots get their webhooks (after delivery, asynchronously).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let state = im.state();
        let group_bot = state.deliveries_of("Bot.OnGroupMessage");
        let c2c_bot = state.deliveries_of("Bot.OnC2CMessage");
        if !group_bot.is_empty() && !c2c_bot.is_empty() {
            assert_eq!(
                group_bot[0].body["AtRobots_Account"],
                json!(["@RBT#helper"])
            );
            assert_eq!(c2c_bot.len(), 1, "the rejected message reached the robot");
            assert_eq!(
                c2c_bot[0].body["MsgBody"][0]["MsgContent"]["Text"],
                "question"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "bot webhooks never came"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Every webhook was signed.
    for (query, _) in hook.received.lock().unwrap().iter() {
        assert!(
            query.contains("Sign=")
                && query.contains("RequestTime=")
                && query.contains("SdkAppid=1400000000"),
            "{query}"
        );
    }
    // A REST send with ForbidCallbackControl triggers no send callbacks.
    let before = hook.received.lock().unwrap().len();
    let send = SendGroupMsg {
        group_id: "ROOM".into(),
        random: 7,
        body: text("from the bot"),
        from: Some("@RBT#helper".into()),
        forbid_callback_control: tim::rest::FORBID_SEND_CALLBACKS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..Default::default()
    };
    let sent = c.send_group_msg(&send).await.unwrap();
    assert_eq!(sent.msg_seq, 3);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hook.received.lock().unwrap().len(), before);
    // Recall.
    let recalled = c.group_msg_recall("ROOM", &[3, 99]).await.unwrap();
    assert_eq!((recalled[0].ret_code, recalled[1].ret_code), (0, 10030));
    assert_eq!(im.state().group_texts("ROOM").len(), 2);
}
