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

/// Bob's group notifications (the muting notice among them).
fn notices_to(stack: &Stack, group: &str, member: &str) -> Vec<String> {
    stack.im().state().groups[group]
        .notifications
        .iter()
        .filter(|(to, _)| to.iter().any(|m| m == member))
        .map(|(_, text)| text.clone())
        .collect()
}

#[tokio::test]
async fn scopes_give_support_groups_and_direct_messages_their_own_rules() {
    let policy = r#"moderator_policy={"scopes": [
        {"name": "support", "kinds": ["Public"], "group_ids": ["mod-case-*"],
         "rules": [{"category": "*", "action": "mask"}]},
        {"name": "direct", "kinds": ["c2c"], "exempt": {"accounts": ["alice"]}}
    ]}"#;
    let stack = stack("moderator-scopes", &[policy]).await;
    let im = stack.im();
    let created = im
        .user_create_group("alice", Some("mod-case-1"), "Case 1", "Public")
        .await;
    assert_eq!(created["ErrorCode"], 0, "{created}");
    assert!(im.join_group("mod-case-1", &["bob"]));

    // The same words: refused in the room (the document's rules), masked in
    // a support group (its scope's).
    let answer = say(&stack, text("go kill yourself")).await;
    assert_eq!(answer["ErrorCode"], 10016, "{answer}");
    let answer = im
        .user_send_group("bob", "mod-case-1", text("go kill yourself"), vec![])
        .await;
    assert_eq!(answer["ErrorCode"], 0, "{answer}");
    assert_eq!(
        im.state().group_texts("mod-case-1"),
        [("bob".to_string(), "*".repeat("go kill yourself".len()))]
    );
    assert!(stack.runner.logged(r#""scope":"support""#));

    // One-to-one: alice is exempt there, bob is not.
    let answer = im
        .user_send_c2c("alice", "bob", text("go kill yourself"))
        .await;
    assert_eq!(answer["ErrorCode"], 0, "exempt: {answer}");
    let answer = im
        .user_send_c2c("bob", "alice", text("go kill yourself"))
        .await;
    assert_eq!(answer["ErrorCode"], 20006, "{answer}");
    let texts: Vec<(String, String)> = im
        .state()
        .c2c
        .iter()
        .map(|m| (m.from.clone(), im_emulator::text_of(&m.body)))
        .collect();
    assert_eq!(
        texts,
        [("alice".to_string(), "go kill yourself".to_string())]
    );
}

#[tokio::test]
async fn repeated_violations_mute_the_sender_who_is_told_and_heard_again_when_it_ends() {
    let policy = r#"moderator_policy={"strikes": {"window_secs": 600,
        "penalties": [{"after": 2, "mute_secs": 2}]}}"#;
    let stack = stack("moderator-strikes", &[policy]).await;
    let im = stack.im();

    // A masked message is delivered: not a strike.
    let answer = say(&stack, text("what the f.u.c.k")).await;
    assert_eq!(answer["ErrorCode"], 0, "{answer}");
    for _ in 0..2 {
        let answer = say(&stack, text("go kill yourself")).await;
        assert_eq!(answer["ErrorCode"], 10016, "{answer}");
    }
    eventually("bob muted in the room", || {
        im.state().groups[GROUP].muted_until.contains_key("bob")
    })
    .await;
    assert!(
        !im.state().groups[GROUP].muted_until.contains_key("alice"),
        "only the sender is muted"
    );
    eventually("the notice to bob", || {
        !notices_to(&stack, GROUP, "bob").is_empty()
    })
    .await;
    assert_eq!(
        notices_to(&stack, GROUP, "bob"),
        ["You cannot send messages here for 2 seconds: 2 of your messages broke the rules."]
    );
    assert!(stack.runner.logged(r#""moderation":"mute""#));

    // Muted: IM refuses before any callback.
    let callbacks = im
        .state()
        .deliveries_of("Group.CallbackBeforeSendMsg")
        .len();
    let answer = say(&stack, text("Sorry")).await;
    assert_eq!(answer["ErrorCode"], 10017, "{answer}");
    assert_eq!(
        im.state()
            .deliveries_of("Group.CallbackBeforeSendMsg")
            .len(),
        callbacks
    );
    // Others still talk.
    let answer = im
        .user_send_group("alice", GROUP, text("Hello bob"), vec![])
        .await;
    assert_eq!(answer["ErrorCode"], 0, "{answer}");

    // IM lifts the mute when its time ends.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let answer = say(&stack, text("Sorry about that")).await;
    assert_eq!(answer["ErrorCode"], 0, "{answer}");
    assert_eq!(
        delivered(&stack).last().map(String::as_str),
        Some("Sorry about that")
    );
}

#[tokio::test]
async fn one_to_one_strikes_mute_one_to_one_messages_everywhere() {
    let policy = r#"moderator_policy={"strikes": {"penalties": [{"after": 1, "mute_secs": 3600}],
        "notice": "Muted for {duration}."}}"#;
    let stack = Stack::start("moderator-c2c-strikes", &[policy]).await;
    let im = stack.im();
    let answer = im
        .user_send_c2c("bob", "alice", text("go kill yourself"))
        .await;
    assert_eq!(answer["ErrorCode"], 20006, "{answer}");
    eventually("bob's one-to-one mute", || {
        im.state()
            .no_speaking
            .get("bob")
            .is_some_and(|m| m.c2c_until > 0 && m.group_until == 0)
    })
    .await;
    eventually("the notice to bob", || {
        im.state()
            .c2c
            .iter()
            .any(|m| m.to == "bob" && im_emulator::text_of(&m.body) == "Muted for 1 hour.")
    })
    .await;
    let answer = im.user_send_c2c("bob", "alice", text("Hi")).await;
    assert_eq!(answer["ErrorCode"], 20012, "{answer}");
}

#[tokio::test]
async fn a_callback_delivered_many_times_strikes_once() {
    let policy = r#"moderator_policy={"strikes": {"penalties": [{"after": 2, "mute_secs": 600}]}}"#;
    let stack = stack("moderator-strike-once", &[policy]).await;
    let body = |random: u64| {
        json!({
            "CallbackCommand": "Group.CallbackBeforeSendMsg", "GroupId": GROUP, "Type": "Public",
            "From_Account": "bob", "Operator_Account": "bob", "Random": random, "OnlineOnlyFlag": 0,
            "MsgBody": text("go kill yourself"), "EventTime": "1764147600000",
        })
    };
    let duplicate = body(41);
    let copies = (0..20).map(|_| {
        stack
            .runner
            .post_im_webhook("Group.CallbackBeforeSendMsg", &duplicate)
    });
    for (status, answer) in futures::future::join_all(copies).await {
        assert_eq!(
            (status, answer["ErrorCode"].as_i64()),
            (200, Some(1)),
            "{answer}"
        );
    }
    // Give the after-answer strikes time to land: one strike, no mute.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(stack.im().state().groups[GROUP].muted_until.is_empty());
    assert!(!stack.runner.logged(r#""moderation":"mute""#));
    // A second, different message is the second strike.
    let (status, _) = stack
        .runner
        .post_im_webhook("Group.CallbackBeforeSendMsg", &body(42))
        .await;
    assert_eq!(status, 200);
    eventually("bob muted after two distinct strikes", || {
        stack.im().state().groups[GROUP]
            .muted_until
            .contains_key("bob")
    })
    .await;
}

#[tokio::test]
async fn a_mute_that_im_refuses_is_logged_and_the_decision_stands() {
    let policy = r#"moderator_policy={"strikes": {"penalties": [{"after": 1, "mute_secs": 60}]}}"#;
    let stack = stack("moderator-mute-fails", &[policy]).await;
    stack.im().fail_next(10002);
    let answer = say(&stack, text("go kill yourself")).await;
    assert_eq!(answer["ErrorCode"], 10016, "still refused: {answer}");
    eventually("the failed mute in the log", || {
        stack.runner.logged(r#""moderation":"mute""#) && stack.runner.logged("ErrorCode 10002")
    })
    .await;
    assert!(stack.im().state().groups[GROUP].muted_until.is_empty());
    assert!(
        notices_to(&stack, GROUP, "bob").is_empty(),
        "no notice for a mute that failed"
    );
}
