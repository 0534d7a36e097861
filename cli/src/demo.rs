//! `switchboard demo`: drives a scripted scenario against a running
//! `switchboard up` (with its built-in emulators) and prints, step by step,
//! what happened on each side — read back from the emulators' state, not
//! from the connectors' own answers.
//!
//! It plays every outside party exactly as the real one would: the end
//! user's app (its own UserSig), the shipped Apex (HMAC-signed calls), a
//! Zendesk agent (a ticket change in the Zendesk emulator, which sends its
//! signed webhook), and chat users (messages sent through the IM emulator,
//! which runs the signed callbacks).

use crate::emulators::{DEMO_ROBOT, EMULATOR_SALESFORCE_INBOUND_SECRET};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::io::Write;
use std::time::{Duration, Instant};
use tim::usersig::Signer;

/// Where the application and its emulators listen.
#[derive(Debug, Clone)]
pub struct Targets {
    /// The application (`switchboard up`).
    pub app: String,
    /// The IM emulator.
    pub im: String,
    /// The Zendesk emulator.
    pub zendesk: String,
    /// The Salesforce emulator.
    pub salesforce: String,
}

impl Targets {
    /// The layout `switchboard up` uses: the emulators on the application's
    /// port + 1 (IM), + 2 (Zendesk), + 3 (Salesforce).
    pub fn from_app_url(app: &str) -> Result<Self> {
        let url: http::Uri = app
            .parse()
            .with_context(|| format!("`{app}` is not a URL"))?;
        let host = url.host().context("the URL has no host")?;
        let port = url.port_u16().unwrap_or(80);
        let at = |offset: u16| format!("http://{host}:{}", port + offset);
        Ok(Self {
            app: app.trim_end_matches('/').to_string(),
            im: at(1),
            zendesk: at(2),
            salesforce: at(3),
        })
    }
}

/// One check of a step: passed or not, and its evidence.
struct Check {
    ok: bool,
    evidence: String,
}

/// Runs the scenario, printing to `out`; `Ok(true)` when every check
/// passed. `Err` only when the application or an emulator cannot be
/// reached at all.
pub async fn run(targets: &Targets, out: &mut impl Write) -> Result<bool> {
    let demo = Demo::new(targets.clone())?;
    demo.reachable().await?;
    let mut all_ok = true;
    let steps: [(&str, StepFn); 6] = [
        ("Salesforce: an end user opens a support request", |d| {
            Box::pin(d.salesforce_request())
        }),
        (
            "Salesforce: Apex assigns an agent, reassigns, closes the case",
            |d| Box::pin(d.salesforce_lifecycle()),
        ),
        (
            "Zendesk: ticket, group and greeting; assignment webhook; closed",
            |d| Box::pin(d.zendesk()),
        ),
        ("Chatbot: one-to-one and in a group, with memory", |d| {
            Box::pin(d.chatbot())
        }),
        (
            "Moderation: what IM delivered for each group message",
            |d| Box::pin(d.moderation()),
        ),
        (
            "Chatbot hands over to Zendesk: /human, the ticket keeps the chat, back after close",
            |d| Box::pin(d.handoff()),
        ),
    ];
    let started = Instant::now();
    for (number, (title, step)) in steps.iter().enumerate() {
        let t = Instant::now();
        let checks = step(&demo).await.unwrap_or_else(|e| {
            vec![Check {
                ok: false,
                evidence: format!("{e:#}"),
            }]
        });
        let ok = checks.iter().all(|c| c.ok);
        all_ok &= ok;
        writeln!(
            out,
            "{} {}. {title} ({} ms)",
            mark(ok),
            number + 1,
            t.elapsed().as_millis()
        )?;
        for check in checks {
            writeln!(out, "    {} {}", mark(check.ok), check.evidence)?;
        }
    }
    writeln!(
        out,
        "{} in {:.1} s",
        if all_ok {
            "all steps passed"
        } else {
            "SOME STEPS FAILED"
        },
        started.elapsed().as_secs_f64()
    )?;
    Ok(all_ok)
}

type StepFn =
    for<'a> fn(&'a Demo) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<Check>>> + 'a>>;

fn mark(ok: bool) -> &'static str {
    if ok { "✓" } else { "✗" }
}

fn check(ok: bool, evidence: impl Into<String>) -> Check {
    Check {
        ok,
        evidence: evidence.into(),
    }
}

/// Agents the demo's Apex side assigns (Salesforce User ids).
const AGENT_A: &str = "005DEMO00000000001";
const AGENT_B: &str = "005DEMO00000000002";
const QUEUE: &str = "00GDEMO00000000001";
/// The Zendesk agent who takes the ticket.
const ZENDESK_AGENT: u64 = 9001;

struct Demo {
    targets: Targets,
    http: reqwest::Client,
    signer: Signer,
    admin: String,
    /// Makes this run's ids unique, so the demo can run again against the
    /// same `switchboard up`.
    run: String,
    /// Apex calls made so far, for each call's own nonce.
    apex_calls: std::sync::atomic::AtomicU32,
}

impl Demo {
    fn new(targets: Targets) -> Result<Self> {
        let config = im_emulator::EmulatorConfig::default();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Ok(Self {
            targets,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()?,
            signer: Signer::new(config.sdk_app_id, &config.secret_key),
            admin: config.admins[0].clone(),
            run: format!("{:016x}", nanos as u64),
            apex_calls: Default::default(),
        })
    }

    async fn reachable(&self) -> Result<()> {
        for (what, url) in [
            ("the application", format!("{}/health", self.targets.app)),
            (
                "the IM emulator",
                format!("{}/emulator/state", self.targets.im),
            ),
            (
                "the Zendesk emulator",
                format!("{}/emulator/state", self.targets.zendesk),
            ),
            (
                "the Salesforce emulator",
                format!("{}/emulator/state", self.targets.salesforce),
            ),
        ] {
            let ok = self
                .http
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if !ok {
                bail!(
                    "{what} does not answer at {url}: start `switchboard up` (with its built-in emulators) first"
                );
            }
        }
        Ok(())
    }

    async fn get(&self, url: &str) -> Result<Value> {
        let response = self.http.get(url).send().await?;
        Ok(response.json().await?)
    }

    async fn post(
        &self,
        url: &str,
        body: &Value,
        headers: &[(&str, String)],
    ) -> Result<(u16, Value)> {
        let mut request = self.http.post(url).json(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Imports an account through IM's REST API, as the app backend does.
    async fn import_account(&self, user: &str) -> Result<()> {
        let usersig = self
            .signer
            .generate(&self.admin, transport::unix_now(), 600);
        let url = format!(
            "{}/v4/im_open_login_svc/account_import?sdkappid={}&identifier={}&usersig={usersig}&random={}&contenttype=json",
            self.targets.im,
            self.signer.sdk_app_id(),
            self.admin,
            tim::rest::random_u32()
        );
        let (_, answer) = self.post(&url, &json!({ "UserID": user }), &[]).await?;
        if answer["ErrorCode"] != 0 {
            bail!("importing {user}: {answer}");
        }
        Ok(())
    }

    async fn im_state(&self) -> Result<Value> {
        self.get(&format!("{}/emulator/state", self.targets.im))
            .await
    }

    /// An end user's request to a bridge, authenticated with the user's
    /// own UserSig.
    async fn user_request(&self, path: &str, key: &str) -> Result<(u16, Value)> {
        let usersig = self.signer.generate("alice", transport::unix_now(), 3600);
        self.post(
            &format!("{}{path}", self.targets.app),
            &json!({
                "subject": "My parcel has not arrived",
                "description": "Order 1042 was due last Monday.",
                "name": "Alice Example",
                "email": "alice@example.com",
                "idempotency_key": key,
            }),
            &[
                ("x-im-user-id", "alice".to_string()),
                ("authorization", format!("UserSig {usersig}")),
            ],
        )
        .await
    }

    async fn members(&self, group: &str) -> Result<Option<Vec<String>>> {
        let state = self.im_state().await?;
        Ok(state["groups"][group]["members"].as_array().map(|m| {
            m.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        }))
    }

    async fn dissolved(&self, group: &str) -> Result<Check> {
        let state = self.im_state().await?;
        let gone = state["groups"].get(group).is_none()
            && state["destroyed_groups"]
                .as_array()
                .is_some_and(|d| d.iter().any(|g| g == group));
        Ok(check(
            gone,
            format!(
                "IM group {group} {}",
                if gone { "dissolved" } else { "still exists" }
            ),
        ))
    }

    async fn salesforce_request(&self) -> Result<Vec<Check>> {
        let (status, body) = self
            .user_request("/salesforce/requests", &format!("demo-sf-{}", self.run))
            .await?;
        if status != 201 {
            bail!("POST /salesforce/requests answered {status}: {body}");
        }
        let case_id = body["case_id"].as_str().unwrap_or_default();
        let group = body["group_id"].as_str().unwrap_or_default();
        let state = self
            .get(&format!("{}/emulator/state", self.targets.salesforce))
            .await?;
        let case = &state["cases"][case_id]["fields"];
        let members = self.members(group).await?.unwrap_or_default();
        Ok(vec![
            check(
                case["Subject"] == "My parcel has not arrived",
                format!(
                    "Salesforce emulator holds Case {case_id}: {} (Origin {})",
                    case["Subject"], case["Origin"]
                ),
            ),
            check(
                members == ["alice"],
                format!("IM emulator holds group {group} with members {members:?}"),
            ),
        ])
    }

    /// The shipped Apex's call: JSON body, timestamp, nonce, HMAC signature.
    async fn apex(&self, events: Value) -> Result<(u16, Value)> {
        let body = json!({ "events": events });
        let call = self
            .apex_calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nonce = format!("{}{call:08x}", self.run);
        let headers = salesforce::inbound::signed_headers(
            EMULATOR_SALESFORCE_INBOUND_SECRET,
            transport::unix_now(),
            &nonce,
            body.to_string().as_bytes(),
        );
        self.post(
            &format!("{}/salesforce/events", self.targets.app),
            &body,
            &headers,
        )
        .await
    }

    async fn salesforce_lifecycle(&self) -> Result<Vec<Check>> {
        let (status, body) = self
            .user_request(
                "/salesforce/requests",
                &format!("demo-sf-life-{}", self.run),
            )
            .await?;
        if status != 201 {
            bail!("POST /salesforce/requests answered {status}: {body}");
        }
        let case_id = body["case_id"].as_str().unwrap_or_default().to_string();
        let group = body["group_id"].as_str().unwrap_or_default().to_string();
        let mut checks = Vec::new();

        let (status, _) = self
            .apex(json!([
                {"type": "owner_changed", "case_id": case_id, "old_owner_id": QUEUE, "new_owner_id": AGENT_A},
                {"type": "agent_assigned", "case_id": case_id, "user_id": AGENT_A},
            ]))
            .await?;
        let members = self.members(&group).await?.unwrap_or_default();
        let agent_a = format!("sf-{AGENT_A}");
        checks.push(check(
            status == 200 && members.contains(&agent_a),
            format!("assigned (signed call answered {status}): members {members:?}"),
        ));

        let (status, _) = self
            .apex(json!([{"type": "owner_changed", "case_id": case_id, "old_owner_id": AGENT_A, "new_owner_id": AGENT_B}]))
            .await?;
        let members = self.members(&group).await?.unwrap_or_default();
        let agent_b = format!("sf-{AGENT_B}");
        checks.push(check(
            status == 200 && members.contains(&agent_b) && !members.contains(&agent_a),
            format!("reassigned (answered {status}): members {members:?}"),
        ));

        let (status, _) = self
            .apex(json!([{"type": "case_closed", "case_id": case_id}]))
            .await?;
        let mut dissolved = self.dissolved(&group).await?;
        dissolved.ok &= status == 200;
        dissolved.evidence = format!("closed (answered {status}): {}", dissolved.evidence);
        checks.push(dissolved);
        Ok(checks)
    }

    async fn zendesk(&self) -> Result<Vec<Check>> {
        let (status, body) = self
            .user_request("/zendesk/requests", &format!("demo-zd-{}", self.run))
            .await?;
        if status != 201 {
            bail!("POST /zendesk/requests answered {status}: {body}");
        }
        let ticket = body["ticket_id"].as_u64().unwrap_or_default();
        let group = body["group_id"].as_str().unwrap_or_default().to_string();
        let zd = self
            .get(&format!("{}/emulator/state", self.targets.zendesk))
            .await?;
        let subject = &zd["tickets"][ticket.to_string()]["subject"];
        // The greeting is a group system notification (every member sees it).
        let state = self.im_state().await?;
        let greeting = state["groups"][&group]["notifications"][0][1]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut checks = vec![
            check(
                subject == "My parcel has not arrived",
                format!("Zendesk emulator holds ticket {ticket}: {subject}"),
            ),
            check(
                group.starts_with("ZENDESK#") && !greeting.is_empty(),
                format!("IM group {group} with alice and the greeting \"{greeting}\""),
            ),
        ];

        let (status, delivery) = self
            .post(
                &format!("{}/emulator/tickets/{ticket}/assign", self.targets.zendesk),
                &json!({ "assignee_id": ZENDESK_AGENT }),
                &[],
            )
            .await?;
        let members = self.members(&group).await?.unwrap_or_default();
        let agent = format!("zendesk-agent-{ZENDESK_AGENT}");
        checks.push(check(
            status == 200 && delivery["status"] == 200 && members.contains(&agent),
            format!(
                "signed ticket.agent_assignment_changed webhook answered {}: members {members:?}",
                delivery["status"]
            ),
        ));

        let delivery = self.close_ticket(ticket).await?;
        let mut dissolved = self.dissolved(&group).await?;
        dissolved.ok &= delivery["status"] == 200;
        dissolved.evidence = format!(
            "ticket closed, webhook answered {}: {}",
            delivery["status"], dissolved.evidence
        );
        checks.push(dissolved);
        Ok(checks)
    }

    /// An agent closes the ticket in the Zendesk emulator, which delivers
    /// its signed webhook: the delivery and the bridge's answer.
    async fn close_ticket(&self, ticket: impl std::fmt::Display) -> Result<Value> {
        let (_, delivery) = self
            .post(
                &format!("{}/emulator/tickets/{ticket}/status", self.targets.zendesk),
                &json!({ "status": "closed" }),
                &[],
            )
            .await?;
        Ok(delivery)
    }

    async fn send_c2c(&self, from: &str, to: &str, text: &str) -> Result<Value> {
        let (_, answer) = self
            .post(
                &format!("{}/emulator/c2c", self.targets.im),
                &json!({"From_Account": from, "To_Account": to, "MsgBody": text_body(text)}),
                &[],
            )
            .await?;
        Ok(answer)
    }

    async fn send_group(&self, from: &str, group: &str, text: &str, at: &[&str]) -> Result<Value> {
        let (_, answer) = self
            .post(
                &format!("{}/emulator/group", self.targets.im),
                &json!({"From_Account": from, "GroupId": group, "MsgBody": text_body(text), "At_Account": at}),
                &[],
            )
            .await?;
        Ok(answer)
    }

    async fn open_group(&self, group: &str, name: &str, members: &[&str]) -> Result<()> {
        let (_, created) = self
            .post(
                &format!("{}/emulator/create_group", self.targets.im),
                &json!({"Owner_Account": "alice", "GroupId": group, "Name": name, "Type": "Public"}),
                &[],
            )
            .await?;
        if created["ErrorCode"] != 0 {
            bail!("creating group {group}: {created}");
        }
        let (status, _) = self
            .post(
                &format!("{}/emulator/join_group", self.targets.im),
                &json!({"GroupId": group, "Accounts": members}),
                &[],
            )
            .await?;
        if status != 200 {
            bail!("joining {members:?} to {group}: HTTP {status}");
        }
        Ok(())
    }

    /// Waits (up to 10 s) for a new message from the robot: one-to-one to
    /// `user`, or in `group`.
    async fn robot_reply(
        &self,
        user: &str,
        group: Option<&str>,
        seen: usize,
    ) -> Result<Option<String>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let state = self.im_state().await?;
            let replies = robot_messages(&state, user, group);
            if replies.len() > seen {
                return Ok(replies.last().cloned());
            }
            if Instant::now() > deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn chatbot(&self) -> Result<Vec<Check>> {
        // A user of this run's own, so memory and rate limits start fresh
        // however often the demo runs.
        let user = format!("demo-{}", self.run);
        self.import_account(&user).await?;
        let mut checks = Vec::new();
        for (i, question) in ["What are your opening hours?", "And on Sundays?"]
            .iter()
            .enumerate()
        {
            self.send_c2c(&user, DEMO_ROBOT, question).await?;
            let reply = self.robot_reply(&user, None, i).await?;
            let ok = reply.as_ref().is_some_and(|r| {
                r.contains(question) && (i == 0 || r.contains(&format!("turn {}", i + 1)))
            });
            checks.push(check(
                ok,
                match reply {
                    Some(reply) => format!("one-to-one \"{question}\" → {DEMO_ROBOT}: \"{reply}\""),
                    None => format!("no reply from {DEMO_ROBOT} to \"{question}\" within 10 s"),
                },
            ));
        }
        if let Some(memory) = checks.get_mut(1) {
            memory
                .evidence
                .push_str(" (turn 2: the first question was remembered)");
        }
        let group = format!("demo-bots-{}", self.run);
        self.open_group(&group, "Robot room", &[&user, DEMO_ROBOT])
            .await?;
        let question = format!("@{DEMO_ROBOT} where is my parcel?");
        self.send_group(&user, &group, &question, &[DEMO_ROBOT])
            .await?;
        let reply = self.robot_reply(&user, Some(&group), 0).await?;
        checks.push(check(
            reply
                .as_ref()
                .is_some_and(|r| r.contains("where is my parcel?")),
            match reply {
                Some(reply) => format!("in group {group}, @mention → \"{reply}\""),
                None => format!("no group reply in {group} within 10 s"),
            },
        ));
        Ok(checks)
    }

    async fn handoff(&self) -> Result<Vec<Check>> {
        let user = format!("demo-handoff-{}", self.run);
        self.import_account(&user).await?;
        let question = "My parcel never arrived";
        self.send_c2c(&user, DEMO_ROBOT, question).await?;
        let mut checks = Vec::new();
        let answered = self.robot_reply(&user, None, 0).await?;
        checks.push(check(
            answered.as_ref().is_some_and(|r| r.contains(question)),
            format!(
                "\"{question}\" → {DEMO_ROBOT}: \"{}\"",
                answered.as_deref().unwrap_or("(no reply within 10 s)")
            ),
        ));
        self.send_c2c(&user, DEMO_ROBOT, "/human").await?;
        let told = self.robot_reply(&user, None, 1).await?.unwrap_or_default();
        let ticket = told
            .split("(request ")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .unwrap_or_default()
            .to_string();
        let zd = self
            .get(&format!("{}/emulator/state", self.targets.zendesk))
            .await?;
        let description = zd["tickets"][&ticket]["description"]
            .as_str()
            .unwrap_or_default();
        checks.push(check(
            !ticket.is_empty()
                && description.contains(&format!("{user}: {question}"))
                && description.contains(&format!("{user}: /human")),
            format!(
                "\"/human\" → \"{told}\"; ticket {ticket}'s description holds the chat: {:?}",
                description.lines().take(3).collect::<Vec<_>>()
            ),
        ));
        let delivery = self.close_ticket(&ticket).await?;
        self.send_c2c(&user, DEMO_ROBOT, "Thanks, all sorted")
            .await?;
        // The robot says it is back, then answers.
        let answer = self.robot_reply(&user, None, 3).await?;
        let replies = robot_messages(&self.im_state().await?, &user, None);
        let resumed = replies.get(2);
        checks.push(check(
            delivery["status"] == 200
                && resumed.is_some_and(|r| r.contains("support request is closed"))
                && answer.is_some_and(|r| r.contains("Thanks, all sorted")),
            format!(
                "ticket closed (webhook answered {}) → {:?}",
                delivery["status"],
                replies.get(2..)
            ),
        ));
        Ok(checks)
    }

    async fn moderation(&self) -> Result<Vec<Check>> {
        let group = format!("demo-moderation-{}", self.run);
        self.open_group(&group, "Moderated room", &["bob"]).await?;
        #[derive(PartialEq)]
        enum Expect {
            Unchanged,
            Masked,
            Rejected,
            Dropped,
        }
        let cases = [
            ("clean", "Good morning, everyone!", Expect::Unchanged),
            ("masked word", "this is shit", Expect::Masked),
            ("evasion: separators", "f.u.c.k this", Expect::Masked),
            ("evasion: full width", "ＦＵＣＫ this", Expect::Masked),
            (
                "evasion: zero-width",
                "f\u{200B}u\u{200B}ck this",
                Expect::Masked,
            ),
            ("rejected", "go kill yourself", Expect::Rejected),
            ("silently dropped", "代开发票，加我微信", Expect::Dropped),
        ];
        let mut checks = Vec::new();
        for (label, text, expect) in cases {
            let before = group_texts(&self.im_state().await?, &group).len();
            let answer = self.send_group("bob", &group, text, &[]).await?;
            let texts = group_texts(&self.im_state().await?, &group);
            let delivered = texts.get(before).map(|(_, t)| t.clone());
            let code = answer["ErrorCode"].as_i64().unwrap_or(-1);
            let shown = text.replace('\u{200B}', "\\u200B");
            let (ok, what) = match (&expect, &delivered) {
                (Expect::Unchanged, Some(d)) => {
                    (d == text && code == 0, format!("delivered \"{d}\""))
                }
                // Masking is character for character: same length, stars
                // where the match was, the rest untouched.
                (Expect::Masked, Some(d)) => (
                    code == 0
                        && d != text
                        && d.contains('*')
                        && d.chars().count() == text.chars().count(),
                    format!("delivered \"{d}\""),
                ),
                (Expect::Rejected, None) => {
                    (code != 0, format!("refused, sender got ErrorCode {code}"))
                }
                (Expect::Dropped, None) => (
                    code == 0,
                    "not delivered; the sender was told it was sent (ErrorCode 0)".to_string(),
                ),
                (_, Some(d)) => (false, format!("delivered \"{d}\" (ErrorCode {code})")),
                (_, None) => (false, format!("not delivered (ErrorCode {code})")),
            };
            checks.push(check(ok, format!("{label}: \"{shown}\" → {what}")));
        }
        Ok(checks)
    }
}

fn text_body(text: &str) -> Value {
    json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}])
}

/// A group's delivered (not recalled) messages as (sender, text).
fn group_texts(state: &Value, group: &str) -> Vec<(String, String)> {
    state["groups"][group]["messages"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .filter(|m| m["recalled"] != true)
                .map(|m| {
                    (
                        m["from"].as_str().unwrap_or_default().to_string(),
                        im_emulator::text_of(&m["body"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The robot's messages: one-to-one to `user`, or in `group`.
fn robot_messages(state: &Value, user: &str, group: Option<&str>) -> Vec<String> {
    match group {
        Some(group) => group_texts(state, group)
            .into_iter()
            .filter(|(from, _)| from == DEMO_ROBOT)
            .map(|(_, text)| text)
            .collect(),
        None => state["c2c"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .filter(|m| m["from"] == DEMO_ROBOT && m["to"] == user)
                    .map(|m| im_emulator::text_of(&m["body"]))
                    .collect()
            })
            .unwrap_or_default(),
    }
}
