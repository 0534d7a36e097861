//! Tencent Cloud's content moderation: `TextModeration` (TMS, version
//! 2020-12-29, the text Base64-encoded), `ImageModeration` (IMS, version
//! 2020-12-29, the image by URL) and `CreateAudioModerationSyncTask` (AMS,
//! version 2020-12-29, a short audio by URL), each one signed call within a
//! deadline and no retry: the moderator calls them inside IM's callback
//! budget (text) or right after delivery (media). A video takes longer
//! than anyone waits: `CreateVideoModerationTask` (VM, version 2021-09-22)
//! only starts a task, whose result Tencent Cloud posts back signed (see
//! [`crate::callback`]).
//!
//! Each answers a [`Judgement`]: `Suggestion` `Block`, `Review` or `Pass`,
//! with the `Label` (`Porn`, `Abuse`, `Ad`, …) and its `Score` (0–100).
//! [`Judgement::flagged`] says whether it stops a message: `Block` always,
//! `Review` when the label's score reaches its threshold.
//!
//! ```
//! use tencent_cloud::moderation::{Judgement, Suggestion};
//! use std::collections::BTreeMap;
//!
//! let review = Judgement { suggestion: Suggestion::Review, label: "Ad".into(), sub_label: String::new(), score: 80 };
//! assert_eq!(review.flagged(&BTreeMap::new()), None);
//! assert_eq!(review.flagged(&BTreeMap::from([("ad".to_string(), 0.7)])), Some("ad".to_string()));
//! ```

use crate::tc3::{self, Credential, Signable};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use transport::{HttpRequest, Transport};

/// The API version of the text, image and audio calls.
pub const VERSION: &str = "2020-12-29";
/// The API version of Video Moderation (VM).
pub const VIDEO_VERSION: &str = "2021-09-22";

/// The most characters `TextModeration` takes; longer texts are cut.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// The `Content-Type` sent and signed (the SDKs' own).
const CONTENT_TYPE: &str = "application/json";

/// Where the services are and how to call them.
#[derive(Debug, Clone)]
pub struct TencentModeration {
    /// SecretId and SecretKey.
    pub credential: Credential,
    /// `X-TC-Region` (`ap-singapore`, `ap-guangzhou`, …).
    pub region: String,
    /// TMS origin (`https://tms.tencentcloudapi.com`).
    pub tms_url: String,
    /// IMS origin (`https://ims.tencentcloudapi.com`).
    pub ims_url: String,
    /// AMS origin (`https://ams.tencentcloudapi.com`).
    pub ams_url: String,
    /// VM origin (`https://vm.tencentcloudapi.com`).
    pub vm_url: String,
    /// `BizType`: the moderation policy configured in the console (empty:
    /// the default policy).
    pub biz_type: String,
}

/// A `Suggestion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Suggestion {
    /// Nothing found.
    Pass,
    /// Possibly violating: a person should look.
    Review,
    /// Violating.
    Block,
}

/// What a call concluded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Judgement {
    /// `Suggestion`.
    #[serde(rename = "Suggestion")]
    pub suggestion: Suggestion,
    /// `Label` (`Normal` when nothing was found).
    #[serde(rename = "Label", default)]
    pub label: String,
    /// `SubLabel`.
    #[serde(rename = "SubLabel", default)]
    pub sub_label: String,
    /// `Score`, 0–100.
    #[serde(rename = "Score", default)]
    pub score: u8,
}

impl Judgement {
    /// The category (the label, lower case) when the judgement stops a
    /// message: `Block` always; `Review` when `thresholds` holds the label
    /// and its score (as 0–1) reaches it.
    pub fn flagged(&self, thresholds: &BTreeMap<String, f64>) -> Option<String> {
        let category = self.label.to_ascii_lowercase();
        let stops = match self.suggestion {
            Suggestion::Block => true,
            Suggestion::Review => thresholds
                .get(&category)
                .is_some_and(|threshold| f64::from(self.score) / 100.0 >= *threshold),
            Suggestion::Pass => false,
        };
        stops.then_some(category)
    }
}

/// Why there is no judgement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModerationError {
    /// No answer before the deadline.
    #[error("{action}: no answer within {ms} ms")]
    Timeout {
        /// The call.
        action: &'static str,
        /// The deadline.
        ms: u128,
    },
    /// The request could not be sent.
    #[error("{action}: {message}")]
    Transport {
        /// The call.
        action: &'static str,
        /// Why.
        message: String,
    },
    /// Tencent Cloud's error answer (`AuthFailure.SignatureFailure`, …).
    #[error("{action}: {code}: {message} (RequestId {request_id})")]
    Api {
        /// The call.
        action: &'static str,
        /// `Error.Code`.
        code: String,
        /// `Error.Message`.
        message: String,
        /// `RequestId`, for Tencent's support.
        request_id: String,
    },
    /// An answer that is not a judgement.
    #[error("{action}: unreadable answer: {message}")]
    Unreadable {
        /// The call.
        action: &'static str,
        /// Why.
        message: String,
    },
}

/// Which API a call goes to.
struct Call<'a> {
    origin: &'a str,
    service: &'a str,
    action: &'static str,
    version: &'static str,
}

/// Where Tencent Cloud posts a video task's result, and the key it signs
/// it with (`Seed`; see [`crate::callback::verify`]).
#[derive(Debug, Clone)]
pub struct VideoCallback {
    /// `CallbackUrl`.
    pub url: String,
    /// `Seed`.
    pub seed: String,
}

#[derive(Deserialize)]
struct TaskResults {
    #[serde(rename = "Results", default)]
    results: Vec<TaskResult>,
}

#[derive(Deserialize)]
struct TaskResult {
    #[serde(rename = "TaskId", default)]
    task_id: String,
    #[serde(rename = "Code", default)]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
}

/// The host name of an origin, without scheme, port or path.
fn host_name(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

impl TencentModeration {
    /// Judges `text` (cut at [`MAX_TEXT_CHARS`]); `data_id` names it in
    /// Tencent's console (at most 64 characters are sent).
    pub async fn text<T: Transport>(
        &self,
        transport: &T,
        text: &str,
        data_id: &str,
        deadline: Duration,
        now: u64,
    ) -> Result<Judgement, ModerationError> {
        let cut: String = text.chars().take(MAX_TEXT_CHARS).collect();
        let body = json!({
            "Content": base64::engine::general_purpose::STANDARD.encode(cut.as_bytes()),
        });
        let call = Call {
            origin: &self.tms_url,
            service: "tms",
            action: "TextModeration",
            version: VERSION,
        };
        self.call(transport, call, body, data_id, deadline, now)
            .await
    }

    /// Judges the image at `url`.
    pub async fn image<T: Transport>(
        &self,
        transport: &T,
        url: &str,
        data_id: &str,
        deadline: Duration,
        now: u64,
    ) -> Result<Judgement, ModerationError> {
        let body = json!({ "FileUrl": url });
        let call = Call {
            origin: &self.ims_url,
            service: "ims",
            action: "ImageModeration",
            version: VERSION,
        };
        self.call(transport, call, body, data_id, deadline, now)
            .await
    }

    /// Judges the short audio at `url`. Tencent's short-audio check takes
    /// `wav`, `mp3` or `m4a` (`format`) of at most 60 s and 5 MB and
    /// refuses the rest; the caller sorts what it sends (the moderator with
    /// `screening::media`).
    pub async fn audio<T: Transport>(
        &self,
        transport: &T,
        url: &str,
        format: &str,
        data_id: &str,
        deadline: Duration,
        now: u64,
    ) -> Result<Judgement, ModerationError> {
        let body = json!({ "FileUrl": url, "FileFormat": format });
        let call = Call {
            origin: &self.ams_url,
            service: "ams",
            action: "CreateAudioModerationSyncTask",
            version: VERSION,
        };
        self.call(transport, call, body, data_id, deadline, now)
            .await
    }

    /// Starts a video moderation task for the video at `url`; Tencent
    /// Cloud posts the result to `callback`. Answers the task's id.
    pub async fn video_task<T: Transport>(
        &self,
        transport: &T,
        url: &str,
        data_id: &str,
        callback: &VideoCallback,
        deadline: Duration,
        now: u64,
    ) -> Result<String, ModerationError> {
        const ACTION: &str = "CreateVideoModerationTask";
        let data_id: String = data_id.chars().take(64).collect();
        let mut body = json!({
            "Type": "VIDEO",
            "Tasks": [{ "DataId": data_id, "Input": { "Type": "URL", "Url": url } }],
            "CallbackUrl": callback.url,
            "Seed": callback.seed,
        });
        if !self.biz_type.is_empty() {
            body["BizType"] = self.biz_type.clone().into();
        }
        let call = Call {
            origin: &self.vm_url,
            service: "vm",
            action: ACTION,
            version: VIDEO_VERSION,
        };
        let answer: TaskResults = self.send(transport, call, &body, deadline, now).await?;
        match answer.results.into_iter().next() {
            Some(task) if task.code == "OK" && !task.task_id.is_empty() => Ok(task.task_id),
            Some(task) => Err(ModerationError::Api {
                action: ACTION,
                code: task.code,
                message: task.message,
                request_id: String::new(),
            }),
            None => Err(ModerationError::Unreadable {
                action: ACTION,
                message: "no task in Results".into(),
            }),
        }
    }

    /// The signed request of one call (`version`: [`VERSION`], or
    /// [`VIDEO_VERSION`] for VM).
    pub fn request(
        &self,
        origin: &str,
        service: &str,
        (action, version): (&str, &str),
        body: &Value,
        now: u64,
    ) -> HttpRequest {
        let payload = body.to_string().into_bytes();
        let authorization = tc3::authorization(
            &self.credential,
            &Signable {
                service,
                host: host_name(origin),
                content_type: CONTENT_TYPE,
                payload: &payload,
                timestamp: now,
            },
        );
        HttpRequest {
            method: "POST",
            url: format!("{}/", origin.trim_end_matches('/')),
            headers: vec![
                ("content-type".into(), CONTENT_TYPE.into()),
                ("authorization".into(), authorization),
                ("x-tc-action".into(), action.into()),
                ("x-tc-version".into(), version.into()),
                ("x-tc-region".into(), self.region.clone()),
                ("x-tc-timestamp".into(), now.to_string()),
            ],
            body: payload,
            timeout: None,
        }
    }

    /// One judging call: `body` with the fields every such call carries
    /// (`DataId`, at most 64 characters; `BizType` when set), signed and
    /// sent.
    async fn call<T: Transport>(
        &self,
        transport: &T,
        call: Call<'_>,
        mut body: Value,
        data_id: &str,
        deadline: Duration,
        now: u64,
    ) -> Result<Judgement, ModerationError> {
        body["DataId"] = data_id.chars().take(64).collect::<String>().into();
        if !self.biz_type.is_empty() {
            body["BizType"] = self.biz_type.clone().into();
        }
        self.send(transport, call, &body, deadline, now).await
    }

    /// Signs and sends one call within `deadline` and reads its
    /// `Response` (Tencent's `Error` as [`ModerationError::Api`]).
    async fn send<T: Transport, A: serde::de::DeserializeOwned>(
        &self,
        transport: &T,
        call: Call<'_>,
        body: &Value,
        deadline: Duration,
        now: u64,
    ) -> Result<A, ModerationError> {
        let Call {
            origin,
            service,
            action,
            version,
        } = call;
        let request = self.request(origin, service, (action, version), body, now);
        let send = std::pin::pin!(transport.send(request));
        let expire = std::pin::pin!(transport.sleep(deadline));
        let response = match futures::future::select(send, expire).await {
            futures::future::Either::Left((Ok(response), _)) => response,
            futures::future::Either::Left((Err(message), _)) => {
                return Err(ModerationError::Transport { action, message });
            }
            futures::future::Either::Right(((), _)) => {
                return Err(ModerationError::Timeout {
                    action,
                    ms: deadline.as_millis(),
                });
            }
        };
        let unreadable = |message: String| ModerationError::Unreadable { action, message };
        let answer: Value = serde_json::from_slice(&response.body)
            .map_err(|e| unreadable(format!("HTTP {}: not JSON: {e}", response.status)))?;
        let inner = &answer["Response"];
        if let Some(error) = inner.get("Error") {
            return Err(ModerationError::Api {
                action,
                code: error["Code"].as_str().unwrap_or("unknown").to_string(),
                message: error["Message"].as_str().unwrap_or("").to_string(),
                request_id: inner["RequestId"].as_str().unwrap_or("").to_string(),
            });
        }
        if response.status != 200 {
            return Err(unreadable(format!(
                "HTTP {} without an Error",
                response.status
            )));
        }
        serde_json::from_value(inner.clone()).map_err(|e| unreadable(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use transport::testing::{Scripted, answer, block_on};

    /// The value of the header `name` a request was sent with.
    fn header(sent: &HttpRequest, name: &str) -> String {
        let found = sent.headers.iter().find(|(k, _)| k == name);
        found
            .unwrap_or_else(|| panic!("no {name} header"))
            .1
            .clone()
    }

    fn service() -> TencentModeration {
        TencentModeration {
            credential: Credential {
                secret_id: "AKIDtest".into(),
                secret_key: "key".into(),
            },
            region: "ap-singapore".into(),
            tms_url: "http://127.0.0.1:4000".into(),
            ims_url: "https://ims.tencentcloudapi.com".into(),
            ams_url: "https://ams.tencentcloudapi.com".into(),
            vm_url: "https://vm.tencentcloudapi.com".into(),
            biz_type: "chat_policy".into(),
        }
    }

    #[test]
    fn a_text_is_sent_base64_signed_for_tms_and_its_judgement_read() {
        let script = Scripted::new(vec![answer(
            200,
            &[],
            json!({"Response": {"Suggestion": "Block", "Label": "Abuse", "SubLabel": "", "Score": 99,
                                "Keywords": ["x"], "RequestId": "r1"}}),
        )]);
        let judgement = block_on(service().text(
            &&script,
            "你好 hi",
            "group:g:1",
            Duration::from_secs(1),
            1_764_147_600,
        ))
        .unwrap();
        assert_eq!(judgement.suggestion, Suggestion::Block);
        assert_eq!(
            judgement.flagged(&BTreeMap::new()).as_deref(),
            Some("abuse")
        );
        let sent = &script.sent()[0];
        assert_eq!(sent.url, "http://127.0.0.1:4000/");
        let body: Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(
            body["Content"],
            base64::engine::general_purpose::STANDARD.encode("你好 hi")
        );
        assert_eq!(body["BizType"], "chat_policy");
        let header = |name: &str| header(sent, name);
        assert_eq!(header("x-tc-action"), "TextModeration");
        assert_eq!(header("x-tc-version"), VERSION);
        let signed = Signable {
            service: "tms",
            host: "127.0.0.1",
            content_type: "application/json",
            payload: &sent.body,
            timestamp: 1_764_147_600,
        };
        assert_eq!(
            tc3::verify(
                &header("authorization"),
                &service().credential,
                &signed,
                1_764_147_600,
                0
            ),
            Ok(())
        );
    }

    #[test]
    fn an_audio_goes_to_ams_by_url_with_its_format_and_is_judged_like_the_rest() {
        let script = Scripted::new(vec![answer(
            200,
            &[],
            json!({"Response": {"DataId": "c2c:k", "Suggestion": "Review", "Label": "Moan",
                                "Score": 75, "AsrText": "", "RequestId": "r3"}}),
        )]);
        let judgement = block_on(service().audio(
            &&script,
            "https://cdn.example/v.m4a",
            "m4a",
            "c2c:k",
            Duration::from_secs(1),
            1_764_147_600,
        ))
        .unwrap();
        assert_eq!(judgement.flagged(&BTreeMap::new()), None);
        assert_eq!(
            judgement
                .flagged(&BTreeMap::from([("moan".to_string(), 0.7)]))
                .as_deref(),
            Some("moan")
        );
        let sent = &script.sent()[0];
        assert_eq!(sent.url, "https://ams.tencentcloudapi.com/");
        let body: Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(
            (&body["FileUrl"], &body["FileFormat"], &body["DataId"]),
            (
                &json!("https://cdn.example/v.m4a"),
                &json!("m4a"),
                &json!("c2c:k")
            )
        );
        assert_eq!(header(sent, "x-tc-action"), "CreateAudioModerationSyncTask");
        assert!(
            header(sent, "authorization").contains("/ams/tc3_request"),
            "signed for AMS's scope"
        );
    }

    #[test]
    fn a_video_task_goes_to_vm_with_its_callback_and_answers_its_id() {
        let callback = VideoCallback {
            url: "https://app.example/moderation/tencent/video".into(),
            seed: "seed-1".into(),
        };
        let script = Scripted::new(vec![
            answer(
                200,
                &[],
                json!({"Response": {"Results": [{"DataId": "group:g:7", "TaskId": "task-1", "Code": "OK", "Message": "OK"}],
                                    "RequestId": "r4"}}),
            ),
            answer(
                200,
                &[],
                json!({"Response": {"Results": [{"DataId": "x", "TaskId": "", "Code": "InvalidParameter.Url", "Message": "bad url"}],
                                    "RequestId": "r5"}}),
            ),
        ]);
        let task = block_on(service().video_task(
            &&script,
            "https://cdn.example/v.mp4",
            "group:g:7",
            &callback,
            Duration::from_secs(1),
            1_764_147_600,
        ));
        assert_eq!(task.as_deref(), Ok("task-1"));
        let sent = &script.sent()[0];
        assert_eq!(sent.url, "https://vm.tencentcloudapi.com/");
        let body: Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(body["Type"], "VIDEO");
        assert_eq!(
            body["Tasks"],
            json!([{"DataId": "group:g:7", "Input": {"Type": "URL", "Url": "https://cdn.example/v.mp4"}}])
        );
        assert_eq!(
            (&body["CallbackUrl"], &body["Seed"], &body["BizType"]),
            (
                &json!(callback.url),
                &json!("seed-1"),
                &json!("chat_policy")
            )
        );
        let header = |name: &str| header(sent, name);
        assert_eq!(header("x-tc-action"), "CreateVideoModerationTask");
        assert_eq!(header("x-tc-version"), VIDEO_VERSION);
        assert!(header("authorization").contains("/vm/tc3_request"));

        let refused = block_on(service().video_task(
            &&script,
            "nope",
            "x",
            &callback,
            Duration::from_secs(1),
            5,
        ))
        .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "CreateVideoModerationTask: InvalidParameter.Url: bad url (RequestId )"
        );
    }

    #[test]
    fn errors_name_the_call_and_tencents_code_never_the_key() {
        let script = Scripted::new(vec![answer(
            200,
            &[],
            json!({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad"}, "RequestId": "r2"}}),
        )]);
        let error =
            block_on(service().image(&&script, "https://x/y.png", "k", Duration::from_secs(1), 5))
                .unwrap_err();
        assert_eq!(
            error.to_string(),
            "ImageModeration: AuthFailure.SignatureFailure: bad (RequestId r2)"
        );
        assert!(!error.to_string().contains("key"));
        let script = Scripted::new(vec![answer(502, &[], "<html>")]);
        let error =
            block_on(service().text(&&script, "t", "k", Duration::from_secs(1), 5)).unwrap_err();
        assert!(
            matches!(error, ModerationError::Unreadable { .. }),
            "{error}"
        );
        let script = Scripted::new(vec![Err("connection refused".into())]);
        let error =
            block_on(service().text(&&script, "t", "k", Duration::from_secs(1), 5)).unwrap_err();
        assert_eq!(error.to_string(), "TextModeration: connection refused");
    }

    #[test]
    fn a_long_text_is_cut_and_host_names_lose_their_port() {
        let script = Scripted::new(vec![answer(
            200,
            &[],
            json!({"Response": {"Suggestion": "Pass"}}),
        )]);
        let long = "字".repeat(MAX_TEXT_CHARS + 5);
        let judgement =
            block_on(service().text(&&script, &long, "k", Duration::from_secs(1), 5)).unwrap();
        assert_eq!(judgement.flagged(&BTreeMap::new()), None);
        let body: Value = serde_json::from_slice(&script.sent()[0].body).unwrap();
        let sent = base64::engine::general_purpose::STANDARD
            .decode(body["Content"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(sent).unwrap().chars().count(),
            MAX_TEXT_CHARS
        );
        assert_eq!(
            host_name("https://tms.tencentcloudapi.com"),
            "tms.tencentcloudapi.com"
        );
        assert_eq!(host_name("http://127.0.0.1:4000/x"), "127.0.0.1");
        assert_eq!(
            host_name("tms.intl.tencentcloudapi.com"),
            "tms.intl.tencentcloudapi.com"
        );
    }
}
