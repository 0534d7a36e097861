//! `POST /salesforce/im`: the Case's chat copied into it.
//!
//! IM's `Group.CallbackAfterSendMsg` for the Case's group, passed on by the
//! gateway and checked again here with IM's own signature (this route is
//! reachable from outside). Every message — the user's, and an agent's from
//! the Case chat component — becomes part of an unpublished `CaseComment`,
//! once, in order, batched when bursty (see [`connector::chat_sync`]). When
//! the requester writes and no agent has joined after
//! `salesforce_wait_notice_minutes`, the group gets the wait notice, once.
//!
//! `CaseComment`, not a Chatter `FeedItem`: it belongs to the Case in every
//! org (Chatter and feed tracking may be off), lists in the Case's own
//! Comments, orders by creation, and `IsPublished = false` keeps the copy
//! internal — the customer already has the chat. Its limit is 4,000
//! characters, so a burst is split over several comments.

use crate::config::Config;
use crate::records::{CaseRecord, SESSION_KEY, case_key};
use connector::chat_sync;
use connector::reply::JsonResponse;
use connector::state::Records;
use salesforce::api::Session;

/// `CaseComment.CommentBody` holds 4,000 characters; the heading is short.
const COMMENT_CHARS: usize = 3_800;

/// `POST /salesforce/im`.
pub fn from_im(config: &Config, raw_query: &str, body: &[u8], now: u64) -> JsonResponse {
    let received = chat_sync::receive(raw_query, body, now, COMMENT_CHARS, |records, message| {
        let group_id = message.group_id.as_str();
        // `<prefix><case id>`, or `…#<n>` once the Case was reopened.
        let Some(case_id) = group_id
            .strip_prefix(config.group_prefix.as_str())
            .map(|rest| rest.split('#').next().unwrap_or(rest))
            .filter(|id| !id.is_empty())
        else {
            return Ok(None);
        };
        let case: Option<CaseRecord> = records.get(&case_key(case_id))?;
        Ok(case
            .filter(|c| !c.dissolved && c.group_id == group_id)
            .map(|case| {
                // The requester writes and no agent has joined yet.
                let waiting = (message.from == case.requester && case.agents.is_empty())
                    .then(|| config.availability.wait_notice(case.opened_at, now))
                    .flatten()
                    .map(|notice| (case.group_id.clone(), notice.to_string()));
                (format!("sf:chat:{case_id}"), (case_id.to_string(), waiting))
            }))
    });
    if let Some((name, (case_id, waiting))) = received.queued {
        connector::edge::after_response(async move {
            // Loaded again: this runs after the request that queued it.
            let (config, records) = match (Config::load(), Records::open()) {
                (Ok(config), Ok(records)) => (config, records),
                (Err(e), _) | (_, Err(e)) => return eprintln!("{name}: {e}"),
            };
            let deliver = async |lines: &str| add_comment(&config, &records, &case_id, lines).await;
            let im = config.im.client();
            chat_sync::after_queued(&records, &im, &name, COMMENT_CHARS, waiting, deliver).await;
        });
    }
    received.response
}

async fn add_comment(
    config: &Config,
    records: &Records,
    case_id: &str,
    lines: &str,
) -> Result<(), String> {
    let session: Option<Session> = records.get(SESSION_KEY)?;
    let mut salesforce = config.salesforce(session.clone());
    let comment = format!("Chat in IM:\n{lines}");
    let added = salesforce.add_case_comment(case_id, &comment, false).await;
    if let Err(response) = connector::request_flow::keep_refreshed(
        records,
        SESSION_KEY,
        session.as_ref(),
        salesforce.session(),
    ) {
        eprintln!(
            "chat of Case {case_id}: the new session was not kept ({})",
            response.status()
        );
    }
    added.map_err(|e| e.to_string())
}
