//! A ticket's chat, both ways.
//!
//! - `POST /zendesk/im`: IM's `Group.CallbackAfterSendMsg` for the ticket's
//!   group (passed on by the gateway, and checked again here with IM's own
//!   signature, since this route is reachable from outside). Every message —
//!   the user's, and an agent's from the sidebar — becomes part of an
//!   internal note on the ticket, once, in order, batched when bursty (see
//!   [`connector::chat_sync`]). Internal notes: the requester is not mailed
//!   a copy of their own chat, and agents see the whole conversation.
//! - `ticket.comment_added` (from [`crate::webhook`]): an agent's public
//!   reply written in Zendesk's own ticket UI goes to the group as a message
//!   from that agent. Internal notes (the chat copied in above among them)
//!   and the requester's own comments do not, so nothing loops; the message
//!   is sent with IM's after-send callback off, so it is not copied back.

use crate::config::Config;
use crate::records::{TOKEN_KEY, TicketRecord, ticket_key};
use connector::chat_sync::{ChatLine, Outbox, Pushed};
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::StatusCode;
use tim::events::{Answer, Event};
use tim::message::{MsgElement, transcript_line};
use tim::rest::{FORBID_SEND_CALLBACKS, SendGroupMsg};

/// `POST /zendesk/im`.
pub async fn from_im(config: &Config, raw_query: &str, body: &[u8], now: u64) -> JsonResponse {
    let query = match connector::im::verified_callback(raw_query, now) {
        Ok(query) => query,
        Err(response) => return response,
    };
    let ignored = |why: String| reply::json(StatusCode::OK, &serde_json::json!({ "ignored": why }));
    let message = match Event::parse(&query.callback_command, body) {
        Ok(Event::GroupAfterSendMsg(message)) => message,
        Ok(_) => return ignored(format!("`{}` is not used", query.callback_command)),
        Err(e) => {
            return reply::bad_field(
                "body",
                format!("not a {} body: {e}", query.callback_command),
            );
        }
    };
    let Some(ticket_id) = message
        .group_id
        .strip_prefix(config.group_prefix.as_str())
        .and_then(|id| id.parse::<u64>().ok())
    else {
        return ignored(format!("group {} is not a ticket's", message.group_id));
    };
    let Some(seq) = message.msg_seq else {
        return reply::bad_field(
            "MsgSeq",
            "an after-send callback names the message's MsgSeq",
        );
    };
    let records = match Records::open() {
        Ok(records) => records,
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    match records.get::<TicketRecord>(&ticket_key(&ticket_id.to_string())) {
        Ok(Some(ticket)) if !ticket.dissolved && ticket.group_id == message.group_id => {}
        Ok(_) => return ignored(format!("ticket {ticket_id} is not open from chat")),
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
    let line = ChatLine {
        seq,
        text: transcript_line(message.msg_time, &message.from, &chat_text(&message.body)),
    };
    let outbox = Outbox::new(&records, format!("zd:chat:{ticket_id}"));
    match outbox.push(&line, message.msg_time.unwrap_or(now)) {
        Ok(Pushed::Duplicate) => {
            return reply::json(StatusCode::OK, &serde_json::json!({ "duplicate": seq }));
        }
        Ok(Pushed::Queued) => {}
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
    let group_id = message.group_id.clone();
    connector::edge::after_response(async move {
        // Loaded again: the work outlives this request's borrow of it.
        let (config, records) = match (Config::load(), Records::open()) {
            (Ok(config), Ok(records)) => (config, records),
            (Err(e), _) | (_, Err(e)) => return eprintln!("chat of ticket {ticket_id}: {e}"),
        };
        let outbox = Outbox::new(&records, format!("zd:chat:{ticket_id}"));
        let deliver =
            async |text: &str| add_note(&config, &records, ticket_id, &group_id, text).await;
        match outbox.flush(connector::config::unix_now, deliver).await {
            Ok(_) => {}
            Err(e) => eprintln!(
                "chat of ticket {ticket_id} not copied yet (kept for the next message): {e}"
            ),
        }
    });
    reply::raw_json(StatusCode::OK, Answer::ok().to_json())
}

/// A message's text as the note shows it: its text, else what it is.
fn chat_text(body: &[MsgElement]) -> String {
    let text = tim::message::joined_text(body);
    if !text.trim().is_empty() {
        return text;
    }
    body.iter()
        .map(|e| format!("[{}]", e.msg_type()))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn add_note(
    config: &Config,
    records: &Records,
    ticket_id: u64,
    group_id: &str,
    lines: &str,
) -> Result<(), String> {
    let token: Option<String> = records.get(TOKEN_KEY)?;
    let mut zendesk = config.zendesk(token.clone());
    let note = format!("Chat in IM group {group_id}:\n{lines}");
    let added = zendesk.add_comment(ticket_id, &note, false).await;
    if let Err(response) = connector::request_flow::keep_refreshed(
        records,
        TOKEN_KEY,
        token.as_deref(),
        zendesk.token(),
    ) {
        eprintln!(
            "chat of ticket {ticket_id}: the refreshed token was not kept ({})",
            response.status()
        );
    }
    added.map_err(|e| e.to_string())
}

/// An agent's public comment from Zendesk's UI, to the ticket's group as
/// that agent. `None` when it is not one to pass on.
pub async fn to_im(
    config: &Config,
    ticket: &TicketRecord,
    comment: &zendesk::webhook::Comment,
) -> Result<Option<String>, String> {
    if !comment.public || !comment.author_is_staff || comment.is_description {
        return Ok(None);
    }
    let account = config.agent_account(&comment.author_id);
    let im = config.im.client();
    connector::im::add_agent(&im, &ticket.group_id, &account)
        .await
        .map_err(|e| e.to_string())?;
    // IM drops a repeated `Random` from one sender within a short window:
    // derived from the comment, a redelivery that slipped past the claim is
    // still one message.
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(comment.id.as_bytes());
    im.send_group_msg(&SendGroupMsg {
        group_id: ticket.group_id.clone(),
        random: u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]),
        body: vec![MsgElement::text(&comment.body)],
        from: Some(account.clone()),
        forbid_callback_control: FORBID_SEND_CALLBACKS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(Some(format!(
        "comment {} sent to the chat as {account}",
        comment.id
    )))
}
