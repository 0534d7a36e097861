//! The threat model, as tests: each one plays an attacker or a fault against
//! the shipped application (real wasm in the host, emulators behind it) and
//! asserts on what the answer, the log and the emulators hold afterwards.
//!
//! The numbers follow issue 13 ("Close the holes").

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard::emulators::{Backends, EMULATOR_SALESFORCE_INBOUND_SECRET, EmulatorAddrs};
use switchboard_tests::{
    Forwarder, Runner, Silent, Stack, fresh_nonce, now, robot_message, root, signed_webhook_url,
    usersig,
};

/// What in `text` gives a credential away: a `usersig=` query, the IM secret
/// key, or any token that decodes as a UserSig (whoever it names).
fn leak_in(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    if lower.contains("usersig=") {
        return Some("a usersig= query".into());
    }
    let key = im_emulator::EmulatorConfig::default().secret_key;
    if text.contains(&key) {
        return Some("the IM secret key".into());
    }
    let is_sig_char = |c: char| c.is_ascii_alphanumeric() || "*-_+/=".contains(c);
    text.split(|c: char| !is_sig_char(c))
        .filter(|token| token.len() > 40)
        .find(|token| tim::usersig::decode(token).is_ok())
        .map(|token| format!("a UserSig ({}…)", &token[..12]))
}

/// Fails naming the first answer or log line that gives a credential away.
fn assert_nothing_leaks(stack: &Stack, answers: &[(String, Value)]) {
    for (route, answer) in answers {
        if let Some(leak) = leak_in(&answer.to_string()) {
            panic!("{route} answered {leak}: {answer}");
        }
    }
    for line in stack.runner.logger.captured() {
        if let Some(leak) = leak_in(&line) {
            panic!("the log shows {leak}: {line}");
        }
    }
}

/// Posts `body` to an Apex route of the Salesforce bridge, signed as the
/// shipped Apex signs it.
async fn apex(stack: &Stack, route: &str, body: &Value) -> (u16, Value) {
    stack
        .runner
        .post_as_apex(
            route,
            &body.to_string(),
            EMULATOR_SALESFORCE_INBOUND_SECRET,
            now(),
            &fresh_nonce(),
        )
        .await
}

/// The sidebar panel's join call for `agent` on `ticket_id`, with the
/// session Zendesk's signed page load gives them.
async fn sidebar_join(stack: &Stack, agent: u64, ticket_id: u64) -> (u16, Value) {
    let session = stack.zendesk_panel_session(agent).await;
    stack
        .zendesk_panel("join", &session, &json!({ "ticket_id": ticket_id }))
        .await
}

fn support_request(key: &str) -> Value {
    json!({
        "subject": "Cannot log in",
        "description": "The app says my password is wrong.",
        "name": "Alice Example",
        "email": "alice@example.com",
        "idempotency_key": key,
    })
}

/// `user`'s request `body` at `path` (a bridge's `/requests`), with their
/// own valid UserSig.
async fn file_as(stack: &Stack, path: &str, user: &str, body: &Value) -> (u16, Value) {
    stack
        .runner
        .post_as_user(path, user, Some(&usersig(user)), body)
        .await
}

/// Alice's support request `key` at `path` (a bridge's `/requests`).
async fn open_request(stack: &Stack, path: &str, key: &str) -> (u16, Value) {
    file_as(stack, path, "alice", &support_request(key)).await
}

/// Files alice's support request with both bridges, expecting `status`
/// from each; returns (route, answer) pairs.
async fn file_both(stack: &Stack, status: u16) -> Vec<(String, Value)> {
    let mut answers = Vec::new();
    for path in ["/zendesk/requests", "/salesforce/requests"] {
        let (got, answer) = open_request(stack, path, "k1").await;
        assert_eq!(got, status, "{path}: {answer}");
        answers.push((path.to_string(), answer));
    }
    answers
}

/// Delivers alice's `text` to `@RBT#assistant` as IM's signed
/// `Bot.OnC2CMessage` would (straight to the gateway, past any before-send
/// screening); returns the webhook's status.
async fn ask_robot(stack: &Stack, msg_key: &str, text: &str) -> u16 {
    let body = robot_message("alice", msg_key, text);
    stack
        .runner
        .post_im_webhook("Bot.OnC2CMessage", &body)
        .await
        .0
}

/// Polls `check` until it gives a value, for at most 20 s; then fails
/// saying `what` never happened, with the log.
async fn eventually<T>(stack: &Stack, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never happened: {:#?}",
            stack.runner.logger.captured()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until a log line contains `needle`.
async fn wait_logged(stack: &Stack, needle: &str) {
    let what = format!("a log line with `{needle}`");
    eventually(stack, &what, || stack.runner.logged(needle).then_some(())).await;
}

// 1. No credential in any answer or log: IM goes down after a ticket and a
//    Case were opened, then every route that calls IM is driven, and the
//    answers and the log are searched for the admin UserSig and the key.
#[tokio::test]
async fn item1_an_unreachable_im_leaks_no_usersig_on_any_route() {
    let mut config = configured("sec-im-down", &[]);
    let backends = Backends::start(&mut config, EmulatorAddrs::any())
        .await
        .unwrap();
    let im_link = Forwarder::start(backends.im.as_ref().unwrap().url()).await;
    config
        .variables
        .fallback
        .insert("im_base_url".into(), im_link.url.clone());
    let runner = Runner::start(&config).await.unwrap();
    backends.connect(&runner.url, &config);
    let stack = Stack::assemble(runner, backends, &config);

    let (status, ticket) = open_request(&stack, "/zendesk/requests", "z").await;
    assert_eq!(status, 201, "{ticket}");
    let ticket_id = ticket["ticket_id"].as_u64().unwrap();
    let (status, case) = open_request(&stack, "/salesforce/requests", "s").await;
    assert_eq!(status, 201, "{case}");
    let case_id = case["case_id"].as_str().unwrap().to_string();
    drop(im_link);

    let mut answers = file_both(&stack, 502).await;
    for (path, answer) in &answers {
        assert!(
            answer["error"].as_str().unwrap().contains("IM"),
            "{path} says which system failed: {answer}"
        );
    }
    let (status, answer) = apex(
        &stack,
        "agent-usersig",
        &json!({"user_id": "005EMU000000000001"}),
    )
    .await;
    assert_eq!(status, 502, "{answer}");
    answers.push(("/salesforce/agent-usersig".into(), answer));
    let (_, answer) = apex(
        &stack,
        "events",
        &json!({"events": [{"type": "agent_assigned", "case_id": case_id,
            "user_id": "005EMU000000000001"}]}),
    )
    .await;
    assert_eq!(answer["failed"], 1, "{answer}");
    answers.push(("/salesforce/events".into(), answer));
    let zendesk = stack.backends.zendesk.as_ref().unwrap();
    zendesk.set_webhook_url(None);
    zendesk.assign(ticket_id, Some(7001)).await;
    let (status, answer) = sidebar_join(&stack, 7001, ticket_id).await;
    assert_eq!(status, 502, "{answer}");
    answers.push(("/zendesk/app/join".into(), answer));
    let zendesk = stack.backends.zendesk.as_ref().unwrap();
    zendesk.set_webhook_url(Some(format!("{}/zendesk/webhook", stack.runner.url)));
    let delivery = zendesk.assign(ticket_id, Some(7002)).await.unwrap();
    let answer = delivery.answer.unwrap_or_default();
    assert_ne!(delivery.status, Some(200), "{answer}");
    answers.push(("/zendesk/webhook".into(), answer));
    // The robot's answer goes out after the webhook's ack: its failure is
    // only logged.
    assert_eq!(ask_robot(&stack, "k-1", "hello").await, 200);
    wait_logged(&stack, "could not reply").await;
    // The search itself finds what it is looking for.
    let admin = usersig("administrator");
    assert!(leak_in(&format!("POST /v4/x?usersig={admin}")).is_some());
    assert!(leak_in(&format!("{{\"error\": \"{admin}\"}}")).is_some());
    assert_nothing_leaks(&stack, &answers);
}

// 1. The same for Zendesk, Salesforce and the LLM provider unreachable:
//    no client secret, API key or bearer token in any answer or log.
#[tokio::test]
async fn item1_unreachable_zendesk_salesforce_and_llm_leak_no_credential() {
    let dead = "http://127.0.0.1:9".to_string();
    let stack = Stack::start_rewired(
        configured("sec-down", &[]),
        &[
            ("zendesk_base_url", dead.clone()),
            ("salesforce_login_url", dead.clone()),
            ("llm_openai_url", dead.clone()),
        ],
    )
    .await;
    let answers = file_both(&stack, 502).await;
    let im = stack.im();
    let answer = im
        .user_send_c2c(
            "alice",
            "@RBT#assistant",
            json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]),
        )
        .await;
    assert_eq!(answer["ErrorCode"], 0, "{answer}");
    wait_logged(&stack, "@RBT#assistant").await;
    let secrets = [
        stack
            .backends
            .zendesk
            .as_ref()
            .unwrap()
            .config()
            .client_secret,
        stack
            .backends
            .salesforce
            .as_ref()
            .unwrap()
            .config()
            .client_secret
            .clone(),
        llm_emulator::API_KEY.to_string(),
        "Bearer ".to_string(),
        "Basic ".to_string(),
    ];
    let lines = stack.runner.logger.captured();
    let texts = answers
        .iter()
        .map(|(_, answer)| answer.to_string())
        .chain(lines.iter().cloned());
    for text in texts {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "`{secret}` in {text}");
        }
    }
    assert_nothing_leaks(&stack, &answers);
}

/// The shipped manifest's configuration with `variables` (`name=value`)
/// set on the command line, as an operator would.
fn configured(label: &str, variables: &[&str]) -> spin_local_host::AppConfig {
    let mut config = switchboard_tests::config(root().join("spin.toml"), label);
    for variable in variables {
        config.variables.add_command_line(variable).unwrap();
    }
    config
}

// 5. Emulators are all or nothing: a public constant never sits beside a
//    real credential, and emulators listen on loopback only.
#[tokio::test]
async fn item5_a_real_credential_keeps_every_emulator_off() {
    const REAL_IM: [&str; 4] = [
        "im_sdk_app_id=1400123456",
        "im_secret_key=real-key",
        "im_callback_token=real-token",
        "im_base_url=https://adminapisgp.im.qcloud.com",
    ];
    let mut partial = configured("sec-partial", &REAL_IM);
    let error = Backends::start(&mut partial, EmulatorAddrs::any())
        .await
        .err()
        .expect("a real IM beside emulated Salesforce and Zendesk is refused")
        .to_string();
    for missing in ["`zendesk_base_url`", "`salesforce_login_url`"] {
        assert!(error.contains(missing), "names {missing}: {error}");
    }
    assert!(!error.contains("real-key"), "{error}");
    assert!(partial.variables.fallback.is_empty());

    // A secret alone counts as real: no public Apex secret beside it.
    let mut secret_only = configured("sec-secret", &["llm_openai_api_key=sk-real"]);
    assert!(
        Backends::start(&mut secret_only, EmulatorAddrs::any())
            .await
            .is_err()
    );

    // Everything required set: no emulator at all.
    let everything = [
        &REAL_IM[..],
        &[
            "zendesk_base_url=https://acme.zendesk.com",
            "salesforce_login_url=https://acme.my.salesforce.com",
        ],
    ]
    .concat();
    let mut real = configured("sec-real", &everything);
    let backends = Backends::start(&mut real, EmulatorAddrs::any())
        .await
        .unwrap();
    assert!(!backends.any());
    assert!(real.variables.fallback.is_empty());

    // Plain settings may sit beside the emulators.
    let mut settings = configured("sec-settings", &["salesforce_external_id_field="]);
    let backends = Backends::start(&mut settings, EmulatorAddrs::any())
        .await
        .unwrap();
    assert!(backends.im.is_some() && backends.salesforce.is_some());
    assert!(
        backends
            .check_listen("0.0.0.0:3000".parse().unwrap())
            .unwrap_err()
            .to_string()
            .contains("loopback only")
    );
    backends
        .check_listen("127.0.0.1:3000".parse().unwrap())
        .unwrap();

    let mut exposed = configured("sec-exposed", &[]);
    let mut addrs = EmulatorAddrs::any();
    addrs.salesforce = "0.0.0.0:0".parse().unwrap();
    let error = Backends::start(&mut exposed, addrs)
        .await
        .err()
        .expect("a non-loopback emulator is refused")
        .to_string();
    assert!(error.contains("Salesforce emulator"), "{error}");
}

/// The shipped application with a group bob can send to.
async fn moderated(label: &str, variables: &[&str]) -> Stack {
    let stack = Stack::start(label, variables).await;
    let im = stack.im();
    let created = im
        .user_create_group("alice", Some("room"), "Room", "Public")
        .await;
    assert_eq!(created["ErrorCode"], 0, "{created}");
    assert!(im.join_group("room", &["bob"]));
    stack
}

/// Posts a raw `Group.CallbackBeforeSendMsg` body to the gateway, signed,
/// as IM would; returns the HTTP status and IM's decision.
async fn before_send_raw(stack: &Stack, body: &str) -> (u16, Value) {
    let url = signed_webhook_url(&stack.runner.url, "Group.CallbackBeforeSendMsg");
    stack
        .runner
        .send(
            stack
                .runner
                .client
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
}

fn group_envelope(msg_body: &str) -> String {
    format!(
        r#"{{"CallbackCommand": "Group.CallbackBeforeSendMsg", "GroupId": "room", "Type": "Public",
        "From_Account": "bob", "Operator_Account": "bob", "Random": 42, "OnlineOnlyFlag": 0,
        "MsgBody": {msg_body}}}"#
    )
}

/// What bob's message became in the group, as the IM emulator holds it.
fn delivered_by_bob(stack: &Stack) -> Vec<String> {
    stack
        .im()
        .state()
        .group_texts("room")
        .into_iter()
        .filter(|(from, _)| from == "bob")
        .map(|(_, text)| text)
        .collect()
}

// 3. The moderator fails closed: a malformed element or a lone surrogate
//    beside a threat still gets a 200 refusal; a body it cannot read gets
//    the policy's `on_error`.
#[tokio::test]
async fn item3_malformed_input_never_switches_moderation_off() {
    let stack = moderated("sec-fail-closed", &[]).await;
    let threat = r#"{"MsgType": "TIMTextElem", "MsgContent": {"Text": "go kill yourself"}}"#;
    for (label, msg_body) in [
        (
            "beside a malformed element",
            format!(r#"[{threat}, {{"MsgType":"TIMFaceElem","MsgContent":{{"Index":"x"}}}}]"#),
        ),
        (
            "with a lone surrogate",
            r#"[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "go kill yourself\ud800"}}]"#
                .to_string(),
        ),
        (
            "in an element that is not an object",
            r#"["go kill yourself"]"#.to_string(),
        ),
    ] {
        let (status, answer) = before_send_raw(&stack, &group_envelope(&msg_body)).await;
        assert_eq!(status, 200, "{label}: {answer}");
        assert_eq!(answer["ErrorCode"], 1, "{label}: refused: {answer}");
    }
    for unreadable in ["{\"MsgBody\": [", "not json", "{\"GroupId\": 5}"] {
        let (status, answer) = before_send_raw(&stack, unreadable).await;
        assert_eq!(status, 200, "{unreadable}: {answer}");
        assert_eq!(
            answer["ErrorCode"], 1,
            "{unreadable}: on_error reject: {answer}"
        );
    }
    assert!(stack.runner.logged("\"unscreened\""));
    // Through IM itself: the message is not delivered.
    let answer = stack
        .im()
        .user_send_group(
            "bob",
            "room",
            serde_json::from_str(&format!(
                r#"[{threat}, {{"MsgType":"TIMFaceElem","MsgContent":{{"Index":"x"}}}}]"#
            ))
            .unwrap(),
            vec![],
        )
        .await;
    assert_eq!(answer["ErrorCode"], 10016, "{answer}");
    assert!(delivered_by_bob(&stack).is_empty());

    // `on_error` is the operator's to choose.
    let lenient = moderated(
        "sec-on-error",
        &[r#"moderator_policy={"on_error": "allow"}"#],
    )
    .await;
    let (status, answer) = before_send_raw(&lenient, "not json").await;
    assert_eq!(
        (status, answer["ErrorCode"].as_i64()),
        (200, Some(0)),
        "{answer}"
    );
}

// 3. A policy that does not parse is refused at start-up, and a host that
//    loads it anyway (as `spin up` does) refuses every message.
#[tokio::test]
async fn item3_a_bad_policy_is_refused_at_start_up_and_never_means_no_moderation() {
    let mut bad = configured(
        "sec-bad-policy",
        &[r#"moderator_policy={"rules": [{"category": "*", "action": "allow"}"#],
    );
    let backends = Backends::start(&mut bad, EmulatorAddrs::any())
        .await
        .unwrap();
    let error = switchboard::start(&bad, "127.0.0.1:0".parse().unwrap())
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("moderator_policy"), "{error}");

    // What Spin does: load and serve without asking.
    let app = spin_local_host::App::load(&bad).unwrap();
    let listener = spin_local_host::server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let server = spin_local_host::server::serve(app, listener).unwrap();
    backends.connect(&server.url(), &bad);
    let runner = Runner {
        url: server.url(),
        server,
        logger: bad.logger.clone(),
        client: reqwest::Client::new(),
    };
    let stack = Stack::assemble(runner, backends, &bad);
    let clean = r#"[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}]"#;
    let (status, answer) = before_send_raw(&stack, &group_envelope(clean)).await;
    assert_eq!(
        (status, answer["ErrorCode"].as_i64()),
        (200, Some(1)),
        "{answer}"
    );
    assert!(
        stack
            .runner
            .logged("every message is refused until it is fixed")
    );
}

// 4. What a client shows is what is screened: terms split across text
//    elements, every rendered field, group texts, and the robot's answers.
#[tokio::test]
async fn item4_everything_a_client_renders_is_screened() {
    let stack = moderated("sec-rendered", &[]).await;
    let cases = [
        (
            "split across elements",
            json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "go kill "}},
                   {"MsgType": "TIMTextElem", "MsgContent": {"Text": "yourself"}}]),
        ),
        (
            "custom Desc",
            json!([{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "{}", "Desc": "go kill yourself"}}]),
        ),
        (
            "custom Data JSON",
            json!([{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "{\"text\":\"go kill yourself\"}"}}]),
        ),
        (
            "custom Ext",
            json!([{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "x", "Ext": "go kill yourself"}}]),
        ),
        (
            "relay title",
            json!([{"MsgType": "TIMRelayElem", "MsgContent": {"Title": "go kill yourself", "MsgNum": 0, "MsgList": []}}]),
        ),
        (
            "relay fallback",
            json!([{"MsgType": "TIMRelayElem", "MsgContent": {"Title": "chat", "CompatibleText": "go kill yourself"}}]),
        ),
        (
            "relay nested message",
            json!([{"MsgType": "TIMRelayElem", "MsgContent": {"Title": "chat", "MsgNum": 1, "MsgList": [
                {"From_Account": "x", "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "go kill yourself"}}]}]}}]),
        ),
        (
            "location",
            json!([{"MsgType": "TIMLocationElem", "MsgContent": {"Desc": "go kill yourself", "Latitude": 1.0, "Longitude": 2.0}}]),
        ),
        (
            "file name",
            json!([{"MsgType": "TIMFileElem", "MsgContent": {"UUID": "f", "FileName": "go kill yourself.txt", "Download_Flag": 2}}]),
        ),
        (
            "face data",
            json!([{"MsgType": "TIMFaceElem", "MsgContent": {"Index": 1, "Data": "go kill yourself"}}]),
        ),
        (
            "unknown element type",
            json!([{"MsgType": "TIMFutureElem", "MsgContent": {"Caption": {"Line": "go kill yourself"}}}]),
        ),
    ];
    for (label, body) in cases {
        let answer = stack
            .im()
            .user_send_group("bob", "room", body, vec![])
            .await;
        assert_eq!(answer["ErrorCode"], 10016, "{label}: {answer}");
    }
    let state = stack.im().state();
    assert!(
        state.groups["room"]
            .messages
            .iter()
            .all(|m| m.from != "bob"),
        "nothing of bob's was delivered: {:?}",
        state.groups["room"].messages
    );
    let fine = stack
        .im()
        .user_send_group(
            "bob",
            "room",
            json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "see you "}},
                   {"MsgType": "TIMTextElem", "MsgContent": {"Text": "tomorrow"}}]),
            vec![],
        )
        .await;
    assert_eq!(fine["ErrorCode"], 0, "{fine}");
    assert_eq!(delivered_by_bob(&stack).len(), 1);

    // A group's introduction is screened with its name.
    let url = signed_webhook_url(&stack.runner.url, "Group.CallbackBeforeCreateGroup");
    let (status, answer) = stack
        .runner
        .send(stack.runner.client.post(url).json(&json!({
            "CallbackCommand": "Group.CallbackBeforeCreateGroup", "Operator_Account": "bob",
            "Owner_Account": "bob", "Type": "Public", "Name": "Study group",
            "Introduction": "go kill yourself", "MemberList": []})))
        .await;
    assert_eq!(
        (status, answer["ErrorCode"].as_i64()),
        (200, Some(1)),
        "{answer}"
    );
}

// 4c. The robot's answers skip IM's before-send callback: the relay runs
//     them through the moderation engine and policy itself.
#[tokio::test]
async fn item4_the_robots_answer_is_screened_before_it_is_sent() {
    let stack = Stack::start("sec-robot", &[]).await;
    // The emulated model repeats the question in its answer; the question
    // reaches the robot's webhook directly (as an unmoderated route would).
    assert_eq!(
        ask_robot(&stack, "k-robot", "say: go kill yourself").await,
        200
    );
    assert_eq!(
        robot_replies(&stack, 1).await,
        ["Sorry, I can't share that answer."]
    );
    assert!(stack.runner.logged("answer screened: reject"));
}

/// The robot's messages to alice (one-to-one), once `count` of them are
/// there and, for streamed ones, finished.
async fn robot_replies(stack: &Stack, count: usize) -> Vec<String> {
    eventually(stack, "the robot's reply", || {
        let replies: Vec<_> = stack
            .im()
            .state()
            .c2c
            .iter()
            .filter(|m| m.from == "@RBT#assistant" && m.stream.is_none_or(|(_, done)| done))
            .map(|m| im_emulator::text_of(&m.body))
            .collect();
        (replies.len() >= count).then_some(replies)
    })
    .await
}

// 4b. Changes to a group's texts after it was created are screened too.
//     IM has only an after-callback for them, so what does not pass is
//     scrubbed through REST; the scrub's own callback (the administrator's)
//     changes nothing more.
#[tokio::test]
async fn item4_a_group_renamed_after_creation_is_scrubbed() {
    let stack = moderated("sec-group-info", &[]).await;
    let answer = stack.im().user_modify_group(
        "bob",
        "room",
        json!({"Name": "kill yourself club", "Notification": "Meeting at 5"}),
    );
    assert_eq!(answer["ErrorCode"], 0, "{answer}");
    let group = eventually(&stack, "the scrub", || {
        let group = stack.im().state().groups["room"].clone();
        (!group.name.contains("kill")).then_some(group)
    })
    .await;
    assert!(
        group.name.ends_with(" club") && group.name.contains('*'),
        "{}",
        group.name
    );
    assert_eq!(
        group.notification, "Meeting at 5",
        "a clean field is left alone"
    );
    assert!(stack.runner.logged(r#""moderation":"scrub""#));
    // The scrub fires the callback again, as the administrator: accepted as
    // it is, so the name stays scrubbed and nothing loops.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let changes: Vec<_> = stack
        .im()
        .state()
        .deliveries
        .iter()
        .filter(|d| d.command == "Group.CallbackAfterGroupInfoChanged")
        .inspect(|d| assert_eq!(d.body["Type"], "Public", "the group's own type"))
        .map(|d| {
            d.body["Operator_Account"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(changes, ["bob", "administrator"]);
    assert_eq!(stack.im().state().groups["room"].name, group.name);
    // A clean change is not touched.
    stack
        .im()
        .user_modify_group("bob", "room", json!({"Introduction": "Weekly study notes"}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        stack.im().state().groups["room"].introduction,
        "Weekly study notes"
    );
}

// 4c. Terms an operator added at run time (the overlay) are kept out of the
//     robot's answers as well as users' messages.
#[tokio::test]
async fn item4_the_robots_answer_honours_the_overlay() {
    let stack = Stack::start("sec-robot-overlay", &[]).await;
    let overlay = json!({"terms": [{"text": "blorp", "category": "custom", "action": "reject", "severity": 3}]});
    let (status, answer) = stack
        .runner
        .send(
            stack
                .runner
                .client
                .put(format!("{}/moderation/overlay", stack.runner.url))
                .bearer_auth(switchboard::emulators::EMULATOR_MODERATION_ADMIN_TOKEN)
                .json(&overlay),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(ask_robot(&stack, "k-overlay", "say blorp twice").await, 200);
    assert_eq!(
        robot_replies(&stack, 1).await,
        ["Sorry, I can't share that answer."]
    );
}

// 4c. A streamed answer is screened as a whole, not piece by piece: a
//     term that arrives split across two pieces is still caught.
#[tokio::test]
async fn item4_a_term_split_across_stream_pieces_is_caught() {
    let robots = r#"chatbot_robots=[{"id": "@RBT#assistant", "providers": [{"kind": "openai", "model": "gpt-emu"}], "stream": true}]"#;
    let stack = Stack::start("sec-robot-stream", &[robots]).await;
    // The emulated model streams "gpt-emu (turn 1): " + the question word
    // by word, and the relay flushes a piece once 48 characters wait: this
    // question makes the first piece end with "go kill ", the next begin
    // with "yourself".
    let question = "please repeat this now: go kill yourself and more words after it";
    assert_eq!(ask_robot(&stack, "k-stream", question).await, 200);
    let reply = robot_replies(&stack, 1).await.remove(0);
    // The first piece went out before the term was complete (so judging
    // pieces alone would have let "yourself" follow it).
    assert!(
        reply.starts_with("gpt-emu (turn 1): please repeat this now: go kill \n"),
        "{reply}"
    );
    assert!(!reply.contains("yourself"), "{reply}");
    assert!(
        reply.ends_with("Sorry, I can't share that answer."),
        "{reply}"
    );
    let state = stack.im().state();
    let streamed = state
        .c2c
        .iter()
        .find(|m| m.from == "@RBT#assistant")
        .unwrap();
    assert!(
        streamed
            .stream
            .is_some_and(|(pieces, done)| pieces >= 2 && done),
        "{:?}",
        streamed.stream
    );
}

// 11. The gateway's refusals give nothing away and cannot forge log lines.
#[tokio::test]
async fn item11_a_refused_webhook_names_no_app_id_and_forges_no_log_line() {
    let stack = Stack::start("sec-gateway", &[]).await;
    let url = format!(
        "{}/im/webhook?SdkAppid=1%0Aforged%20line&CallbackCommand=State.StateChange",
        stack.runner.url
    );
    let (status, answer) = stack
        .runner
        .send(stack.runner.client.post(url).body("{}"))
        .await;
    assert_eq!(status, 401);
    let error = answer["error"].as_str().unwrap();
    assert!(!error.contains("1400000000"), "{error}");
    // Every log line carries the component's prefix, so a forged line would
    // be one holding the injected text without the rejection around it.
    let lines = stack.runner.logger.captured();
    let mentions: Vec<&String> = lines.iter().filter(|l| l.contains("forged line")).collect();
    assert!(!mentions.is_empty(), "the rejection is logged: {lines:#?}");
    assert!(
        mentions.iter().all(|l| l.contains("SdkAppid")),
        "the injected text stays inside the escaped value: {lines:#?}"
    );
}

/// Sends `POST path` with a chunked body of `total` bytes (no
/// `content-length`) over a raw connection, as fast as the server takes it,
/// and returns the status line's code (0 when the server closed first).
async fn chunked_post(
    url: &str,
    path_and_query: &str,
    headers: &[(&str, String)],
    total: usize,
) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "POST {path_and_query} HTTP/1.1\r\nhost: {addr}\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < total {
        let frame = format!("{:x}\r\n", chunk.len());
        if stream.write_all(frame.as_bytes()).await.is_err()
            || stream.write_all(&chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break; // the server stopped reading: it answered already
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = vec![0; 1024];
    let read = stream.read(&mut answer).await.unwrap_or(0);
    String::from_utf8_lossy(&answer[..read])
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

// 2. Bounded bodies: a chunked body (no content-length) is read up to the
//    route's cap and refused there, signed or not, and the host keeps
//    serving; a before-send callback that is too large is refused, not
//    delivered.
#[tokio::test]
async fn item2_oversized_chunked_bodies_are_refused_on_every_route() {
    let stack = Stack::start("sec-bodies", &[]).await;
    let url = stack.runner.url.clone();
    let user = vec![
        ("x-im-user-id", "alice".to_string()),
        ("authorization", format!("UserSig {}", usersig("alice"))),
    ];
    let ts = now().to_string();
    let apex = vec![
        ("x-switchboard-timestamp", ts.clone()),
        ("x-switchboard-nonce", fresh_nonce()),
        ("x-switchboard-signature", "unchecked".to_string()),
    ];
    let admin = vec![(
        "authorization",
        format!(
            "Bearer {}",
            switchboard::emulators::EMULATOR_MODERATION_ADMIN_TOKEN
        ),
    )];
    let routes: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("/zendesk/requests", user.clone()),
        ("/salesforce/requests", user.clone()),
        ("/salesforce/events", apex.clone()),
        ("/salesforce/agent-usersig", apex),
        ("/zendesk/webhook", vec![]),
        ("/zendesk/app", vec![]),
        ("/zendesk/app/send", vec![]),
        ("/moderation/overlay", admin.clone()),
        (
            "/moderation/review/0123456789abcdef0123456789abcdef/false-positive",
            admin,
        ),
    ];
    for (path, headers) in routes {
        let status = chunked_post(&url, path, &headers, 8 * 1024 * 1024).await;
        assert!(
            status == 413 || status == 401,
            "{path}: answered {status}, not 413 (or 401 before reading)"
        );
    }
    let webhook = signed_webhook_url(&url, "Group.CallbackBeforeSendMsg");
    let path = &webhook[url.len()..];
    let status = chunked_post(&url, path, &[], 8 * 1024 * 1024).await;
    assert_eq!(status, 200, "a decision, not an error IM would deliver on");
    let (status, _) = stack.runner.get("/health").await;
    assert_eq!(status, 200, "still serving");
}

// 2. The host bounds a request's head and how long a client may take to
//    send it.
#[tokio::test]
async fn item2_the_host_refuses_huge_heads_and_drops_slow_clients() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack = Stack::start("sec-heads", &[]).await;
    let addr = stack.runner.url.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let huge = format!(
        "GET /health HTTP/1.1\r\nhost: {addr}\r\nx-padding: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let _ = stream.write_all(huge.as_bytes()).await;
    let mut answer = vec![0; 256];
    let read = stream.read(&mut answer).await.unwrap_or(0);
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );

    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut rest = vec![0; 256];
    let closed = tokio::time::timeout(
        spin_local_host::server::HEADER_READ_TIMEOUT + Duration::from_secs(5),
        slow.read(&mut rest),
    )
    .await
    .expect("the host closes a connection whose head never completes");
    assert!(closed.is_ok());
    assert!(
        started.elapsed() >= spin_local_host::server::HEADER_READ_TIMEOUT - Duration::from_secs(1)
    );
}

/// Files alice's request at `path`: status, answer and how long it took.
async fn timed_request(stack: &Stack, path: &str) -> (u16, Value, Duration) {
    let started = Instant::now();
    let (status, answer) = open_request(stack, path, "h1").await;
    (status, answer, started.elapsed())
}

// 8. Deadlines: an upstream that accepts and never answers costs a request
//    no more than its caller's budget (Zendesk and Apex wait 10 s), and the
//    answer names what did not answer.
#[tokio::test]
async fn item8_a_hanging_upstream_is_given_up_within_the_callers_budget() {
    let hanging = Silent::start().await;
    let im_rewire = [("im_base_url", hanging.url.clone())];
    let zendesk_rewire = [("zendesk_base_url", hanging.url.clone())];
    let (im_down, zendesk_down) = tokio::join!(
        Stack::start_rewired(configured("sec-hang-im", &[]), &im_rewire),
        Stack::start_rewired(configured("sec-hang-zd", &[]), &zendesk_rewire),
    );
    let (im, zendesk, salesforce) = tokio::join!(
        timed_request(&im_down, "/zendesk/requests"),
        timed_request(&zendesk_down, "/zendesk/requests"),
        timed_request(&im_down, "/salesforce/requests"),
    );
    for (label, (status, answer, took)) in [
        ("IM", im),
        ("Zendesk", zendesk),
        ("IM (Salesforce bridge)", salesforce),
    ] {
        assert_eq!(status, 502, "{label}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("no answer within"),
            "{label}: {answer}"
        );
        assert!(took < Duration::from_secs(10), "{label} took {took:?}");
    }
    // Nothing half-made: the ticket that needed the hanging IM is in
    // Zendesk, to be resumed by the user's retry with the same key.
    assert_eq!(
        im_down
            .backends
            .zendesk
            .as_ref()
            .unwrap()
            .state()
            .tickets
            .len(),
        1
    );
    assert!(zendesk_down.im().state().groups.is_empty());
}

// 9. Input that once panicked: a ~60 KB query string on the gateway (the
//    parsers' own no-panic properties run in each crate's `no_panic` tests).
#[tokio::test]
async fn item9_a_huge_query_string_is_refused_not_a_panic() {
    let stack = Stack::start("sec-query", &[]).await;
    let url = format!(
        "{}&pad={}",
        signed_webhook_url(&stack.runner.url, "State.StateChange"),
        "a".repeat(60 * 1024)
    );
    let (status, answer) = stack
        .runner
        .send(stack.runner.client.post(url).body("{}"))
        .await;
    assert_eq!(status, 414, "{answer}");
    assert!(!stack.runner.logged("panicked"));
    let (status, _) = stack.runner.get("/health").await;
    assert_eq!(status, 200);
}

/// Posts a Zendesk webhook `body` signed at `timestamp` with the emulator's
/// secret, with the (unsigned) invocation id `invocation`.
async fn zendesk_delivery(stack: &Stack, body: &str, timestamp: &str, invocation: &str) -> Value {
    let secret = stack.zendesk().config().webhook_secret;
    let (status, answer) = stack
        .runner
        .post_zendesk_webhook(&secret, body, timestamp, invocation)
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

fn assignment(event_id: &str, ticket: u64, agent: u64, at: u64) -> String {
    json!({
        "id": event_id, "type": "zen:event-type:ticket.agent_assignment_changed",
        "time": zendesk::webhook::format_timestamp(at), "zendesk_event_version": "2022-11-06",
        "detail": {"id": ticket.to_string(), "assignee_id": agent.to_string()},
        "event": {"current": agent.to_string()},
    })
    .to_string()
}

// 7. Replays and ordering (Zendesk): a captured delivery replayed with a new
//    invocation id is a duplicate, and an older event retried after a newer
//    one does not roll the assignee back.
#[tokio::test]
async fn item7_zendesk_replays_and_late_retries_change_nothing() {
    let stack = Stack::start("sec-zd-replay", &[]).await;
    let (status, ticket) = open_request(&stack, "/zendesk/requests", "r1").await;
    assert_eq!(status, 201, "{ticket}");
    let id = ticket["ticket_id"].as_u64().unwrap();
    let group = ticket["group_id"].as_str().unwrap().to_string();
    let signed_at = zendesk::webhook::format_timestamp(now());

    // The same signed delivery again, under a new (unsigned) invocation id.
    let first = assignment("evt-a", id, 7001, now() - 60);
    applied_then_duplicate(&stack, &first, &signed_at).await;

    let newer = assignment("evt-b", id, 7002, now());
    zendesk_delivery(&stack, &newer, &signed_at, "inv-2").await;
    assert_eq!(
        stack.members(&group).unwrap(),
        ["alice", "zendesk-agent-7002"]
    );
    // An older event (not seen before) arriving late: ignored.
    let late = assignment("evt-c", id, 7003, now() - 30);
    let answer = zendesk_delivery(&stack, &late, &signed_at, "inv-3").await;
    assert!(
        answer["ignored"].as_str().unwrap_or("").contains("older"),
        "{answer}"
    );
    assert_eq!(
        stack.members(&group).unwrap(),
        ["alice", "zendesk-agent-7002"]
    );

    // A trigger body has no event id: the signed content itself is the
    // mark. Applied once; replayed under a new invocation id, a duplicate.
    let trigger = json!({"ticket_id": id.to_string(), "assignee_id": "7005"}).to_string();
    let at = zendesk::webhook::format_timestamp(now() + 1);
    applied_then_duplicate(&stack, &trigger, &at).await;
}

/// Delivers `body` signed at `timestamp`: applied; then the very same
/// signed delivery under a new invocation id: a duplicate.
async fn applied_then_duplicate(stack: &Stack, body: &str, timestamp: &str) {
    let answer = zendesk_delivery(stack, body, timestamp, "inv-original").await;
    assert_eq!(
        answer["applied"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );
    let replay = zendesk_delivery(stack, body, timestamp, "inv-forged").await;
    assert_eq!(replay["duplicate"], true, "{replay}");
}

// 7. Replays (Salesforce): every Apex call carries a signed nonce, claimed
//    atomically for as long as its timestamp could pass. Parallel copies
//    of one captured call get one answer between them (one UserSig, not
//    one each); two honest calls with identical bodies in the same second
//    are both served; a call that failed gives its claim back, so sending
//    it again applies it instead of losing it to its own replay mark.
#[tokio::test]
async fn item7_parallel_replays_of_an_apex_call_get_one_answer() {
    let stack = Stack::start("sec-sf-replay", &[]).await;
    let body = json!({"user_id": "005EMU000000000001"}).to_string();
    let (ts, nonce) = (now(), fresh_nonce());
    let call = |nonce: String| {
        let (runner, body) = (&stack.runner, &body);
        async move {
            runner
                .post_as_apex(
                    "agent-usersig",
                    body,
                    EMULATOR_SALESFORCE_INBOUND_SECRET,
                    ts,
                    &nonce,
                )
                .await
        }
    };
    let copies = (0..12).map(|_| call(nonce.clone()));
    let answers = futures::future::join_all(copies).await;
    let served: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, answer)| answer)
        .collect();
    assert_eq!(served.len(), 1, "exactly one copy is served: {answers:?}");
    assert!(served[0]["usersig"].is_string(), "{}", served[0]);
    for (status, answer) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(*status, 401, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("replay"),
            "{answer}"
        );
    }
    // Later copies, inside the window, are refused too.
    let (status, _) = call(nonce.clone()).await;
    assert_eq!(status, 401);
    // The same body in the same second under another nonce is another call.
    let (status, answer) = call(fresh_nonce()).await;
    assert_eq!(status, 200, "{answer}");
    // Without a nonce the call is refused, naming the header.
    let unsigned = stack
        .runner
        .client
        .post(format!("{}/salesforce/agent-usersig", stack.runner.url))
        .header("x-switchboard-timestamp", ts.to_string())
        .header(
            "x-switchboard-signature",
            salesforce::inbound::sign(
                EMULATOR_SALESFORCE_INBOUND_SECRET,
                &ts.to_string(),
                "",
                body.as_bytes(),
            ),
        )
        .body(body.clone());
    let (status, answer) = stack.runner.send(unsigned).await;
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("X-Switchboard-Nonce"),
        "{answer}"
    );
}

#[tokio::test]
async fn item7_a_failed_apex_call_is_not_lost_to_its_replay_claim() {
    let stack = Stack::start("sec-sf-release", &[]).await;
    let (status, opened) = open_request(&stack, "/salesforce/requests", "release").await;
    assert_eq!(status, 201, "{opened}");
    let (case_id, group) = (
        opened["case_id"].clone(),
        opened["group_id"].as_str().unwrap().to_string(),
    );
    let body = json!({"events": [
        {"type": "agent_assigned", "case_id": case_id, "user_id": "005EMU000000000001"}
    ]})
    .to_string();
    let (ts, nonce) = (now(), fresh_nonce());
    let call = || {
        stack.runner.post_as_apex(
            "events",
            &body,
            EMULATOR_SALESFORCE_INBOUND_SECRET,
            ts,
            &nonce,
        )
    };
    // IM fails the join: the event is not applied, and the answer says so.
    stack.im().fail_next(70500);
    let (status, answer) = call().await;
    assert!(status >= 500, "{status} {answer}");
    assert_eq!(stack.members(&group).unwrap(), ["alice"]);
    // The same signed call again (as a retrying proxy would send it): applied.
    let (status, answer) = call().await;
    assert_eq!(status, 200, "{answer}");
    let mut members = stack.members(&group).unwrap();
    members.sort();
    assert_eq!(members, ["alice", "sf-005EMU000000000001"]);
    // And now it is a replay.
    let (status, _) = call().await;
    assert_eq!(status, 401);
}

// 6. A former agent keeps no access. Zendesk: the sidebar joins the new
//    assignee before the webhook arrives; the previous agent still leaves.
#[tokio::test]
async fn item6_zendesk_membership_converges_whoever_comes_first() {
    let stack = Stack::start("sec-zd-converge", &[]).await;
    let (status, ticket) = open_request(&stack, "/zendesk/requests", "c1").await;
    assert_eq!(status, 201, "{ticket}");
    let id = ticket["ticket_id"].as_u64().unwrap();
    let group = ticket["group_id"].as_str().unwrap().to_string();
    let zendesk = stack.backends.zendesk.as_ref().unwrap();
    zendesk.assign(id, Some(7001)).await.unwrap();
    assert_eq!(
        stack.members(&group).unwrap(),
        ["alice", "zendesk-agent-7001"]
    );

    // Reassigned in Zendesk; the webhook is late, the new agent opens the
    // sidebar first.
    zendesk.set_webhook_url(None);
    zendesk.assign(id, Some(7002)).await;
    let (status, answer) = sidebar_join(&stack, 7002, id).await;
    assert_eq!(
        (status, answer["assigned"].as_bool()),
        (200, Some(true)),
        "{answer}"
    );
    assert_eq!(
        stack.members(&group).unwrap(),
        ["alice", "zendesk-agent-7002"]
    );

    // The late webhook, and a retry of it: nothing changes.
    zendesk.set_webhook_url(Some(format!("{}/zendesk/webhook", stack.runner.url)));
    let delivery = zendesk.assign(id, Some(7002)).await.unwrap();
    assert_eq!(delivery.status, Some(200), "{:?}", delivery.answer);
    zendesk.redeliver(&delivery).await.unwrap();
    assert_eq!(
        stack.members(&group).unwrap(),
        ["alice", "zendesk-agent-7002"]
    );
}

// 6. Salesforce: an agent the Case record does not list (a concurrent
//    batch's write was lost) still leaves when ownership moves on.
#[tokio::test]
async fn item6_salesforce_owner_change_removes_an_agent_the_record_missed() {
    let stack = Stack::start("sec-sf-converge", &[]).await;
    let (status, case) = open_request(&stack, "/salesforce/requests", "c2").await;
    assert_eq!(status, 201, "{case}");
    let case_id = case["case_id"].as_str().unwrap().to_string();
    let group = case["group_id"].as_str().unwrap().to_string();
    // In IM, not in the record: what a lost read-modify-write leaves.
    let missed = "sf-005EMU000000000001";
    stack.im().import_account(missed);
    assert!(stack.im().join_group(&group, &[missed]));
    let (status, answer) = apex(
        &stack,
        "events",
        &json!({"events": [{"type": "owner_changed", "case_id": case_id,
            "old_owner_id": "005EMU000000000001", "new_owner_id": "005EMU000000000002"}]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        stack.members(&group).unwrap(),
        ["alice", "sf-005EMU000000000002"]
    );
}

// 10. The requester is who IM says, not who the body says: a user who types
//     someone else's e-mail gets no ticket filed as that person (Zendesk
//     would mail them); the requester is bound to the IM user id under the
//     operator's domain, or — by default — not named at all, and the typed
//     details reach agents marked as unverified beside the verified IM user.
#[tokio::test]
async fn item10_the_requester_is_the_verified_im_user() {
    let impersonating = json!({
        "subject": "Wire the refund", "description": "Send it to the new account.",
        "name": "The CEO", "email": "ceo@victim.example", "idempotency_key": "imp-1",
    });
    for (domain, expected_email) in [
        (None, ""),
        (
            Some("chat-users.example.test"),
            "mallory@chat-users.example.test",
        ),
    ] {
        let vars: Vec<String> = domain
            .iter()
            .map(|d| format!("zendesk_requester_domain={d}"))
            .collect();
        let vars: Vec<&str> = vars.iter().map(String::as_str).collect();
        let stack = Stack::start("sec-requester", &vars).await;
        let (status, answer) =
            file_as(&stack, "/zendesk/requests", "mallory", &impersonating).await;
        assert_eq!(status, 201, "{answer}");
        let zd = stack.zendesk().state();
        let ticket = &zd.tickets[&answer["ticket_id"].as_u64().unwrap()];
        assert_eq!(ticket.requester_email, expected_email, "{domain:?}");
        assert!(!ticket.requester_email.contains("victim"));
        assert!(
            ticket.description.contains("IM user `mallory` (verified)"),
            "{}",
            ticket.description
        );
        assert!(
            ticket
                .description
                .contains("not verified: The CEO <ceo@victim.example>"),
            "{}",
            ticket.description
        );
        // Salesforce keeps typed details in its "Web" fields, which are
        // exactly that, and says the same to agents.
        let (status, answer) =
            file_as(&stack, "/salesforce/requests", "mallory", &impersonating).await;
        assert_eq!(status, 201, "{answer}");
        let sf = stack.salesforce().state();
        let case = &sf.cases[answer["case_id"].as_str().unwrap()];
        assert_eq!(case.fields["SuppliedEmail"], "ceo@victim.example");
        let description = case.fields["Description"].as_str().unwrap();
        assert!(
            description.contains("IM user `mallory` (verified)"),
            "{description}"
        );
        assert!(description.contains("not verified"), "{description}");
    }
    // A domain that is not one is named, and nothing is filed.
    let stack = Stack::start(
        "sec-requester-bad",
        &["zendesk_requester_domain=not a domain"],
    )
    .await;
    let (status, answer) = file_as(&stack, "/zendesk/requests", "mallory", &impersonating).await;
    assert_eq!(status, 500, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("zendesk_requester_domain"),
        "{answer}"
    );
    assert!(stack.zendesk().state().tickets.is_empty());
}

// 10. Creation is rate-limited per user (repeats of a request are not new
//     ones).
#[tokio::test]
async fn item10_new_requests_are_limited_per_user() {
    let stack = Stack::start("sec-rate", &["requests_per_user_per_hour=2"]).await;
    let file = |user: &'static str, key: &'static str| {
        let stack = &stack;
        async move {
            stack
                .runner
                .post_as_user(
                    "/zendesk/requests",
                    user,
                    Some(&usersig(user)),
                    &support_request(key),
                )
                .await
        }
    };
    assert_eq!(file("alice", "a1").await.0, 201);
    assert_eq!(file("alice", "a2").await.0, 201);
    let (status, answer) = file("alice", "a3").await;
    assert_eq!(status, 429, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("requests_per_user_per_hour")
    );
    assert_eq!(
        file("alice", "a1").await.0,
        200,
        "a repeat is not a new request"
    );
    assert_eq!(file("bob", "b1").await.0, 201, "limits are per user");
    // Racing requests cannot pass the limit either: each is counted
    // atomically.
    let racing = ["c1", "c2", "c3", "c4", "c5", "c6"].map(|key| file("carol", key));
    let statuses: Vec<u16> = futures::future::join_all(racing)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(stack.zendesk().state().tickets.len(), 5);
}

// 11. Credentials never go over plain http to a remote host unless the
//     operator allows it.
#[tokio::test]
async fn item11_plain_http_to_a_remote_host_is_refused() {
    let stack = Stack::start_rewired(
        configured("sec-http", &[]),
        &[("zendesk_base_url", "http://192.0.2.10".to_string())],
    )
    .await;
    let (status, answer) = open_request(&stack, "/zendesk/requests", "p1").await;
    assert_eq!(status, 502, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("allow_insecure_http"),
        "{answer}"
    );
}

// 2. A client that trickles its body is cut off at the body deadline.
#[tokio::test]
async fn item2_a_trickled_body_times_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack = Stack::start("sec-trickle", &[]).await;
    let addr = stack.runner.url.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /zendesk/requests HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nx-im-user-id: alice\r\nauthorization: UserSig {}\r\ncontent-length: 1000\r\n\r\n{{\"subject\"",
        usersig("alice")
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = vec![0; 512];
    let read = tokio::time::timeout(
        connector_body_deadline() + Duration::from_secs(10),
        stream.read(&mut answer),
    )
    .await
    .expect("answered before the test's own limit")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() >= connector_body_deadline() - Duration::from_secs(1));
    assert!(stack.zendesk().state().tickets.is_empty());
}

/// The components' body deadline (`connector::edge::BODY_DEADLINE`).
fn connector_body_deadline() -> Duration {
    Duration::from_secs(10)
}

// 4. The nickname a bridge sets from what the user typed is screened too.
#[tokio::test]
async fn item4_the_nickname_a_bridge_sets_is_screened() {
    let stack = Stack::start("sec-nick", &[]).await;
    let mut request = support_request("n1");
    request["name"] = json!("go kill yourself");
    let (status, answer) = stack
        .runner
        .post_as_user(
            "/zendesk/requests",
            "alice",
            Some(&usersig("alice")),
            &request,
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let nick = stack.im().state().nicks["alice"].clone();
    assert_eq!(nick, "*".repeat("go kill yourself".len()));
}
