//! Several hosts in front of one store: two runners share one Redis (as
//! SpinKube replicas share a runtime-config Redis) and one set of
//! emulators. Hundreds of copies of one delivery, split across both hosts
//! and sent at once, take effect exactly once — checked in the emulators'
//! state, not only in the answers.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard::emulators::{Backends, EMULATOR_SALESFORCE_INBOUND_SECRET, EmulatorAddrs};
use switchboard_tests::{
    RedisServer, Runner, config, fresh_nonce, now, robot_message, root, usersig,
};

/// Copies of each delivery, split evenly across the two hosts.
const COPIES: usize = 200;
/// Copies in flight at once: enough to race on every claim, within the
/// host's instance pool (512 component instances per process, as every
/// host here runs in this test process).
const IN_FLIGHT: usize = 64;

/// One flood at a time: the tests of this file share the process's
/// instance pool.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct TwoHosts {
    hosts: [Runner; 2],
    backends: Backends,
    _redis: RedisServer,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl TwoHosts {
    async fn start(label: &str) -> Self {
        let turn = ONE_AT_A_TIME.lock().await;
        let redis = RedisServer::start(label);
        let mut config = config(root().join("spin.toml"), label);
        config.runtime_config = Some(redis.runtime_config(label));
        let backends = Backends::start(&mut config, EmulatorAddrs::any())
            .await
            .unwrap();
        let a = Runner::start(&config).await.unwrap();
        let b = Runner::start(&config).await.unwrap();
        backends.connect(&a.url, &config);
        Self {
            hosts: [a, b],
            backends,
            _redis: redis,
            _turn: turn,
        }
    }

    fn im(&self) -> &im_emulator::ImEmulator {
        self.backends.im.as_ref().unwrap()
    }

    /// How many times IM was asked to run `command` (`service/command`).
    fn im_calls(&self, command: &str) -> usize {
        let state = self.im().state();
        state.calls.iter().filter(|(c, _)| c == command).count()
    }

    /// Sends `COPIES` of the request `send` makes, half to each host,
    /// `IN_FLIGHT` at a time; the answers, in no particular order.
    async fn flood<'a, F, Fut>(&'a self, send: F) -> Vec<(u16, Value)>
    where
        F: Fn(&'a Runner) -> Fut,
        Fut: std::future::Future<Output = (u16, Value)>,
    {
        use futures::stream::StreamExt;
        futures::stream::iter((0..COPIES).map(|i| send(&self.hosts[i % 2])))
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await
    }
}

fn count(answers: &[(u16, Value)], status: u16) -> usize {
    answers.iter().filter(|(s, _)| *s == status).count()
}

fn support_request(key: &str) -> Value {
    json!({
        "subject": "Cannot log in", "description": "It says my password is wrong.",
        "name": "Alice Example", "email": "alice@example.com", "idempotency_key": key,
    })
}

#[tokio::test]
async fn duplicate_creates_make_one_ticket_one_group_one_greeting() {
    let w = TwoHosts::start("shared-create").await;
    let sig = usersig("alice");
    let body = support_request("dup-1");
    let answers = w
        .flood(|host| host.post_as_user("/zendesk/requests", "alice", Some(&sig), &body))
        .await;
    assert!(
        answers.iter().all(|(s, _)| *s == 201 || *s == 200),
        "every copy is answered as the one request: {:?}",
        answers
            .iter()
            .filter(|(s, _)| *s >= 300)
            .take(3)
            .collect::<Vec<_>>()
    );
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(_, a)| a["ticket_id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let zd = w.backends.zendesk.as_ref().unwrap().state();
    assert_eq!(zd.tickets.len(), 1);
    let group = answers[0].1["group_id"].as_str().unwrap().to_string();
    let im = w.im().state();
    assert_eq!(im.groups.len(), 1);
    assert_eq!(im.groups[&group].members, ["alice"]);
    assert_eq!(im.groups[&group].notifications.len(), 1, "one greeting");
}

#[tokio::test]
async fn duplicate_zendesk_deliveries_apply_once() {
    let w = TwoHosts::start("shared-zendesk").await;
    let (status, opened) = w.hosts[0]
        .post_as_user(
            "/zendesk/requests",
            "alice",
            Some(&usersig("alice")),
            &support_request("z1"),
        )
        .await;
    assert_eq!(status, 201, "{opened}");
    let ticket = opened["ticket_id"].as_u64().unwrap();
    let group = opened["group_id"].as_str().unwrap().to_string();
    let secret = w.backends.zendesk.as_ref().unwrap().config().webhook_secret;
    let body = json!({
        "id": "evt-shared-1", "type": "zen:event-type:ticket.agent_assignment_changed",
        "time": zendesk::webhook::format_timestamp(now()), "zendesk_event_version": "2022-11-06",
        "detail": {"id": ticket.to_string(), "assignee_id": "42"},
        "event": {"current": "42"},
    })
    .to_string();
    let timestamp = zendesk::webhook::format_timestamp(now());
    let adds_before = w.im_calls("group_open_http_svc/add_group_member");
    let answers = w
        .flood(|host| host.post_zendesk_webhook(&secret, &body, &timestamp, "inv-1"))
        .await;
    assert_eq!(count(&answers, 200), COPIES, "{:?}", &answers[..3]);
    let applied: Vec<_> = answers
        .iter()
        .filter(|(_, a)| a["applied"].is_array())
        .collect();
    assert_eq!(applied.len(), 1, "one copy applies it");
    let duplicates = answers
        .iter()
        .filter(|(_, a)| a["duplicate"] == true)
        .count();
    assert_eq!(duplicates, COPIES - 1);
    assert_eq!(
        w.im_calls("group_open_http_svc/add_group_member") - adds_before,
        1,
        "the agent is added once"
    );
    assert_eq!(
        w.im().state().groups[&group].members,
        ["alice", "zendesk-agent-42"]
    );
}

#[tokio::test]
async fn duplicate_apex_batches_apply_once_and_a_replayed_usersig_is_issued_once() {
    let w = TwoHosts::start("shared-salesforce").await;
    let (status, opened) = w.hosts[1]
        .post_as_user(
            "/salesforce/requests",
            "alice",
            Some(&usersig("alice")),
            &support_request("s1"),
        )
        .await;
    assert_eq!(status, 201, "{opened}");
    let group = opened["group_id"].as_str().unwrap().to_string();
    let body = json!({"events": [
        {"type": "agent_assigned", "case_id": opened["case_id"], "user_id": "005EMU000000000001"}
    ]})
    .to_string();
    let (ts, nonce) = (now(), fresh_nonce());
    let adds_before = w.im_calls("group_open_http_svc/add_group_member");
    let answers = w
        .flood(|host| {
            host.post_as_apex(
                "events",
                &body,
                EMULATOR_SALESFORCE_INBOUND_SECRET,
                ts,
                &nonce,
            )
        })
        .await;
    assert_eq!(count(&answers, 200), 1, "{:?}", &answers[..3]);
    assert_eq!(count(&answers, 401), COPIES - 1);
    assert_eq!(
        w.im_calls("group_open_http_svc/add_group_member") - adds_before,
        1
    );
    let mut members = w.im().state().groups[&group].members.clone();
    members.sort();
    assert_eq!(members, ["alice", "sf-005EMU000000000001"]);

    let body = json!({"user_id": "005EMU000000000002"}).to_string();
    let (ts, nonce) = (now(), fresh_nonce());
    let answers = w
        .flood(|host| {
            host.post_as_apex(
                "agent-usersig",
                &body,
                EMULATOR_SALESFORCE_INBOUND_SECRET,
                ts,
                &nonce,
            )
        })
        .await;
    assert_eq!(count(&answers, 200), 1, "one UserSig for one signed call");
}

#[tokio::test]
async fn duplicate_robot_deliveries_get_one_reply() {
    let w = TwoHosts::start("shared-robot").await;
    let body = robot_message("alice", "shared-msg-1", "hello from two hosts");
    let answers = w
        .flood(|host| host.post_im_webhook("Bot.OnC2CMessage", &body))
        .await;
    assert_eq!(count(&answers, 200), COPIES);
    let deadline = Instant::now() + Duration::from_secs(20);
    let replies = loop {
        let replies: Vec<_> = w
            .im()
            .state()
            .c2c
            .into_iter()
            .filter(|m| m.from == "@RBT#assistant")
            .collect();
        if !replies.is_empty() {
            break replies;
        }
        assert!(Instant::now() < deadline, "no reply");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    // Give any duplicate time to show up before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(replies.len(), 1);
    assert_eq!(
        w.im()
            .state()
            .c2c
            .iter()
            .filter(|m| m.from == "@RBT#assistant")
            .count(),
        1
    );
    assert_eq!(
        w.backends.llm.as_ref().unwrap().recorded().len(),
        1,
        "the LLM is asked once"
    );
}

#[tokio::test]
async fn a_flow_cut_short_on_one_host_is_finished_by_the_other_without_duplicates() {
    let w = TwoHosts::start("shared-resume").await;
    let sig = usersig("alice");
    let body = support_request("resume-1");
    // Host A creates the ticket, then IM fails it before the group exists
    // (as if A died there).
    w.im().fail_next(70500);
    let (status, answer) = w.hosts[0]
        .post_as_user("/zendesk/requests", "alice", Some(&sig), &body)
        .await;
    assert!(status >= 500, "{status} {answer}");
    assert_eq!(
        w.backends.zendesk.as_ref().unwrap().state().tickets.len(),
        1
    );
    assert!(w.im().state().groups.is_empty());
    // The app retries through host B: it resumes from the shared record.
    let (status, answer) = w.hosts[1]
        .post_as_user("/zendesk/requests", "alice", Some(&sig), &body)
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        w.backends.zendesk.as_ref().unwrap().state().tickets.len(),
        1,
        "no second ticket"
    );
    let group = answer["group_id"].as_str().unwrap();
    let im = w.im().state();
    assert_eq!(im.groups[group].members, ["alice"]);
    assert_eq!(im.groups[group].notifications.len(), 1);
}

#[tokio::test]
async fn hosts_started_from_the_emulators_env_file_share_them() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut first = config(root().join("spin.toml"), "shared-env-a");
    let backends = Backends::start(&mut first, EmulatorAddrs::any())
        .await
        .unwrap();
    let env_file = switchboard_tests::scratch_dir("shared-env").join("emulators.env");
    std::fs::write(
        &env_file,
        switchboard::emulators::env_file_text(&first).unwrap(),
    )
    .unwrap();

    let mut second = config(root().join("spin.toml"), "shared-env-b");
    second.variables.load_env_file(&env_file).unwrap();
    let own = Backends::start(&mut second, EmulatorAddrs::any())
        .await
        .unwrap();
    assert!(
        own.im.is_none() && own.zendesk.is_none(),
        "the file's host starts no emulators of its own"
    );
    let host = Runner::start(&second).await.unwrap();
    let (status, answer) = host
        .post_as_user(
            "/zendesk/requests",
            "alice",
            Some(&usersig("alice")),
            &support_request("env-1"),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        backends.zendesk.as_ref().unwrap().state().tickets.len(),
        1,
        "the first emulators got it"
    );
    let group = answer["group_id"].as_str().unwrap();
    assert_eq!(
        backends.im.as_ref().unwrap().state().groups[group].members,
        ["alice"]
    );
}
