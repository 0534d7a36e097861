//! From bot to human and back (real wasm): the chatbot relay hands a user
//! to Zendesk or Salesforce through the bridge's own request route, the
//! ticket or Case carries the conversation, the robot stays quiet while the
//! request is open and comes back when it closes. Asserted on what the IM,
//! Zendesk, Salesforce and LLM emulators hold.

use llm_emulator::{Api, Failure};
use serde_json::json;
use std::time::{Duration, Instant};
use switchboard_tests::{Stack, now, signed_webhook_url};

/// The robot `switchboard up` ships: it hands off to Zendesk.
const ROBOT: &str = "@RBT#assistant";

struct World(Stack);

impl std::ops::Deref for World {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.0
    }
}

impl World {
    /// The shipped application, its default robot, and `variables`.
    async fn start(label: &str, variables: &[&str]) -> Self {
        Self(Stack::start(label, variables).await)
    }

    fn zd(&self) -> &zendesk_emulator::ZendeskEmulator {
        self.backends.zendesk.as_ref().unwrap()
    }

    fn llm(&self) -> &llm_emulator::LlmEmulator {
        self.backends.llm.as_ref().unwrap()
    }

    /// `user` writes to `robot` one-to-one, through IM (which calls the
    /// robot's webhook).
    async fn say(&self, user: &str, robot: &str, text: &str) {
        let body = json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]);
        let answer = self.im().user_send_c2c(user, robot, body).await;
        assert_eq!(answer["ErrorCode"], 0, "{answer}");
    }

    /// What `robot` said to `user`, in order.
    fn replies(&self, robot: &str, user: &str) -> Vec<String> {
        self.im()
            .state()
            .c2c
            .iter()
            .filter(|m| m.from == robot && m.to == user)
            .map(|m| im_emulator::text_of(&m.body))
            .collect()
    }

    async fn wait_until(&self, what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(
                Instant::now() < deadline,
                "{what} did not happen\n{:#?}",
                self.runner.logger.captured()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn wait_replies(&self, robot: &str, user: &str, count: usize) -> Vec<String> {
        self.wait_until(&format!("{count} replies from {robot} to {user}"), || {
            self.replies(robot, user).len() >= count
        })
        .await;
        self.replies(robot, user)
    }

    /// Waits for the relay's log line about `needle`.
    async fn wait_logged(&self, needle: &str) {
        self.wait_until(&format!("a log line with `{needle}`"), || {
            self.runner.logged(needle)
        })
        .await;
    }

    /// The chat requests the LLM emulator received (not the moderator's
    /// media checks, which it answers too), in order.
    fn chats(&self) -> Vec<llm_emulator::Recorded> {
        self.llm()
            .recorded()
            .into_iter()
            .filter(|r| matches!(r.api, Api::OpenAi | Api::Anthropic | Api::MiniMax))
            .collect()
    }

    fn tickets(&self) -> Vec<zendesk_emulator::Ticket> {
        self.zd().state().tickets.values().cloned().collect()
    }
}

#[tokio::test]
async fn the_command_hands_over_with_the_transcript_and_the_robot_waits_for_the_close() {
    let w = World::start("handoff-zd", &[]).await;
    w.say("alice", ROBOT, "My order 1234 is late").await;
    let replies = w.wait_replies(ROBOT, "alice", 1).await;
    assert_eq!(replies, ["gpt-4o-mini (turn 1): My order 1234 is late"]);

    w.say("alice", ROBOT, "/human").await;
    let replies = w.wait_replies(ROBOT, "alice", 2).await;
    let tickets = w.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    let ticket = &tickets[0];
    assert!(
        replies[1].contains(&format!("(request {})", ticket.id)),
        "{replies:?}"
    );
    // The bridge's own ticket: the requester bound by the user's id, the
    // bridge's tags, and the conversation as the description.
    assert_eq!(ticket.external_id.as_deref(), Some("alice"));
    assert_eq!(ticket.subject, "Chat handed over by the assistant");
    let description = &ticket.description;
    let lines: Vec<&str> = description.lines().collect();
    assert_eq!(
        lines[0],
        "Handed over by @RBT#assistant: the user sent the handoff command."
    );
    let turn = |who: &str, text: &str| {
        lines
            .iter()
            .position(|l| l.ends_with(&format!(" UTC] {who}: {text}")))
            .unwrap_or_else(|| panic!("no turn `{who}: {text}` in\n{description}"))
    };
    let asked = turn("alice", "My order 1234 is late");
    let answered = turn(ROBOT, "gpt-4o-mini (turn 1): My order 1234 is late");
    let command = turn("alice", "/human");
    assert!(asked < answered && answered < command, "{description}");
    assert!(
        description.contains("Opened from chat by IM user `alice` (verified)")
            && description.contains("alice (no e-mail given)"),
        "{description}"
    );
    // The bridge's group, with alice in it and its greeting.
    let group = format!("ZENDESK#{}", ticket.id);
    let im = w.im().state();
    assert_eq!(im.groups[&group].members, ["alice"]);
    assert!(
        im.groups[&group].notifications[0]
            .1
            .starts_with("We're assigning")
    );
    let asked_llm = w.chats().len();

    // An agent takes the ticket: with people now, nothing is answered and
    // nothing reaches the model.
    let delivery = w.zd().assign(ticket.id, Some(7001)).await.unwrap();
    assert_eq!(delivery.status, Some(200), "{delivery:?}");
    assert_eq!(
        w.im().state().groups[&group].members,
        ["alice", "zendesk-agent-7001"]
    );
    w.say("alice", ROBOT, "hello? anyone?").await;
    w.wait_logged("alice is with people").await;
    // Asking for a person again says where the request is; no second one.
    w.say("alice", ROBOT, "I want to talk to a human").await;
    let replies = w.wait_replies(ROBOT, "alice", 3).await;
    assert_eq!(
        replies[2],
        format!(
            "Your request {} is open; an agent will answer you in the support chat.",
            ticket.id
        )
    );
    assert_eq!(w.tickets().len(), 1);
    assert_eq!(w.chats().len(), asked_llm);

    // Zendesk closes the ticket (its webhook dissolves the group, and IM
    // tells the relay the group is gone): the robot says at once that it
    // is back, once, and answers again.
    let delivery = w.zd().set_status(ticket.id, "closed").await.unwrap();
    assert_eq!(delivery.status, Some(200), "{delivery:?}");
    assert!(!w.im().state().groups.contains_key(&group));
    let replies = w.wait_replies(ROBOT, "alice", 4).await;
    assert_eq!(
        replies[3],
        "Your support request is closed. I'm here again if you need anything."
    );
    w.say("alice", ROBOT, "One more question").await;
    let replies = w.wait_replies(ROBOT, "alice", 5).await;
    assert!(replies[4].ends_with("One more question"), "{replies:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.replies(ROBOT, "alice").len(), 5, "resumed once");
    assert_eq!(w.chats().len(), asked_llm + 1);
    assert_eq!(w.tickets().len(), 1);
}

#[tokio::test]
async fn phrases_hand_over_and_racing_requests_open_one_ticket() {
    let w = World::start("handoff-race", &[]).await;
    // Copies of one webhook are one message; two different messages
    // asking at once are two: either way, one ticket.
    let (a, b, c) = tokio::join!(
        w.say("alice", ROBOT, "转人工"),
        w.say("alice", ROBOT, "human"),
        w.say("alice", ROBOT, "Can I speak to an agent?"),
    );
    let _ = (a, b, c);
    w.wait_until("a ticket", || !w.tickets().is_empty()).await;
    w.wait_replies(ROBOT, "alice", 1).await;
    // Every copy has been dealt with: handed over, told where the request
    // is, or left to the copy handing over.
    w.wait_until("three messages dealt with", || {
        let captured = w.runner.logger.captured();
        let dealt = captured
            .iter()
            .filter(|l| {
                l.contains("handed alice over") || l.contains("is already being handed over")
            })
            .count();
        dealt + w.replies(ROBOT, "alice").len().saturating_sub(1) >= 3
    })
    .await;
    let tickets = w.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    assert!(
        tickets[0]
            .description
            .starts_with("Handed over by @RBT#assistant: the user asked for a person."),
        "{}",
        tickets[0].description
    );
    assert!(w.chats().is_empty(), "no phrase reached the model");
    // Clean sentences that mention the words stay with the robot.
    w.say("bob", ROBOT, "人工智能是什么？").await;
    let replies = w.wait_replies(ROBOT, "bob", 1).await;
    assert_eq!(replies, ["gpt-4o-mini (turn 1): 人工智能是什么？"]);
    assert_eq!(w.tickets().len(), 1);
}

#[tokio::test]
async fn when_no_provider_answers_the_user_is_handed_over_not_apologised_to() {
    let w = World::start("handoff-failure", &[]).await;
    for _ in 0..3 {
        w.llm().fail_next(Api::OpenAi, Failure::ServerError);
    }
    w.say("alice", ROBOT, "Where is my refund?").await;
    let replies = w.wait_replies(ROBOT, "alice", 1).await;
    let tickets = w.tickets();
    assert_eq!(tickets.len(), 1);
    assert!(
        replies[0].starts_with("I've passed our conversation"),
        "{replies:?}"
    );
    let description = &tickets[0].description;
    assert!(
        description.starts_with("Handed over by @RBT#assistant: the assistant could not answer.")
            && description.contains("alice: Where is my refund?"),
        "{description}"
    );
}

#[tokio::test]
async fn a_failing_help_desk_is_told_and_a_later_request_opens_the_ticket() {
    let w = World::start("handoff-desk-down", &[]).await;
    // Zendesk rate limits ticket creation for a minute: the bridge answers
    // 503 at once.
    w.zd().rate_limit_next(60);
    w.say("alice", ROBOT, "/human").await;
    let replies = w.wait_replies(ROBOT, "alice", 1).await;
    assert_eq!(
        replies[0],
        "Sorry, I couldn't reach the support team just now. Please try again in a moment."
    );
    assert!(w.tickets().is_empty());
    assert!(w.runner.logged("could not hand alice over"));
    // Nothing is left claimed: the next request opens the ticket, and the
    // robot still answers between them.
    w.say("alice", ROBOT, "still there?").await;
    w.wait_replies(ROBOT, "alice", 2).await;
    w.say("alice", ROBOT, "/human").await;
    let replies = w.wait_replies(ROBOT, "alice", 3).await;
    assert!(
        replies[2].starts_with("I've passed our conversation"),
        "{replies:?}"
    );
    assert_eq!(w.tickets().len(), 1);
    assert!(!w.runner.logged("UserSig eJ"), "a UserSig reached the log");
}

#[tokio::test]
async fn a_robot_can_hand_over_to_salesforce() {
    let robots = r#"chatbot_robots=[{"id": "@RBT#assistant", "providers": [{"kind": "openai", "model": "gpt-emu"}], "handoff": {"to": "salesforce", "command": "/agent"}}]"#;
    let w = World::start("handoff-sf", &[robots]).await;
    w.say("alice", ROBOT, "My invoice is wrong").await;
    w.wait_replies(ROBOT, "alice", 1).await;
    // A photo of it: the robot cannot read it, the agent will see it.
    let photo = json!([{"MsgType": "TIMImageElem", "MsgContent": {"UUID": "p1", "ImageFormat": 1,
        "ImageInfoArray": [{"Type": 1, "URL": "https://cdn.example/invoice.jpg"}]}}]);
    let answer = w.im().user_send_c2c("alice", ROBOT, photo).await;
    assert_eq!(answer["ErrorCode"], 0, "{answer}");
    w.wait_replies(ROBOT, "alice", 2).await;
    w.say("alice", ROBOT, "/agent").await;
    let replies = w.wait_replies(ROBOT, "alice", 3).await;
    let sf = w.backends.salesforce.as_ref().unwrap().state();
    assert_eq!(sf.cases.len(), 1, "{:#?}", sf.cases);
    let case = sf.cases.values().next().unwrap();
    assert!(
        replies[2].contains(&format!("(request {})", case.id)),
        "{replies:?}"
    );
    let description = case.fields["Description"].as_str().unwrap();
    assert!(
        description.contains("alice: My invoice is wrong")
            && description.contains("@RBT#assistant: gpt-emu (turn 1): My invoice is wrong")
            && description.contains("alice: [image https://cdn.example/invoice.jpg]")
            && description.contains("alice: /agent"),
        "{description}"
    );
    // The model was never sent the photo's link.
    assert!(
        w.chats()
            .iter()
            .all(|r| !r.body.to_string().contains("cdn.example")),
        "a media link reached the LLM"
    );
    assert!(!case.fields.contains_key("SuppliedEmail"));
    assert!(w.zd().state().tickets.is_empty());
    // Quiet while the Case is open.
    let asked = w.chats().len();
    w.say("alice", ROBOT, "thanks").await;
    w.wait_logged("alice is with people").await;
    assert_eq!(w.chats().len(), asked);
}

#[tokio::test]
async fn unsure_answers_in_a_row_and_refused_messages_hand_over_when_configured() {
    let robots = r#"chatbot_robots=[{"id": "@RBT#assistant", "providers": [{"kind": "openai", "model": "gpt-emu"}], "system_prompt": "Be brief.", "handoff": {"to": "zendesk", "on_rejected_message": true, "unsure_marker": "[unsure]", "after_unsure": 2}}]"#;
    let w = World::start("handoff-unsure", &[robots]).await;
    // The LLM emulator echoes the question, so a question carrying the
    // mark gets an answer carrying it, as a model following the
    // instruction would.
    for (i, text) in [
        "[unsure] when do you open?",
        "what time is it?",
        "[unsure] and on Sundays?",
    ]
    .into_iter()
    .enumerate()
    {
        w.say("alice", ROBOT, text).await;
        w.wait_replies(ROBOT, "alice", i + 1).await;
    }
    let replies = w.replies(ROBOT, "alice");
    assert_eq!(
        replies[0], "gpt-emu (turn 1): when do you open?",
        "the mark is taken out"
    );
    assert!(
        w.tickets().is_empty(),
        "a sure answer in between resets the count"
    );
    w.say("alice", ROBOT, "[unsure] and on holidays?").await;
    let replies = w.wait_replies(ROBOT, "alice", 5).await;
    assert_eq!(replies[3], "gpt-emu (turn 4): and on holidays?");
    assert!(
        replies[4].starts_with("I've passed our conversation"),
        "{replies:?}"
    );
    let tickets = w.tickets();
    assert_eq!(tickets.len(), 1);
    let description = &tickets[0].description;
    assert!(
        description
            .starts_with("Handed over by @RBT#assistant: the assistant was unsure of its answers.")
            && description.contains("@RBT#assistant: gpt-emu (turn 4): and on holidays?")
            // The turn was remembered before the handoff: not repeated.
            && description.matches("alice: [unsure] and on holidays?").count() == 1
            && description.contains("turn 4): and on holidays?\n\n---"),
        "{description}"
    );
    let system = &w.chats()[0].body["messages"][0]["content"];
    assert!(
        system
            .as_str()
            .unwrap()
            .starts_with("Be brief.\n\nIf you are not sure")
            && system
                .as_str()
                .unwrap()
                .ends_with("start your answer with [unsure]."),
        "{system}"
    );

    // A message the moderation policy refuses goes to people, not the
    // model. (Through IM, the moderator's before-send callback refuses it
    // first: this is a robot conversation IM does not screen.)
    let asked = w.chats().len();
    let body = json!({
        "CallbackCommand": "Bot.OnC2CMessage", "From_Account": "bob", "To_Account": ROBOT,
        "MsgSeq": 1, "MsgRandom": 7, "MsgTime": now(), "MsgKey": "bob-1", "OnlineOnlyFlag": 0,
        "SendMsgResult": 0, "EventTime": now() * 1000,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "go kill yourself"}}],
    });
    let url = signed_webhook_url(&w.runner.url, "Bot.OnC2CMessage");
    let (status, answer) = w.runner.send(w.runner.client.post(url).json(&body)).await;
    assert_eq!((status, &answer["ErrorCode"]), (200, &json!(0)), "{answer}");
    let replies = w.wait_replies(ROBOT, "bob", 1).await;
    assert!(
        replies[0].starts_with("I've passed our conversation"),
        "{replies:?}"
    );
    assert_eq!(w.chats().len(), asked);
    let bobs: Vec<_> = w
        .tickets()
        .into_iter()
        .filter(|t| t.external_id.as_deref() == Some("bob"))
        .collect();
    assert_eq!(bobs.len(), 1);
    assert!(
        bobs[0].description.starts_with(
            "Handed over by @RBT#assistant: the moderation policy refuses the user's message."
        ),
        "{}",
        bobs[0].description
    );
}

#[tokio::test]
async fn without_the_group_callback_the_robot_resumes_when_the_user_writes() {
    // IM's group-destroyed callback not routed (switched off in IM's
    // console, or lost): the user's next message finds the request closed.
    let routes = "im_gateway_routes=C2C.CallbackBeforeSendMsg=moderator, Bot.*=chatbot-relay";
    let w = World::start("handoff-lazy", &[routes]).await;
    w.say("alice", ROBOT, "/human").await;
    w.wait_replies(ROBOT, "alice", 1).await;
    let ticket = w.tickets()[0].id;
    w.zd().set_status(ticket, "closed").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.replies(ROBOT, "alice").len(), 1, "nothing said yet");
    w.say("alice", ROBOT, "Hello again").await;
    let replies = w.wait_replies(ROBOT, "alice", 3).await;
    assert_eq!(
        replies[1..],
        [
            "Your support request is closed. I'm here again if you need anything.",
            "gpt-4o-mini (turn 1): Hello again"
        ]
    );
}
