//! The Zendesk ticket bridge (real wasm in the runner) against the IM and
//! Zendesk emulators, as `switchboard up` wires them.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard_tests::{Stack, emulator_signer, now, usersig};
use tim::usersig::Signer;
use zendesk::webhook::{format_timestamp, sign};

/// The shipped application and its emulators, with this bridge's calls.
struct World(Stack);

impl std::ops::Deref for World {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.0
    }
}

impl World {
    async fn start(label: &str) -> Self {
        Self::start_with(label, &[]).await
    }

    async fn start_with(label: &str, variables: &[&str]) -> Self {
        Self(Stack::start(label, variables).await)
    }

    fn zd(&self) -> &zendesk_emulator::ZendeskEmulator {
        self.backends.zendesk.as_ref().unwrap()
    }

    async fn create(&self, user: &str, usersig: Option<&str>, body: &Value) -> (u16, Value) {
        self.runner
            .post_as_user("/zendesk/requests", user, usersig, body)
            .await
    }

    async fn webhook(&self, headers: &[(&str, String)], body: &str) -> (u16, Value) {
        let mut request = self
            .runner
            .client
            .post(format!("{}/zendesk/webhook", self.runner.url))
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        self.runner.send(request).await
    }

    fn members(&self, group: &str) -> Option<Vec<String>> {
        self.im()
            .state()
            .groups
            .get(group)
            .map(|g| g.members.clone())
    }
}

fn request(key: &str) -> Value {
    json!({
        "subject": "Cannot log in",
        "description": "The app says my password is wrong.",
        "name": "Alice Example",
        "email": "alice@example.com",
        "idempotency_key": key,
    })
}

#[tokio::test]
async fn a_request_becomes_a_ticket_a_group_and_a_greeting() {
    let w = World::start("zd-e2e").await;
    let (status, body) = w
        .create("alice", Some(&usersig("alice")), &request("k1"))
        .await;
    assert_eq!(status, 201, "{body}");
    let ticket_id = body["ticket_id"].as_u64().unwrap();
    let group = format!("ZENDESK#{ticket_id}");
    assert_eq!(body["group_id"], group);

    let zd = w.zd().state();
    let ticket = &zd.tickets[&ticket_id];
    // The body's e-mail is not the requester's identity (see security.rs,
    // item 10): with no requester domain configured the ticket names none.
    assert_eq!(
        (ticket.subject.as_str(), ticket.requester_email.as_str()),
        ("Cannot log in", "")
    );
    assert!(
        ticket
            .description
            .contains("not verified: Alice Example <alice@example.com>"),
        "{}",
        ticket.description
    );
    assert_eq!(ticket.external_id.as_deref(), Some("alice"));
    assert_eq!(zd.idempotency_keys.len(), 1);
    let im = w.im().state();
    assert_eq!(im.groups[&group].members, ["alice"]);
    assert!(
        im.groups[&group].notifications[0]
            .1
            .starts_with("We're assigning an agent")
    );
}

#[tokio::test]
async fn creation_needs_the_users_own_valid_usersig() {
    let w = World::start("zd-auth").await;
    let expired = emulator_signer().generate("alice", now() - 7200, 60);
    let cases = [
        (None, "missing `Authorization: UserSig"),
        (
            Some(usersig("mallory")),
            "issued for user `mallory`, not `alice`",
        ),
        (Some(expired), "expired"),
        (
            Some(Signer::new(1400000000, "wrong-key").generate("alice", now(), 600)),
            "signature does not match",
        ),
    ];
    for (sig, reason) in cases {
        let (status, body) = w.create("alice", sig.as_deref(), &request("k")).await;
        assert_eq!(status, 401, "{body}");
        assert!(body["error"].as_str().unwrap().contains(reason), "{body}");
    }
    assert!(w.zd().state().tickets.is_empty());
    assert!(w.im().state().groups.is_empty());
}

#[tokio::test]
async fn the_same_key_twice_gives_the_same_answer_and_one_ticket() {
    let w = World::start("zd-idem").await;
    let sig = usersig("alice");
    let (s1, first) = w.create("alice", Some(&sig), &request("same")).await;
    let (s2, second) = w.create("alice", Some(&sig), &request("same")).await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(first, second);
    assert_eq!(w.zd().state().tickets.len(), 1);
    assert_eq!(w.im().state().groups.len(), 1);
    assert_eq!(
        w.im()
            .state()
            .groups
            .values()
            .next()
            .unwrap()
            .notifications
            .len(),
        1,
        "greeted twice"
    );
    // The same key for a different request is refused.
    let mut other = request("same");
    other["subject"] = json!("Something else");
    let (status, body) = w.create("alice", Some(&sig), &other).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (409, Some("idempotency_key"))
    );
    assert_eq!(w.zd().state().tickets.len(), 1);
}

#[tokio::test]
async fn a_retry_after_a_failure_between_ticket_and_group_resumes() {
    let w = World::start("zd-resume").await;
    w.im().fail_next(10002);
    let sig = usersig("alice");
    let (status, body) = w.create("alice", Some(&sig), &request("r1")).await;
    assert_eq!(status, 502, "{body}");
    assert!(body["error"].as_str().unwrap().contains("10002"), "{body}");
    assert_eq!(w.zd().state().tickets.len(), 1);
    assert!(w.im().state().groups.is_empty());

    let (status, body) = w.create("alice", Some(&sig), &request("r1")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        w.zd().state().tickets.len(),
        1,
        "the retry created a second ticket"
    );
    let group = body["group_id"].as_str().unwrap();
    assert_eq!(w.members(group).unwrap(), ["alice"]);
}

#[tokio::test]
async fn assignment_reassignment_and_closing_drive_the_group() {
    let w = World::start("zd-lifecycle").await;
    let (_, body) = w
        .create("alice", Some(&usersig("alice")), &request("life"))
        .await;
    let ticket = body["ticket_id"].as_u64().unwrap();
    let group = body["group_id"].as_str().unwrap().to_string();

    let d = w.zd().assign(ticket, Some(7001)).await.unwrap();
    assert_eq!(d.status, Some(200), "{d:?}");
    assert_eq!(w.members(&group).unwrap(), ["alice", "zendesk-agent-7001"]);
    w.zd().assign(ticket, Some(7002)).await.unwrap();
    assert_eq!(w.members(&group).unwrap(), ["alice", "zendesk-agent-7002"]);

    // Solved tickets reopen on a reply: the group stays by default.
    w.zd().set_status(ticket, "solved").await.unwrap();
    assert!(w.members(&group).is_some());
    let d = w.zd().set_status(ticket, "closed").await.unwrap();
    assert_eq!(d.status, Some(200));
    assert!(w.members(&group).is_none());
    assert_eq!(w.im().state().destroyed_groups, [group]);
}

#[tokio::test]
async fn deletion_dissolves_and_duplicates_apply_once() {
    let w = World::start("zd-dup").await;
    let (_, body) = w
        .create("alice", Some(&usersig("alice")), &request("dup"))
        .await;
    let ticket = body["ticket_id"].as_u64().unwrap();
    let group = body["group_id"].as_str().unwrap().to_string();
    let first = w.zd().assign(ticket, Some(7001)).await.unwrap();
    w.zd().assign(ticket, Some(7002)).await.unwrap();
    // Zendesk delivers the first assignment again: nothing changes.
    let again = w.zd().redeliver(&first).await.unwrap();
    assert_eq!(again.status, Some(200));
    assert!(
        again.answer.as_ref().unwrap()["duplicate"] == true,
        "{again:?}"
    );
    assert_eq!(w.members(&group).unwrap(), ["alice", "zendesk-agent-7002"]);

    w.zd().delete(ticket).await.unwrap();
    assert!(w.members(&group).is_none());
}

#[tokio::test]
async fn forged_stale_and_miscoded_signatures_are_rejected_with_nothing_changed() {
    let w = World::start("zd-forged").await;
    let (_, body) = w
        .create("alice", Some(&usersig("alice")), &request("forge"))
        .await;
    let ticket = body["ticket_id"].as_u64().unwrap();
    let group = body["group_id"].as_str().unwrap().to_string();
    let secret = w.zd().config().webhook_secret;
    let payload = json!({
        "detail": {"id": ticket.to_string(), "assignee_id": "666", "status": "OPEN"},
        "id": "evt-forged", "type": "zen:event-type:ticket.agent_assignment_changed",
        "zendesk_event_version": "2022-11-06"
    })
    .to_string();
    let ts = format_timestamp(now());
    let old = format_timestamp(now() - 3600);
    let hex = {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sign(&secret, &ts, payload.as_bytes()))
            .unwrap();
        raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let dotted = sign(&secret, &format!("{ts}."), payload.as_bytes());
    let cases = [
        (
            "wrong secret",
            sign("not-the-secret", &ts, payload.as_bytes()),
            ts.clone(),
        ),
        (
            "stale",
            sign(&secret, &old, payload.as_bytes()),
            old.clone(),
        ),
        ("hex", hex, ts.clone()),
        ("dot-separated", dotted, ts.clone()),
    ];
    for (label, signature, timestamp) in cases {
        let headers = [
            ("x-zendesk-webhook-signature", signature),
            ("x-zendesk-webhook-signature-timestamp", timestamp),
            ("content-type", "application/json".to_string()),
        ];
        let (status, body) = w.webhook(&headers, &payload).await;
        assert_eq!(status, 401, "{label}: {body}");
    }
    let (status, _) = w
        .webhook(&[("content-type", "application/json".into())], &payload)
        .await;
    assert_eq!(status, 401, "unsigned");
    assert_eq!(w.members(&group).unwrap(), ["alice"]);

    // Correctly signed but malformed: 400 naming the problem, nothing changed.
    let bad = "{\"detail\": ";
    let headers = [
        (
            "x-zendesk-webhook-signature",
            sign(&secret, &ts, bad.as_bytes()),
        ),
        ("x-zendesk-webhook-signature-timestamp", ts.clone()),
    ];
    let (status, body) = w.webhook(&headers, bad).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("body")));
    assert!(body["error"].as_str().unwrap().contains("not JSON"));
    assert_eq!(w.members(&group).unwrap(), ["alice"]);
}

#[tokio::test]
async fn retry_after_is_honoured_and_an_expired_token_reauthenticates_once() {
    let w = World::start("zd-429").await;
    w.zd().rate_limit_next(1);
    let started = Instant::now();
    let (status, body) = w
        .create("alice", Some(&usersig("alice")), &request("slow"))
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    let statuses: Vec<u16> = w
        .zd()
        .state()
        .requests
        .iter()
        .filter(|r| r.1.starts_with("/api"))
        .map(|r| r.2)
        .collect();
    assert_eq!(statuses, [429, 201]);

    // A Retry-After beyond the time budget: a clear 503, nothing created.
    w.zd().rate_limit_next(120);
    let (status, body) = w
        .create("alice", Some(&usersig("alice")), &request("later"))
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("retry after 120"),
        "{body}"
    );
    assert_eq!(w.zd().state().tickets.len(), 1);

    // The cached token expires: one re-authentication, then success.
    w.zd().expire_tokens();
    let before = w.zd().state().tokens_issued;
    let (status, _) = w
        .create("alice", Some(&usersig("alice")), &request("later"))
        .await;
    assert_eq!(status, 201);
    assert_eq!(w.zd().state().tokens_issued, before + 1);
    assert_eq!(w.zd().state().tickets.len(), 2);
}

#[tokio::test]
async fn bad_bodies_are_400_naming_the_field_and_change_nothing() {
    let w = World::start("zd-400").await;
    let sig = usersig("alice");
    let (status, body) = w.create("alice", Some(&sig), &json!("not an object")).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("body")));
    for (field, value) in [
        ("subject", json!("")),
        ("email", json!("not-an-address")),
        ("idempotency_key", json!(null)),
    ] {
        let mut input = request("k");
        input[field] = value;
        let (status, body) = w.create("alice", Some(&sig), &input).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some(field)),
            "{body}"
        );
    }
    assert!(w.zd().state().tickets.is_empty());
    assert!(w.im().state().groups.is_empty());
}

/// Chat lines in the ticket's internal notes (the bridge's copies of the
/// chat), in order, and how many notes held them.
fn chat_notes(w: &World, ticket: u64) -> (Vec<String>, usize) {
    let state = w.zd().state();
    let notes: Vec<&zendesk_emulator::TicketComment> = state.tickets[&ticket]
        .comments
        .iter()
        .filter(|c| !c.public && c.body.starts_with("Chat in IM group"))
        .collect();
    let lines = notes
        .iter()
        .flat_map(|c| c.body.lines().skip(1).map(String::from))
        .collect();
    (lines, notes.len())
}

/// Each chat note's message texts, in the order the note lists them.
fn chat_note_texts(w: &World, ticket: u64) -> Vec<Vec<String>> {
    w.zd().state().tickets[&ticket]
        .comments
        .iter()
        .filter(|c| !c.public && c.body.starts_with("Chat in IM group"))
        .map(|c| {
            c.body
                .lines()
                .skip(1)
                .map(|l| l.split("] alice: ").nth(1).unwrap_or(l).to_string())
                .collect()
        })
        .collect()
}

async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn the_chat_reaches_the_ticket_once_in_order_and_agents_replies_reach_the_chat() {
    let w = World::start("zd-chat-sync").await;
    let (_, body) = w
        .create("alice", Some(&usersig("alice")), &request("sync"))
        .await;
    let ticket = body["ticket_id"].as_u64().unwrap();
    let group = body["group_id"].as_str().unwrap().to_string();
    w.zd().assign(ticket, Some(7001)).await.unwrap();
    let w = &w;
    let group = &group;
    let say = |text: &'static str| w.alice_says(group, text);
    say("Hello, is anyone there?").await;
    wait_for("the first line in a note", || {
        chat_notes(w, ticket).0.len() == 1
    })
    .await;
    let (lines, _) = chat_notes(w, ticket);
    assert!(
        lines[0].ends_with(" UTC] alice: Hello, is anyone there?"),
        "{lines:?}"
    );

    // A burst while Zendesk is slow: every line once, in order, in fewer
    // notes than messages.
    w.zd().set_latency(Duration::from_millis(400));
    tokio::join!(
        say("one"),
        say("two"),
        say("three"),
        say("four"),
        say("five"),
        say("six")
    );
    wait_for("seven lines", || chat_notes(w, ticket).0.len() >= 7).await;
    w.zd().set_latency(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (lines, notes) = chat_notes(w, ticket);
    let texts: Vec<&str> = lines
        .iter()
        .map(|l| l.split("] alice: ").nth(1).unwrap_or(l))
        .collect();
    let mut sorted = texts[1..].to_vec();
    sorted.sort();
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert_eq!(sorted, ["five", "four", "one", "six", "three", "two"]);
    assert!(notes < 7, "a burst is batched: {notes} notes for 7 lines");
    // Each note in IM's order (MsgSeq); a callback IM delivers late goes
    // into a later note, with its own time.
    let im_order: Vec<String> = w.im().state().groups[group]
        .messages
        .iter()
        .map(|m| im_emulator::text_of(&m.body))
        .collect();
    for note in chat_note_texts(w, ticket) {
        let positions: Vec<usize> = note
            .iter()
            .map(|text| im_order.iter().position(|m| m == text).unwrap())
            .collect();
        assert!(positions.is_sorted(), "a note out of order: {note:?}");
    }

    // IM delivering a message's callback again adds nothing.
    let message = &w.im().state().groups[group].messages[0];
    let again = json!({
        "CallbackCommand": "Group.CallbackAfterSendMsg", "GroupId": group, "Type": "Private",
        "From_Account": "alice", "Operator_Account": "alice", "Random": message.random,
        "MsgSeq": message.seq, "MsgTime": message.time, "MsgBody": message.body,
    });
    let url = switchboard_tests::signed_webhook_url(&w.runner.url, "Group.CallbackAfterSendMsg");
    let (status, answer) = w.runner.send(w.runner.client.post(url).json(&again)).await;
    assert_eq!(status, 200, "{answer}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(chat_notes(w, ticket).0.len(), 7);

    // The agent answers in Zendesk's own UI: the chat gets it once, from
    // the agent; internal notes and the requester's comments stay there.
    let reply = w
        .zd()
        .comment(ticket, 7001, "We're on it.", true)
        .await
        .unwrap();
    assert_eq!(reply.status, Some(200), "{reply:?}");
    w.zd().redeliver(&reply).await.unwrap();
    w.zd()
        .comment(ticket, 7001, "Internal: check the logs", false)
        .await
        .unwrap();
    w.zd()
        .comment(ticket, 7100, "Replying by mail", true)
        .await
        .unwrap();
    let from_agent: Vec<(String, String)> = w.im().state().groups[group]
        .messages
        .iter()
        .filter(|m| m.from != "alice")
        .map(|m| (m.from.clone(), im_emulator::text_of(&m.body)))
        .collect();
    assert_eq!(
        from_agent,
        [("zendesk-agent-7001".to_string(), "We're on it.".to_string())]
    );
    // Not copied back into the ticket: no loop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (lines, _) = chat_notes(w, ticket);
    assert_eq!(lines.len(), 7);
    assert!(!lines.iter().any(|l| l.contains("We're on it.")));
}

#[tokio::test]
async fn forged_and_stale_im_callbacks_to_the_bridge_change_nothing() {
    let w = World::start("zd-chat-forged").await;
    let (_, body) = w
        .create("alice", Some(&usersig("alice")), &request("forged"))
        .await;
    let ticket = body["ticket_id"].as_u64().unwrap();
    let group = body["group_id"].as_str().unwrap().to_string();
    let callback = json!({
        "CallbackCommand": "Group.CallbackAfterSendMsg", "GroupId": group, "Type": "Private",
        "From_Account": "alice", "MsgSeq": 77, "MsgTime": now(), "Random": 1,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "forged line"}}],
    });
    let old = (now() - 3600).to_string();
    let queries = [
        String::new(),
        format!(
            "SdkAppid=1400000000&CallbackCommand=Group.CallbackAfterSendMsg&Sign={}&RequestTime={}",
            "0".repeat(64),
            now()
        ),
        format!(
            "SdkAppid=1400000000&CallbackCommand=Group.CallbackAfterSendMsg&Sign={}&RequestTime={old}",
            tim::webhook::sign(switchboard::emulators::EMULATOR_CALLBACK_TOKEN, &old)
        ),
    ];
    for query in queries {
        let url = format!("{}/zendesk/im?{query}", w.runner.url);
        let (status, answer) = w
            .runner
            .send(w.runner.client.post(url).json(&callback))
            .await;
        assert_eq!(status, 401, "{query}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    // Signed, but for a group that is no ticket's: ignored.
    let mut elsewhere = callback.clone();
    elsewhere["GroupId"] = json!("some-other-group");
    let time = now().to_string();
    let signed = format!(
        "{}/zendesk/im?SdkAppid=1400000000&CallbackCommand=Group.CallbackAfterSendMsg&Sign={}&RequestTime={time}",
        w.runner.url,
        tim::webhook::sign(switchboard::emulators::EMULATOR_CALLBACK_TOKEN, &time)
    );
    let (status, answer) = w
        .runner
        .send(w.runner.client.post(&signed).json(&elsewhere))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["ignored"].is_string(), "{answer}");
    // Signed but malformed: 400 naming what is wrong.
    let (status, answer) = w
        .runner
        .send(w.runner.client.post(&signed).body("{\"GroupId\": 5}"))
        .await;
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("body")),
        "{answer}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(w.zd().state().tickets[&ticket].comments.is_empty());
}

#[tokio::test]
async fn a_request_out_of_hours_is_told_when_agents_are_back_once() {
    let hours = format!(
        "zendesk_business_hours={}",
        switchboard_tests::business_hours_closed_now()
    );
    let w = World::start_with("zd-hours", &[&hours]).await;
    for _ in 0..2 {
        let (status, body) = w
            .create("alice", Some(&usersig("alice")), &request("late"))
            .await;
        assert!(status == 201 || status == 200, "{body}");
    }
    let group = &w.im().state().groups["ZENDESK#5001"];
    let notices: Vec<&str> = group
        .notifications
        .iter()
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(
        notices.len(),
        2,
        "greeting and one out-of-hours notice: {notices:?}"
    );
    assert!(notices[0].starts_with("We're assigning"));
    assert_eq!(
        notices[1],
        format!(
            "Our agents work {}. They will answer when they are back; you can keep writing here.",
            switchboard_tests::business_hours_closed_now()
        )
    );
}

#[tokio::test]
async fn a_requester_left_waiting_is_told_once_and_not_before_the_wait() {
    let w = World::start_with("zd-wait", &["zendesk_wait_notice_minutes=0.05"]).await;
    let (_, body) = w
        .create("alice", Some(&usersig("alice")), &request("wait"))
        .await;
    let group = body["group_id"].as_str().unwrap().to_string();
    let say = |text: &'static str| w.alice_says(&group, text);
    let waits = || {
        w.im().state().groups[&group]
            .notifications
            .iter()
            .filter(|(_, n)| n.starts_with("Thanks for waiting"))
            .count()
    };
    say("hello?").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(waits(), 0, "not before the wait");
    tokio::time::sleep(Duration::from_millis(3000)).await;
    say("still there?").await;
    wait_for("the wait notice", || waits() == 1).await;
    say("hello??").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(waits(), 1, "once");
}

#[tokio::test]
async fn the_chat_outlasts_a_failing_zendesk_and_copies_or_oversized_callbacks_change_nothing() {
    let w = World::start("zd-chat-faults").await;
    let (_, body) = w
        .create("alice", Some(&usersig("alice")), &request("faults"))
        .await;
    let ticket = body["ticket_id"].as_u64().unwrap();
    let group = body["group_id"].as_str().unwrap().to_string();
    let say = async |text: &str| w.alice_says(&group, text).await;
    // Zendesk fails the note: the line is kept, and goes with the next.
    w.zd().fail_next(503);
    say("first").await;
    wait_for("the failed note", || {
        w.runner
            .logged("chat not copied yet (kept for the next message)")
    })
    .await;
    assert!(chat_note_texts(&w, ticket).is_empty());
    say("second").await;
    wait_for("both lines", || chat_notes(&w, ticket).0.len() == 2).await;
    assert_eq!(chat_note_texts(&w, ticket), [["first", "second"]]);

    // Eight copies of one callback at once: one line.
    let message = w.im().state().groups[&group].messages[0].clone();
    let again = json!({
        "CallbackCommand": "Group.CallbackAfterSendMsg", "GroupId": group, "Type": "Private",
        "From_Account": "alice", "Random": message.random, "MsgSeq": message.seq,
        "MsgTime": message.time, "MsgBody": message.body,
    });
    let copies = (0..8).map(|_| {
        let url =
            switchboard_tests::signed_webhook_url(&w.runner.url, "Group.CallbackAfterSendMsg");
        w.runner.send(w.runner.client.post(url).json(&again))
    });
    for (status, answer) in futures::future::join_all(copies).await {
        assert_eq!(status, 200, "{answer}");
    }
    // Over the bridge's body limit, signed or not: refused before reading.
    let time = now().to_string();
    let signed = format!(
        "{}/zendesk/im?SdkAppid=1400000000&CallbackCommand=Group.CallbackAfterSendMsg&Sign={}&RequestTime={time}",
        w.runner.url,
        tim::webhook::sign(switchboard::emulators::EMULATOR_CALLBACK_TOKEN, &time)
    );
    let huge = format!(
        "{{\"GroupId\": \"{group}\", \"pad\": \"{}\"}}",
        "x".repeat(200 * 1024)
    );
    let (status, answer) = w
        .runner
        .send(w.runner.client.post(&signed).body(huge))
        .await;
    assert_eq!(status, 413, "{answer}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(chat_note_texts(&w, ticket), [["first", "second"]]);
}
