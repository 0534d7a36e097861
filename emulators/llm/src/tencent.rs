//! Tencent Cloud's `TextModeration` (TMS), `ImageModeration` (IMS),
//! `CreateAudioModerationSyncTask` (AMS) and `CreateVideoModerationTask`
//! (VM, version 2021-09-22; its result is posted to the task's
//! `CallbackUrl`, signed `X-Signature: hex(SHA-256(Seed ‖ body))`, see
//! [`video_result`]), API 3.0: `POST /` with `X-TC-Action`, `X-TC-Version` 2020-12-29,
//! `X-TC-Timestamp` and a TC3-HMAC-SHA256 `Authorization`, checked as
//! Tencent Cloud does (SecretId, five-minute window, scope, signature over
//! the raw body and the `Host` header's name), so a request our client or
//! the official SDK signed wrongly is refused with Tencent's error code.
//!
//! Judgements are deterministic: a text (Base64 `Content`) or image or
//! audio URL (`FileUrl`; an audio's `FileFormat` must be `wav`, `mp3` or
//! `m4a`, as Tencent's short-audio check reads) containing `unsafe-<label>` (`unsafe-porn`, `unsafe-abuse`,
//! `unsafe-ad`, …) is `Block` with that label and score 97;
//! `review-<label>` is `Review` with score 60; anything else `Pass`.

use base64::Engine as _;
use serde_json::{Value, json};
use tencent_cloud::tc3::{self, Credential, Signable};

/// The SecretId the emulator knows.
pub const SECRET_ID: &str = "AKIDllmEmulatorTencentCloud0000";
/// Its SecretKey.
pub const SECRET_KEY: &str = "tencent-cloud-emulator-secret-key";
/// The seed `switchboard up` creates video tasks with while this emulator
/// stands in for Tencent Cloud (public, like every emulator secret).
pub const CALLBACK_SEED: &str = "tencent-cloud-emulator-callback-seed";
/// The labels it can return.
pub const LABELS: [&str; 6] = ["Porn", "Abuse", "Ad", "Illegal", "Terror", "Polity"];
/// The formats Tencent's short-audio check reads (`FileFormat`).
const AUDIO_FORMATS: [&str; 3] = ["wav", "mp3", "m4a"];
/// How far `X-TC-Timestamp` may be from now (Tencent Cloud: five minutes).
const WINDOW_SECS: u64 = 300;

fn error(code: &str, message: &str) -> Value {
    json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "emulated-request"}})
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The answer to one API 3.0 call (always HTTP 200, as Tencent Cloud
/// answers errors too).
pub fn answer(headers: &http::HeaderMap, body: &[u8], now: u64) -> Value {
    let action = header(headers, "x-tc-action").unwrap_or("");
    let service = match action {
        "TextModeration" => "tms",
        "ImageModeration" => "ims",
        "CreateAudioModerationSyncTask" => "ams",
        "CreateVideoModerationTask" => "vm",
        other => {
            return error(
                "InvalidAction",
                &format!(
                    "the action `{other}` is not TextModeration, ImageModeration, \
                     CreateAudioModerationSyncTask or CreateVideoModerationTask"
                ),
            );
        }
    };
    let version = if service == "vm" {
        tencent_cloud::moderation::VIDEO_VERSION
    } else {
        tencent_cloud::moderation::VERSION
    };
    if header(headers, "x-tc-version") != Some(version) {
        return error(
            "InvalidParameterValue",
            &format!("X-TC-Version must be {version}"),
        );
    }
    let Some(authorization) = header(headers, "authorization") else {
        return error("AuthFailure.InvalidAuthorization", "missing Authorization");
    };
    let Some(timestamp) = header(headers, "x-tc-timestamp").and_then(|t| t.parse().ok()) else {
        return error(
            "AuthFailure.InvalidAuthorization",
            "missing or bad X-TC-Timestamp",
        );
    };
    let host = header(headers, "host").unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let request = Signable {
        service,
        host,
        content_type: header(headers, "content-type").unwrap_or(""),
        payload: body,
        timestamp,
    };
    let credential = Credential {
        secret_id: SECRET_ID.into(),
        secret_key: SECRET_KEY.into(),
    };
    if let Err(e) = tc3::verify(authorization, &credential, &request, now, WINDOW_SECS) {
        return error(e.code(), &e.to_string());
    }
    let Ok(params) = serde_json::from_slice::<Value>(body) else {
        return error("InvalidParameter", "the body is not JSON");
    };
    if action == "CreateVideoModerationTask" {
        return video_task(&params);
    }
    let subject = match action {
        "TextModeration" => {
            let Some(content) = params["Content"].as_str() else {
                return error("MissingParameter", "Content is required");
            };
            match base64::engine::general_purpose::STANDARD.decode(content) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(_) => return error("InvalidParameterValue", "Content is not Base64"),
            }
        }
        "CreateAudioModerationSyncTask"
            if !params["FileFormat"]
                .as_str()
                .is_some_and(|f| AUDIO_FORMATS.contains(&f)) =>
        {
            return error(
                "InvalidParameterValue.FileFormat",
                "FileFormat must be wav, mp3 or m4a",
            );
        }
        _ => match params["FileUrl"]
            .as_str()
            .or(params["FileContent"].as_str())
        {
            Some(file) => file.to_string(),
            None => return error("MissingParameter", "FileUrl or FileContent is required"),
        },
    };
    let (suggestion, label, score) = judge(&subject);
    json!({"Response": {
        "Suggestion": suggestion, "Label": label, "SubLabel": "", "Score": score,
        "DataId": params["DataId"], "BizType": params["BizType"].as_str().unwrap_or("0"),
        "RequestId": "emulated-request",
    }})
}

/// The deterministic judgement of a text or URL: `unsafe-<label>` blocks,
/// `review-<label>` asks for review, anything else passes.
fn judge(subject: &str) -> (&'static str, &'static str, u8) {
    let lower = subject.to_ascii_lowercase();
    let found = |prefix: &str| {
        LABELS
            .iter()
            .find(|label| lower.contains(&format!("{prefix}-{}", label.to_ascii_lowercase())))
    };
    match (found("unsafe"), found("review")) {
        (Some(label), _) => ("Block", *label, 97),
        (None, Some(label)) => ("Review", *label, 60),
        (None, None) => ("Pass", "Normal", 0),
    }
}

/// Task ids, unique within the process.
static NEXT_TASK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// `CreateVideoModerationTask`: one task (`Tasks[0]`, by URL) with a
/// `CallbackUrl` and `Seed`, answered with its `TaskId`.
fn video_task(params: &Value) -> Value {
    let task = &params["Tasks"][0];
    if params["Type"] != "VIDEO" {
        return error("InvalidParameterValue.Type", "Type must be VIDEO");
    }
    if task["Input"]["Type"] != "URL" || !task["Input"]["Url"].is_string() {
        return error("MissingParameter", "Tasks.0.Input must be a URL");
    }
    if !params["CallbackUrl"].is_string() || !params["Seed"].is_string() {
        return error(
            "MissingParameter",
            "CallbackUrl and Seed are required here (no console callback is set up)",
        );
    }
    let n = NEXT_TASK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    json!({"Response": {
        "Results": [{"DataId": task["DataId"], "TaskId": format!("emu-video-{n}"), "Code": "OK", "Message": "OK"}],
        "RequestId": "emulated-request",
    }})
}

/// A video task's result as Tencent Cloud posts it.
#[derive(Debug, Clone)]
pub struct VideoResult {
    /// Where it goes (the task's `CallbackUrl`).
    pub url: String,
    /// The JSON body.
    pub body: String,
    /// Its `X-Signature`.
    pub signature: String,
}

/// The result of a video task that [`answer`] created (`params`: the
/// task's request, `answer`: what it was answered), judged from its URL
/// like every other subject; `None` when the call did not create a task.
pub fn video_result(params: &Value, answer: &Value) -> Option<VideoResult> {
    let task_id = answer["Response"]["Results"][0]["TaskId"].as_str()?;
    let task = &params["Tasks"][0];
    let (suggestion, label, score) = judge(task["Input"]["Url"].as_str()?);
    let labels = if suggestion == "Pass" {
        json!([])
    } else {
        json!([{"Label": label, "Suggestion": suggestion, "Score": score, "SubLabel": ""}])
    };
    let body = json!({
        "TaskId": task_id, "DataId": task["DataId"], "BizType": params["BizType"].as_str().unwrap_or("0"),
        "Status": "FINISH", "Type": "VIDEO", "Suggestion": suggestion, "Labels": labels,
    })
    .to_string();
    let seed = params["Seed"].as_str()?;
    Some(VideoResult {
        url: params["CallbackUrl"].as_str()?.to_string(),
        signature: tencent_cloud::callback::signature(seed, body.as_bytes()),
        body,
    })
}
