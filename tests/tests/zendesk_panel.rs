//! The agent's chat in the Zendesk sidebar (issue 14): identity Zendesk
//! signs, the panel session, history, sending as the agent, and what an
//! attacker, a flood or a failing upstream gets. The last test is a person
//! at the controls: Chromium, the emulator's agent workspace, Zendesk's own
//! ZAF SDK.

use serde_json::{Value, json};
use switchboard_tests::{Stack, now};

const CUSTOMER_TEXT: &str = "My invoice shows the wrong address.";

/// A running stack with a ticket opened by alice, assigned to Ada (7001)
/// with its webhook delivered, and a message of alice's in the group.
struct Ticket {
    stack: Stack,
    id: u64,
    group: String,
}

impl Ticket {
    async fn open(label: &str, variables: &[&str]) -> Self {
        let stack = Stack::start(label, variables).await;
        let body = stack
            .customer_opens_and_writes("/zendesk/requests", &format!("{label}-1"), CUSTOMER_TEXT)
            .await;
        let id = body["ticket_id"].as_u64().unwrap();
        let group = body["group_id"].as_str().unwrap().to_string();
        // Assigned after alice wrote: what the panel shows does not depend on it.
        let delivery = stack.zendesk().assign(id, Some(7001)).await.unwrap();
        assert_eq!(delivery.status, Some(200), "{:?}", delivery.answer);
        Self { stack, id, group }
    }

    async fn call(&self, route: &str, session: &str, body: Value) -> (u16, Value) {
        self.stack.zendesk_panel(route, session, &body).await
    }

    async fn send(&self, session: &str, text: &str, client_id: &str) -> (u16, Value) {
        self.call(
            "send",
            session,
            json!({ "ticket_id": self.id, "text": text, "client_id": client_id }),
        )
        .await
    }

    /// `(sender, text)` of the group's messages, in order.
    fn texts(&self) -> Vec<(String, String)> {
        self.stack.im().state().group_texts(&self.group)
    }

    fn sent_by(&self, account: &str) -> Vec<String> {
        self.texts()
            .into_iter()
            .filter(|(from, _)| from == account)
            .map(|(_, text)| text)
            .collect()
    }
}

#[tokio::test]
async fn the_assignee_reads_the_chat_and_answers_as_themselves() {
    let t = Ticket::open("panel-answer", &[]).await;
    let session = t.stack.zendesk_panel_session(7001).await;

    let (status, joined) = t.call("join", &session, json!({ "ticket_id": t.id })).await;
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
            Some("zendesk-agent-7001"),
            Some("Ada Lovelace")
        )
    );
    assert!(
        joined["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["speaker"] == "you" && m["name"] == "Ada Lovelace"),
        "{joined}"
    );
    assert!(
        joined["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["account"] == "alice" && m["speaker"] == "customer"),
        "{joined}"
    );
    // Imported under the name and with the photo Zendesk has for them, and
    // in the group.
    let im = t.stack.im().state();
    assert_eq!(
        im.nicks.get("zendesk-agent-7001").map(String::as_str),
        Some("Ada Lovelace")
    );
    assert_eq!(
        im.faces.get("zendesk-agent-7001").map(String::as_str),
        Some("https://emulator.zendesk.invalid/photos/7001.png")
    );
    assert!(
        im.groups[&t.group]
            .members
            .contains(&"zendesk-agent-7001".to_string())
    );

    let (status, history) = t
        .call("history", &session, json!({ "ticket_id": t.id }))
        .await;
    assert_eq!(status, 200, "{history}");
    let lines = history["lines"].as_array().unwrap();
    let customer = lines
        .iter()
        .find(|l| l["speaker"] == "customer")
        .expect("alice's message");
    assert_eq!(customer["from"], "alice");
    assert_eq!(customer["parts"][0]["text"], CUSTOMER_TEXT);
    let newest = lines
        .iter()
        .map(|l| l["seq"].as_u64().unwrap())
        .max()
        .unwrap();

    let (status, sent) = t
        .send(&session, "We fixed the address.", "answer-000001")
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["line"]["speaker"], "you");
    assert_eq!(sent["line"]["name"], "Ada Lovelace");
    assert_eq!(
        t.sent_by("zendesk-agent-7001"),
        ["We fixed the address."],
        "IM holds it from the agent's account"
    );

    // Polling from the cursor returns only what is new.
    let (_, since) = t
        .call(
            "history",
            &session,
            json!({ "ticket_id": t.id, "after": newest }),
        )
        .await;
    let new: Vec<&str> = since["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["parts"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(new, ["We fixed the address."], "{since}");
}

#[tokio::test]
async fn a_retried_or_concurrent_send_is_sent_once() {
    let t = Ticket::open("panel-dupe", &[]).await;
    let session = t.stack.zendesk_panel_session(7001).await;
    let (status, first) = t.send(&session, "Once only.", "retry-00000001").await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = t.send(&session, "Once only.", "retry-00000001").await;
    assert_eq!((status, again["duplicate"].as_bool()), (200, Some(true)));

    let sends = (0..6).map(|_| t.send(&session, "Raced.", "race-000000001"));
    let answers = futures::future::join_all(sends).await;
    let sent = answers.iter().filter(|(_, a)| a["sent"] == true).count();
    assert_eq!(sent, 1, "{answers:?}");
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    assert_eq!(t.sent_by("zendesk-agent-7001"), ["Once only.", "Raced."]);
}

#[tokio::test]
async fn another_agent_reads_but_cannot_send() {
    let t = Ticket::open("panel-other", &[]).await;
    let grace = t.stack.zendesk_panel_session(7002).await;
    let (status, joined) = t.call("join", &grace, json!({ "ticket_id": t.id })).await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(
        (joined["assigned"].as_bool(), joined["can_send"].as_bool()),
        (Some(false), Some(false))
    );
    assert!(
        !t.stack
            .members(&t.group)
            .unwrap()
            .contains(&"zendesk-agent-7002".to_string()),
        "looking does not join"
    );
    let (status, history) = t
        .call("history", &grace, json!({ "ticket_id": t.id }))
        .await;
    assert_eq!(
        (status, history["can_send"].as_bool()),
        (200, Some(false)),
        "{history}"
    );
    let (status, refused) = t.send(&grace, "Let me butt in.", "grace-00000001").await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("not assigned to you")
    );
    assert!(t.sent_by("zendesk-agent-7002").is_empty());
}

#[tokio::test]
async fn with_unassigned_none_other_agents_see_nothing() {
    let t = Ticket::open("panel-none", &["zendesk_panel_unassigned=none"]).await;
    let grace = t.stack.zendesk_panel_session(7002).await;
    for route in ["join", "history"] {
        let (status, answer) = t.call(route, &grace, json!({ "ticket_id": t.id })).await;
        assert_eq!(status, 403, "{route}: {answer}");
    }
    let ada = t.stack.zendesk_panel_session(7001).await;
    let (status, _) = t.call("history", &ada, json!({ "ticket_id": t.id })).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn forged_expired_and_foreign_page_loads_get_no_session() {
    let stack = Stack::start("panel-forged", &[]).await;
    let zendesk = stack.zendesk();
    let account = zendesk.url();
    let installation = zendesk.config().app_installation_id;
    let other_key = std::fs::read_to_string(
        switchboard_tests::root().join("crates/salesforce/testdata/jwt-test-key.pem"),
    )
    .unwrap();
    let key = zendesk_emulator::ZAF_SIGNING_KEY;
    let sign = |key: &str, account: &str, installation: u64, user: u64, at: u64| {
        zendesk::app::sign_signed_url(key, account, installation, user, at, 300).unwrap()
    };
    let cases = [
        ("no token", String::new(), 401, "no signed-URL token"),
        (
            "another key",
            sign(&other_key, &account, installation, 7001, now()),
            401,
            "not signed with the app's key",
        ),
        (
            "expired",
            sign(key, &account, installation, 7001, now() - 3600),
            401,
            "expired",
        ),
        (
            "another installation",
            sign(key, &account, installation + 1, 7001, now()),
            401,
            "another installation",
        ),
        (
            "another account",
            sign(key, "https://evil.zendesk.com", installation, 7001, now()),
            401,
            "another Zendesk account",
        ),
        (
            "an end user",
            sign(key, &account, installation, 7100, now()),
            403,
            "not an active agent",
        ),
        (
            "a suspended agent",
            sign(key, &account, installation, 7004, now()),
            403,
            "not an active agent",
        ),
        (
            "nobody",
            sign(key, &account, installation, 424242, now()),
            403,
            "no such user",
        ),
        ("garbage", "not.a.jwt".into(), 401, "invalid"),
    ];
    for (label, token, expected, says) in cases {
        let (status, html) = stack.zendesk_panel_page(&token).await;
        assert_eq!(status, expected, "{label}: {html}");
        assert!(html.contains(says), "{label}: {html}");
        assert!(
            switchboard_tests::panel_session_of(&html).is_none(),
            "{label}: no session"
        );
    }

    // A session cannot be forged, altered or kept past its end.
    let session = stack.zendesk_panel_session(7002).await;
    let forged = zendesk::app::PanelSession {
        agent: 7001,
        name: "Ada".into(),
        photo: None,
        exp: now() + 600,
    }
    .sign("a guess at the secret, 32 bytes or more");
    let expired = zendesk::app::PanelSession {
        agent: 7001,
        name: "Ada".into(),
        photo: None,
        exp: now() - 10,
    }
    .sign(switchboard::emulators::EMULATOR_APP_SECRET);
    let mut altered = session.clone();
    altered.replace_range(altered.len() - 4.., "AAAA");
    for (label, token) in [
        ("forged", forged),
        ("expired", expired),
        ("altered", altered),
        ("none", String::new()),
    ] {
        let (status, answer) = stack
            .zendesk_panel("join", &token, &json!({ "ticket_id": 1 }))
            .await;
        assert_eq!(status, 401, "{label}: {answer}");
    }
}

#[tokio::test]
async fn bad_input_and_floods_are_refused_and_nothing_is_sent() {
    let t = Ticket::open("panel-input", &[]).await;
    let session = t.stack.zendesk_panel_session(7001).await;
    let before = t.texts().len();
    let too_long = "x".repeat(connector::agent_chat::MAX_AGENT_TEXT_BYTES + 1);
    let cases = [
        (
            json!({ "ticket_id": t.id, "text": "", "client_id": "input-0000001" }),
            400,
            Some("text"),
        ),
        (
            json!({ "ticket_id": t.id, "text": too_long, "client_id": "input-0000002" }),
            400,
            Some("text"),
        ),
        (
            json!({ "ticket_id": t.id, "text": "hi" }),
            400,
            Some("client_id"),
        ),
        (
            json!({ "ticket_id": "twelve", "text": "hi", "client_id": "input-0000003" }),
            400,
            Some("ticket_id"),
        ),
        (
            json!({ "ticket_id": 424242, "text": "hi", "client_id": "input-0000004" }),
            404,
            None,
        ),
        (json!(["not", "an", "object"]), 400, Some("body")),
    ];
    for (body, expected, field) in cases {
        let (status, answer) = t.call("send", &session, body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert_eq!(answer["field"].as_str(), field, "{answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let (status, answer) = t
        .call(
            "history",
            &session,
            json!({ "ticket_id": t.id, "after": "x" }),
        )
        .await;
    assert_eq!((status, answer["field"].as_str()), (400, Some("after")));
    assert_eq!(t.texts().len(), before, "nothing was sent");

    // A flooding client: the limit holds whatever the clock minute.
    let (t, session) = (&t, &session);
    let accepted = switchboard_tests::flood(45, move |n| async move {
        t.send(session, &format!("flood {n}"), &format!("flood-{n:08}"))
            .await
    })
    .await;
    assert!(accepted <= 40, "{accepted} accepted");
    assert_eq!(t.texts().len(), before + accepted);
}

#[tokio::test]
async fn a_failing_zendesk_sends_nothing_and_the_same_message_can_be_retried() {
    let t = Ticket::open("panel-upstream", &[]).await;
    let session = t.stack.zendesk_panel_session(7001).await;
    // Refused rather than failed, so the client's own retries (of 5xx)
    // do not absorb it.
    t.stack.zendesk().fail_next(403);
    let (status, answer) = t
        .send(&session, "After the outage.", "outage-0000001")
        .await;
    assert_eq!(status, 502, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("Zendesk"),
        "{answer}"
    );
    assert!(t.sent_by("zendesk-agent-7001").is_empty());
    let (status, answer) = t
        .send(&session, "After the outage.", "outage-0000001")
        .await;
    assert_eq!(
        (status, answer["sent"].as_bool()),
        (200, Some(true)),
        "{answer}"
    );
    assert_eq!(t.sent_by("zendesk-agent-7001"), ["After the outage."]);
}

/// A person at the controls: the assignee answers from the sidebar in
/// Chromium, and a second agent sees the chat read-only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_the_assignee_answers_from_the_sidebar() {
    let t = Ticket::open("panel-browser", &[]).await;
    let workspace = t.stack.zendesk().url();
    let screenshots = switchboard_tests::root().join("target/screenshots");
    let input = json!({
        "assignee_url": format!("{workspace}/agent/tickets/{}?agent=7001", t.id),
        "other_url": format!("{workspace}/agent/tickets/{}?agent=7002", t.id),
        "customer_text": CUSTOMER_TEXT,
        "answer_text": "Thanks Alice, the address is corrected.",
        "screenshots": screenshots,
    })
    .to_string();
    let seen = tokio::task::spawn_blocking(move || {
        switchboard_tests::node::run("zendesk-sidebar.mjs", &[], &input)
    })
    .await
    .unwrap();
    assert!(seen["failure"].is_null(), "{seen:#}");
    assert_eq!(seen["problems"], json!([]), "{seen:#}");
    let assignee = &seen["assignee"];
    assert_eq!(assignee["compose_visible"], true, "{seen:#}");
    assert!(
        assignee["status"]
            .as_str()
            .unwrap()
            .contains("Ada Lovelace"),
        "{seen:#}"
    );
    let lines = assignee["lines"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["speaker"] == "customer" && l["text"] == CUSTOMER_TEXT)
    );
    assert!(lines.iter().any(|l| l["speaker"] == "you"
        && l["name"] == "Ada Lovelace"
        && l["text"] == "Thanks Alice, the address is corrected."));
    // IM holds the answer from Ada's account, under her name.
    assert_eq!(
        t.sent_by("zendesk-agent-7001"),
        ["Thanks Alice, the address is corrected."]
    );
    assert_eq!(
        t.stack
            .im()
            .state()
            .nicks
            .get("zendesk-agent-7001")
            .map(String::as_str),
        Some("Ada Lovelace")
    );

    let other = &seen["other"];
    assert_eq!(other["compose_visible"], false, "{seen:#}");
    assert!(
        other["status"].as_str().unwrap().contains("Read-only"),
        "{seen:#}"
    );
    assert!(
        other["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["speaker"] == "agent" && l["name"] == "Ada Lovelace"),
        "{seen:#}"
    );
    assert!(t.sent_by("zendesk-agent-7002").is_empty());
    assert!(screenshots.join("zendesk-sidebar-assignee.png").is_file());
}
