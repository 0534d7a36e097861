//! Rich media cannot be judged inside IM's 2 s callback budget, so it is
//! delivered and checked afterwards (`*.CallbackAfterSendMsg`): images,
//! video thumbnails, voices and image or audio files (with the message's
//! text; see [`screening::media`] for which) go to the external moderation
//! service, and a flagged message is recalled (a group message by
//! `group_msg_recall`, a one-to-one message by `admin_msgwithdraw`) or,
//! with `external.media_action` = `notice`, overwritten by a notice
//! (`modify_group_msg`, `modify_c2c_msg`). What no service can judge is
//! logged as unchecked, never passed in silence.

use crate::config::Config;
use connector::im::ImSettings;
use connector::outbound::SpinHttp;
use screening::media::Subject;
use screening::policy::{ExternalConfig, MediaAction};
use std::time::Duration;
use tim::message::{MsgElement, joined_text};
use tim::rest::{Client, Replacement};

/// Media checks get longer than text checks: nobody is waiting on them.
const MEDIA_DEADLINE: Duration = Duration::from_secs(10);

/// Which delivered message to recall.
#[derive(Debug, Clone)]
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
    /// The message key used in logs.
    pub fn key(&self) -> String {
        match self {
            Delivered::Group { group_id, seq, .. } => format!("group:{group_id}:{seq}"),
            Delivered::C2c { msg_key, .. } => format!("c2c:{msg_key}"),
        }
    }
}

/// Whether a body holds rich media: an image, a video, a voice or a file.
pub fn has_media(body: &[MsgElement]) -> bool {
    body.iter().any(|element| {
        matches!(
            element,
            MsgElement::Image(_)
                | MsgElement::VideoFile(_)
                | MsgElement::Sound(_)
                | MsgElement::File(_)
        )
    })
}

/// Checks the media (with the text) and recalls the message if flagged.
/// Runs after the callback was answered; failures are logged.
pub async fn check_and_recall(config: Config, delivered: Delivered, body: Vec<MsgElement>) {
    let Some(api) = &config.api else {
        return;
    };
    let media = screening::media::media(&body);
    let (mut subjects, cannot): (Vec<Subject>, Vec<Subject>) =
        media.subjects.into_iter().partition(|s| api.judges(s));
    let mut unchecked = media.unchecked;
    // Only audio is ever refused (OpenAI's `/moderations` reads none).
    unchecked.extend(
        cannot
            .iter()
            .map(|_| "audio: the configured service reads no audio".to_string()),
    );
    if !unchecked.is_empty() {
        eprintln!(
            "moderator: {}: media left unchecked: {}",
            delivered.key(),
            unchecked.join("; ")
        );
    }
    if subjects.is_empty() {
        return;
    }
    let text = joined_text(&body);
    if !text.trim().is_empty() {
        subjects.insert(0, Subject::Text(text));
    }
    let flagged = match api
        .judge(
            &subjects,
            &delivered.key(),
            &config.policy.external.thresholds,
            MEDIA_DEADLINE,
        )
        .await
    {
        Ok(flagged) => flagged,
        Err(e) => {
            eprintln!(
                "moderator: media check of {} failed, message left delivered: {e}",
                delivered.key()
            );
            return;
        }
    };
    let Some(crate::external::Flagged { category, score }) = flagged else {
        return;
    };
    let (outcome, error) = match ImSettings::load() {
        Ok(im) => remove(&im.client(), &delivered, &config.policy.external, &category).await,
        Err(e) => ("recall-failed", Some(e)),
    };
    crate::log_decision(&crate::DecisionLog {
        key: &delivered.key(),
        command: "after-send media check",
        outcome,
        category: &category,
        rule: &format!("moderations:{category}"),
        severity: 0,
        score: Some(score),
        excerpt: None,
        scope: None,
        error: error.as_deref(),
    });
}

/// Takes a flagged message out of the conversation as the policy says:
/// the notice where IM can modify the message, a recall otherwise or when
/// the modification fails (flagged media never stays). Returns the outcome
/// for the log and the error of a failed step.
async fn remove(
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
