//! The moderator (real wasm) behind the IM gateway: end users send through
//! the IM emulator, which runs the signed before-send callback and applies
//! the answer; what IM delivered is read back from the emulator's state.

use im_emulator::C2cMessage;
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

/// Alice sends Bob an image one to one; its `MsgKey`.
async fn image_to_bob(stack: &Stack, url: &str) -> String {
    let sent = stack.im().user_send_c2c("alice", "bob", image(url)).await;
    assert_eq!(sent["ErrorCode"], 0, "media is delivered first: {sent}");
    sent["MsgKey"].as_str().unwrap().to_string()
}

/// Waits until the one-to-one message `key` passes `check`.
async fn eventually_c2c(stack: &Stack, what: &str, key: &str, check: impl Fn(&C2cMessage) -> bool) {
    eventually(what, || {
        stack
            .im()
            .state()
            .c2c
            .iter()
            .any(|m| m.key == key && check(m))
    })
    .await;
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

/// The harder evasions (issue 19, item 4) through the compiled-in
/// lexicons: each is masked exactly — strike-through marks, hidden letters
/// and emoji included — and the traps beside them are delivered untouched.
#[tokio::test]
async fn harder_evasions_are_masked_exactly_and_traps_pass() {
    let stack = stack("moderator-harder-evasions", &[]).await;
    let sent = [
        ("what a b*tch", "what a *****"),
        ("f\u{336}u\u{336}c\u{336}k\u{336} off", "******** off"),
        ("🅵🆄🅲🅺 you", "**** you"),
        ("phuk off", "**** off"),
        ("ni shi sha bi ma", "ni shi ****** ma"),
        ("你个沙笔", "你个**"),
        ("草泥🐴", ""),
        (
            "A cockatoo and Emily Dickinson's assistant",
            "A cockatoo and Emily Dickinson's assistant",
        ),
        ("我想吃沙拉，这支毛笔很好", "我想吃沙拉，这支毛笔很好"),
        (
            "欢迎参加开发者大会，请访问新闻网站",
            "欢迎参加开发者大会，请访问新闻网站",
        ),
    ];
    for (text_sent, _) in sent {
        let answer = say(&stack, text(text_sent)).await;
        assert_eq!(
            answer["ErrorCode"],
            if text_sent == "草泥🐴" { 10016 } else { 0 },
            "{text_sent}: {answer}"
        );
    }
    let expected: Vec<&str> = sent
        .iter()
        .map(|(_, delivered)| *delivered)
        .filter(|d| !d.is_empty())
        .collect();
    assert_eq!(delivered(&stack), expected, "草泥🐴 is refused like 草泥马");
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

/// A fresh instance does not compile the overlay again: the first one to
/// read a new version keeps the compiled form beside its JSON, and later
/// ones load that, but only for the JSON it was compiled from.
#[tokio::test]
async fn the_overlay_is_compiled_once_and_kept_beside_its_json() {
    use moderation::overlay::{
        COMPILED_KEY, DIGEST_BYTES, JsonDigest, Overlay, STORE_KEY, pack, unpack,
    };
    use reqwest::Method;
    let stack = stack("moderator-overlay-kept", &[]).await;
    let store = stack.store();
    let kept = |key: &str| store.get("default", key).unwrap();
    let overlay = json!({"terms": [{"text": "blorp", "category": "custom", "action": "reject", "severity": 3}]});
    let (status, body) = admin(&stack, Method::PUT, Some(overlay)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        kept(COMPILED_KEY),
        None,
        "nothing is compiled until a message is screened"
    );

    // The first message compiles it and keeps the result, tied to the JSON.
    assert_eq!(say(&stack, text("blorp")).await["ErrorCode"], 10016);
    let json = kept(STORE_KEY).unwrap();
    let compiled = kept(COMPILED_KEY).expect("the compiled form is kept");
    let options = *moderation::Lexicon::from_bytes(&compiled[DIGEST_BYTES..])
        .unwrap()
        .options();
    assert!(unpack(JsonDigest::of(&json), &options, &compiled).is_some());

    // Later instances screen with the kept form: one compiled from another
    // overlay, but tied to this JSON, is what they follow.
    let other: Overlay = serde_json::from_value(
        json!({"terms": [{"text": "zonk", "category": "custom", "action": "reject"}]}),
    )
    .unwrap();
    let other = pack(JsonDigest::of(&json), &other.compile(options).unwrap());
    store.set("default", COMPILED_KEY, &other).unwrap();
    assert_eq!(
        say(&stack, text("zonk")).await["ErrorCode"],
        10016,
        "the kept form is used"
    );
    assert_eq!(
        say(&stack, text("blorp")).await["ErrorCode"],
        0,
        "not compiled again"
    );

    // A new version is compiled afresh: the kept form names the old JSON.
    let (status, _) = admin(
        &stack,
        Method::POST,
        Some(json!({"allow": ["blorpington"]})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(say(&stack, text("zonk")).await["ErrorCode"], 0);
    assert_eq!(say(&stack, text("blorp")).await["ErrorCode"], 10016);
    assert_eq!(say(&stack, text("blorpington")).await["ErrorCode"], 0);
    let json = kept(STORE_KEY).unwrap();
    let compiled = kept(COMPILED_KEY).unwrap();
    assert!(
        unpack(JsonDigest::of(&json), &options, &compiled).is_some(),
        "the stale form was replaced"
    );

    // Removing the overlay removes both.
    let (status, _) = admin(&stack, Method::DELETE, None).await;
    assert_eq!(status, 200);
    assert_eq!((kept(STORE_KEY), kept(COMPILED_KEY)), (None, None));
    assert_eq!(say(&stack, text("blorp")).await["ErrorCode"], 0);
}

/// `external.media_action = notice`: a flagged message keeps its place,
/// overwritten by the notice with `CloudCustomData` saying why; an
/// AVChatRoom message, which IM cannot modify, is recalled instead.
#[tokio::test]
async fn flagged_media_can_be_overwritten_by_a_notice() {
    let policy = r#"moderator_policy={"external": {"media_action": "notice", "notice": "Removed by moderation."}}"#;
    let stack = stack("moderator-media-notice", &[policy]).await;
    let im = stack.im();
    let clean = say(&stack, image("https://cdn.example/cat.png")).await;
    let flagged = say(&stack, image("https://cdn.example/unsafe-sexual.png")).await;
    assert_eq!(
        flagged["ErrorCode"], 0,
        "media is delivered first: {flagged}"
    );
    let (clean_seq, flagged_seq) = (
        clean["MsgSeq"].as_u64().unwrap(),
        flagged["MsgSeq"].as_u64().unwrap(),
    );
    let notice = text("Removed by moderation.");
    eventually("the flagged image to become the notice", || {
        im.state().groups[GROUP]
            .messages
            .iter()
            .any(|m| m.seq == flagged_seq && m.body == notice)
    })
    .await;
    let key = image_to_bob(&stack, "https://cdn.example/unsafe-violence.jpg").await;
    eventually_c2c(
        &stack,
        "the one-to-one image to become the notice",
        &key,
        |m| m.body == notice,
    )
    .await;

    let live = "live-room";
    let created = im
        .user_create_group("alice", Some(live), "Live", "AVChatRoom")
        .await;
    assert_eq!(created["ErrorCode"], 0, "{created}");
    assert!(im.join_group(live, &["bob"]));
    let sent = im
        .user_send_group(
            "bob",
            live,
            image("https://cdn.example/unsafe-sexual.png"),
            vec![],
        )
        .await;
    let live_seq = sent["MsgSeq"].as_u64().unwrap();
    eventually("the AVChatRoom image to be recalled", || {
        im.state().groups[live]
            .messages
            .iter()
            .any(|m| m.seq == live_seq && m.recalled)
    })
    .await;
    // Its decision line is the first recall here; it must not follow a
    // failed modification.
    eventually("the AVChatRoom decision to be logged", || {
        stack.runner.logged(r#""moderation":"recall""#)
    })
    .await;
    assert!(
        !stack.runner.logged("notice failed"),
        "IM is not asked to modify an AVChatRoom message"
    );

    // A modification IM refuses is followed by a recall: flagged media
    // never stays.
    im.fail_next(10004);
    let key = image_to_bob(&stack, "https://cdn.example/unsafe-sexual.gif").await;
    eventually_c2c(
        &stack,
        "the image IM would not modify to be withdrawn",
        &key,
        |m| m.recalled,
    )
    .await;
    assert!(stack.runner.logged("notice failed, recalling instead"));

    let state = im.state();
    let messages = &state.groups[GROUP].messages;
    let flagged = messages.iter().find(|m| m.seq == flagged_seq).unwrap();
    assert!(!flagged.recalled, "a notice, not a recall");
    let data: Value = serde_json::from_str(flagged.cloud_custom_data.as_deref().unwrap()).unwrap();
    assert_eq!(
        data,
        json!({"switchboard": {"moderated": "media", "category": "sexual"}})
    );
    let clean = messages.iter().find(|m| m.seq == clean_seq).unwrap();
    assert_eq!(
        clean.body,
        image("https://cdn.example/cat.png"),
        "clean media untouched"
    );
    assert!(clean.cloud_custom_data.is_none());
    assert!(stack.runner.logged(r#""moderation":"notice""#));
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
    let key = image_to_bob(&stack, "https://cdn.example/unsafe-violence.jpg").await;
    eventually_c2c(&stack, "the one-to-one image to be withdrawn", &key, |m| {
        m.recalled
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

/// Sends the same before-send callback twenty times at once, as IM may;
/// each copy is refused.
async fn refused_twenty_times(stack: &Stack, callback: &Value) {
    let copies = (0..20).map(|_| {
        stack
            .runner
            .post_im_webhook("Group.CallbackBeforeSendMsg", callback)
    });
    for (status, answer) in futures::future::join_all(copies).await {
        assert_eq!(
            (status, answer["ErrorCode"].as_i64()),
            (200, Some(1)),
            "{answer}"
        );
    }
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
    refused_twenty_times(&stack, &duplicate).await;
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

const EVENTS_SECRET: &str = "events-secret-for-tests";

/// The stack with `variables`, the events secret set (a secret: set beside
/// the emulators as a deployment's own would be, after they start).
async fn stack_with_secret(label: &str, variables: &[&str]) -> Stack {
    let mut config = switchboard_tests::config(switchboard_tests::root().join("spin.toml"), label);
    for variable in variables {
        config.variables.add_command_line(variable).unwrap();
    }
    let secret = [("moderation_events_secret", EVENTS_SECRET.to_string())];
    let stack = Stack::start_rewired(config, &secret).await;
    let im = stack.im();
    let created = im
        .user_create_group("alice", Some(GROUP), "Moderated room", "Public")
        .await;
    assert_eq!(created["ErrorCode"], 0, "{created}");
    assert!(im.join_group(GROUP, &["bob"]));
    stack
}

/// A stack whose decision events go to `recorder`, with `policy`.
async fn with_events(label: &str, recorder: &switchboard_tests::Recorder, policy: &str) -> Stack {
    let origin = format!("moderation_events_origin={}", recorder.origin);
    let policy = format!("moderator_policy={policy}");
    stack_with_secret(
        label,
        &[&origin, "moderation_events_path=/hooks/moderation", &policy],
    )
    .await
}

/// An authenticated call to the review API (`path` after
/// `/moderation/review`).
async fn review(
    stack: &Stack,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(
            method,
            format!("{}/moderation/review{path}", stack.runner.url),
        )
        .bearer_auth(EMULATOR_MODERATION_ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    stack.runner.send(request).await
}

/// Polls the review list for up to 5 s until `check` holds of it.
async fn review_until(stack: &Stack, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, list) = review(stack, reqwest::Method::GET, "", None).await;
        if check(&list) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {list}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The events received, each checked against its signature first.
fn verified_events(recorder: &switchboard_tests::Recorder) -> Vec<Value> {
    use webhook_signature::switchboard::{
        NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, content,
    };
    let received = recorder.received.lock().unwrap();
    received
        .iter()
        .map(|(path, headers, body)| {
            assert_eq!(path, "/hooks/moderation");
            let header = |name: &str| headers[name].to_str().unwrap().to_string();
            assert_eq!(header("content-type"), "application/json");
            let (timestamp, nonce) = (header(TIMESTAMP_HEADER), header(NONCE_HEADER));
            let signed = content(&timestamp, &nonce, body);
            assert!(
                webhook_signature::verify(EVENTS_SECRET, &signed, &header(SIGNATURE_HEADER)),
                "the event is signed with the events secret"
            );
            assert!(!webhook_signature::verify(
                "another",
                &signed,
                &header(SIGNATURE_HEADER)
            ));
            assert!(
                timestamp
                    .parse::<u64>()
                    .unwrap()
                    .abs_diff(switchboard_tests::now())
                    < 60
            );
            let event: Value = serde_json::from_slice(body).unwrap();
            assert!(nonce.starts_with(event["id"].as_str().unwrap()), "{nonce}");
            event
        })
        .collect()
}

#[tokio::test]
async fn every_decision_is_announced_signed_and_kept_for_review_and_a_flag_delivers() {
    use reqwest::Method;
    let recorder = switchboard_tests::Recorder::start(vec![]).await;
    let policy = r#"{"rules": [{"category": "spam", "action": "flag"}]}"#;
    let stack = with_events("moderator-decision-events", &recorder, policy).await;

    assert_eq!(
        say(&stack, text("Hello, where is my order?")).await["ErrorCode"],
        0
    );
    assert_eq!(
        say(&stack, text("go kill yourself")).await["ErrorCode"],
        10016
    );
    let flagged = "低价代开发票，联系我";
    assert_eq!(say(&stack, text(flagged)).await["ErrorCode"], 0);
    assert_eq!(
        delivered(&stack),
        ["Hello, where is my order?", flagged],
        "the clean message and the flagged one are delivered untouched"
    );

    eventually("two events", || recorder.count() >= 2).await;
    let mut events = verified_events(&recorder);
    assert_eq!(
        events.len(),
        2,
        "no event for the clean message: {events:?}"
    );
    // Each is sent after its own answer: they may arrive in either order.
    events.sort_by_key(|e| e["outcome"] != "reject");
    let outcomes: Vec<&str> = events
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["reject", "flag"]);
    for event in &events {
        assert_eq!(event["type"], "moderation.decision");
        assert_eq!(
            (event["sender"].as_str(), event["group_id"].as_str()),
            (Some("bob"), Some(GROUP))
        );
        assert!(
            !event.to_string().contains("kill") && !event.to_string().contains("发票"),
            "no matched text while the policy does not log text: {event}"
        );
    }
    assert_eq!(events[1]["category"], "spam");

    // The review list: newest first, filtered, every event delivered.
    review_until(&stack, "both deliveries recorded", |list| {
        list["decisions"].as_array().is_some_and(|d| {
            d.len() == 2 && d.iter().all(|d| d["delivery"]["state"] == "delivered")
        })
    })
    .await;
    let (status, list) = review(&stack, Method::GET, "", None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["count"], 2);
    let decisions = list["decisions"].as_array().unwrap();
    let times: Vec<u64> = decisions
        .iter()
        .map(|d| d["time"].as_u64().unwrap())
        .collect();
    assert!(times[0] >= times[1], "newest first: {times:?}");
    let rejected = decisions
        .iter()
        .find(|d| d["id"] == events[0]["id"])
        .unwrap();
    assert!(decisions.iter().any(|d| d["id"] == events[1]["id"]));
    assert_eq!(
        rejected["findings"][0]["excerpt"], "go kill yourself",
        "the review list, behind the token, shows what matched"
    );
    for (query, count) in [
        ("?outcome=flag", 1),
        ("?user=bob", 2),
        ("?user=alice", 0),
        ("?category=spam", 1),
        (&*format!("?group={}", GROUP), 2),
        ("?group=elsewhere", 0),
        ("?since=4000000000", 0),
        ("?limit=1", 1),
        ("?false_positive=true", 0),
    ] {
        let (status, list) = review(&stack, Method::GET, query, None).await;
        assert_eq!(
            (status, list["count"].as_u64()),
            (200, Some(count)),
            "{query}: {list}"
        );
    }
    let (_, page) = review(&stack, Method::GET, "?limit=1", None).await;
    assert!(page["next_until"].is_u64(), "{page}");
    let id = events[0]["id"].as_str().unwrap();
    let (status, one) = review(&stack, Method::GET, &format!("/{id}"), None).await;
    assert_eq!(
        (status, one["outcome"].as_str()),
        (200, Some("reject")),
        "{one}"
    );

    // Bad queries name the parameter; no token, no list.
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?since=today", "since"),
        ("?who=bob", "who"),
    ] {
        let (status, body) = review(&stack, Method::GET, query, None).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some(field)),
            "{query}: {body}"
        );
    }
    let (status, body) = review(&stack, Method::GET, "/not-an-id", None).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("id")),
        "{body}"
    );
    let (status, _) = review(&stack, Method::GET, &format!("/{}", "0".repeat(32)), None).await;
    assert_eq!(status, 404);
    let (status, _) = stack
        .runner
        .send(reqwest::Client::new().get(format!("{}/moderation/review", stack.runner.url)))
        .await;
    assert_eq!(status, 401);
    assert!(
        !stack.runner.logged(EVENTS_SECRET),
        "the secret is never logged"
    );
}

#[tokio::test]
async fn a_false_positive_mark_allows_the_words_around_the_match_and_nothing_more() {
    use reqwest::Method;
    let recorder = switchboard_tests::Recorder::start(vec![]).await;
    let stack = with_events("moderator-false-positive", &recorder, "{}").await;
    let term = json!({"terms": [{"text": "blorp", "category": "custom", "action": "reject"}]});
    let (status, _) = admin(&stack, Method::PUT, Some(term)).await;
    assert_eq!(status, 200);

    let innocent = "see you at Blorpington station";
    assert_eq!(
        say(&stack, text(innocent)).await["ErrorCode"],
        10016,
        "a false positive"
    );
    eventually("the decision", || recorder.count() == 1).await;
    let id = verified_events(&recorder)[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let mark = format!("/{id}/false-positive");
    let (status, body) = review(&stack, Method::POST, &mark, Some(json!({"allow": []}))).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("allow")),
        "{body}"
    );
    let (status, body) = review(&stack, Method::POST, &mark, Some(json!({"allow": "x"}))).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("body")),
        "{body}"
    );
    let (_, overlay) = admin(&stack, Method::GET, None).await;
    assert_eq!(
        overlay["counts"]["allow"], 0,
        "a refused mark changes nothing"
    );

    let (status, body) = review(&stack, Method::POST, &mark, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["decision"]["false_positive"]["allow"],
        json!(["Blorpington"])
    );
    assert_eq!(body["overlay"]["allow"], json!(["Blorpington"]));
    let (status, again) = review(&stack, Method::POST, &mark, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        again["overlay"]["counts"]["allow"], 1,
        "marking twice adds nothing twice"
    );

    assert_eq!(
        say(&stack, text(innocent)).await["ErrorCode"],
        0,
        "now delivered"
    );
    assert_eq!(
        say(&stack, text("you blorp")).await["ErrorCode"],
        10016,
        "the term still counts"
    );
    let (_, marked) = review(&stack, Method::GET, "?false_positive=true", None).await;
    assert_eq!(
        (
            marked["count"].as_u64(),
            marked["decisions"][0]["id"].as_str()
        ),
        (Some(1), Some(&*id))
    );
}

#[tokio::test]
async fn events_are_retried_refusals_recorded_and_a_hanging_endpoint_never_delays_the_answer() {
    // Fails once, then accepts: delivered on the second attempt.
    let recorder = switchboard_tests::Recorder::start(vec![503]).await;
    let retried = with_events("moderator-events-retry", &recorder, "{}").await;
    assert_eq!(
        say(&retried, text("go kill yourself")).await["ErrorCode"],
        10016
    );
    eventually("a retry", || recorder.count() == 2).await;
    let events = verified_events(&recorder);
    assert_eq!(events[0], events[1], "the same event, signed afresh");
    review_until(&retried, "delivered after two attempts", |list| {
        list["decisions"][0]["delivery"] == json!({"state": "delivered", "attempts": 2})
    })
    .await;
    drop(retried);

    // Refused: not retried, recorded as failed, logged without the secret.
    let recorder = switchboard_tests::Recorder::start(vec![401]).await;
    let refused = with_events("moderator-events-refused", &recorder, "{}").await;
    assert_eq!(
        say(&refused, text("go kill yourself")).await["ErrorCode"],
        10016
    );
    review_until(&refused, "the refusal recorded", |list| {
        list["decisions"][0]["delivery"]
            == json!({"state": "failed", "attempts": 1, "error": "HTTP 401"})
    })
    .await;
    assert!(refused.runner.logged(r#""moderation":"event-failed""#));
    assert_eq!(recorder.count(), 1);
    assert!(!refused.runner.logged(EVENTS_SECRET));
    drop(refused);

    // An endpoint that never answers: IM still gets its decision in time
    // (a late answer would have let IM deliver the message).
    let silent = switchboard_tests::Silent::start().await;
    let origin = format!("moderation_events_origin={}", silent.url);
    let stack = stack_with_secret("moderator-events-hang", &[&origin]).await;
    for _ in 0..3 {
        assert_eq!(
            say(&stack, text("go kill yourself")).await["ErrorCode"],
            10016
        );
    }
    assert!(delivered(&stack).is_empty());
}

#[tokio::test]
async fn a_callback_delivered_many_times_is_one_decision_and_one_event() {
    use reqwest::Method;
    let recorder = switchboard_tests::Recorder::start(vec![]).await;
    let stack = with_events("moderator-decision-once", &recorder, "{}").await;
    let duplicate = json!({
        "CallbackCommand": "Group.CallbackBeforeSendMsg", "GroupId": GROUP, "Type": "Public",
        "From_Account": "bob", "Operator_Account": "bob", "Random": 7, "OnlineOnlyFlag": 0,
        "MsgBody": text("go kill yourself"), "EventTime": switchboard_tests::now() * 1000,
    });
    refused_twenty_times(&stack, &duplicate).await;
    eventually("the event", || recorder.count() >= 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(recorder.count(), 1, "one event for twenty deliveries");
    let (_, list) = review(&stack, Method::GET, "", None).await;
    assert_eq!(list["count"], 1, "{list}");
}

#[tokio::test]
async fn events_without_an_origin_are_refused_by_name_and_decisions_still_kept() {
    let unset = stack_with_secret("moderator-events-unset", &[]).await;
    assert_eq!(
        say(&unset, text("go kill yourself")).await["ErrorCode"],
        10016
    );
    assert!(unset.runner.logged("moderation_events_origin is not"));
    review_until(&unset, "the decision kept", |list| {
        list["decisions"][0]["delivery"] == json!({"state": "off"})
    })
    .await;
    let policy = r#"moderator_policy={"review": {"store": false}}"#;
    let off = stack("moderator-review-off", &[policy]).await;
    assert_eq!(
        say(&off, text("go kill yourself")).await["ErrorCode"],
        10016
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, list) = review(&off, reqwest::Method::GET, "", None).await;
    assert_eq!(list["count"], 0, "a policy may keep nothing: {list}");
}

/// The Tencent Cloud calls the moderator made, from the emulator's record.
fn tencent_calls(stack: &Stack) -> Vec<llm_emulator::Recorded> {
    let llm = stack.backends.llm.as_ref().unwrap();
    llm.recorded()
        .into_iter()
        .filter(|r| r.api == llm_emulator::Api::TencentModeration)
        .collect()
}

#[tokio::test]
async fn tencent_cloud_moderation_judges_text_in_the_callback_and_media_after_it() {
    let policy = r#"moderator_policy={"external": {"provider": "tencent", "text": "fail-closed",
        "thresholds": {"ad": 0.5}}}"#;
    let stack = stack("moderator-tencent", &[policy]).await;
    let im = stack.im();

    assert_eq!(
        say(&stack, text("Hello, where is my order?")).await["ErrorCode"],
        0
    );
    let answer = say(&stack, text("you are unsafe-abuse")).await;
    assert_eq!(answer["ErrorCode"], 10016, "TMS said Block: {answer}");
    let answer = say(&stack, text("cheap review-ad offer")).await;
    assert_eq!(
        answer["ErrorCode"], 10016,
        "Review at 60 reaches the 0.5 threshold: {answer}"
    );
    assert!(stack.runner.logged(r#""category":"abuse""#));
    assert!(stack.runner.logged(r#""category":"ad""#));

    let answer = say(&stack, image("https://cdn.example/unsafe-porn.png")).await;
    assert_eq!(answer["ErrorCode"], 0, "media is delivered first: {answer}");
    let seq = answer["MsgSeq"].as_u64().unwrap();
    eventually("IMS's Block to recall the image", || {
        im.state().groups[GROUP]
            .messages
            .iter()
            .any(|m| m.seq == seq && m.recalled)
    })
    .await;
    assert_eq!(delivered(&stack)[0], "Hello, where is my order?");

    // What went to Tencent: Base64 text to TMS, the URL to IMS, each
    // signed and accepted (the emulator refuses a bad signature).
    let calls = tencent_calls(&stack);
    assert!(calls.iter().all(|c| c.status == 200));
    let contents: Vec<String> = calls
        .iter()
        .filter_map(|c| c.body["Content"].as_str())
        .map(|c| {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD.decode(c).unwrap();
            String::from_utf8(bytes).unwrap()
        })
        .collect();
    assert_eq!(
        contents,
        [
            "Hello, where is my order?",
            "you are unsafe-abuse",
            "cheap review-ad offer"
        ]
    );
    assert!(
        calls
            .iter()
            .any(|c| c.body["FileUrl"] == "https://cdn.example/unsafe-porn.png")
    );
    assert!(
        calls.iter().all(|c| c.body["DataId"]
            .as_str()
            .is_some_and(|d| d.starts_with("group:"))),
        "each call names the message"
    );
}

fn voice(url: &str, seconds: u32) -> Value {
    json!([{"MsgType": "TIMSoundElem", "MsgContent": {"Url": url, "UUID": "snd-1",
        "Size": 20_000, "Second": seconds, "Download_Flag": 2}}])
}

fn file(name: &str, url: &str) -> Value {
    json!([{"MsgType": "TIMFileElem", "MsgContent": {"Url": url, "UUID": "file-1",
        "FileSize": 90_000, "FileName": name, "Download_Flag": 2}}])
}

#[tokio::test]
async fn tencent_cloud_judges_voices_and_files_after_delivery_and_what_it_cannot_is_logged() {
    let policy = r#"moderator_policy={"external": {"provider": "tencent"}}"#;
    let stack = stack("moderator-tencent-audio", &[policy]).await;
    let im = stack.im();
    let mut seqs = Vec::new();
    for body in [
        voice("https://cdn.example/v/hello.m4a?sign=1", 4),
        voice("https://cdn.example/v/unsafe-abuse.mp3", 4),
        file("beach.PNG", "https://cdn.example/f/unsafe-porn"),
        file("memo.wav", "https://cdn.example/f/unsafe-ad"),
        file("report.pdf", "https://cdn.example/f/unsafe-porn-pdf"),
        voice("https://cdn.example/v/unsafe-abuse-long.mp3", 75),
    ] {
        let answer = say(&stack, body).await;
        assert_eq!(answer["ErrorCode"], 0, "media is delivered first: {answer}");
        seqs.push(answer["MsgSeq"].as_u64().unwrap());
    }
    let recalled = |seq: u64| {
        im.state().groups[GROUP]
            .messages
            .iter()
            .any(|m| m.seq == seq && m.recalled)
    };
    for (seq, what) in [
        (seqs[1], "AMS's Block to recall the voice"),
        (seqs[2], "IMS's Block to recall the image file"),
        (seqs[3], "AMS's Block to recall the audio file"),
    ] {
        eventually(what, || recalled(seq)).await;
    }
    eventually("the unreadable media to be logged", || {
        stack
            .runner
            .logged("file `report.pdf`: no service judges .pdf files")
            && stack
                .runner
                .logged("voice: 75 s is over the short-audio check's 60 s")
    })
    .await;
    for seq in [seqs[0], seqs[4], seqs[5]] {
        assert!(!recalled(seq), "message {seq} stays delivered");
    }

    // What went to Tencent: each voice or audio file to AMS with its
    // format, the image file to IMS; the PDF and the long voice never.
    let calls = tencent_calls(&stack);
    assert!(calls.iter().all(|c| c.status == 200), "{calls:?}");
    let mut asked: Vec<(String, String)> = calls
        .iter()
        .map(|c| {
            let url = c.body["FileUrl"].as_str().unwrap_or_default().to_string();
            let format = c.body["FileFormat"].as_str().unwrap_or("image").to_string();
            (url, format)
        })
        .collect();
    asked.sort();
    let expected = [
        ("https://cdn.example/f/unsafe-ad", "wav"),
        ("https://cdn.example/f/unsafe-porn", "image"),
        ("https://cdn.example/v/hello.m4a?sign=1", "m4a"),
        ("https://cdn.example/v/unsafe-abuse.mp3", "mp3"),
    ];
    assert_eq!(
        asked,
        expected.map(|(url, format)| (url.to_string(), format.to_string()))
    );
}

fn video(url: &str, thumb: &str) -> Value {
    json!([{"MsgType": "TIMVideoFileElem", "MsgContent": {"VideoUrl": url, "VideoUUID": "vid-1",
        "VideoSize": 90_000, "VideoSecond": 12, "VideoFormat": "mp4", "VideoDownloadFlag": 2,
        "ThumbUrl": thumb, "ThumbUUID": "thumb-1", "ThumbSize": 1000,
        "ThumbWidth": 64, "ThumbHeight": 36, "ThumbFormat": "JPG", "ThumbDownloadFlag": 2}}])
}

/// Posts a video result to the moderation admin, as Tencent Cloud would.
async fn post_video_result(stack: &Stack, body: &str, signature: &str) -> (u16, Value) {
    let request = stack
        .runner
        .client
        .post(format!("{}/moderation/tencent/video", stack.runner.url))
        .header("content-type", "application/json")
        .header("x-signature", signature)
        .body(body.to_string());
    stack.runner.send(request).await
}

#[tokio::test]
async fn tencent_cloud_judges_whole_videos_and_only_a_signed_first_result_takes_one_back() {
    use llm_emulator::tencent::CALLBACK_SEED;
    use tencent_cloud::callback::signature;
    let policy = r#"moderator_policy={"external": {"provider": "tencent"}}"#;
    let stack = stack("moderator-tencent-video", &[policy]).await;
    let im = stack.im();
    let llm = stack.backends.llm.as_ref().unwrap();
    let recalled = |seq: u64| {
        im.state().groups[GROUP]
            .messages
            .iter()
            .any(|m| m.seq == seq && m.recalled)
    };
    let send_video = async |url: &str, thumb: &str| {
        let answer = say(&stack, video(url, thumb)).await;
        assert_eq!(
            answer["ErrorCode"], 0,
            "a video is delivered first: {answer}"
        );
        answer["MsgSeq"].as_u64().unwrap()
    };

    let thumb = "https://cdn.example/v/thumb.jpg";

    // A flagged thumbnail takes the message back at once, and no task is
    // started for a message that is gone.
    let by_thumbnail = send_video(
        "https://cdn.example/v/any.mp4",
        "https://cdn.example/v/unsafe-porn.jpg",
    )
    .await;
    eventually("IMS's Block on the thumbnail", || recalled(by_thumbnail)).await;

    // Tencent posts each result itself: the flagged video is taken back,
    // the clean one stays (both thumbnails pass).
    let flagged = send_video("https://cdn.example/v/unsafe-porn.mp4", thumb).await;
    let clean = send_video("https://cdn.example/v/holiday.mp4", thumb).await;
    eventually("VM's Block to recall the video", || recalled(flagged)).await;
    eventually("both results to be answered", || {
        llm.video_results().iter().all(|(_, s)| s.is_some()) && llm.video_results().len() == 2
    })
    .await;
    assert!(!recalled(clean));
    let results = llm.video_results();
    let route = format!("{}/moderation/tencent/video", stack.runner.url);
    for (result, status) in &results {
        assert_eq!((result.url.as_str(), *status), (route.as_str(), Some(200)));
    }
    let tasks: Vec<_> = tencent_calls(&stack)
        .into_iter()
        .filter(|c| c.body["Type"] == "VIDEO")
        .collect();
    assert_eq!(
        tasks.len(),
        2,
        "one task a video still delivered, none for the one taken back by its thumbnail"
    );
    for task in &tasks {
        assert_eq!(task.body["Seed"], CALLBACK_SEED);
        assert_eq!(task.body["CallbackUrl"], route.as_str());
        assert!(
            task.body["Tasks"][0]["DataId"]
                .as_str()
                .unwrap()
                .starts_with("group:")
        );
    }
    assert!(stack.runner.logged(r#""command":"video check""#));

    // A replay of the acted-on result finds nothing waiting.
    let done = results
        .iter()
        .find(|(r, _)| r.body.contains("Block"))
        .unwrap();
    let (status, answer) = post_video_result(&stack, &done.0.body, &done.0.signature).await;
    assert_eq!(status, 404, "{answer}");

    // Forged: the clean result made a Block, under its old signature, under
    // a guessed seed, and without one.
    let passed = &results
        .iter()
        .find(|(r, _)| r.body.contains("Pass"))
        .unwrap()
        .0;
    let forged = passed.body.replace(r#""Pass""#, r#""Block""#);
    assert_ne!(forged, passed.body);
    for sent in [
        passed.signature.clone(),
        signature("guessed-seed", forged.as_bytes()),
        String::new(),
    ] {
        let (status, answer) = post_video_result(&stack, &forged, &sent).await;
        assert_eq!(status, 401, "{answer}");
        assert!(
            !answer.to_string().contains(CALLBACK_SEED),
            "the seed is never told"
        );
    }
    assert!(!recalled(clean), "a forged result changes nothing");

    // Malformed (signed: the emulator's seed is public) and oversized.
    let signed = |body: &str| signature(CALLBACK_SEED, body.as_bytes());
    for (body, field) in [
        ("{}", "TaskId"),
        ("[1]", "body"),
        (r#"{"TaskId": 5}"#, "TaskId"),
    ] {
        let (status, answer) = post_video_result(&stack, body, &signed(body)).await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some(field)),
            "{answer}"
        );
    }
    let huge = format!(r#"{{"TaskId": "t", "Pad": "{}"}}"#, "a".repeat(300 * 1024));
    let (status, _) = post_video_result(&stack, &huge, &signed(&huge)).await;
    assert_eq!(status, 413);

    // IM failing: 502 and the message stays, so Tencent's retry can act;
    // then eight retries at once take the message back exactly once.
    llm.hold_video_results(true);
    let third = send_video("https://cdn.example/v/unsafe-terror.mp4", thumb).await;
    eventually("the third result", || llm.video_results().len() == 3).await;
    let held = llm.video_results()[2].0.clone();
    im.fail_next(10004);
    let (status, answer) = post_video_result(&stack, &held.body, &held.signature).await;
    assert_eq!(status, 502, "{answer}");
    assert!(!recalled(third));
    let retries = (0..8).map(|_| post_video_result(&stack, &held.body, &held.signature));
    let answers = futures::future::join_all(retries).await;
    let acted: Vec<_> = answers
        .iter()
        .filter(|(status, answer)| *status == 200 && answer["status"] == "recall")
        .collect();
    assert_eq!(acted.len(), 1, "{answers:?}");
    for (status, answer) in &answers {
        assert!(
            *status == 404
                || (*status == 200
                    && ["recall", "duplicate"].contains(&answer["status"].as_str().unwrap_or(""))),
            "{status} {answer}"
        );
    }
    assert!(recalled(third));
    let key = format!(r#""key":"group:{GROUP}:{third}""#);
    let recalls = stack
        .runner
        .logger
        .captured()
        .iter()
        .filter(|line| line.contains(&key) && line.contains(r#""moderation":"recall""#))
        .count();
    assert_eq!(recalls, 1, "one recall however many copies arrive");
}

#[tokio::test]
async fn a_wrong_tencent_key_is_refused_by_tencent_and_fails_as_the_policy_says() {
    let policy = r#"moderator_policy={"external": {"provider": "tencent", "text": "fail-closed"}}"#;
    let mut config = switchboard_tests::config(
        switchboard_tests::root().join("spin.toml"),
        "moderator-tencent-forged",
    );
    config.variables.add_command_line(policy).unwrap();
    let guessed = [("tencent_secret_key", "guessed-secret-key-value".to_string())];
    let stack = Stack::start_rewired(config, &guessed).await;
    let im = stack.im();
    im.user_create_group("alice", Some(GROUP), "Moderated room", "Public")
        .await;
    assert!(im.join_group(GROUP, &["bob"]));
    let answer = say(&stack, text("Hello there")).await;
    assert_eq!(
        answer["ErrorCode"], 10016,
        "fail-closed without a verdict: {answer}"
    );
    assert!(
        stack.runner.logged("AuthFailure.SignatureFailure"),
        "Tencent's reason is logged"
    );
    assert!(
        !stack.runner.logged("guessed-secret-key-value"),
        "the key never is"
    );
    assert!(
        tencent_calls(&stack)
            .iter()
            .all(|c| c.body["Content"].is_string())
    );
}
