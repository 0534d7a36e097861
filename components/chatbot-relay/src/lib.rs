//! AI chatbot relay: answers IM robot webhooks (`Bot.OnC2CMessage`,
//! `Bot.OnGroupMessage`) with an LLM, replying through the IM REST API as
//! the robot; `Group.CallbackAfterGroupDestroyed` ends a handoff whose
//! request's group is gone.
//!
//! Reached from the IM gateway by service chaining (private route: the
//! gateway has verified the webhook). IM waits at most 2 s and an LLM takes
//! longer, so the webhook is acknowledged at once and the work continues
//! after the response (`connector::edge::after_response`).
//!
//! A robot with `handoff` settings hands the user to people — a Zendesk
//! ticket or Salesforce Case opened through that bridge, with the
//! conversation so far — when they ask for a person or no provider can
//! answer, and stays quiet to them until the request closes (see
//! [`handoff`]).

mod config;
mod handoff;
mod relay;
mod stream;

use chatbot::conversation::Incoming;
use connector::edge::Request;
use connector::reply::{self, JsonResponse};
use http::StatusCode;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use tim::events::{Answer, Event};
use tim::message::{MsgElement, joined_text};

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    connector::edge::serve(req, out, relay_webhook).await
}

async fn relay_webhook(req: Request) -> JsonResponse {
    let (_, event) = match connector::im::read_webhook(req).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let config = match config::Config::load() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return reply::error(StatusCode::INTERNAL_SERVER_ERROR, message);
        }
    };
    let records = match connector::state::Records::open() {
        Ok(records) => records,
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    if let Event::GroupDestroyed(destroyed) = &event {
        let group_id = destroyed.group_id.clone();
        connector::edge::after_response(async move {
            relay_group_destroyed(config, records, group_id).await;
        });
        return reply::raw_json(StatusCode::OK, Answer::ok().to_json());
    }
    let mut incoming = Vec::new();
    for message in messages(event) {
        if config.robot(&message.robot).is_none() {
            eprintln!(
                "chatbot: message to unknown robot `{}` ignored",
                message.robot
            );
            continue;
        }
        match relay::claim(&records, &message) {
            Ok(true) => incoming.push(message),
            Ok(false) => eprintln!(
                "chatbot: duplicate delivery of {} to {} ignored",
                message.message_id, message.robot
            ),
            Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
        }
    }
    connector::edge::after_response(async move {
        for message in incoming {
            relay::handle(&config, message).await;
        }
        if let Err(e) = records.sweep_claims(connector::config::unix_now(), 3600) {
            eprintln!("chatbot: sweeping ended claims: {e}");
        }
    });
    reply::raw_json(StatusCode::OK, Answer::ok().to_json())
}

async fn relay_group_destroyed(
    config: config::Config,
    records: connector::state::Records,
    group_id: String,
) {
    handoff::group_destroyed(&config, &records, &group_id).await;
}

/// The messages to answer: one per addressed robot. Messages from robots are
/// never answered (no robot-to-robot loops).
fn messages(event: Event) -> Vec<Incoming> {
    let non_text =
        |body: &[MsgElement]| !body.is_empty() && body.iter().all(|e| e.as_text().is_none());
    match event {
        Event::BotC2cMessage(m) if !m.from.starts_with("@RBT#") => {
            let message_id = m.msg_key.clone().unwrap_or_else(|| {
                format!(
                    "{}_{}_{}",
                    m.from,
                    m.msg_seq.unwrap_or(0),
                    m.msg_random.unwrap_or(0)
                )
            });
            vec![Incoming {
                robot: m.to,
                user: m.from,
                group: None,
                message_id,
                sent_at: m.msg_time,
                text: joined_text(&m.body).trim().to_string(),
                shown: connector::agent_chat::as_text(&m.body).trim().to_string(),
                non_text: non_text(&m.body),
            }]
        }
        Event::BotGroupMessage(m) if !m.from.starts_with("@RBT#") => {
            let text = joined_text(&m.body);
            let shown = connector::agent_chat::as_text(&m.body);
            m.at_robots
                .iter()
                .map(|robot| {
                    let mention = format!("@{robot}");
                    let own = text.replace(&mention, "").trim().to_string();
                    Incoming {
                        robot: robot.clone(),
                        user: m.from.clone(),
                        group: Some(m.group_id.clone()),
                        message_id: format!("{}:{}", m.group_id, m.msg_seq.unwrap_or(0)),
                        sent_at: m.msg_time,
                        text: own,
                        shown: shown.replace(&mention, "").trim().to_string(),
                        non_text: non_text(&m.body),
                    }
                })
                .collect()
        }
        Event::BotC2cMessage(m) => {
            eprintln!("chatbot: message from robot {} ignored", m.from);
            Vec::new()
        }
        Event::BotGroupMessage(m) => {
            eprintln!("chatbot: message from robot {} ignored", m.from);
            Vec::new()
        }
        _ => Vec::new(),
    }
}
