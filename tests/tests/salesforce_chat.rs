//! The Case chat component's routes (issue 14) as the shipped Apex calls
//! them: signed through the Named Credential, naming the running user and
//! the Case's owner as Salesforce read them. What an agent of the Case may
//! do, what others may, and what a forger, a flood, bad input or a failing
//! IM get.

use serde_json::{Value, json};
use switchboard::emulators::EMULATOR_SALESFORCE_INBOUND_SECRET;
use switchboard_tests::{Stack, fresh_nonce, now};

const AGENT_A: &str = "005EMU000000000001";
const AGENT_B: &str = "005EMU000000000002";
const QUEUE: &str = "00GEMU000000000001";
const CUSTOMER_TEXT: &str = "The parcel never arrived.";
const PHOTO: &str = "https://example.my.salesforce.com/profilephoto/005/T";

/// A Case alice opened from chat, owned by `QUEUE`, with a message of hers.
struct Case {
    stack: Stack,
    id: String,
    group: String,
}

/// Who calls: a Salesforce user, as Apex describes the running user.
#[derive(Clone, Copy)]
struct User {
    id: &'static str,
    name: &'static str,
}

const ADA: User = User {
    id: AGENT_A,
    name: "Ada Agent",
};
const BO: User = User {
    id: AGENT_B,
    name: "Bo Bystander",
};

impl Case {
    async fn open(label: &str, variables: &[&str]) -> Self {
        let stack = Stack::start(label, variables).await;
        let body = stack
            .customer_opens_and_writes("/salesforce/requests", &format!("{label}-1"), CUSTOMER_TEXT)
            .await;
        let id = body["case_id"].as_str().unwrap().to_string();
        let group = body["group_id"].as_str().unwrap().to_string();
        Self { stack, id, group }
    }

    /// Apex's call of `route` for `user`, with the Case owned by `owner`.
    fn body(&self, user: User, owner: &str, extra: Value) -> Value {
        let mut body = json!({
            "user_id": user.id, "user_name": user.name, "user_photo_url": PHOTO,
            "case_id": self.id, "case_owner_id": owner,
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    }

    async fn apex(&self, route: &str, body: &Value) -> (u16, Value) {
        self.stack
            .runner
            .post_as_apex(
                &format!("chat/{route}"),
                &body.to_string(),
                EMULATOR_SALESFORCE_INBOUND_SECRET,
                now(),
                &fresh_nonce(),
            )
            .await
    }

    async fn call(&self, route: &str, user: User, owner: &str, extra: Value) -> (u16, Value) {
        self.apex(route, &self.body(user, owner, extra)).await
    }

    async fn send(&self, user: User, owner: &str, text: &str, client_id: &str) -> (u16, Value) {
        self.call(
            "send",
            user,
            owner,
            json!({ "text": text, "client_id": client_id }),
        )
        .await
    }

    async fn events(&self, events: Value) {
        let body = json!({ "events": events }).to_string();
        let (status, answer) = self
            .stack
            .runner
            .post_as_apex(
                "events",
                &body,
                EMULATOR_SALESFORCE_INBOUND_SECRET,
                now(),
                &fresh_nonce(),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }

    fn sent_by(&self, account: &str) -> Vec<String> {
        self.stack
            .im()
            .state()
            .group_texts(&self.group)
            .into_iter()
            .filter(|(from, _)| from == account)
            .map(|(_, text)| text)
            .collect()
    }

    fn message_count(&self) -> usize {
        self.stack.im().state().group_texts(&self.group).len()
    }
}

fn account(user: User) -> String {
    format!("sf-{}", user.id)
}

#[tokio::test]
async fn the_owner_reads_the_chat_and_answers_as_themselves() {
    let c = Case::open("sfchat-owner", &[]).await;
    let record = c.stack.salesforce().state().cases[&c.id].fields.clone();
    let (status, joined) = c.call("join", ADA, AGENT_A, json!({})).await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(
        (
            joined["assigned"].as_bool(),
            joined["can_send"].as_bool(),
            joined["you"].as_str(),
            joined["you_name"].as_str(),
        ),
        (
            Some(true),
            Some(true),
            Some(account(ADA).as_str()),
            Some("Ada Agent")
        )
    );
    let members: Vec<(&str, &str)> = joined["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["account"].as_str().unwrap(),
                m["speaker"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(members.contains(&("alice", "customer")), "{joined}");
    assert!(
        joined["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["speaker"] == "you" && m["name"] == "Ada Agent"),
        "{joined}"
    );
    let im = c.stack.im().state();
    assert_eq!(
        im.nicks.get(&account(ADA)).map(String::as_str),
        Some("Ada Agent")
    );
    assert_eq!(im.faces.get(&account(ADA)).map(String::as_str), Some(PHOTO));
    assert!(im.groups[&c.group].members.contains(&account(ADA)));
    assert_eq!(
        c.stack.salesforce().state().cases[&c.id].fields,
        record,
        "the chat never writes the Case"
    );

    let (status, history) = c.call("history", ADA, AGENT_A, json!({})).await;
    assert_eq!(status, 200, "{history}");
    let lines = history["lines"].as_array().unwrap();
    let customer = lines
        .iter()
        .find(|l| l["speaker"] == "customer")
        .expect("alice's message");
    assert_eq!(
        (
            customer["from"].as_str(),
            customer["parts"][0]["text"].as_str()
        ),
        (Some("alice"), Some(CUSTOMER_TEXT))
    );
    let newest = lines.iter().map(|l| l["seq"].as_u64().unwrap()).max();

    let (status, sent) = c
        .send(ADA, AGENT_A, "A new parcel is on its way.", "sfchat-000001")
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(
        (
            sent["line"]["speaker"].as_str(),
            sent["line"]["name"].as_str()
        ),
        (Some("you"), Some("Ada Agent"))
    );
    assert_eq!(c.sent_by(&account(ADA)), ["A new parcel is on its way."]);

    let (_, since) = c
        .call("history", ADA, AGENT_A, json!({ "after": newest }))
        .await;
    let new: Vec<&str> = since["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["parts"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(new, ["A new parcel is on its way."], "{since}");
}

#[tokio::test]
async fn an_omni_channel_agent_sends_and_a_bystander_only_reads() {
    let c = Case::open("sfchat-omni", &[]).await;
    // Bo can see the queue's Case, but does not work it.
    let (status, joined) = c.call("join", BO, QUEUE, json!({})).await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(
        (joined["assigned"].as_bool(), joined["can_send"].as_bool()),
        (Some(false), Some(false))
    );
    assert!(
        !c.stack.members(&c.group).unwrap().contains(&account(BO)),
        "looking does not join"
    );
    let (status, history) = c.call("history", BO, QUEUE, json!({})).await;
    assert_eq!(
        (status, history["can_send"].as_bool()),
        (200, Some(false)),
        "{history}"
    );
    let (status, refused) = c.send(BO, QUEUE, "Let me butt in.", "bo-00000001").await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("is not yours"),
        "{refused}"
    );
    // A browser cannot make Bo the owner: Apex reads the owner. But Ada,
    // whom Omni-Channel routed the queue's Case to, may send.
    c.events(json!([{"type": "agent_assigned", "case_id": c.id, "user_id": AGENT_A}]))
        .await;
    let (status, sent) = c.send(ADA, QUEUE, "I have it.", "ada-00000001").await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(c.sent_by(&account(ADA)), ["I have it."]);
    assert!(c.sent_by(&account(BO)).is_empty());
}

#[tokio::test]
async fn with_unassigned_none_bystanders_see_nothing() {
    let c = Case::open("sfchat-none", &["salesforce_chat_unassigned=none"]).await;
    for route in ["join", "history"] {
        let (status, answer) = c.call(route, BO, QUEUE, json!({})).await;
        assert_eq!(status, 403, "{route}: {answer}");
    }
    let (status, _) = c.call("history", ADA, AGENT_A, json!({})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn forged_replayed_and_malformed_calls_send_nothing() {
    let c = Case::open("sfchat-forged", &[]).await;
    let before = c.message_count();
    let body = c
        .body(
            ADA,
            AGENT_A,
            json!({ "text": "forged", "client_id": "forged-000001" }),
        )
        .to_string();
    let (status, _) = c
        .stack
        .runner
        .post_as_apex("chat/send", &body, "guessed-secret", now(), &fresh_nonce())
        .await;
    assert_eq!(status, 401);
    let (status, _) = c
        .stack
        .runner
        .post_as_apex(
            "chat/send",
            &body,
            EMULATOR_SALESFORCE_INBOUND_SECRET,
            now() - 3600,
            &fresh_nonce(),
        )
        .await;
    assert_eq!(status, 401, "a stale call");
    let unsigned = c
        .stack
        .runner
        .send(
            c.stack
                .runner
                .client
                .post(format!("{}/salesforce/chat/send", c.stack.runner.url))
                .body(body.clone()),
        )
        .await;
    assert_eq!(unsigned.0, 401);
    assert_eq!(c.message_count(), before);

    // A genuine call, then its very bytes again.
    let (ts, nonce) = (now(), fresh_nonce());
    let call = || {
        c.stack.runner.post_as_apex(
            "chat/send",
            &body,
            EMULATOR_SALESFORCE_INBOUND_SECRET,
            ts,
            &nonce,
        )
    };
    assert_eq!(call().await.0, 200);
    let (status, answer) = call().await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(c.sent_by(&account(ADA)), ["forged"], "sent once");

    let before = c.message_count();
    let too_long = "x".repeat(connector::agent_chat::MAX_AGENT_TEXT_BYTES + 1);
    let send = |extra: Value| c.body(ADA, AGENT_A, extra);
    let with = |field: &str, value: Value| {
        let mut body = send(json!({ "text": "hi", "client_id": "input-0000001" }));
        body[field] = value;
        body
    };
    let cases = [
        (
            with("user_id", json!("00GEMU000000000001")),
            400,
            Some("user_id"),
        ),
        (
            with("case_id", json!("001EMU000000000001")),
            400,
            Some("case_id"),
        ),
        (
            with("case_owner_id", json!("not-an-id")),
            400,
            Some("case_owner_id"),
        ),
        (with("user_name", json!("")), 400, Some("user_name")),
        (
            with("user_name", json!("n".repeat(122))),
            400,
            Some("user_name"),
        ),
        (
            with("user_photo_url", json!("http://example.com/p.png")),
            400,
            Some("user_photo_url"),
        ),
        (with("text", json!("   ")), 400, Some("text")),
        (with("text", json!(too_long)), 400, Some("text")),
        (with("client_id", json!("short")), 400, Some("client_id")),
        (with("case_id", json!("500EMU999999999999")), 404, None),
        (json!(["not", "an", "object"]), 400, Some("body")),
    ];
    for (body, expected, field) in cases {
        let (status, answer) = c.apex("send", &body).await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert_eq!(answer["field"].as_str(), field, "{answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let (status, answer) = c
        .call("history", ADA, AGENT_A, json!({ "before": "yesterday" }))
        .await;
    assert_eq!((status, answer["field"].as_str()), (400, Some("before")));
    assert_eq!(c.message_count(), before, "nothing was sent");
}

#[tokio::test]
async fn retried_and_raced_sends_go_out_once_and_a_flood_is_limited() {
    let c = Case::open("sfchat-dupe", &[]).await;
    let (status, first) = c.send(ADA, AGENT_A, "Once only.", "retry-00000001").await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = c.send(ADA, AGENT_A, "Once only.", "retry-00000001").await;
    assert_eq!((status, again["duplicate"].as_bool()), (200, Some(true)));
    let races = (0..6).map(|_| c.send(ADA, AGENT_A, "Raced.", "race-000000001"));
    let answers = futures::future::join_all(races).await;
    assert_eq!(
        answers.iter().filter(|(_, a)| a["sent"] == true).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(c.sent_by(&account(ADA)), ["Once only.", "Raced."]);

    let before = c.message_count();
    let c = &c;
    let accepted = switchboard_tests::flood(45, move |n| async move {
        c.send(
            ADA,
            AGENT_A,
            &format!("flood {n}"),
            &format!("flood-{n:08}"),
        )
        .await
    })
    .await;
    // 20 a minute, and a burst may straddle two minutes.
    assert!(accepted <= 40, "{accepted} accepted");
    assert_eq!(c.message_count(), before + accepted);
}

#[tokio::test]
async fn a_failing_im_sends_nothing_and_the_message_can_be_retried() {
    let c = Case::open("sfchat-upstream", &[]).await;
    let (status, _) = c.call("join", ADA, AGENT_A, json!({})).await;
    assert_eq!(status, 200);
    // Refused by IM (not a retried 5xx-like failure).
    c.stack.im().fail_next(10004);
    let (status, answer) = c
        .send(ADA, AGENT_A, "After the outage.", "outage-0000001")
        .await;
    assert!(
        matches!(status, 502 | 422),
        "a failed send is not a success: {status} {answer}"
    );
    assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(c.sent_by(&account(ADA)).is_empty());
    let (status, answer) = c
        .send(ADA, AGENT_A, "After the outage.", "outage-0000001")
        .await;
    assert_eq!(
        (status, answer["sent"].as_bool()),
        (200, Some(true)),
        "{answer}"
    );
    assert_eq!(c.sent_by(&account(ADA)), ["After the outage."]);
}

#[tokio::test]
async fn a_closed_cases_chat_reads_as_ended_and_takes_no_message() {
    let c = Case::open(
        "sfchat-closed",
        &["salesforce_close_action=notify_then_dissolve"],
    )
    .await;
    c.events(json!([{"type": "case_closed", "case_id": c.id}]))
        .await;
    let (status, joined) = c.call("join", ADA, AGENT_A, json!({})).await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(
        (joined["dissolved"].as_bool(), joined["can_send"].as_bool()),
        (Some(true), Some(false))
    );
    let (status, answer) = c.send(ADA, AGENT_A, "Hello?", "closed-0000001").await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("has ended"));
}

/// A person at the controls: the component's own source compiled with LWC's
/// open-source compiler and run in Chromium against the running bridge (base
/// components and Apex stood in for, see tests/node/salesforce-case-chat.mjs):
/// the owner answers from the Case page; another user, from the utility bar,
/// reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_the_owner_answers_from_the_case_chat_component() {
    let c = Case::open("sfchat-browser", &[]).await;
    let screenshots = switchboard_tests::root().join("target/screenshots");
    let answer_text = "Alice, a new parcel left today.";
    let input = json!({
        "bridge_url": c.stack.runner.url,
        "secret": EMULATOR_SALESFORCE_INBOUND_SECRET,
        "case_id": c.id,
        "case_owner_id": AGENT_A,
        "assignee": { "id": ADA.id, "name": ADA.name },
        "other": { "id": BO.id, "name": BO.name },
        "customer_text": CUSTOMER_TEXT,
        "answer_text": answer_text,
        "screenshots": screenshots,
    })
    .to_string();
    let seen = tokio::task::spawn_blocking(move || {
        switchboard_tests::node::run("salesforce-case-chat.mjs", &[], &input)
    })
    .await
    .unwrap();
    assert!(seen["failure"].is_null(), "{seen:#}");
    assert_eq!(seen["problems"], json!([]), "{seen:#}");

    let owner = &seen["assignee"];
    assert_eq!(owner["compose_visible"], true, "{seen:#}");
    assert_eq!(
        owner["status"],
        "You are in the chat with the customer as Ada Agent."
    );
    let lines = owner["lines"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["speaker"] == "customer" && l["text"] == CUSTOMER_TEXT),
        "{seen:#}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["speaker"] == "you" && l["name"] == "Ada Agent" && l["text"] == answer_text)
    );
    assert_eq!(c.sent_by(&account(ADA)), [answer_text]);
    assert_eq!(
        c.stack
            .im()
            .state()
            .nicks
            .get(&account(ADA))
            .map(String::as_str),
        Some("Ada Agent")
    );

    let other = &seen["other"];
    assert_eq!(other["compose_visible"], false, "{seen:#}");
    assert!(
        other["status"]
            .as_str()
            .unwrap()
            .starts_with("Read-only: this Case is not yours"),
        "{seen:#}"
    );
    assert!(
        other["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["speaker"] == "agent" && l["name"] == "Ada Agent"),
        "{seen:#}"
    );
    assert!(c.sent_by(&account(BO)).is_empty());
    assert!(screenshots.join("salesforce-case-chat-owner.png").is_file());
}
