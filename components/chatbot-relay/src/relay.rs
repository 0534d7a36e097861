//! Answering one message to one robot: after the webhook was acknowledged.

use crate::config::{Config, GroupMemory, Robot, Screening};
use connector::outbound::SpinHttp;
use connector::state::{Claim, Records};
use llm::{ChatRequest, Message, RetryPolicy, Role};
use screening::policy::Outcome;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tim::message::{MsgElement, split_text};
use tim::rest::{FORBID_SEND_CALLBACKS, GroupAt, SendGroupMsg, SendMsg};

/// Bytes per reply message; IM's limit is 12 KB for the whole message.
const PIECE_BYTES: usize = 10_000;

/// A message to a robot, as the webhook described it.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The robot account.
    pub robot: String,
    /// The sender.
    pub user: String,
    /// The group, for group messages.
    pub group: Option<String>,
    /// Identity of the message for deduplication.
    pub message_id: String,
    /// When IM says it was sent (Unix seconds, `MsgTime`), if it says.
    pub sent_at: Option<u64>,
    /// The text (mentions of the robot removed).
    pub text: String,
    /// Whether the message had non-text elements only.
    pub non_text: bool,
}

#[derive(Default, Serialize, Deserialize)]
struct Memory {
    updated: u64,
    messages: Vec<Message>,
}

fn now() -> u64 {
    connector::config::unix_now()
}

fn memory_key(robot: &Robot, incoming: &Incoming) -> String {
    match &incoming.group {
        None => format!("bot:mem:{}:c2c:{}", robot.id, incoming.user),
        Some(group) if robot.memory.group_scope == GroupMemory::Group => {
            format!("bot:mem:{}:g:{group}", robot.id)
        }
        Some(group) => format!("bot:mem:{}:g:{group}:{}", robot.id, incoming.user),
    }
}

/// How long after it was sent a message counts as answered: IM redelivers
/// within minutes.
const SEEN_SECS: u64 = 24 * 3600;

/// Claims a message for answering; `false` when it already was claimed (a
/// redelivered webhook, or a copy racing this one). The claim's window
/// runs from the message's own time, so every delivery names the same
/// claim. It is kept even if answering fails later: a robot that answers
/// twice is worse than one that apologises once.
pub fn claim(records: &Records, incoming: &Incoming) -> Result<bool, String> {
    let name = format!("bot:seen:{}:{}", incoming.robot, incoming.message_id);
    let until = incoming
        .sent_at
        .unwrap_or_else(now)
        .saturating_add(SEEN_SECS);
    Ok(records.claim(&name, until)? == Claim::Won)
}

/// Handles one message; every failure ends in a log line and, where the
/// user is waiting for an answer, a short apology.
pub async fn handle(config: &Config, incoming: Incoming) {
    let Some(robot) = config.robot(&incoming.robot) else {
        eprintln!(
            "chatbot: message to unknown robot `{}` ignored",
            incoming.robot
        );
        return;
    };
    let records = match Records::open() {
        Ok(records) => records,
        Err(e) => {
            eprintln!("chatbot: {e}");
            return;
        }
    };
    if incoming.non_text || incoming.text.trim().is_empty() {
        send(config, robot, &incoming, &robot.non_text_hint).await;
        return;
    }
    let key = memory_key(robot, &incoming);
    if incoming.text.trim() == robot.clear_command {
        if let Err(e) = records.put(&key, &Memory::default()) {
            eprintln!("chatbot: {e}");
        }
        send(config, robot, &incoming, &robot.cleared_reply).await;
        return;
    }
    match take_token(&records, robot, &incoming.user) {
        Ok(true) => {}
        Ok(false) => {
            send(config, robot, &incoming, &robot.rate_limited_reply).await;
            return;
        }
        Err(e) => eprintln!("chatbot: rate limit state unavailable ({e}); answering anyway"),
    }
    let mut memory: Memory = records.get(&key).ok().flatten().unwrap_or_default();
    if now().saturating_sub(memory.updated) > robot.memory.idle_secs {
        memory.messages.clear();
    }
    memory.messages.push(Message {
        role: Role::User,
        content: incoming.text.clone(),
    });
    let request = ChatRequest {
        system: robot.system_prompt.clone(),
        messages: memory.messages.clone(),
        max_tokens: robot.max_tokens,
        temperature: robot.temperature,
        safety_identifier: llm::safety_identifier(&incoming.user),
    };
    let streamed = if robot.stream && incoming.group.is_none() {
        crate::stream::answer(config, robot, &incoming, &request).await
    } else {
        None
    };
    let answer = match streamed {
        Some(text) => text,
        None => {
            let timeout = Duration::from_secs(robot.timeout_secs);
            match llm::complete_with_fallback(
                // Each attempt has the robot's timeout (inside `llm`); the
                // whole fallback chain, up to three attempts a provider.
                &SpinHttp::within(
                    timeout * 3 * u32::try_from(robot.providers.len().max(1)).unwrap_or(u32::MAX),
                ),
                &robot.providers,
                &request,
                RetryPolicy::default(),
                timeout,
            )
            .await
            {
                Ok(completion) => {
                    let text = screen(config, robot, &completion.text);
                    send(config, robot, &incoming, &text).await;
                    completion.text
                }
                Err(errors) => {
                    for error in &errors {
                        eprintln!("chatbot: {} for {}: {error}", robot.id, incoming.message_id);
                    }
                    send(config, robot, &incoming, &robot.apology).await;
                    return;
                }
            }
        }
    };
    memory.messages.push(Message {
        role: Role::Assistant,
        content: answer,
    });
    trim(
        &mut memory.messages,
        robot.memory.max_messages,
        robot.memory.max_chars,
    );
    memory.updated = now();
    if let Err(e) = records.put(&key, &memory) {
        eprintln!("chatbot: {e}");
    }
}

/// Drops the oldest messages beyond the bounds, keeping at least the last.
fn trim(messages: &mut Vec<Message>, max_messages: usize, max_chars: usize) {
    while messages.len() > 1
        && (messages.len() > max_messages
            || messages
                .iter()
                .map(|m| m.content.chars().count())
                .sum::<usize>()
                > max_chars)
    {
        messages.remove(0);
    }
}

fn take_token(records: &Records, robot: &Robot, user: &str) -> Result<bool, String> {
    let rate = connector::state::Rate {
        capacity: robot.rate_limit.capacity,
        per_minute: robot.rate_limit.per_minute,
    };
    records.take_token(&format!("bot:rate:{}:{user}", robot.id), rate, now())
}

/// What the robot's screening makes of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screened {
    /// Nothing found: send it as it is.
    Clean,
    /// Send this instead: the same text, matched characters masked one
    /// `*` per character (so character offsets are unchanged).
    Masked(String),
    /// Do not send it: the robot's `blocked_reply` goes instead.
    Blocked,
}

/// The robot's screening, ready to judge the texts of one answer: the
/// moderation engine (built-in lexicon and the stored overlay, read once)
/// with the moderator's policy — the robot's messages skip IM's
/// before-send callback, so this is where they are judged — then the
/// blocked words.
pub struct Judge<'a> {
    config: &'a Config,
    robot: &'a Robot,
    overlay: Option<std::sync::Arc<moderation::Lexicon>>,
}

impl<'a> Judge<'a> {
    /// Reads the overlay (the moderator's run-time terms must not come
    /// back in the robot's answers either).
    pub fn new(config: &'a Config, robot: &'a Robot) -> Self {
        let overlay = if robot.screening == Screening::Off {
            None
        } else {
            screening::stored::overlay().unwrap_or_else(|e| {
                eprintln!("chatbot: {e}; screening with the built-in lexicon only");
                None
            })
        };
        Self {
            config,
            robot,
            overlay,
        }
    }

    /// Judges `text`.
    pub fn judge(&self, text: &str) -> Screened {
        let (config, robot) = (self.config, self.robot);
        if robot.screening == Screening::Off {
            return Screened::Clean;
        }
        let layers = screening::verdict::Layers {
            builtin: screening::builtin(),
            overlay: self.overlay.as_deref(),
        };
        let (verdict, masked) = layers.text(&config.policy, text);
        if let Some(finding) = verdict.findings.first() {
            eprintln!(
                "chatbot: {} answer screened: {} ({}, {})",
                robot.id,
                verdict.outcome.name(),
                finding.category,
                finding.rule
            );
        }
        if verdict.outcome > Outcome::Mask {
            return Screened::Blocked;
        }
        let (masked, found_words) = connector::screen::mask_words(&masked, &config.blocked_words);
        match (
            verdict.outcome == Outcome::Mask || found_words,
            robot.screening,
        ) {
            (true, Screening::Block) => Screened::Blocked,
            (true, _) => Screened::Masked(masked),
            (false, _) => Screened::Clean,
        }
    }
}

/// The answer as it may be sent (see [`Judge`]).
pub fn screen(config: &Config, robot: &Robot, text: &str) -> String {
    match Judge::new(config, robot).judge(text) {
        Screened::Clean => text.to_string(),
        Screened::Masked(masked) => masked,
        Screened::Blocked => robot.blocked_reply.clone(),
    }
}

/// Sends `text` as the robot, split into IM-sized messages in order; in a
/// group, @-mentioning the asker.
pub async fn send(config: &Config, robot: &Robot, incoming: &Incoming, text: &str) {
    let im = config.im.client();
    for (i, piece) in split_text(text, PIECE_BYTES).into_iter().enumerate() {
        let result = match &incoming.group {
            Some(group) => {
                let (body, group_at) = if i == 0 {
                    (
                        format!("@{} {piece}", incoming.user),
                        vec![GroupAt {
                            all: 0,
                            account: Some(incoming.user.clone()),
                        }],
                    )
                } else {
                    (piece, Vec::new())
                };
                im.send_group_msg(&SendGroupMsg {
                    group_id: group.clone(),
                    random: tim::rest::random_u32(),
                    body: vec![MsgElement::text(body)],
                    from: Some(robot.id.clone()),
                    forbid_callback_control: FORBID_SEND_CALLBACKS
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                    group_at,
                    cloud_custom_data: None,
                })
                .await
                .map(|_| ())
            }
            None => im
                .send_msg(&SendMsg::service_text(
                    Some(robot.id.clone()),
                    &incoming.user,
                    piece,
                ))
                .await
                .map(|_| ()),
        };
        if let Err(e) = result {
            eprintln!(
                "chatbot: {} could not reply to {}: {e}",
                robot.id, incoming.message_id
            );
            return;
        }
    }
}
