//! The Salesforce case bridge (real wasm in the runner) against the IM and
//! Salesforce emulators, with Apex's calls signed exactly as the shipped Apex
//! signs them.

use serde_json::{Value, json};
use switchboard::emulators::{Backends, EMULATOR_SALESFORCE_INBOUND_SECRET, EmulatorAddrs};
use switchboard_tests::{Runner, Stack, config, emulator_signer, fresh_nonce, now, root, usersig};

/// The shipped application and its emulators, with this bridge's calls.
struct World(Stack);

impl std::ops::Deref for World {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.0
    }
}

const AGENT_A: &str = "005EMU000000000001";
const AGENT_B: &str = "005EMU000000000002";
const QUEUE: &str = "00GEMU000000000001";

impl World {
    async fn start(label: &str, variables: &[&str]) -> Self {
        Self(Stack::start(label, variables).await)
    }

    fn sf(&self) -> &salesforce_emulator::SalesforceEmulator {
        self.backends.salesforce.as_ref().unwrap()
    }

    async fn create(&self, user: &str, usersig: Option<&str>, body: &Value) -> (u16, Value) {
        self.runner
            .post_as_user("/salesforce/requests", user, usersig, body)
            .await
    }

    /// POSTs `body` to an Apex route, signed with `secret` at `timestamp`
    /// with a fresh nonce.
    async fn apex(&self, route: &str, body: &str, secret: &str, timestamp: u64) -> (u16, Value) {
        self.runner
            .post_as_apex(route, body, secret, timestamp, &fresh_nonce())
            .await
    }

    async fn events(&self, events: Value) -> (u16, Value) {
        let body = json!({ "events": events }).to_string();
        self.apex("events", &body, EMULATOR_SALESFORCE_INBOUND_SECRET, now())
            .await
    }

    async fn open_case(&self, key: &str) -> (String, String) {
        let (status, body) = self
            .create("alice", Some(&usersig("alice")), &request(Some(key)))
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["case_id"].as_str().unwrap().to_string(),
            body["group_id"].as_str().unwrap().to_string(),
        )
    }
}

fn request(key: Option<&str>) -> Value {
    let mut body = json!({
        "subject": "Refund not received",
        "description": "I returned the order two weeks ago.",
        "name": "Alice Example",
        "email": "alice@example.com",
    });
    if let Some(key) = key {
        body["idempotency_key"] = json!(key);
    }
    body
}

#[tokio::test]
async fn a_request_becomes_a_case_and_a_group() {
    let w = World::start("sf-e2e", &[]).await;
    let (case_id, group) = w.open_case("k1").await;
    assert_eq!(group, format!("SFCASE#{case_id}"));
    let sf = w.sf().state();
    let case = &sf.cases[&case_id];
    assert_eq!(case.fields["Subject"], "Refund not received");
    assert_eq!(case.fields["SuppliedEmail"], "alice@example.com");
    assert_eq!(case.fields["Origin"], "Chat");
    assert_eq!(
        case.external_id.as_ref().unwrap().0,
        "Switchboard_Request_Id__c"
    );
    assert_eq!(w.members(&group).unwrap(), ["alice"]);
    assert_eq!(sf.logins, ["client_credentials"]);
}

#[tokio::test]
async fn creation_needs_the_users_own_valid_usersig() {
    let w = World::start("sf-auth", &[]).await;
    let expired = emulator_signer().generate("alice", now() - 7200, 60);
    for (sig, reason) in [
        (None, "missing"),
        (Some(usersig("mallory")), "not `alice`"),
        (Some(expired), "expired"),
    ] {
        let (status, body) = w.create("alice", sig.as_deref(), &request(Some("k"))).await;
        assert_eq!(status, 401, "{body}");
        assert!(body["error"].as_str().unwrap().contains(reason), "{body}");
    }
    assert!(w.sf().state().cases.is_empty());
    assert!(w.im().state().groups.is_empty());
}

#[tokio::test]
async fn retries_resume_and_never_duplicate() {
    let w = World::start("sf-resume", &[]).await;
    let sig = usersig("alice");
    // Failure between the Case and the group.
    w.im().fail_next(10002);
    let (status, body) = w.create("alice", Some(&sig), &request(Some("r1"))).await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("IM group creation failed"),
        "{body}"
    );
    assert_eq!(w.sf().state().cases.len(), 1);
    assert!(w.im().state().groups.is_empty());
    let (status, first) = w.create("alice", Some(&sig), &request(Some("r1"))).await;
    assert_eq!(status, 201, "{first}");
    // Same key again: same answer.
    let (status, again) = w.create("alice", Some(&sig), &request(Some("r1"))).await;
    assert_eq!((status, &again), (200, &first));
    // Without a key, an identical retry is recognised too.
    let (s1, a) = w.create("alice", Some(&sig), &request(None)).await;
    let (s2, b) = w.create("alice", Some(&sig), &request(None)).await;
    assert_eq!((s1, s2, &a), (201, 200, &b));
    assert_eq!(w.sf().state().cases.len(), 2);
    assert_eq!(w.im().state().groups.len(), 2);
}

#[tokio::test]
async fn without_an_external_id_field_the_key_store_still_prevents_duplicates() {
    let w = World::start("sf-plain", &["salesforce_external_id_field="]).await;
    let (case_id, _) = w.open_case("p1").await;
    assert!(w.sf().state().cases[&case_id].external_id.is_none());
    let (status, _) = w
        .create("alice", Some(&usersig("alice")), &request(Some("p1")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(w.sf().state().cases.len(), 1);
}

#[tokio::test]
async fn an_expired_session_reauthenticates_once() {
    let w = World::start("sf-session", &[]).await;
    w.open_case("s1").await;
    w.sf().expire_sessions();
    w.open_case("s2").await;
    let sf = w.sf().state();
    assert_eq!(sf.logins.len(), 2, "one login, then exactly one re-login");
    let statuses: Vec<u16> = sf
        .requests
        .iter()
        .filter(|r| r.1.contains("/sobjects/"))
        .map(|r| r.2)
        .collect();
    assert_eq!(statuses, [201, 401, 201]);
}

#[tokio::test]
async fn salesforce_and_im_failures_are_clear_502s_and_recoverable() {
    let w = World::start("sf-upstream", &[]).await;
    let sig = usersig("alice");
    w.sf().set_limit_reached(true);
    let (status, body) = w.create("alice", Some(&sig), &request(Some("u1"))).await;
    assert_eq!(status, 502);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("REQUEST_LIMIT_EXCEEDED"),
        "{body}"
    );
    assert!(w.sf().state().cases.is_empty());
    w.sf().set_limit_reached(false);
    w.sf().fail_next(500);
    w.sf().fail_next(500);
    w.sf().fail_next(500);
    let (status, body) = w.create("alice", Some(&sig), &request(Some("u1"))).await;
    assert_eq!(status, 502, "{body}");
    assert!(body["error"].as_str().unwrap().contains("500"), "{body}");
    let (status, _) = w.create("alice", Some(&sig), &request(Some("u1"))).await;
    assert_eq!(status, 201);
    assert_eq!(w.sf().state().cases.len(), 1);
}

#[tokio::test]
async fn omni_channel_acceptance_reported_by_both_triggers_adds_the_agent_once() {
    let w = World::start("sf-omni", &[]).await;
    let (case_id, group) = w.open_case("o1").await;
    let (status, body) = w
        .events(json!([
            {"type": "owner_changed", "case_id": case_id, "old_owner_id": QUEUE, "new_owner_id": AGENT_A},
            {"type": "agent_assigned", "case_id": case_id, "user_id": AGENT_A},
        ]))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["result"], "applied");
    assert_eq!(body["results"][1]["result"], "unchanged");
    assert_eq!(
        w.members(&group).unwrap(),
        ["alice".to_string(), format!("sf-{AGENT_A}")]
    );
    let adds = w
        .im()
        .state()
        .calls
        .iter()
        .filter(|(c, _)| c == "group_open_http_svc/add_group_member")
        .count();
    assert_eq!(adds, 1);

    // Owner change A → B: A leaves, B joins.
    let (status, _) = w
        .events(json!([{"type": "owner_changed", "case_id": case_id, "old_owner_id": AGENT_A, "new_owner_id": AGENT_B}]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        w.members(&group).unwrap(),
        ["alice".to_string(), format!("sf-{AGENT_B}")]
    );
}

#[tokio::test]
async fn closing_and_deleting_dissolve() {
    let w = World::start(
        "sf-close",
        &["salesforce_close_action=notify_then_dissolve"],
    )
    .await;
    let (closed, closed_group) = w.open_case("c1").await;
    let (deleted, deleted_group) = w.open_case("c2").await;
    let (status, body) = w
        .events(json!([
            {"type": "case_closed", "case_id": closed},
            {"type": "case_deleted", "case_id": deleted},
            {"type": "case_closed", "case_id": "500EMU999999999999"},
        ]))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][2]["result"], "ignored");
    let im = w.im().state();
    assert!(im.groups.is_empty());
    assert_eq!(im.destroyed_groups, [closed_group, deleted_group]);
    // Closing again is harmless.
    let (status, body) = w
        .events(json!([{"type": "case_closed", "case_id": closed}]))
        .await;
    assert_eq!(
        (status, body["results"][0]["result"].as_str()),
        (200, Some("ignored"))
    );
}

#[tokio::test]
async fn a_reopened_or_undeleted_case_chats_again_in_a_new_group() {
    let w = World::start("sf-reopen", &[]).await;
    let (case_id, group) = w.open_case("re1").await;
    let reopen = json!([{"type": "case_reopened", "case_id": case_id, "owner_id": AGENT_A}]);

    // A reopening that finds the group alive (its closure never came) only
    // brings the owner in.
    let (status, body) = w.events(reopen.clone()).await;
    assert_eq!(
        (status, body["results"][0]["result"].as_str()),
        (200, Some("applied")),
        "{body}"
    );
    assert_eq!(
        w.members(&group).unwrap(),
        ["alice".to_string(), format!("sf-{AGENT_A}")]
    );

    let (status, _) = w
        .events(json!([{"type": "case_closed", "case_id": case_id}]))
        .await;
    assert_eq!(status, 200);
    let (status, body) = w.events(reopen.clone()).await;
    assert_eq!(
        (status, body["results"][0]["result"].as_str()),
        (200, Some("applied")),
        "{body}"
    );
    let first = format!("{group}#1");
    assert_eq!(
        w.members(&first).unwrap(),
        ["alice".to_string(), format!("sf-{AGENT_A}")]
    );
    // The requester keeps the name they gave.
    assert_eq!(w.im().state().nicks["alice"], "Alice Example");

    // The same event again (a resent batch) opens nothing more.
    let (status, body) = w.events(reopen.clone()).await;
    assert_eq!(
        (status, body["results"][0]["result"].as_str()),
        (200, Some("unchanged")),
        "{body}"
    );

    // Deleted, then undeleted while open, without an agent owner: the next
    // group, with the requester alone; later events follow the new group.
    let (status, _) = w
        .events(json!([{"type": "case_deleted", "case_id": case_id}]))
        .await;
    assert_eq!(status, 200);
    let (status, body) = w
        .events(json!([{"type": "case_reopened", "case_id": case_id}]))
        .await;
    assert_eq!(
        (status, body["results"][0]["result"].as_str()),
        (200, Some("applied")),
        "{body}"
    );
    let second = format!("{group}#2");
    assert_eq!(w.members(&second).unwrap(), ["alice"]);
    let (status, _) = w
        .events(json!([{"type": "agent_assigned", "case_id": case_id, "user_id": AGENT_B}]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        w.members(&second).unwrap(),
        ["alice".to_string(), format!("sf-{AGENT_B}")]
    );
    let im = w.im().state();
    assert_eq!(im.destroyed_groups, [group.clone(), first]);
    assert_eq!(im.groups.len(), 1);
    // The requester's app, repeating its request, is pointed at the live group.
    let (status, body) = w
        .create("alice", Some(&usersig("alice")), &request(Some("re1")))
        .await;
    assert_eq!(
        (status, body["group_id"].as_str()),
        (200, Some(second.as_str())),
        "{body}"
    );

    // A Case the bridge never opened is not its business.
    let (status, body) = w
        .events(json!([{"type": "case_reopened", "case_id": "500EMU999999999999", "owner_id": AGENT_A}]))
        .await;
    assert_eq!(
        (status, body["results"][0]["result"].as_str()),
        (200, Some("ignored")),
        "{body}"
    );
}

#[tokio::test]
async fn forged_unsigned_stale_and_replayed_apex_calls_change_nothing() {
    let w = World::start("sf-forged", &[]).await;
    let (case_id, group) = w.open_case("f1").await;
    let body =
        json!({"events": [{"type": "agent_assigned", "case_id": case_id, "user_id": AGENT_A}]})
            .to_string();
    let (status, answer) = w.apex("events", &body, "guessed-secret", now()).await;
    assert_eq!(status, 401, "{answer}");
    let (status, _) = w
        .apex(
            "events",
            &body,
            EMULATOR_SALESFORCE_INBOUND_SECRET,
            now() - 3600,
        )
        .await;
    assert_eq!(status, 401);
    let unsigned = w
        .runner
        .send(
            w.runner
                .client
                .post(format!("{}/salesforce/events", w.runner.url))
                .body(body.clone()),
        )
        .await;
    assert_eq!(unsigned.0, 401);
    assert_eq!(w.members(&group).unwrap(), ["alice"]);

    // A genuine call, then the very same bytes again.
    let (ts, nonce) = (now(), fresh_nonce());
    let call = || {
        w.runner.post_as_apex(
            "events",
            &body,
            EMULATOR_SALESFORCE_INBOUND_SECRET,
            ts,
            &nonce,
        )
    };
    let (status, _) = call().await;
    assert_eq!(status, 200);
    let (status, answer) = call().await;
    assert_eq!(status, 401);
    assert!(
        answer["error"].as_str().unwrap().contains("replay"),
        "{answer}"
    );
}

#[tokio::test]
async fn invalid_batches_are_400_naming_the_field_and_apply_nothing() {
    let w = World::start("sf-400", &[]).await;
    let (case_id, group) = w.open_case("b1").await;
    for (events, field) in [
        (json!(null), "events"),
        (json!([]), "events"),
        (
            json!([{"type": "agent_assigned", "case_id": case_id, "user_id": AGENT_A}, {"type": "case_closed", "case_id": "not-a-case"}]),
            "events[1].case_id",
        ),
        (
            json!([{"type": "agent_assigned", "case_id": case_id, "user_id": "00Gqueue"}]),
            "events[0].user_id",
        ),
        (
            json!([{"type": "agent_joined", "case_id": case_id}]),
            "events[0].type",
        ),
        (
            json!([{"type": "owner_changed", "case_id": case_id, "new_owner_id": "abc"}]),
            "events[0].new_owner_id",
        ),
    ] {
        let (status, body) = w.events(events).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some(field)),
            "{body}"
        );
    }
    assert_eq!(
        w.members(&group).unwrap(),
        ["alice"],
        "an invalid batch applied part of itself"
    );
    let garbage = "{\"events\": [";
    let (status, body) = w
        .apex("events", garbage, EMULATOR_SALESFORCE_INBOUND_SECRET, now())
        .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("body")));
    let (status, body) = w
        .create("alice", Some(&usersig("alice")), &json!({"subject": "x"}))
        .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("description")));
}

#[tokio::test]
async fn agents_get_a_usersig_for_their_im_account() {
    let w = World::start("sf-agent", &[]).await;
    let body = json!({ "user_id": AGENT_A }).to_string();
    let (status, answer) = w
        .apex(
            "agent-usersig",
            &body,
            EMULATOR_SALESFORCE_INBOUND_SECRET,
            now(),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let account = format!("sf-{AGENT_A}");
    assert_eq!(answer["im_user_id"], account);
    assert!(
        emulator_signer()
            .verify(&account, answer["usersig"].as_str().unwrap(), now())
            .is_ok()
    );
    assert!(w.im().state().accounts.contains(&account));
    let bad = json!({ "user_id": "00Gqueue" }).to_string();
    let (status, answer) = w
        .apex(
            "agent-usersig",
            &bad,
            EMULATOR_SALESFORCE_INBOUND_SECRET,
            now(),
        )
        .await;
    assert_eq!((status, answer["field"].as_str()), (400, Some("user_id")));
    let (status, _) = w.apex("agent-usersig", &body, "wrong", now()).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_jwt_bearer_flow_logs_in_with_a_signed_assertion() {
    let keys = root().join("crates/salesforce/testdata");
    let private_key = std::fs::read_to_string(keys.join("jwt-test-key.pem")).unwrap();
    let public_key = std::fs::read_to_string(keys.join("jwt-test-key.pub.pem")).unwrap();
    let org = salesforce_emulator::SalesforceEmulator::start(
        salesforce_emulator::SalesforceConfig {
            jwt_public_key_pem: Some(public_key),
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let settings = org.config().clone();
    let mut config = config(root().join("spin.toml"), "sf-jwt");
    // The other emulators first (all or nothing), then this org instead of
    // the built-in one.
    let backends = Backends::start(&mut config, EmulatorAddrs::any())
        .await
        .unwrap();
    for v in [
        format!("salesforce_login_url={}", org.url()),
        "salesforce_auth=jwt_bearer".to_string(),
        format!("salesforce_client_id={}", settings.client_id),
        format!("salesforce_username={}", settings.username),
        "salesforce_jwt_audience=https://login.salesforce.com".to_string(),
        format!("salesforce_inbound_secret={EMULATOR_SALESFORCE_INBOUND_SECRET}"),
    ] {
        config.variables.add_command_line(&v).unwrap();
    }
    config.variables.environment.insert(
        "SPIN_VARIABLE_SALESFORCE_JWT_PRIVATE_KEY".into(),
        private_key,
    );
    let runner = Runner::start(&config).await.unwrap();
    let w = World(Stack::assemble(runner, backends, &config));
    let (status, body) = w
        .create("alice", Some(&usersig("alice")), &request(Some("j1")))
        .await;
    assert_eq!(status, 201, "{body}");
    let state = org.state();
    assert_eq!(
        state.logins,
        ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    );
    assert_eq!(state.cases.len(), 1);
}

#[tokio::test]
async fn the_chat_reaches_the_case_as_unpublished_comments_once_in_order() {
    let w = World::start("sf-chat-sync", &[]).await;
    let (case_id, group) = w.open_case("chat").await;
    let comments = || -> Vec<salesforce_emulator::CaseComment> {
        w.sf()
            .state()
            .case_comments
            .into_iter()
            .filter(|c| c.parent_id == case_id)
            .collect()
    };
    let long = "x".repeat(3_000);
    let texts = ["Hello?", "My refund is late", long.as_str()];
    for text in texts {
        w.alice_says(&group, text).await;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while comments()
        .iter()
        .map(|c| c.body.lines().count() - 1)
        .sum::<usize>()
        < 3
    {
        assert!(std::time::Instant::now() < deadline, "{:#?}", comments());
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let comments = comments();
    let lines: Vec<&str> = comments
        .iter()
        .flat_map(|c| c.body.lines().skip(1))
        .collect();
    assert_eq!(lines.len(), 3, "{comments:#?}");
    // Each once, and each comment in the chat's order.
    for text in texts {
        let line = format!(" UTC] alice: {text}");
        assert_eq!(
            lines.iter().filter(|l| l.ends_with(&line)).count(),
            1,
            "{text}"
        );
    }
    for comment in &comments {
        let positions: Vec<usize> = comment
            .body
            .lines()
            .skip(1)
            .map(|l| {
                texts
                    .iter()
                    .position(|t| l.ends_with(&format!("alice: {t}")))
                    .unwrap()
            })
            .collect();
        assert!(positions.is_sorted(), "{}", comment.body);
    }
    assert!(
        comments.iter().all(|c| !c.published
            && c.body.starts_with("Chat in IM:\n")
            && c.body.chars().count() <= 4000),
        "{comments:#?}"
    );
}

#[tokio::test]
async fn a_case_opened_out_of_hours_is_told_when_agents_are_back() {
    let hours = switchboard_tests::business_hours_closed_now();
    let setting = format!("salesforce_business_hours={hours}");
    let w = World::start("sf-hours", &[&setting]).await;
    let (_, group) = w.open_case("late").await;
    let notices: Vec<String> = w.im().state().groups[&group]
        .notifications
        .iter()
        .map(|(_, n)| n.clone())
        .collect();
    assert_eq!(
        notices,
        [format!(
            "Our agents work {hours}. They will answer when they are back; you can keep writing here."
        )]
    );
}

#[tokio::test]
async fn forged_im_callbacks_to_the_salesforce_bridge_change_nothing() {
    let w = World::start("sf-chat-forged", &[]).await;
    let (case_id, group) = w.open_case("forged").await;
    let callback = json!({
        "CallbackCommand": "Group.CallbackAfterSendMsg", "GroupId": group, "Type": "Private",
        "From_Account": "alice", "MsgSeq": 9, "MsgTime": now(), "Random": 1,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "forged line"}}],
    });
    for query in [
        String::new(),
        format!(
            "SdkAppid=1400000000&CallbackCommand=Group.CallbackAfterSendMsg&Sign={}&RequestTime={}",
            tim::webhook::sign("guessed-token", &now().to_string()),
            now()
        ),
    ] {
        let url = format!("{}/salesforce/im?{query}", w.runner.url);
        let (status, answer) = w
            .runner
            .send(w.runner.client.post(url).json(&callback))
            .await;
        assert_eq!(status, 401, "{query}: {answer}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !w.sf()
            .state()
            .case_comments
            .iter()
            .any(|c| c.parent_id == case_id)
    );
}
