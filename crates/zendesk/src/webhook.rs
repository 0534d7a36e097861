//! Zendesk webhook deliveries.
//!
//! Signature: `base64(HMAC-SHA256(key = signing secret, message = timestamp +
//! raw body))`, where the timestamp is the `x-zendesk-webhook-signature-timestamp`
//! header (ISO-8601) — no separator, base64 not hex, and an empty body for
//! bodiless requests. Verify over the raw bytes, before parsing.
//!
//! ```
//! use zendesk::webhook::{sign, verify};
//!
//! let secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
//! let body = br#"{"type":"zen:event-type:ticket.status_changed"}"#;
//! let timestamp = "2026-11-26T09:00:00Z";
//! let signature = sign(secret, timestamp, body);
//! let now = 1_795_683_600; // 2026-11-26T09:00:00Z
//! assert!(verify(secret, timestamp, body, &signature, now, 300).is_ok());
//! assert!(verify(secret, timestamp, b"{}", &signature, now, 300).is_err());
//! ```

use serde::Deserialize;
use serde_json::Value;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-zendesk-webhook-signature";
/// Header carrying the signed timestamp.
pub const TIMESTAMP_HEADER: &str = "x-zendesk-webhook-signature-timestamp";
/// Header identifying one delivery attempt's invocation (stable across retries).
pub const INVOCATION_HEADER: &str = "x-zendesk-webhook-invocation-id";

/// Why a delivery was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A signature header is absent.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// The timestamp is not ISO-8601.
    #[error("`x-zendesk-webhook-signature-timestamp` `{0}` is not an ISO-8601 time")]
    BadTimestamp(String),
    /// Outside the freshness window.
    #[error("webhook timestamp is {skew} s away from now (allowed: {window} s)")]
    Stale {
        /// Distance from now.
        skew: u64,
        /// The window.
        window: u64,
    },
    /// The signature does not match (wrong secret, altered body, or a hex /
    /// dot-separated signature).
    #[error(
        "webhook signature does not match (expected base64 HMAC-SHA256 of timestamp + raw body)"
    )]
    BadSignature,
}

/// The signature Zendesk sends for `timestamp` and `body`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    webhook_signature::sign(secret, &[timestamp.as_bytes(), body])
}

/// Unix seconds of an ISO-8601 / RFC 3339 timestamp.
pub fn parse_timestamp(timestamp: &str) -> Option<u64> {
    let parsed =
        time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
            .ok()?;
    u64::try_from(parsed.unix_timestamp()).ok()
}

/// The ISO-8601 form of Unix seconds (`2026-11-26T09:00:00Z`).
pub fn format_timestamp(unix: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Checks freshness, then the signature in constant time.
pub fn verify(
    secret: &str,
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: u64,
    window: u64,
) -> Result<(), WebhookError> {
    let time = parse_timestamp(timestamp)
        .ok_or_else(|| WebhookError::BadTimestamp(timestamp.to_string()))?;
    let skew = now.abs_diff(time);
    if skew > window {
        return Err(WebhookError::Stale { skew, window });
    }
    if webhook_signature::verify(secret, &[timestamp.as_bytes(), body], signature) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// Accepts an id as a JSON string or number.
fn lenient_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) if !s.is_empty() && s != "null" => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default, deserialize_with = "lenient_id")]
    id: Option<String>,
    #[serde(rename = "type", default)]
    event_type: String,
    #[serde(default)]
    detail: Detail,
    #[serde(default)]
    zendesk_event_version: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    event: EventBody,
}

#[derive(Deserialize, Default)]
struct Detail {
    #[serde(default, deserialize_with = "lenient_id")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_id")]
    assignee_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// The type-specific `event` object (only `comment_added`'s is read).
#[derive(Deserialize, Default)]
struct EventBody {
    #[serde(default)]
    comment: Option<CommentBody>,
}

#[derive(Deserialize)]
struct CommentBody {
    #[serde(default, deserialize_with = "lenient_id")]
    id: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_public: bool,
    #[serde(default)]
    author: Author,
}

#[derive(Deserialize, Default)]
struct Author {
    #[serde(default, deserialize_with = "lenient_id")]
    id: Option<String>,
    #[serde(default)]
    is_staff: bool,
    #[serde(default)]
    name: Option<String>,
}

/// A comment added to a ticket (`ticket.comment_added`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The comment's id.
    pub id: String,
    /// Its text.
    pub body: String,
    /// Public (a reply the requester sees) or an internal note.
    pub public: bool,
    /// Its author's Zendesk user id.
    pub author_id: String,
    /// Whether the author is an agent or admin (not the requester).
    pub author_is_staff: bool,
    /// The author's name, when given.
    pub author_name: Option<String>,
    /// Whether it is the ticket's first comment, its description (which
    /// the bridge wrote itself when it opened the ticket).
    pub is_description: bool,
}

/// The body our trigger definition sends (see `integrations/zendesk`).
#[derive(Deserialize)]
struct TriggerBody {
    #[serde(default, deserialize_with = "lenient_id")]
    ticket_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_id")]
    assignee_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    deleted: bool,
}

/// What happened to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The assignee is now this agent (or nobody).
    Assigned(Option<String>),
    /// The status is now this (lowercase: `new`, `open`, `pending`, `hold`,
    /// `solved`, `closed`).
    Status(String),
    /// The ticket was deleted (soft or permanently).
    Deleted,
    /// A comment was added.
    Commented(Comment),
}

/// One ticket event, from an event-subscribed webhook or our trigger body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketEvent {
    /// Zendesk's event id, when the delivery has one (for deduplication).
    pub event_id: Option<String>,
    /// The ticket.
    pub ticket_id: String,
    /// What changed; a trigger body can carry several.
    pub changes: Vec<Change>,
    /// When it happened (Unix seconds), from the event's own `time`; trigger
    /// bodies carry none.
    pub time: Option<u64>,
}

/// Why a body could not be read as a ticket event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Not JSON.
    #[error("body is not JSON: {0}")]
    NotJson(String),
    /// No ticket id where one was expected.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// An event type the bridge does not act on.
    #[error("event type `{0}` is not handled")]
    Unhandled(String),
}

/// Parses a delivery body.
pub fn parse_event(body: &[u8]) -> Result<TicketEvent, EventError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| EventError::NotJson(e.to_string()))?;
    if value.get("zendesk_event_version").is_some() || value.get("detail").is_some() {
        let envelope: Envelope =
            serde_json::from_value(value).map_err(|e| EventError::NotJson(e.to_string()))?;
        let _ = envelope.zendesk_event_version;
        let ticket_id = envelope
            .detail
            .id
            .clone()
            .ok_or(EventError::MissingField("detail.id"))?;
        let kind = envelope
            .event_type
            .strip_prefix("zen:event-type:ticket.")
            .unwrap_or(&envelope.event_type);
        let change = match kind {
            "agent_assignment_changed" => Change::Assigned(envelope.detail.assignee_id.clone()),
            "status_changed" => Change::Status(
                envelope
                    .detail
                    .status
                    .clone()
                    .ok_or(EventError::MissingField("detail.status"))?
                    .to_ascii_lowercase(),
            ),
            "soft_deleted" | "permanently_deleted" => Change::Deleted,
            "comment_added" => {
                let comment = envelope
                    .event
                    .comment
                    .ok_or(EventError::MissingField("event.comment"))?;
                let body = comment.body.unwrap_or_default();
                Change::Commented(Comment {
                    id: comment
                        .id
                        .ok_or(EventError::MissingField("event.comment.id"))?,
                    is_description: envelope.detail.description.as_deref() == Some(body.as_str()),
                    body,
                    public: comment.is_public,
                    author_id: comment
                        .author
                        .id
                        .ok_or(EventError::MissingField("event.comment.author.id"))?,
                    author_is_staff: comment.author.is_staff,
                    author_name: comment.author.name,
                })
            }
            _ => return Err(EventError::Unhandled(envelope.event_type)),
        };
        return Ok(TicketEvent {
            event_id: envelope.id,
            ticket_id,
            changes: vec![change],
            time: envelope.time.as_deref().and_then(parse_timestamp),
        });
    }
    let trigger: TriggerBody =
        serde_json::from_value(value).map_err(|e| EventError::NotJson(e.to_string()))?;
    let ticket_id = trigger
        .ticket_id
        .ok_or(EventError::MissingField("ticket_id"))?;
    let mut changes = vec![Change::Assigned(trigger.assignee_id)];
    if let Some(status) = trigger.status.filter(|s| !s.is_empty()) {
        changes.push(Change::Status(status.to_ascii_lowercase()));
    }
    if trigger.deleted {
        changes.push(Change::Deleted);
    }
    Ok(TicketEvent {
        event_id: None,
        ticket_id,
        changes,
        time: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(timestamp.as_bytes());
        m.update(body);
        m
    }

    const SECRET: &str = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";

    #[test]
    fn comment_added_events_name_the_comment_and_its_author() {
        let body = br#"{"type": "zen:event-type:ticket.comment_added", "id": "ev-1",
            "time": "2026-12-07T10:00:00Z", "zendesk_event_version": "2022-11-06",
            "detail": {"id": "42", "description": "It broke."},
            "event": {"comment": {"id": "9001", "body": "On it!", "is_public": true,
                                  "author": {"id": "7001", "is_staff": true, "name": "Agent A"}}}}"#;
        let event = parse_event(body).unwrap();
        assert_eq!(event.ticket_id, "42");
        assert_eq!(
            event.changes,
            [Change::Commented(Comment {
                id: "9001".into(),
                body: "On it!".into(),
                public: true,
                author_id: "7001".into(),
                author_is_staff: true,
                author_name: Some("Agent A".into()),
                is_description: false,
            })]
        );
        let first = String::from_utf8_lossy(body).replace("On it!", "It broke.");
        let Change::Commented(c) = &parse_event(first.as_bytes()).unwrap().changes[0] else {
            panic!("not a comment")
        };
        assert!(c.is_description);
        let no_comment =
            br#"{"type": "zen:event-type:ticket.comment_added", "detail": {"id": "42"}}"#;
        assert_eq!(
            parse_event(no_comment),
            Err(EventError::MissingField("event.comment"))
        );
    }

    #[test]
    fn signature_is_base64_hmac_of_timestamp_then_body() {
        let ts = "2021-03-25T05:09:27Z";
        let body = br#"{"a":1}"#;
        let expected = {
            let mut m = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
            m.update(b"2021-03-25T05:09:27Z{\"a\":1}");
            STANDARD.encode(m.finalize().into_bytes())
        };
        assert_eq!(sign(SECRET, ts, body), expected);
        let now = parse_timestamp(ts).unwrap();
        assert_eq!(verify(SECRET, ts, body, &expected, now, 300), Ok(()));
        // Empty body for bodiless requests.
        assert_eq!(
            verify(SECRET, ts, b"", &sign(SECRET, ts, b""), now, 300),
            Ok(())
        );
    }

    #[test]
    fn common_mistakes_are_rejected() {
        let ts = "2021-03-25T05:09:27Z";
        let body = br#"{"a":1}"#;
        let now = parse_timestamp(ts).unwrap();
        let raw = mac(SECRET, ts, body).finalize().into_bytes();
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            verify(SECRET, ts, body, &hex, now, 300),
            Err(WebhookError::BadSignature)
        );
        let dotted = {
            let mut m = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
            m.update(format!("{ts}.{}", std::str::from_utf8(body).unwrap()).as_bytes());
            STANDARD.encode(m.finalize().into_bytes())
        };
        assert_eq!(
            verify(SECRET, ts, body, &dotted, now, 300),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify("other", ts, body, &sign(SECRET, ts, body), now, 300),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(SECRET, ts, body, &sign(SECRET, ts, body), now + 301, 300),
            Err(WebhookError::Stale {
                skew: 301,
                window: 300
            })
        );
        assert!(matches!(
            verify(SECRET, "yesterday", body, "x", now, 300),
            Err(WebhookError::BadTimestamp(_))
        ));
    }

    #[test]
    fn timestamps_round_trip() {
        assert_eq!(format_timestamp(1_616_648_967), "2021-03-25T05:09:27Z");
        assert_eq!(
            parse_timestamp("2021-03-25T05:09:27.123Z"),
            Some(1_616_648_967)
        );
    }

    #[test]
    fn event_subscription_payloads() {
        let body = br#"{"account_id":22129848,"detail":{"id":"5158","assignee_id":"7001","status":"OPEN"},
            "event":{"current":"7001","previous":null},"id":"cbe4028c-1","subject":"zen:ticket:5158",
            "time":"2025-01-08T10:12:07.672717030Z","type":"zen:event-type:ticket.agent_assignment_changed",
            "zendesk_event_version":"2022-11-06"}"#;
        let event = parse_event(body).unwrap();
        assert_eq!(event.ticket_id, "5158");
        assert_eq!(event.event_id.as_deref(), Some("cbe4028c-1"));
        assert_eq!(event.changes, [Change::Assigned(Some("7001".into()))]);

        let body = br#"{"detail":{"id":5158,"status":"CLOSED"},"id":"e2","type":"zen:event-type:ticket.status_changed","zendesk_event_version":"2022-11-06"}"#;
        assert_eq!(
            parse_event(body).unwrap().changes,
            [Change::Status("closed".into())]
        );
        let body = br#"{"detail":{"id":"5158"},"id":"e3","type":"zen:event-type:ticket.soft_deleted","zendesk_event_version":"2022-11-06"}"#;
        assert_eq!(parse_event(body).unwrap().changes, [Change::Deleted]);
        let body = br#"{"detail":{"id":"5158"},"id":"e4","type":"zen:event-type:ticket.tags_changed","zendesk_event_version":"2022-11-06"}"#;
        assert!(matches!(parse_event(body), Err(EventError::Unhandled(_))));
    }

    #[test]
    fn trigger_bodies() {
        let event =
            parse_event(br#"{"ticket_id":"42","assignee_id":"","status":"Solved"}"#).unwrap();
        assert_eq!(
            event.changes,
            [Change::Assigned(None), Change::Status("solved".into())]
        );
        assert_eq!(
            parse_event(br#"{"status":"open"}"#),
            Err(EventError::MissingField("ticket_id"))
        );
        assert!(matches!(parse_event(b"{nope"), Err(EventError::NotJson(_))));
    }
}
