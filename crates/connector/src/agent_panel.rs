//! The agent chat calls both bridges answer (the Zendesk sidebar, the
//! Salesforce component), once the bridge has said who the agent is and
//! which ticket's group they look at: a page of history, a message sent as
//! the agent, and the per-agent limits that keep a stuck or hostile panel
//! from costing IM and CRM calls. What a line looks like is
//! [`crate::agent_chat`]'s business; this module does the IM calls.

use crate::agent_chat::{self, Line, Roles};
use crate::outbound::SpinHttp;
use crate::reply::{self, JsonResponse};
use crate::state::{Claim, Records};
use http::StatusCode;
use serde_json::{Value, json};
use tim::message::MsgElement;
use tim::rest::{Client, HistoryMessage, SendGroupMsg};

/// Messages per history page (IM's `group_msg_get_simple` returns at most 20).
const PAGE: u32 = 20;
/// Pages read when catching up after a cursor.
const CATCH_UP_PAGES: usize = 5;
/// How long a sent `client_id` is remembered.
const SENT_MARK_SECS: u64 = 24 * 3600;

/// Which part of the history a panel asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    /// Only messages after this seq (polling).
    pub after: Option<u64>,
    /// The page ending at this seq (scrolling back).
    pub before: Option<u64>,
}

impl Cursor {
    /// Reads `after` / `before` from a call's JSON body: at most one, each a
    /// message seq; none asks for the newest page.
    pub fn from_body(input: &Value) -> Result<Self, JsonResponse> {
        let field = |name: &str| match &input[name] {
            Value::Null => Ok(None),
            value => value.as_u64().map(Some).ok_or_else(|| {
                reply::bad_field(
                    name,
                    format!("`{name}` must be a message seq (a whole number)"),
                )
            }),
        };
        let cursor = Self {
            after: field("after")?,
            before: field("before")?,
        };
        if cursor.after.is_some() && cursor.before.is_some() {
            return Err(reply::bad_field(
                "before",
                "give `after` or `before`, not both",
            ));
        }
        Ok(cursor)
    }
}

/// A page of a group's chat, as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    /// Oldest first.
    pub lines: Vec<Line>,
    /// The `before` cursor of the next older page, when there is one.
    pub older: Option<u64>,
    /// More arrived after the `after` cursor than a catch-up reads: these
    /// are the newest, and the panel starts over from them.
    pub gap: bool,
}

impl HistoryPage {
    /// The page's fields of a JSON answer.
    pub fn to_json(&self) -> Value {
        json!({ "lines": self.lines, "older": self.older, "gap": self.gap })
    }
}

/// One ticket's chat as one agent sees it.
#[derive(Clone, Copy)]
pub struct Chat<'a> {
    /// The IM client.
    pub im: &'a Client<SpinHttp>,
    /// The ticket's group.
    pub group_id: &'a str,
    /// Who is who in it, to the viewing agent.
    pub roles: Roles<'a>,
}

/// Reads the page `cursor` names of the chat's history, with senders'
/// nicknames. A dissolved group reads as empty.
pub async fn history(chat: Chat<'_>, cursor: Cursor) -> Result<HistoryPage, JsonResponse> {
    let Chat { im, group_id, .. } = chat;
    let after = cursor.after;
    let mut messages: Vec<HistoryMessage> = Vec::new();
    let mut up_to = cursor.before;
    let mut older = None;
    let mut gap = false;
    let pages = if after.is_some() { CATCH_UP_PAGES } else { 1 };
    for page in 0..pages {
        let got = match im.group_msg_get_simple(group_id, up_to, PAGE).await {
            Ok(got) => got,
            // A dissolved group has no history left to show.
            Err(e) if matches!(e.code(), Some(10010 | 10015)) => break,
            Err(e) => return Err(reply::upstream("IM group history", e)),
        };
        let smallest = got.messages.iter().map(|m| m.seq).min();
        let reached = match (after, smallest) {
            (Some(after), Some(smallest)) => smallest <= after + 1,
            _ => true,
        };
        messages.extend(
            got.messages
                .into_iter()
                .filter(|m| after.is_none_or(|after| m.seq > after)),
        );
        let finished = got.is_finished == 1 || smallest.is_none_or(|s| s <= 1);
        older = (!finished).then(|| smallest.map(|s| s - 1)).flatten();
        if reached || finished {
            break;
        }
        if page + 1 == pages {
            // More arrived than a catch-up reads: the panel starts over
            // from this page, and the rest is a click on "earlier" away.
            gap = true;
        }
        up_to = smallest.map(|s| s - 1);
    }
    if after.is_some() && !gap {
        older = None;
    }
    if gap {
        messages.sort_by_key(|m| std::cmp::Reverse(m.seq));
        messages.truncate(PAGE as usize);
        older = messages.iter().map(|m| m.seq).min().map(|s| s - 1);
    }
    let mut senders: Vec<String> = messages.iter().map(|m| m.from.clone()).collect();
    senders.sort();
    senders.dedup();
    let nicks = if senders.is_empty() {
        Default::default()
    } else {
        // Names are a nicety: without them a line shows the account.
        im.nicknames(&senders).await.unwrap_or_default()
    };
    Ok(HistoryPage {
        lines: agent_chat::lines(&messages, &chat.roles, &nicks),
        older,
        gap,
    })
}

/// Who is in a ticket's chat, as the viewing agent sees them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    /// Their IM account.
    pub account: String,
    /// Their nickname in IM, else the account.
    pub name: String,
    /// Who they are to the viewer.
    pub speaker: agent_chat::Speaker,
}

/// The chat's members with their nicknames (the first 100: a ticket's
/// group holds the customer and a few agents). A dissolved group has none.
pub async fn members(chat: Chat<'_>) -> Result<Vec<Member>, JsonResponse> {
    let Chat {
        im,
        group_id,
        roles,
    } = chat;
    let info = match im.get_group_info(&[group_id.to_string()]).await {
        Ok(mut infos) if !infos.is_empty() => infos.remove(0),
        Ok(_) => return Ok(Vec::new()),
        Err(e) => return Err(reply::upstream("IM group", e)),
    };
    if matches!(info.error_code, 10010 | 10015) {
        return Ok(Vec::new());
    }
    let mut accounts: Vec<String> = info.members.into_iter().map(|m| m.account).collect();
    accounts.truncate(100);
    let nicks = if accounts.is_empty() {
        Default::default()
    } else {
        // Names are a nicety: without them a member shows as the account.
        im.nicknames(&accounts).await.unwrap_or_default()
    };
    Ok(accounts
        .into_iter()
        .map(|account| Member {
            name: nicks
                .get(&account)
                .cloned()
                .unwrap_or_else(|| account.clone()),
            speaker: roles.speaker(&account),
            account,
        })
        .collect())
}

/// A message an agent asked to send, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its text, within [`agent_chat::MAX_AGENT_TEXT_BYTES`].
    pub text: String,
    /// The panel's name for it, so a retry is sent once.
    pub client_id: String,
}

impl Outgoing {
    /// Reads `text` and `client_id` from a call's JSON body.
    pub fn from_body(input: &Value) -> Result<Self, JsonResponse> {
        let text =
            agent_chat::agent_text(input.get("text")).map_err(|e| reply::bad_field("text", e))?;
        let client_id = agent_chat::client_message_id(input.get("client_id")).ok_or_else(|| {
            reply::bad_field(
                "client_id",
                "`client_id` must be 8 to 64 characters of letters, digits, `-` and `_`, new for each message",
            )
        })?;
        Ok(Self {
            text,
            client_id: client_id.to_string(),
        })
    }
}

/// Counts a call of the agent `agent_key` (see [`Sender::key`]) to `route`
/// in this clock minute, atomically, and refuses it with 429 (and
/// `Retry-After`) past `limit`, before it costs an IM or CRM call.
pub fn within_limit(
    records: &Records,
    agent_key: &str,
    route: &str,
    limit: i64,
    now: u64,
) -> Result<(), JsonResponse> {
    let window_end = (now / 60 + 1) * 60;
    match records.count(&format!("{agent_key}:calls{route}"), window_end) {
        Ok(n) if n <= limit => Ok(()),
        Ok(_) => {
            let wait = window_end - now;
            let mut response = reply::error(
                StatusCode::TOO_MANY_REQUESTS,
                format!("more than {limit} calls to {route} this minute; retry in {wait} s"),
            );
            response.headers_mut().insert("retry-after", wait.into());
            Err(response)
        }
        Err(e) => Err(reply::error(StatusCode::INTERNAL_SERVER_ERROR, e)),
    }
}

/// The agent a message goes out as.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    /// The prefix of the agent's marks in the bridge's store
    /// (`zd:agent:7001`, `sf:agent:005…`).
    pub key: &'a str,
    /// Their IM account.
    pub account: &'a str,
    /// Their name, the line's name in the answer.
    pub name: &'a str,
}

/// Sends `message` to the chat as `sender`, once per `client_id`: the
/// first call claims the id (for a day) and runs `seat` (which makes sure
/// the agent is a member) then the send; a repeat, concurrent or later,
/// answers `{"duplicate": true}` and sends nothing. A send that fails
/// releases the claim, so the panel may retry it.
///
/// The message goes through IM's before-send callbacks like anyone's, so
/// moderation applies to agents too: a refusal answers 422 naming `text`,
/// a silent drop `{"sent": false, "dropped": true}`.
pub async fn send_once(
    chat: Chat<'_>,
    records: &Records,
    sender: Sender<'_>,
    message: &Outgoing,
    seat: impl std::future::Future<Output = Result<(), JsonResponse>>,
    now: u64,
) -> JsonResponse {
    let mark = format!("{}:sent:{}", sender.key, message.client_id);
    let until = now + SENT_MARK_SECS;
    match records.claim(&mark, until) {
        Ok(Claim::Won) => {}
        Ok(Claim::Taken) => {
            return reply::json(
                StatusCode::OK,
                &json!({ "duplicate": true, "client_id": message.client_id }),
            );
        }
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
    let outcome = match seat.await {
        Ok(()) => post(chat, sender, message).await,
        Err(response) => response,
    };
    if outcome.status().is_client_error() || outcome.status().is_server_error() {
        // Not sent: the same message may be tried again.
        let _ = records.release(&mark, until);
    }
    outcome
}

async fn post(chat: Chat<'_>, sender: Sender<'_>, message: &Outgoing) -> JsonResponse {
    // IM drops a repeated `Random` from one sender within a short window:
    // derived from the client id, a retry that slipped past the claim
    // (a store write lost) is still one message.
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(message.client_id.as_bytes());
    let random = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    let body = vec![MsgElement::text(&message.text)];
    let sent = chat
        .im
        .send_group_msg(&SendGroupMsg {
            group_id: chat.group_id.to_string(),
            random,
            body: body.clone(),
            from: Some(sender.account.to_string()),
            ..Default::default()
        })
        .await;
    let client_id = &message.client_id;
    match sent {
        // IM answers a message a before-send callback dropped with seq 0.
        Ok(sent) if sent.msg_seq == 0 => reply::json(
            StatusCode::OK,
            &json!({ "sent": false, "dropped": true, "client_id": client_id }),
        ),
        Ok(sent) => {
            let line = agent_chat::lines(
                &[HistoryMessage {
                    seq: sent.msg_seq,
                    from: sender.account.to_string(),
                    random: u64::from(random),
                    time: sent.msg_time,
                    is_place_msg: 0,
                    body,
                }],
                &chat.roles,
                &[(sender.account.to_string(), sender.name.to_string())]
                    .into_iter()
                    .collect(),
            )
            .pop();
            reply::json(
                StatusCode::OK,
                &json!({ "sent": true, "seq": sent.msg_seq, "line": line, "client_id": client_id }),
            )
        }
        // Refused by a before-send callback (moderation) or IM's own rules.
        Err(e) if matches!(e.code(), Some(10016 | 80001 | 80004)) => reply::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({ "error": format!("the message was refused: {e}"), "field": "text" }),
        ),
        Err(e) => reply::upstream("IM send", e),
    }
}

/// Imports `account` with the agent's name (and avatar, where the CRM has
/// one), so the customer's app shows who answers.
pub async fn import_agent(
    im: &Client<SpinHttp>,
    account: &str,
    name: &str,
    face_url: Option<&str>,
) -> Result<(), JsonResponse> {
    // Only a web URL: anything else would reach every member's app.
    let face_url = face_url.filter(|url| url.starts_with("https://"));
    im.account_import_with_face(account, &screening::shown_name(name), face_url)
        .await
        .map_err(|e| reply::upstream("IM account import", e))
}
