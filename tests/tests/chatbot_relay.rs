//! The AI chatbot relay (real wasm): gateway → relay → LLM emulator → IM
//! emulator, with the reply asserted where it lands.

use llm_emulator::{Api, Failure};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard::emulators::Backends;
use switchboard_tests::{ReqwestTransport, Runner, Stack, now, signed_webhook_url};

const ROBOTS: &str = r#"[
  {"id": "@RBT#helper", "providers": [{"kind": "openai", "model": "gpt-emu"}, {"kind": "anthropic", "model": "claude-emu"}],
   "system_prompt": "Be brief.", "rate_limit": {"capacity": 100, "per_minute": 100}},
  {"id": "@RBT#mini", "providers": [{"kind": "minimax", "model": "MiniMax-M2.5"}]},
  {"id": "@RBT#limited", "providers": [{"kind": "openai", "model": "gpt-emu"}], "rate_limit": {"capacity": 1, "per_minute": 0.001},
   "rate_limited_reply": "Slow down, please."},
  {"id": "@RBT#streamer", "providers": [{"kind": "openai", "model": "gpt-emu"}], "stream": true},
  {"id": "@RBT#strict", "providers": [{"kind": "openai", "model": "gpt-emu"}], "screening": "block", "blocked_reply": "[withheld]"}
]"#;

struct World {
    runner: Runner,
    backends: Backends,
}

impl World {
    async fn start(label: &str) -> Self {
        let robots = format!("chatbot_robots={ROBOTS}");
        let Stack {
            runner, backends, ..
        } = Stack::start(label, &[&robots, "chatbot_blocked_words=secret"]).await;
        let im = backends.im.as_ref().unwrap();
        for robot in [
            "@RBT#helper",
            "@RBT#mini",
            "@RBT#limited",
            "@RBT#streamer",
            "@RBT#strict",
        ] {
            im.create_robot(robot);
        }
        Self { runner, backends }
    }

    fn im(&self) -> &im_emulator::ImEmulator {
        self.backends.im.as_ref().unwrap()
    }

    fn llm(&self) -> &llm_emulator::LlmEmulator {
        self.backends.llm.as_ref().unwrap()
    }

    async fn ask(&self, robot: &str, text: &str) {
        let body = json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]);
        let answer = self.im().user_send_c2c("alice", robot, body).await;
        assert_eq!(answer["ErrorCode"], 0, "{answer}");
    }

    /// Texts the robot sent to alice, in order.
    fn replies(&self, robot: &str) -> Vec<String> {
        self.im()
            .state()
            .c2c
            .iter()
            .filter(|m| m.from == robot && m.to == "alice")
            .map(|m| im_emulator::text_of(&m.body))
            .collect()
    }

    async fn wait_replies(&self, robot: &str, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let replies = self.replies(robot);
            if replies.len() >= count {
                return replies;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} replies from {robot}, got {replies:?}\n{:#?}",
                self.runner.logger.captured()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Posts a signed `Bot.OnC2CMessage` to the gateway, as IM would.
    async fn deliver_c2c(
        &self,
        from: &str,
        to: &str,
        msg_key: &str,
        text: &str,
    ) -> (u16, Value, Duration) {
        let url = signed_webhook_url(&self.runner.url, "Bot.OnC2CMessage");
        let body = json!({
            "CallbackCommand": "Bot.OnC2CMessage", "From_Account": from, "To_Account": to, "MsgSeq": 1,
            "MsgRandom": 7, "MsgTime": now(), "MsgKey": msg_key, "OnlineOnlyFlag": 0, "SendMsgResult": 0,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}], "EventTime": now() * 1000,
        });
        let started = Instant::now();
        let (status, answer) = self
            .runner
            .send(self.runner.client.post(url).json(&body))
            .await;
        (status, answer, started.elapsed())
    }
}

#[tokio::test]
async fn one_to_one_round_trip() {
    let w = World::start("bot-c2c").await;
    w.ask("@RBT#helper", "What is Switchboard?").await;
    let replies = w.wait_replies("@RBT#helper", 1).await;
    assert_eq!(replies, ["gpt-emu (turn 1): What is Switchboard?"]);
    let recorded = w.llm().recorded();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].body["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    let safety = recorded[0].body["safety_identifier"].as_str().unwrap();
    assert!(safety.starts_with("sha256:") && !safety.contains("alice"));
}

#[tokio::test]
async fn group_round_trip_mentions_the_asker() {
    let w = World::start("bot-group").await;
    let client = tim::rest::Client::new(
        ReqwestTransport(reqwest::Client::new()),
        tim::rest::ImConfig {
            base_url: w.im().url(),
            admin: "administrator".into(),
            signer: tim::usersig::Signer::new(
                1400000000,
                &im_emulator::EmulatorConfig::default().secret_key,
            ),
            timeout: tim::rest::DEFAULT_TIMEOUT,
            retry: tim::rest::RetryPolicy::default(),
        },
    );
    let group = tim::rest::CreateGroup {
        group_type: "Public".into(),
        name: "Room".into(),
        group_id: Some("ROOM".into()),
        members: ["alice", "@RBT#helper"]
            .iter()
            .map(|a| tim::rest::MemberAccount {
                account: a.to_string(),
            })
            .collect(),
        ..Default::default()
    };
    client.create_group(&group).await.unwrap();
    let body =
        json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "@@RBT#helper hello there"}}]);
    let answer = w
        .im()
        .user_send_group("alice", "ROOM", body, vec!["@RBT#helper".into()])
        .await;
    assert_eq!(answer["ErrorCode"], 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let reply = loop {
        let state = w.im().state();
        if let Some(m) = state.groups["ROOM"]
            .messages
            .iter()
            .find(|m| m.from == "@RBT#helper")
        {
            break m.clone();
        }
        assert!(Instant::now() < deadline, "no group reply");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(
        im_emulator::text_of(&reply.body),
        "@alice gpt-emu (turn 1): hello there"
    );
    assert_eq!(reply.at, ["alice"]);
}

#[tokio::test]
async fn the_webhook_is_acknowledged_while_the_llm_is_slow() {
    let w = World::start("bot-ack").await;
    w.llm().set_latency(Duration::from_secs(5));
    let (status, answer, took) = w
        .deliver_c2c("alice", "@RBT#helper", "1_7_100", "slow question")
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["ErrorCode"], 0);
    assert!(
        took < Duration::from_secs(1),
        "the acknowledgement waited for the LLM: {took:?}"
    );
    assert!(w.replies("@RBT#helper").is_empty());
    let replies = w.wait_replies("@RBT#helper", 1).await;
    assert_eq!(replies, ["gpt-emu (turn 1): slow question"]);
}

#[tokio::test]
async fn memory_is_carried_across_turns_and_cleared_by_the_command() {
    let w = World::start("bot-memory").await;
    w.ask("@RBT#helper", "first").await;
    w.wait_replies("@RBT#helper", 1).await;
    w.ask("@RBT#helper", "second").await;
    let replies = w.wait_replies("@RBT#helper", 2).await;
    assert_eq!(replies[1], "gpt-emu (turn 2): second");
    let conversation = w.llm().recorded()[1].conversation();
    assert_eq!(
        conversation,
        [
            ("user".to_string(), "first".to_string()),
            (
                "assistant".to_string(),
                "gpt-emu (turn 1): first".to_string()
            ),
            ("user".to_string(), "second".to_string())
        ]
    );
    w.ask("@RBT#helper", "/reset").await;
    w.wait_replies("@RBT#helper", 3).await;
    w.ask("@RBT#helper", "third").await;
    let replies = w.wait_replies("@RBT#helper", 4).await;
    assert_eq!(replies[2], "Okay, I've forgotten our conversation.");
    assert_eq!(replies[3], "gpt-emu (turn 1): third");
    assert_eq!(
        w.llm().recorded().len(),
        3,
        "the clear command reached the LLM"
    );
}

#[tokio::test]
async fn a_redelivered_webhook_is_answered_once_and_robots_are_not_answered() {
    let w = World::start("bot-dup").await;
    for _ in 0..2 {
        let (status, _, _) = w
            .deliver_c2c("alice", "@RBT#helper", "5_9_123", "once please")
            .await;
        assert_eq!(status, 200);
    }
    let (status, _, _) = w
        .deliver_c2c("@RBT#mini", "@RBT#helper", "6_9_123", "robot talk")
        .await;
    assert_eq!(status, 200);
    w.wait_replies("@RBT#helper", 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.replies("@RBT#helper").len(), 1);
    assert_eq!(w.llm().recorded().len(), 1);
    assert!(w.runner.logged("message from robot @RBT#mini ignored"));
}

#[tokio::test]
async fn a_rate_limit_is_retried_then_succeeds() {
    let w = World::start("bot-429").await;
    w.llm().fail_next(
        Api::OpenAi,
        Failure::RateLimited {
            retry_after_ms: 300,
        },
    );
    w.ask("@RBT#helper", "retry me").await;
    let replies = w.wait_replies("@RBT#helper", 1).await;
    assert_eq!(replies, ["gpt-emu (turn 1): retry me"]);
    let statuses: Vec<u16> = w.llm().recorded().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200]);
}

#[tokio::test]
async fn exhausted_quota_is_not_retried_and_the_user_gets_an_apology() {
    let w = World::start("bot-quota").await;
    w.llm().fail_next(Api::MiniMax, Failure::Quota);
    w.ask("@RBT#mini", "anyone there?").await;
    let replies = w.wait_replies("@RBT#mini", 1).await;
    assert_eq!(
        replies,
        ["Sorry, I can't answer right now. Please try again in a moment."]
    );
    assert_eq!(w.llm().recorded().len(), 1, "quota must not be retried");
    assert!(w.runner.logged("quota exhausted") && w.runner.logged("req-emulated"));
    assert!(
        !w.runner.logged(llm_emulator::API_KEY),
        "an API key reached the log"
    );
}

#[tokio::test]
async fn the_fallback_provider_answers_when_the_first_fails() {
    let w = World::start("bot-fallback").await;
    for _ in 0..3 {
        w.llm().fail_next(Api::OpenAi, Failure::ServerError);
    }
    w.ask("@RBT#helper", "help").await;
    let replies = w.wait_replies("@RBT#helper", 1).await;
    assert_eq!(replies, ["claude-emu (turn 1): help"]);
    let apis: Vec<Api> = w.llm().recorded().iter().map(|r| r.api).collect();
    assert_eq!(
        apis,
        [Api::OpenAi, Api::OpenAi, Api::OpenAi, Api::Anthropic]
    );
}

#[tokio::test]
async fn a_long_answer_is_split_in_order() {
    let w = World::start("bot-long").await;
    w.ask("@RBT#helper", "LONG:25000").await;
    let replies = w.wait_replies("@RBT#helper", 3).await;
    let expected = llm_emulator::answer_for(
        "gpt-emu",
        &json!({"messages": [{"role": "user", "content": "LONG:25000"}]}),
    );
    assert_eq!(replies.concat(), expected);
    assert!(replies.iter().all(|r| r.len() <= 10_000));
    assert!(
        replies[0].ends_with(". ") || replies[0].ends_with('.'),
        "not split at a sentence end"
    );
}

#[tokio::test]
async fn the_rate_limit_replies_politely_without_asking_the_llm() {
    let w = World::start("bot-ratelimit").await;
    w.ask("@RBT#limited", "one").await;
    w.wait_replies("@RBT#limited", 1).await;
    w.ask("@RBT#limited", "two").await;
    let replies = w.wait_replies("@RBT#limited", 2).await;
    assert_eq!(replies[1], "Slow down, please.");
    assert_eq!(w.llm().recorded().len(), 1);
}

#[tokio::test]
async fn non_text_messages_get_a_hint() {
    let w = World::start("bot-image").await;
    let image =
        json!([{"MsgType": "TIMImageElem", "MsgContent": {"UUID": "img-1", "ImageFormat": 1}}]);
    w.im().user_send_c2c("alice", "@RBT#helper", image).await;
    let replies = w.wait_replies("@RBT#helper", 1).await;
    assert_eq!(
        replies,
        ["I can only read text messages. Please type your question."]
    );
    assert!(w.llm().recorded().is_empty());
}

#[tokio::test]
async fn answers_are_screened() {
    let w = World::start("bot-screen").await;
    w.ask("@RBT#helper", "tell me the secret").await;
    assert_eq!(
        w.wait_replies("@RBT#helper", 1).await,
        ["gpt-emu (turn 1): tell me the ******"]
    );
    w.ask("@RBT#strict", "the secret again").await;
    assert_eq!(w.wait_replies("@RBT#strict", 1).await, ["[withheld]"]);
}

#[tokio::test]
async fn streaming_robots_stream_into_one_message() {
    let w = World::start("bot-stream").await;
    w.ask(
        "@RBT#streamer",
        "please stream a reasonably long answer back to me in several pieces",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = w.im().state();
        if let Some(m) = state.c2c.iter().find(|m| m.from == "@RBT#streamer")
            && let Some((chunks, true)) = m.stream
        {
            assert!(chunks > 1, "the answer arrived in one piece");
            assert_eq!(
                im_emulator::text_of(&m.body),
                "gpt-emu (turn 1): please stream a reasonably long answer back to me in several pieces"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the stream never finished");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(w.llm().recorded()[0].body["stream"], true);
}
