//! A ticket's chat as an agent's panel shows it (the Zendesk sidebar, the
//! Salesforce component): IM history turned into lines that say who is who
//! and carry media as links, and the checks on what an agent sends.
//!
//! Pure logic: the bridges fetch the history ([`tim::rest::Client::group_msg_get_simple`])
//! and send (`send_group_msg`); this module decides what the panel sees.
//!
//! ```
//! use connector::agent_chat::{Roles, Speaker};
//! let roles = Roles {
//!     viewer: "zendesk-agent-7001",
//!     requester: Some("alice"),
//!     agent_prefix: "zendesk-agent-",
//!     admin: "administrator",
//! };
//! assert_eq!(roles.speaker("alice"), Speaker::Customer);
//! assert_eq!(roles.speaker("zendesk-agent-7001"), Speaker::You);
//! assert_eq!(roles.speaker("zendesk-agent-7002"), Speaker::Agent);
//! assert_eq!(roles.speaker("@RBT#helper"), Speaker::Bot);
//! ```

use serde::Serialize;
use std::collections::BTreeMap;
use tim::message::MsgElement;
use tim::rest::HistoryMessage;

/// The most text an agent's message may hold, in UTF-8 bytes: IM's 12 KB
/// message limit less room for the envelope (sender, random, custom data).
pub const MAX_AGENT_TEXT_BYTES: usize = 8 * 1024;

/// Who a line is from, as the viewing agent sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    /// The agent viewing the panel.
    You,
    /// The end user who opened the request.
    Customer,
    /// Another agent (an IM account with the agent prefix).
    Agent,
    /// A robot (`@RBT#…`).
    Bot,
    /// The administrator account or anyone else (greetings, notices).
    System,
}

/// What tells speakers apart in one ticket's group.
#[derive(Debug, Clone, Copy)]
pub struct Roles<'a> {
    /// The viewing agent's IM account.
    pub viewer: &'a str,
    /// The requester's IM account, when the ticket record has it.
    pub requester: Option<&'a str>,
    /// The prefix of agents' IM accounts (may be empty: then only the
    /// viewer is known as an agent).
    pub agent_prefix: &'a str,
    /// The IM administrator account the bridge posts as.
    pub admin: &'a str,
}

impl Roles<'_> {
    /// The speaker `account` is.
    pub fn speaker(&self, account: &str) -> Speaker {
        if account == self.viewer {
            Speaker::You
        } else if account == self.admin {
            Speaker::System
        } else if Some(account) == self.requester {
            Speaker::Customer
        } else if account.starts_with("@RBT#") {
            Speaker::Bot
        } else if !self.agent_prefix.is_empty() && account.starts_with(self.agent_prefix) {
            Speaker::Agent
        } else if self.requester.is_none() {
            // Without a stored requester, the other non-agent member is the
            // customer: bridges put only them and agents in the group.
            Speaker::Customer
        } else {
            Speaker::System
        }
    }
}

/// One piece of a message as the panel renders it. URLs are only ever
/// `https://` or `http://` (anything else is dropped), so a message cannot
/// smuggle `javascript:` into a link.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Part {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image: the original and its thumbnail.
    Image {
        /// The largest variant.
        url: Option<String>,
        /// The thumbnail variant.
        thumbnail: Option<String>,
    },
    /// A file.
    File {
        /// Download URL.
        url: Option<String>,
        /// Its name.
        name: String,
        /// Bytes.
        size: Option<i64>,
    },
    /// A voice message.
    Sound {
        /// Download URL.
        url: Option<String>,
        /// Seconds.
        seconds: Option<i64>,
    },
    /// A video.
    Video {
        /// Video URL.
        url: Option<String>,
        /// Thumbnail URL.
        thumbnail: Option<String>,
    },
    /// Anything else, named by its IM type (`TIMCustomElem`, …).
    Other {
        /// The element type.
        msg_type: String,
        /// Text it carries for clients that cannot show it, if any.
        text: Option<String>,
    },
}

/// One message of the chat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// `MsgSeq`: the cursor for polling and paging.
    pub seq: u64,
    /// The sender's IM account.
    pub from: String,
    /// The sender's nickname, or the account when they have none.
    pub name: String,
    /// Who the sender is to the viewer.
    pub speaker: Speaker,
    /// Unix seconds.
    pub time: u64,
    /// The message, or nothing when it was recalled or deleted.
    pub parts: Vec<Part>,
    /// Recalled, deleted or expired: only its place is left.
    pub removed: bool,
}

/// Lines for `messages` (any order), oldest first, each named from `nicks`.
pub fn lines(
    messages: &[HistoryMessage],
    roles: &Roles<'_>,
    nicks: &BTreeMap<String, String>,
) -> Vec<Line> {
    let mut lines: Vec<Line> = messages
        .iter()
        .map(|m| Line {
            seq: m.seq,
            from: m.from.clone(),
            name: nicks
                .get(&m.from)
                .cloned()
                .unwrap_or_else(|| m.from.clone()),
            speaker: roles.speaker(&m.from),
            time: m.time,
            parts: if m.is_place_msg == 1 {
                Vec::new()
            } else {
                m.body.iter().map(part).collect()
            },
            removed: m.is_place_msg == 1,
        })
        .collect();
    lines.sort_by_key(|l| l.seq);
    lines.dedup_by_key(|l| l.seq);
    lines
}

fn web_url(url: Option<&str>) -> Option<String> {
    let url = url?.trim();
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| url.to_string())
}

fn part(element: &MsgElement) -> Part {
    match element {
        MsgElement::Text(t) => Part::Text {
            text: t.text.clone().unwrap_or_default(),
        },
        MsgElement::Image(image) => {
            // ImageInfoArray: Type 1 original, 2 large, 3 thumbnail.
            let variant = |kind: i64| {
                image.image_info_array.iter().flatten().find_map(|info| {
                    (info["Type"].as_i64() == Some(kind))
                        .then(|| web_url(info["URL"].as_str()))
                        .flatten()
                })
            };
            Part::Image {
                url: variant(1).or_else(|| variant(2)),
                thumbnail: variant(3).or_else(|| variant(2)),
            }
        }
        MsgElement::File(file) => Part::File {
            url: web_url(file.url.as_deref()),
            name: file.file_name.clone().unwrap_or_else(|| "file".into()),
            size: file.file_size,
        },
        MsgElement::Sound(sound) => Part::Sound {
            url: web_url(sound.url.as_deref()),
            seconds: sound.second,
        },
        MsgElement::VideoFile(video) => Part::Video {
            url: web_url(video.video_url.as_deref()),
            thumbnail: web_url(video.extra.get("ThumbUrl").and_then(|v| v.as_str())),
        },
        MsgElement::Relay(relay) => Part::Other {
            msg_type: element.msg_type().into(),
            text: relay.compatible_text.clone(),
        },
        MsgElement::Custom(custom) => Part::Other {
            msg_type: element.msg_type().into(),
            text: custom.desc.clone().filter(|d| !d.is_empty()),
        },
        MsgElement::Location(location) => Part::Other {
            msg_type: element.msg_type().into(),
            text: location.desc.clone(),
        },
        other => Part::Other {
            msg_type: other.msg_type().into(),
            text: None,
        },
    }
}

/// A message as plain text for a help desk's comment or a transcript:
/// its text, and every other element as a bracketed link (web URLs only,
/// as [`Part`] keeps them).
///
/// ```
/// use connector::agent_chat::as_text;
/// let body: Vec<tim::message::MsgElement> = serde_json::from_value(serde_json::json!([
///     {"MsgType": "TIMTextElem", "MsgContent": {"Text": "See this:"}},
///     {"MsgType": "TIMImageElem", "MsgContent": {"ImageInfoArray": [
///         {"Type": 1, "URL": "https://cdn.example/i.jpg"}]}},
///     {"MsgType": "TIMFileElem", "MsgContent": {"Url": "javascript:alert(1)", "FileName": "x.pdf"}},
/// ])).unwrap();
/// assert_eq!(as_text(&body), "See this: [image https://cdn.example/i.jpg] [file x.pdf]");
/// ```
pub fn as_text(body: &[MsgElement]) -> String {
    let link = |what: String, url: Option<String>| match url {
        Some(url) => format!("[{what} {url}]"),
        None => format!("[{what}]"),
    };
    body.iter()
        .map(|element| match part(element) {
            Part::Text { text } => text,
            Part::Image { url, thumbnail } => link("image".into(), url.or(thumbnail)),
            Part::File { url, name, .. } => link(format!("file {name}"), url),
            Part::Sound { url, seconds } => link(
                seconds.map_or("voice".into(), |s| format!("voice {s} s")),
                url,
            ),
            Part::Video { url, thumbnail } => link("video".into(), url.or(thumbnail)),
            Part::Other { msg_type, text } => match text {
                Some(text) => format!("[{msg_type}: {text}]"),
                None => format!("[{msg_type}]"),
            },
        })
        .filter(|piece| !piece.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why an agent's text cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Missing, not a string, or only whitespace.
    #[error("`text` must be a non-empty string")]
    Empty,
    /// Over [`MAX_AGENT_TEXT_BYTES`].
    #[error("`text` is {bytes} bytes; a chat message holds at most {max} bytes")]
    TooLong {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
}

/// The text an agent asked to send, checked.
pub fn agent_text(value: Option<&serde_json::Value>) -> Result<String, TextError> {
    let text = value
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .ok_or(TextError::Empty)?;
    if text.len() > MAX_AGENT_TEXT_BYTES {
        return Err(TextError::TooLong {
            bytes: text.len(),
            max: MAX_AGENT_TEXT_BYTES,
        });
    }
    Ok(text.to_string())
}

/// The `client_id` a panel names a message with (so a retried send is not
/// sent twice): 8 to 64 characters of `[A-Za-z0-9_-]`.
pub fn client_message_id(value: Option<&serde_json::Value>) -> Option<&str> {
    value.and_then(serde_json::Value::as_str).filter(|id| {
        (8..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(seq: u64, from: &str, body: serde_json::Value, place: u8) -> HistoryMessage {
        serde_json::from_value(json!({
            "MsgSeq": seq, "From_Account": from, "MsgRandom": 1, "MsgTimeStamp": 1_700_000_000 + seq,
            "IsPlaceMsg": place, "MsgBody": body,
        }))
        .unwrap()
    }

    const ROLES: Roles<'static> = Roles {
        viewer: "zendesk-agent-7001",
        requester: Some("alice"),
        agent_prefix: "zendesk-agent-",
        admin: "administrator",
    };

    #[test]
    fn lines_are_oldest_first_named_and_marked() {
        let nicks = BTreeMap::from([("alice".to_string(), "Alice A.".to_string())]);
        let history = [
            message(
                3,
                "zendesk-agent-7001",
                json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]),
                0,
            ),
            message(
                2,
                "alice",
                json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "help"}}]),
                0,
            ),
            message(
                1,
                "administrator",
                json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "welcome"}}]),
                0,
            ),
            message(4, "alice", json!([]), 1),
        ];
        let lines = lines(&history, &ROLES, &nicks);
        let summary: Vec<(u64, &str, Speaker, bool)> = lines
            .iter()
            .map(|l| (l.seq, l.name.as_str(), l.speaker, l.removed))
            .collect();
        assert_eq!(
            summary,
            [
                (1, "administrator", Speaker::System, false),
                (2, "Alice A.", Speaker::Customer, false),
                (3, "zendesk-agent-7001", Speaker::You, false),
                (4, "Alice A.", Speaker::Customer, true),
            ]
        );
        assert_eq!(
            lines[1].parts,
            [Part::Text {
                text: "help".into()
            }]
        );
        assert!(lines[3].parts.is_empty());
    }

    #[test]
    fn media_become_web_links_only() {
        let body = json!([
            {"MsgType": "TIMImageElem", "MsgContent": {"UUID": "i", "ImageFormat": 1, "ImageInfoArray": [
                {"Type": 1, "URL": "https://cdn.example/i.jpg"}, {"Type": 3, "URL": "https://cdn.example/i-thumb.jpg"}]}},
            {"MsgType": "TIMFileElem", "MsgContent": {"Url": "javascript:alert(1)", "FileName": "x.pdf", "FileSize": 10}},
            {"MsgType": "TIMSoundElem", "MsgContent": {"Url": "https://cdn.example/v.mp3", "Second": 3}},
            {"MsgType": "TIMCustomElem", "MsgContent": {"Data": "{}", "Desc": "order card"}},
        ]);
        let lines = lines(&[message(1, "alice", body, 0)], &ROLES, &BTreeMap::new());
        assert_eq!(
            lines[0].parts,
            [
                Part::Image {
                    url: Some("https://cdn.example/i.jpg".into()),
                    thumbnail: Some("https://cdn.example/i-thumb.jpg".into())
                },
                Part::File {
                    url: None,
                    name: "x.pdf".into(),
                    size: Some(10)
                },
                Part::Sound {
                    url: Some("https://cdn.example/v.mp3".into()),
                    seconds: Some(3)
                },
                Part::Other {
                    msg_type: "TIMCustomElem".into(),
                    text: Some("order card".into())
                },
            ]
        );
    }

    #[test]
    fn speakers_without_a_stored_requester() {
        let roles = Roles {
            requester: None,
            ..ROLES
        };
        assert_eq!(roles.speaker("bob"), Speaker::Customer);
        assert_eq!(roles.speaker("administrator"), Speaker::System);
        assert_eq!(roles.speaker("zendesk-agent-9"), Speaker::Agent);
    }

    #[test]
    fn agent_text_and_client_ids_are_checked() {
        assert_eq!(agent_text(Some(&json!("hello"))), Ok("hello".into()));
        assert_eq!(agent_text(Some(&json!("  "))), Err(TextError::Empty));
        assert_eq!(agent_text(Some(&json!(5))), Err(TextError::Empty));
        assert_eq!(agent_text(None), Err(TextError::Empty));
        let long = "é".repeat(MAX_AGENT_TEXT_BYTES / 2 + 1);
        assert_eq!(
            agent_text(Some(&json!(long))),
            Err(TextError::TooLong {
                bytes: MAX_AGENT_TEXT_BYTES + 2,
                max: MAX_AGENT_TEXT_BYTES
            })
        );
        assert_eq!(
            client_message_id(Some(&json!("abcdEFGH-123_"))),
            Some("abcdEFGH-123_")
        );
        for bad in [
            json!("short"),
            json!("has space in it"),
            json!(12345678),
            json!("x".repeat(65)),
        ] {
            assert_eq!(client_message_id(Some(&bad)), None, "{bad}");
        }
    }
}
