//! Taking a delivered message back out of its conversation, as the
//! moderation policy says (`external.media_action`): overwritten by a
//! notice where IM can modify it (`modify_group_msg`, `modify_c2c_msg`),
//! recalled otherwise or when the modification fails (`group_msg_recall`,
//! `admin_msgwithdraw`). Flagged media never stays. Used by the moderator
//! after a media check, and by the moderation admin when Tencent Cloud's
//! video result arrives.

use crate::outbound::SpinHttp;
use screening::policy::{ExternalConfig, MediaAction};
use serde::{Deserialize, Serialize};
use tim::message::MsgElement;
use tim::rest::{Client, Replacement};

/// A delivered message, as the calls that take it back name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delivered {
    /// A group message.
    Group {
        /// Group.
        group_id: String,
        /// Its sequence number.
        seq: u64,
        /// The group's type, when the event gave it (AVChatRoom messages
        /// cannot be modified).
        group_type: Option<String>,
        /// The community topic it was sent in.
        topic_id: Option<String>,
    },
    /// A one-to-one message.
    C2c {
        /// Sender.
        from: String,
        /// Recipient.
        to: String,
        /// Its key.
        msg_key: String,
    },
}

impl Delivered {
    /// The message key used in logs (the before-send callback's for a
    /// one-to-one message; the group and sequence number for a group one).
    pub fn key(&self) -> String {
        match self {
            Delivered::Group { group_id, seq, .. } => format!("group:{group_id}:{seq}"),
            Delivered::C2c { msg_key, .. } => format!("c2c:{msg_key}"),
        }
    }
}

/// A message whose video a moderation service is still judging: kept
/// under [`PendingVideo::key`] of the service's task id until the result
/// arrives, and trusted only until [`PendingVideo::until`] (a result after
/// that changes nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingVideo {
    /// The message.
    pub delivered: Delivered,
    /// Unix time after which a result for it is ignored.
    pub until: u64,
}

impl PendingVideo {
    /// How long a video's result is waited for: a day.
    pub const WINDOW_SECS: u64 = 86_400;

    /// A pending check of `delivered` started at `now`.
    pub fn new(delivered: Delivered, now: u64) -> Self {
        Self {
            delivered,
            until: now.saturating_add(Self::WINDOW_SECS),
        }
    }

    /// The record key of the task `task_id`.
    pub fn key(task_id: &str) -> String {
        format!("video-check:{task_id}")
    }
}

/// Takes a flagged message out of the conversation as the policy says:
/// the notice where IM can modify the message, a recall otherwise or when
/// the modification fails (flagged media never stays). Returns the outcome
/// for the log and the error of a failed step.
pub async fn remove(
    client: &Client<SpinHttp>,
    delivered: &Delivered,
    external: &ExternalConfig,
    category: &str,
) -> (&'static str, Option<String>) {
    let mut error = None;
    if external.media_action == MediaAction::Notice && delivered.can_be_modified() {
        let replacement = Replacement {
            body: Some(vec![MsgElement::text(external.notice.trim())]),
            cloud_custom_data: Some(notice_data(category)),
        };
        let modified = match delivered {
            Delivered::Group {
                group_id,
                seq,
                topic_id,
                ..
            } => {
                client
                    .modify_group_msg(group_id, *seq, topic_id.as_deref(), &replacement)
                    .await
            }
            Delivered::C2c { from, to, msg_key } => {
                client.modify_c2c_msg(from, to, msg_key, &replacement).await
            }
        };
        match modified {
            Ok(()) => return ("notice", None),
            Err(e) => error = Some(format!("notice failed, recalling instead: {e}")),
        }
    }
    let recalled = match delivered {
        Delivered::Group { group_id, seq, .. } => {
            client.group_msg_recall(group_id, &[*seq]).await.map(|_| ())
        }
        Delivered::C2c { from, to, msg_key } => client.admin_msg_withdraw(from, to, msg_key).await,
    };
    match recalled {
        Ok(()) => ("recall", error),
        Err(e) => {
            let e = e.to_string();
            let error = match error {
                Some(first) => format!("{first}; recall failed: {e}"),
                None => e,
            };
            ("recall-failed", Some(error))
        }
    }
}

impl Delivered {
    /// IM cannot modify AVChatRoom messages.
    fn can_be_modified(&self) -> bool {
        match self {
            Delivered::Group { group_type, .. } => group_type.as_deref() != Some("AVChatRoom"),
            Delivered::C2c { .. } => true,
        }
    }
}

/// The `CloudCustomData` of a notice: clients that know it can style the
/// notice apart from what people say.
fn notice_data(category: &str) -> String {
    serde_json::json!({ "switchboard": { "moderated": "media", "category": category } }).to_string()
}
