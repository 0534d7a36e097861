//! Rich media cannot be judged inside IM's 2 s callback budget, so it is
//! delivered and checked afterwards (`*.CallbackAfterSendMsg`): images,
//! video thumbnails, voices and image or audio files (with the message's
//! text; see [`screening::media`] for which) go to the external moderation
//! service, and a flagged message is recalled (a group message by
//! `group_msg_recall`, a one-to-one message by `admin_msgwithdraw`) or,
//! with `external.media_action` = `notice`, overwritten by a notice
//! (`modify_group_msg`, `modify_c2c_msg`). What no service can judge is
//! logged as unchecked, never passed in silence.
//!
//! A whole video takes longer than anyone waits: with Tencent Cloud and a
//! callback configured, each video also starts a Video Moderation task
//! whose signed result reaches the moderation admin's
//! `/moderation/tencent/video`, which takes the message back the same way.

use crate::config::Config;
use crate::external::External;
use connector::im::ImSettings;
use connector::outbound::SpinHttp;
use connector::removal::{Delivered, PendingVideo, remove};
use connector::state::Records;
use screening::media::Subject;
use screening::review::{DecisionLog, log_decision};
use std::time::Duration;
use tim::message::{MsgElement, joined_text};

/// Media checks get longer than text checks: nobody is waiting on them.
const MEDIA_DEADLINE: Duration = Duration::from_secs(10);

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

/// Checks the media (with the text) and takes the message back if
/// flagged; a message still there then has its videos judged whole (a
/// result for a message already taken back would only fail). Runs after
/// the callback was answered; failures are logged.
pub async fn check_and_recall(config: Config, delivered: Delivered, body: Vec<MsgElement>) {
    let Some(api) = &config.api else {
        return;
    };
    if !judge_now(&config, api, &delivered, &body).await {
        start_video_tasks(&config, &delivered, &body).await;
    }
}

/// The checks answered at once (images, thumbnails, voices, files, with
/// the text); whether the message was taken back.
async fn judge_now(
    config: &Config,
    api: &External,
    delivered: &Delivered,
    body: &[MsgElement],
) -> bool {
    let media = screening::media::media(body);
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
        return false;
    }
    let text = joined_text(body);
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
            return false;
        }
    };
    let Some(crate::external::Flagged { category, score }) = flagged else {
        return false;
    };
    let (outcome, error) = match ImSettings::load() {
        Ok(im) => remove(&im.client(), delivered, &config.policy.external, &category).await,
        Err(e) => ("recall-failed", Some(e)),
    };
    log_decision(&DecisionLog {
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
    outcome != "recall-failed"
}

/// Starts a Tencent Cloud Video Moderation task for each video in `body`,
/// when the service is Tencent's and a callback is configured, and keeps
/// which message each task judges until its result arrives (or its window
/// ends). A task that cannot be started is logged; the thumbnail check
/// still runs.
async fn start_video_tasks(config: &Config, delivered: &Delivered, body: &[MsgElement]) {
    let (Some(External::Tencent(service)), Some(callback)) = (&config.api, &config.video_callback)
    else {
        return;
    };
    let key = delivered.key();
    let videos = body.iter().filter_map(|element| match element {
        MsgElement::VideoFile(video) => video.video_url.as_deref().filter(|u| !u.is_empty()),
        _ => None,
    });
    for url in videos {
        let now = connector::config::unix_now();
        let http = SpinHttp::within(MEDIA_DEADLINE);
        let started = service
            .video_task(&http, url, &key, callback, MEDIA_DEADLINE, now)
            .await;
        let task_id = match started {
            Ok(task_id) => task_id,
            Err(e) => {
                eprintln!("moderator: {key}: video check not started: {e}");
                continue;
            }
        };
        let pending = PendingVideo::new(delivered.clone(), now);
        let kept =
            Records::open().and_then(|records| records.put(&PendingVideo::key(&task_id), &pending));
        match kept {
            Ok(()) => eprintln!("moderator: {key}: video check started as Tencent task {task_id}"),
            Err(e) => eprintln!("moderator: {key}: video task {task_id} started but not kept: {e}"),
        }
    }
}
