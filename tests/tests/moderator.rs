//! The moderator (real wasm) behind the IM gateway: end users send through
//! the IM emulator, which runs the signed before-send callback and applies
//! the answer; what IM delivered is read back from the emulator's state.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard::emulators::EMULATOR_MODERATION_ADMIN_TOKEN;
use switchboard_tests::Stack;

const GROUP: &str = "mod-room";

async fn stack(label: &str, variables: &[&str]) -> Stack {
    let stack = Stack::start(label, variables).await;
    let im = stack.im();
    let created = im
        .user_create_group("alice", Some(GROUP), "Moderated room", "Public")
        .await;
    assert_eq!(created["ErrorCode"], 0, "{created}");
    assert!(im.join_group(GROUP, &["bob"]));
    stack
}

fn text(text: &str) -> Value {
    json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}])
}

fn image(url: &str) -> Value {
    json!([{"MsgType": "TIMImageElem", "MsgContent": {"UUID": "img-1", "ImageFormat": 3,
        "ImageInfoArray": [{"Type": 1, "Size": 1000, "Width": 10, "Height": 10, "URL": url}]}}])
}

async fn say(stack: &Stack, body: Value) -> Value {
    stack.im().user_send_group("bob", GROUP, body, vec![]).await
}

fn delivered(stack: &Stack) -> Vec<String> {
    stack
        .im()
        .state()
        .group_texts(GROUP)
        .into_iter()
        .filter(|(from, _)| from == "bob")
        .map(|(_, text)| text)
        .collect()
}

/// Polls `check` for up to 5 s (after-send work runs after the answer).
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn allow_mask_drop_and_reject_reach_im_as_the_right_outcome() {
    let stack = stack("moderator-outcomes", &[]).await;

    let answer = say(&stack, text("Hello, my order has not arrived")).await;
    assert_eq!(answer["ErrorCode"], 0, "{answer}");

    for evasion in [
        "what the f.u.c.k",
        "what the ＦＵＣＫ",
        "what the f\u{200B}u\u{200D}ck",
    ] {
        let answer = say(&stack, text(evasion)).await;
        assert_eq!(answer["ErrorCode"], 0, "{evasion}: {answer}");
    }

    let answer = say(&stack, text("操你妈")).await;
    assert_eq!(
        answer["ErrorCode"], 10016,
        "rejected, sender told: {answer}"
    );

    let answer = say(&stack, text("低价代开发票，联系我")).await;
    assert_eq!(answer["ErrorCode"], 0, "dropped silently: {answer}");

    assert_eq!(
        delivered(&stack),
        [
            "Hello, my order has not arrived",
            "what the *******",
            "what the ****",
            "what the ******",
        ],
        "clean delivered as is, evasions masked, reject and drop not delivered"
    );

    // One JSON line per non-allow decision, ids only: no raw text.
    assert!(stack.runner.logged(r#""moderation":"mask""#));
    assert!(stack.runner.logged(r#""moderation":"reject""#));
    assert!(stack.runner.logged(r#""moderation":"drop""#));
    assert!(stack.runner.logged(r#""category":"spam""#));
    assert!(
        !stack.runner.logged("代开发票"),
        "raw text is not logged by default"
    );
    assert!(!stack.runner.logged("操你妈"));
}

#[tokio::test]
async fn one_to_one_messages_are_moderated_too() {
    let stack = Stack::start("moderator-c2c", &[]).await;
    let im = stack.im();
    let answer = im
        .user_send_c2c("alice", "bob", text("you are a 傻@逼"))
        .await;
    assert_eq!(answer["ErrorCode"], 0, "{answer}");
    let answer = im
        .user_send_c2c("alice", "bob", text("go kill yourself"))
        .await;
    assert_eq!(answer["ErrorCode"], 20006, "one-to-one refusal: {answer}");
    let texts: Vec<String> = im
        .state()
        .c2c
        .iter()
        .map(|m| im_emulator::text_of(&m.body))
        .collect();
    assert_eq!(texts, ["you are a ***"]);
}

#[tokio::test]
async fn policy_overrides_actions_and_sets_custom_codes() {
    let policy = r#"moderator_policy={"rules": [{"category": "profanity", "action": "reject"}, {"category": "spam", "action": "allow"}],
        "reject": {"group_code": 10150, "info": "Please keep it civil."}, "custom_elems": true, "log_text": true}"#;
    let stack = stack("moderator-policy", &[policy]).await;

    let answer = say(&stack, text("oh shit")).await;
    assert_eq!(answer["ErrorCode"], 10150, "{answer}");
    assert_eq!(answer["ErrorInfo"], "Please keep it civil.");

    let answer = say(&stack, text("代开发票")).await;
    assert_eq!(answer["ErrorCode"], 0);

    let custom = json!([{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "{\"note\":\"傻逼\"}", "Desc": "ok"}}]);
    let answer = say(&stack, custom).await;
    assert_eq!(answer["ErrorCode"], 0);
    let state = stack.im().state();
    let messages = &state.groups[GROUP].messages;
    let bodies: Vec<&Value> = messages.iter().map(|m| &m.body).collect();
    assert_eq!(
        im_emulator::text_of(bodies[0]),
        "代开发票",
        "spam allowed by policy"
    );
    assert_eq!(
        bodies[1][0]["MsgContent"]["Data"], "{\"note\":\"**\"}",
        "custom element data masked"
    );
    assert!(
        stack.runner.logged(r#""text":"shit""#),
        "log_text puts the match in the log"
    );
}

#[tokio::test]
async fn group_names_are_screened_on_creation() {
    let stack = Stack::start("moderator-group-names", &[]).await;
    let im = stack.im();
    let refused = im
        .user_create_group("alice", Some("bad-name"), "傻逼俱乐部", "Public")
        .await;
    assert_eq!(refused["ErrorCode"], 10016, "{refused}");
    let created = im
        .user_create_group("alice", Some("good-name"), "Book club", "Public")
        .await;
    assert_eq!(created["ErrorCode"], 0, "{created}");
    let state = im.state();
    assert!(!state.groups.contains_key("bad-name"));
    assert!(state.groups.contains_key("good-name"));
}

/// An authenticated call to the admin API.
async fn admin(stack: &Stack, method: reqwest::Method, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}/moderation/overlay", stack.runner.url))
        .bearer_auth(EMULATOR_MODERATION_ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    stack.runner.send(request).await
}

#[tokio::test]
async fn the_admin_overlay_takes_effect_without_a_redeploy() {
    use reqwest::Method;
    let stack = stack("moderator-overlay", &[]).await;
    let url = format!("{}/moderation/overlay", stack.runner.url);
    let client = reqwest::Client::new();
    let overlay = json!({"terms": [{"text": "blorp", "category": "custom", "action": "reject", "severity": 3}],
                         "allow": ["grasshopper"]});

    // Not authenticated, or the wrong token: refused, nothing stored.
    let (status, body) = stack.runner.send(client.put(&url).json(&overlay)).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = stack
        .runner
        .send(client.put(&url).bearer_auth("guess").json(&overlay))
        .await;
    assert_eq!(status, 401);
    let answer = say(&stack, text("blorp")).await;
    assert_eq!(answer["ErrorCode"], 0, "no overlay yet: delivered");

    // A bad body names the field and changes nothing.
    let bad = json!({"terms": [{"text": "x", "category": "has space"}]});
    let (status, body) = admin(&stack, Method::PUT, Some(bad)).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("terms[0].category")),
        "{body}"
    );
    let (_, body) = admin(&stack, Method::GET, None).await;
    assert_eq!(body["counts"], json!({"terms": 0, "allow": 0}));

    let (status, body) = admin(&stack, Method::PUT, Some(overlay)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["counts"]["terms"], 1);

    let answer = say(&stack, text("b l o r p")).await;
    assert_eq!(answer["ErrorCode"], 10016, "overlay term rejects: {answer}");
    assert!(stack.runner.logged(r#""rule":"overlay:0""#));

    // POST adds; the overlay's allowlist also covers built-in terms.
    let (status, _) = admin(
        &stack,
        Method::POST,
        Some(json!({"allow": ["what the fuck"]})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = admin(&stack, Method::GET, None).await;
    assert_eq!(body["counts"], json!({"terms": 1, "allow": 2}));
    let answer = say(&stack, text("what the fuck")).await;
    assert_eq!(answer["ErrorCode"], 0);
    assert_eq!(delivered(&stack).last().unwrap(), "what the fuck");

    // DELETE removes it all: the term is delivered again.
    let (status, _) = admin(&stack, Method::DELETE, None).await;
    assert_eq!(status, 200);
    let answer = say(&stack, text("blorp")).await;
    assert_eq!(answer["ErrorCode"], 0);
}

#[tokio::test]
async fn flagged_media_is_recalled_after_delivery() {
    let stack = stack("moderator-media", &[]).await;
    let im = stack.im();
    let answer = say(&stack, image("https://cdn.example/cat.png")).await;
    assert_eq!(answer["ErrorCode"], 0);
    let answer = say(&stack, image("https://cdn.example/unsafe-sexual.png")).await;
    assert_eq!(answer["ErrorCode"], 0, "media is delivered first: {answer}");
    let flagged_seq = answer["MsgSeq"].as_u64().unwrap();
    eventually("the flagged image to be recalled", || {
        im.state().groups[GROUP]
            .messages
            .iter()
            .any(|m| m.seq == flagged_seq && m.recalled)
    })
    .await;
    let c2c = im
        .user_send_c2c(
            "alice",
            "bob",
            image("https://cdn.example/unsafe-violence.jpg"),
        )
        .await;
    assert_eq!(c2c["ErrorCode"], 0);
    let key = c2c["MsgKey"].as_str().unwrap().to_string();
    eventually("the one-to-one image to be withdrawn", || {
        im.state().c2c.iter().any(|m| m.key == key && m.recalled)
    })
    .await;
    // The clean image stays; the verdict was logged with the category.
    let state = im.state();
    assert!(
        state.groups[GROUP]
            .messages
            .iter()
            .any(|m| !m.recalled && m.seq != flagged_seq)
    );
    assert!(stack.runner.logged(r#""moderation":"recall""#));
    assert!(stack.runner.logged(r#""category":"sexual""#));
    let moderation_calls = stack
        .backends
        .llm
        .as_ref()
        .unwrap()
        .recorded()
        .into_iter()
        .filter(|r| r.api == llm_emulator::Api::Moderation)
        .count();
    assert_eq!(moderation_calls, 3, "one check per media message");
}

#[tokio::test]
async fn the_external_text_check_follows_its_failure_policy() {
    let closed = r#"moderator_policy={"external": {"text": "fail-closed", "budget_ms": 300}}"#;
    let open = r#"moderator_policy={"external": {"text": "fail-open", "budget_ms": 300}}"#;
    for (label, policy, expected) in [
        ("moderator-fail-closed", closed, 10016),
        ("moderator-fail-open", open, 0),
    ] {
        let stack = stack(label, &[policy]).await;
        // Within the budget, the service's verdict counts.
        let answer = say(&stack, text("this is unsafe-harassment")).await;
        assert_eq!(answer["ErrorCode"], 10016, "{label}: flagged text refused");
        let answer = say(&stack, text("a perfectly nice message")).await;
        assert_eq!(answer["ErrorCode"], 0, "{label}");
        // Past the budget, the policy decides — and IM's 2 s is never reached.
        let llm = stack.backends.llm.as_ref().unwrap();
        llm.set_moderation_latency(Duration::from_millis(1500));
        let started = Instant::now();
        let answer = say(&stack, text("is anyone there?")).await;
        assert!(
            started.elapsed() < Duration::from_millis(1200),
            "{label}: answered within the budget"
        );
        assert_eq!(answer["ErrorCode"], expected, "{label}: {answer}");
        let texts = delivered(&stack);
        assert_eq!(
            texts.contains(&"is anyone there?".to_string()),
            expected == 0,
            "{label}: {texts:?}"
        );
    }
}
