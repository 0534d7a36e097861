//! Answering one message to one robot: after the webhook was acknowledged.

use crate::config::Config;
use chatbot::conversation::{Incoming, Memory};
use chatbot::settings::Robot;
use connector::config::unix_now as now;
use connector::outbound::SpinHttp;
use connector::state::{Claim, Records};
use llm::{ChatRequest, RetryPolicy};
use std::time::Duration;
use tim::message::{MsgElement, split_text};
use tim::rest::{FORBID_SEND_CALLBACKS, GroupAt, SendGroupMsg, SendMsg};

/// Bytes per reply message; IM's limit is 12 KB for the whole message.
const PIECE_BYTES: usize = 10_000;

/// Claims a message for answering; `false` when it already was claimed (a
/// redelivered webhook, or a copy racing this one). The claim's window
/// runs from the message's own time, so every delivery names the same
/// claim. It is kept even if answering fails later: a robot that answers
/// twice is worse than one that apologises once.
pub fn claim(records: &Records, incoming: &Incoming) -> Result<bool, String> {
    let (name, until) = incoming.claim(now());
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
    if let Some(handoff) = &robot.handoff {
        use crate::handoff::{WithPeople, hand_off, with_people};
        let trigger = handoff.trigger(&incoming.text);
        if let WithPeople::Yes = with_people(config, robot, handoff, &records, &incoming).await {
            match trigger {
                // Asking for a person again gets where their request is.
                Some(trigger) => {
                    hand_off(config, robot, handoff, &records, &incoming, trigger).await;
                }
                None => eprintln!(
                    "chatbot: {} is with people; {} not answered",
                    incoming.user, incoming.message_id
                ),
            }
            return;
        }
        if let Some(trigger) = trigger {
            hand_off(config, robot, handoff, &records, &incoming, trigger).await;
            return;
        }
        if handoff.on_rejected_message && config.judge(robot).refuses(&incoming.text) {
            let trigger = chatbot::handoff::Trigger::Rejected;
            hand_off(config, robot, handoff, &records, &incoming, trigger).await;
            return;
        }
    }
    let key = incoming.memory_key(robot);
    if incoming.non_text || incoming.text.trim().is_empty() {
        send(config, robot, &incoming, &robot.non_text_hint).await;
        // Remembered with its links, so a later handoff's transcript shows
        // agents what was sent (and the model, that it could not read it).
        if !incoming.shown.is_empty() {
            let mut memory: Memory = records.get(&key).ok().flatten().unwrap_or_default();
            // The model is told that something it cannot read was sent,
            // never the links.
            memory.ask(
                robot,
                "[a message with no text]",
                Some(&incoming.shown),
                now(),
            );
            memory.answered(robot, robot.non_text_hint.clone(), now());
            if let Err(e) = records.put(&key, &memory) {
                eprintln!("chatbot: {e}");
            }
        }
        return;
    }
    if incoming.text.trim() == robot.clear_command {
        if let Err(e) = records.put(&key, &Memory::default()) {
            eprintln!("chatbot: {e}");
        }
        send(config, robot, &incoming, &robot.cleared_reply).await;
        return;
    }
    let rate = connector::state::Rate {
        capacity: robot.rate_limit.capacity,
        per_minute: robot.rate_limit.per_minute,
    };
    match records.take_token(&incoming.rate_key(robot), rate, now()) {
        Ok(true) => {}
        Ok(false) => {
            send(config, robot, &incoming, &robot.rate_limited_reply).await;
            return;
        }
        Err(e) => eprintln!("chatbot: rate limit state unavailable ({e}); answering anyway"),
    }
    let mut memory: Memory = records.get(&key).ok().flatten().unwrap_or_default();
    memory.ask(robot, &incoming.text, Some(&incoming.shown), now());
    let unsure_instruction = robot.handoff.as_ref().and_then(|h| h.unsure_instruction());
    let system = match (&robot.system_prompt, unsure_instruction) {
        (Some(prompt), Some(instruction)) => Some(format!("{prompt}\n\n{instruction}")),
        (prompt, instruction) => prompt.clone().or(instruction),
    };
    let request = ChatRequest {
        system,
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
                    let (answer, unsure) = match &robot.handoff {
                        Some(handoff) => handoff.unsure(&completion.text),
                        None => (completion.text, false),
                    };
                    let text = config.judge(robot).screen(&answer);
                    send(config, robot, &incoming, &text).await;
                    memory.unsure_streak = if unsure {
                        memory.unsure_streak.saturating_add(1)
                    } else {
                        0
                    };
                    answer
                }
                Err(errors) => {
                    for error in &errors {
                        eprintln!("chatbot: {} for {}: {error}", robot.id, incoming.message_id);
                    }
                    match robot.handoff.as_ref().filter(|h| h.on_provider_failure) {
                        Some(handoff) => {
                            let trigger = chatbot::handoff::Trigger::ProviderFailure;
                            crate::handoff::hand_off(
                                config, robot, handoff, &records, &incoming, trigger,
                            )
                            .await;
                        }
                        None => send(config, robot, &incoming, &robot.apology).await,
                    }
                    return;
                }
            }
        }
    };
    let unsure_handoff = robot
        .handoff
        .as_ref()
        .filter(|h| h.unsure_marker.is_some() && memory.unsure_streak >= h.after_unsure);
    if unsure_handoff.is_some() {
        memory.unsure_streak = 0;
    }
    memory.answered(robot, answer, now());
    if let Err(e) = records.put(&key, &memory) {
        eprintln!("chatbot: {e}");
    }
    if let Some(handoff) = unsure_handoff {
        let trigger = chatbot::handoff::Trigger::Unsure;
        crate::handoff::hand_off(config, robot, handoff, &records, &incoming, trigger).await;
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
