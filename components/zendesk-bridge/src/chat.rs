//! A ticket's chat, both ways.
//!
//! - `POST /zendesk/im`: IM's `Group.CallbackAfterSendMsg` for the ticket's
//!   group (passed on by the gateway, and checked again here with IM's own
//!   signature, since this route is reachable from outside). Every message —
//!   the user's, and an agent's from the sidebar — becomes part of an
//!   internal note on the ticket, once, in order, batched when bursty (see
//!   [`connector::chat_sync`]). Internal notes: the requester is not mailed
//!   a copy of their own chat, and agents see the whole conversation. When
//!   the requester writes and no agent has taken the ticket after
//!   `zendesk_wait_notice_minutes`, the group gets the wait notice, once.
//! - `ticket.comment_added` (from [`crate::webhook`]): an agent's public
//!   reply written in Zendesk's own ticket UI goes to the group as a message
//!   from that agent. Internal notes (the chat copied in above among them)
//!   and the requester's own comments do not, so nothing loops; the message
//!   is sent with IM's after-send callback off, so it is not copied back.

use crate::config::Config;
use crate::records::{TOKEN_KEY, TicketRecord, ticket_key};
use connector::chat_sync;
use connector::reply::JsonResponse;
use connector::state::Records;
use tim::message::MsgElement;
use tim::rest::{FORBID_SEND_CALLBACKS, SendGroupMsg};

/// Zendesk takes comments of up to 64 KB; the note's heading is short.
const NOTE_CHARS: usize = 30_000;

/// `POST /zendesk/im`.
pub fn from_im(config: &Config, raw_query: &str, body: &[u8], now: u64) -> JsonResponse {
    let received = chat_sync::receive(raw_query, body, now, NOTE_CHARS, |records, message| {
        let group_id = message.group_id.as_str();
        let Some(ticket_id) = group_id
            .strip_prefix(config.group_prefix.as_str())
            .and_then(|id| id.parse::<u64>().ok())
        else {
            return Ok(None);
        };
        let ticket: Option<TicketRecord> = records.get(&ticket_key(&ticket_id.to_string()))?;
        Ok(ticket
            .filter(|t| !t.dissolved && t.group_id == group_id)
            .map(|ticket| {
                // The requester writes and nobody has taken the ticket yet.
                let waiting = (message.from == ticket.requester && ticket.assignee.is_none())
                    .then(|| config.availability.wait_notice(ticket.opened_at, now))
                    .flatten()
                    .map(|notice| (ticket.group_id.clone(), notice.to_string()));
                (format!("zd:chat:{ticket_id}"), (ticket_id, waiting))
            }))
    });
    if let Some((name, (ticket_id, waiting))) = received.queued {
        connector::edge::after_response(async move {
            // Loaded again: this runs after the request that queued it.
            let (config, records) = match (Config::load(), Records::open()) {
                (Ok(config), Ok(records)) => (config, records),
                (Err(e), _) | (_, Err(e)) => return eprintln!("{name}: {e}"),
            };
            let group_id = config.group_id(ticket_id);
            let deliver =
                async |lines: &str| add_note(&config, &records, ticket_id, &group_id, lines).await;
            let im = config.im.client();
            chat_sync::after_queued(&records, &im, &name, NOTE_CHARS, waiting, deliver).await;
        });
    }
    received.response
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
