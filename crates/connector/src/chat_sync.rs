//! A support group's chat copied into its ticket or Case, each message
//! exactly once, in order, batched when messages come in bursts.
//!
//! IM tells a bridge about every message of the group
//! (`Group.CallbackAfterSendMsg`, passed on by the gateway). The bridge
//! [`Outbox::push`]es the message — once per `MsgSeq`, however often IM
//! delivers it — and then [`Outbox::flush`]es: one flusher per ticket at a
//! time gathers for a moment (IM delivers a burst's callbacks concurrently,
//! in any order), takes every message waiting, sorts them by `MsgSeq` and
//! hands them to the help desk as one comment. A callback IM delivers later
//! than that goes into the next comment, each line with its own time. Messages that arrive while a comment is
//! being written wait for the next one, which is how a burst becomes a few
//! comments instead of many. A failed delivery leaves the messages waiting
//! for the next flush.
//!
//! [`receive`] is the part of a bridge's chat route both bridges share.
//!
//! The state is a handful of records per ticket: a slot counter (atomic, so
//! concurrent pushes never share a slot), one record per waiting message,
//! the last slot delivered, and the flusher's lock with the time it was
//! taken (a lock older than a minute belongs to a flusher that died, and is
//! taken back). Delivery is at least once: should the store fail between a
//! delivered comment and the record of it, the next flush delivers it again.

use crate::state::{Claim, Records};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A claim or counter that never ends by itself.
const FOREVER: u64 = u64::MAX;
/// How long a message's "already copied" mark lasts after it was sent
/// (IM redelivers within minutes).
const SEEN_SECS: u64 = 7 * 24 * 3600;
/// A lock held longer than this belongs to a flusher that died.
const STALE_LOCK_SECS: u64 = 60;
/// How many lines one comment takes at most.
const BATCH_LINES: usize = 50;
/// How often, and how long apart, a flush waits for another flusher.
const LOCK_TRIES: u32 = 15;
const LOCK_WAIT: Duration = Duration::from_millis(200);
/// How long a flusher waits, once it holds the lock, before it takes the
/// waiting lines: IM delivers the callbacks of a burst concurrently and in
/// any order, and those that arrive within this land in one batch, sorted.
const GATHER: Duration = Duration::from_millis(300);

/// One chat message waiting to be copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatLine {
    /// IM's `MsgSeq` in the group: the order.
    pub seq: u64,
    /// The line as agents read it ([`tim::message::transcript_line`]).
    pub text: String,
}

/// The chat waiting to be copied into one ticket or Case.
pub struct Outbox<'a> {
    records: &'a Records,
    /// `zd:chat:<ticket>`, `sf:chat:<case>`.
    name: String,
    /// The most characters one delivery's lines take together (a help
    /// desk's comment limit, less what the caller adds around them).
    max_chars: usize,
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Waiting to be copied.
    Queued,
    /// Already copied or waiting: a redelivery.
    Duplicate,
}

impl<'a> Outbox<'a> {
    /// The outbox named `name` (one per ticket or Case), whose deliveries
    /// hold at most `max_chars` characters of lines (a longer line is cut).
    pub fn new(records: &'a Records, name: String, max_chars: usize) -> Self {
        Self {
            records,
            name,
            max_chars: max_chars.max(80),
        }
    }

    fn key(&self, what: &str) -> String {
        format!("{}:{what}", self.name)
    }

    /// Queues `line` unless its `MsgSeq` was queued before. `sent_at` is
    /// the message's own (signed) time, so every delivery names the same
    /// mark.
    pub fn push(&self, line: &ChatLine, sent_at: u64) -> Result<Pushed, String> {
        let seen = self.key(&format!("seen:{}", line.seq));
        let until = sent_at.saturating_add(SEEN_SECS);
        if self.records.claim(&seen, until)? == Claim::Taken {
            return Ok(Pushed::Duplicate);
        }
        let mut line = line.clone();
        if line.text.chars().count() > self.max_chars {
            line.text = line.text.chars().take(self.max_chars - 1).collect();
            line.text.push('…');
        }
        let stored = self
            .records
            .count(&self.key("slots"), FOREVER)
            .and_then(|slot| self.records.put(&self.key(&format!("slot:{slot}")), &line));
        if let Err(e) = stored {
            // Not queued: the next delivery may queue it.
            let _ = self.records.release(&seen, until);
            return Err(e);
        }
        Ok(Pushed::Queued)
    }

    /// Copies everything waiting, through `deliver` (one call per batch of
    /// lines, joined by newlines), unless another flusher holds the lock
    /// for longer than this waits. Returns how many lines were delivered.
    pub async fn flush(
        &self,
        now: impl Fn() -> u64,
        deliver: impl AsyncFn(&str) -> Result<(), String>,
    ) -> Result<usize, String> {
        let mut delivered = 0;
        loop {
            if !self.lock(&now).await? {
                return Ok(delivered);
            }
            crate::edge::sleep(GATHER).await;
            let flushed = self.drain(&deliver).await;
            self.unlock()?;
            delivered += flushed?;
            // A message queued while the lock was held, whose own flush
            // gave up waiting, is taken now.
            if !self.waiting()? {
                return Ok(delivered);
            }
        }
    }

    async fn lock(&self, now: &impl Fn() -> u64) -> Result<bool, String> {
        let lock = self.key("lock");
        for _ in 0..LOCK_TRIES {
            if self.records.claim(&lock, FOREVER)? == Claim::Won {
                self.records.put(&self.key("lock-at"), &now())?;
                return Ok(true);
            }
            // When the holder took it; unknown for a moment after it did
            // (or ever, if it died then): the first to see it unknown
            // starts the clock.
            let held_since: Option<u64> = self.records.get(&self.key("lock-at"))?;
            match held_since {
                None => self.records.put(&self.key("lock-at"), &now())?,
                Some(since) if now().saturating_sub(since) > STALE_LOCK_SECS => {
                    // Its flusher died with it: give it back and try again.
                    self.records.delete(&self.key("lock-at"))?;
                    self.records.release(&lock, FOREVER)?;
                    continue;
                }
                Some(_) => {}
            }
            crate::edge::sleep(LOCK_WAIT).await;
        }
        Ok(false)
    }

    /// The time goes first: a lock's time is never an earlier holder's.
    fn unlock(&self) -> Result<(), String> {
        self.records.delete(&self.key("lock-at"))?;
        self.records.release(&self.key("lock"), FOREVER)
    }

    fn done(&self) -> Result<i64, String> {
        Ok(self.records.get(&self.key("done"))?.unwrap_or(0))
    }

    fn waiting(&self) -> Result<bool, String> {
        Ok(self.records.tally(&self.key("slots"), FOREVER)? > self.done()?)
    }

    /// Delivers the waiting lines in batches, under the lock.
    async fn drain(
        &self,
        deliver: &impl AsyncFn(&str) -> Result<(), String>,
    ) -> Result<usize, String> {
        let mut delivered = 0;
        loop {
            let done = self.done()?;
            let last = self.records.tally(&self.key("slots"), FOREVER)?;
            let mut batch = Vec::new();
            let mut chars = 0;
            for slot in done + 1..=last {
                // A slot counted but not written yet ends the batch: its
                // pusher's own flush takes it.
                let Some(line) = self
                    .records
                    .get::<ChatLine>(&self.key(&format!("slot:{slot}")))?
                else {
                    break;
                };
                chars += line.text.chars().count() + 1;
                if !batch.is_empty() && chars > self.max_chars {
                    break;
                }
                batch.push((slot, line));
                if batch.len() == BATCH_LINES {
                    break;
                }
            }
            let Some(&(through, _)) = batch.last() else {
                return Ok(delivered);
            };
            let mut lines: Vec<&ChatLine> = batch.iter().map(|(_, line)| line).collect();
            lines.sort_by_key(|line| line.seq);
            let text = lines
                .iter()
                .map(|line| line.text.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            deliver(&text).await?;
            self.records.put(&self.key("done"), &through)?;
            for (slot, _) in &batch {
                self.records.delete(&self.key(&format!("slot:{slot}")))?;
            }
            delivered += batch.len();
        }
    }
}

/// What a bridge's chat route does after answering a queued message: the
/// wait notice `waiting` names (its group and text), once per outbox, then
/// the outbox `name` flushed through `deliver`. Failures are logged; what
/// was not delivered waits for the next message.
pub async fn after_queued(
    records: &Records,
    im: &tim::rest::Client<crate::outbound::SpinHttp>,
    name: &str,
    max_chars: usize,
    waiting: Option<(String, String)>,
    deliver: impl AsyncFn(&str) -> Result<(), String>,
) {
    if let Some((group_id, notice)) = waiting {
        let claim = format!("{name}:wait-notice");
        if let Err(e) = crate::im::notify_once(records, im, &group_id, &claim, &notice).await {
            eprintln!("{name}: wait notice not posted: {e}");
        }
    }
    let outbox = Outbox::new(records, name.to_string(), max_chars);
    if let Err(e) = outbox.flush(crate::config::unix_now, deliver).await {
        eprintln!("{name}: chat not copied yet (kept for the next message): {e}");
    }
}

/// What one IM after-send callback to a bridge's chat route came to.
pub struct Received<T> {
    /// The answer to the caller.
    pub response: crate::reply::JsonResponse,
    /// The outbox a message was queued in, to flush after the answer, and
    /// what the bridge said of the message beside it.
    pub queued: Option<(String, T)>,
}

/// The part of a bridge's chat route (`/zendesk/im`, `/salesforce/im`)
/// both bridges share: IM's signature checked again (the route is reachable
/// from outside), the body read as `Group.CallbackAfterSendMsg`, the
/// message queued once in the outbox `outbox_of` names for it (with
/// anything else the bridge wants to do after the answer) — `None` for a
/// group that is no open ticket's or Case's — cut to `max_chars`.
pub fn receive<T>(
    raw_query: &str,
    body: &[u8],
    now: u64,
    max_chars: usize,
    outbox_of: impl FnOnce(&Records, &tim::events::GroupMessage) -> Result<Option<(String, T)>, String>,
) -> Received<T> {
    use crate::reply;
    use http::StatusCode;
    use tim::events::{Answer, Event};
    let answered = |response| Received {
        response,
        queued: None,
    };
    let ignored = |why: String| {
        answered(reply::json(
            StatusCode::OK,
            &serde_json::json!({ "ignored": why }),
        ))
    };
    let query = match crate::im::verified_callback(raw_query, now) {
        Ok(query) => query,
        Err(response) => return answered(response),
    };
    let command = &query.callback_command;
    let message = match Event::parse(command, body) {
        Ok(Event::GroupAfterSendMsg(message)) => message,
        Ok(_) => return ignored(format!("`{command}` is not used")),
        Err(e) => {
            return answered(reply::bad_field(
                "body",
                format!("not a {command} body: {e}"),
            ));
        }
    };
    let Some(seq) = message.msg_seq else {
        return answered(reply::bad_field(
            "MsgSeq",
            "an after-send callback names the message's MsgSeq",
        ));
    };
    let records = match Records::open() {
        Ok(records) => records,
        Err(e) => return answered(reply::error(StatusCode::INTERNAL_SERVER_ERROR, e)),
    };
    let (name, extra) = match outbox_of(&records, &message) {
        Ok(Some(found)) => found,
        Ok(None) => return ignored(format!("group {} is no open request's", message.group_id)),
        Err(e) => return answered(reply::error(StatusCode::INTERNAL_SERVER_ERROR, e)),
    };
    let line = ChatLine {
        seq,
        text: tim::message::transcript_line(
            message.msg_time,
            &message.from,
            &crate::agent_chat::as_text(&message.body),
        ),
    };
    let outbox = Outbox::new(&records, name.clone(), max_chars);
    match outbox.push(&line, message.msg_time.unwrap_or(now)) {
        Ok(Pushed::Duplicate) => answered(reply::json(
            StatusCode::OK,
            &serde_json::json!({ "duplicate": seq }),
        )),
        Ok(Pushed::Queued) => Received {
            response: reply::raw_json(StatusCode::OK, Answer::ok().to_json()),
            queued: Some((name, extra)),
        },
        Err(e) => answered(reply::error(StatusCode::INTERNAL_SERVER_ERROR, e)),
    }
}
