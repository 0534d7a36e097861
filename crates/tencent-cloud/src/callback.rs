//! The results Tencent Cloud posts back for a moderation task (a video's,
//! started by [`TencentModeration::video_task`](crate::TencentModeration::video_task)).
//!
//! A task is created with a `Seed`; each callback then carries
//! `X-Signature: hex(SHA-256(seed ‖ body))` over the raw body. [`verify`]
//! checks it in constant time: with a seed only Switchboard and Tencent
//! know, a body that verifies came from Tencent and was not changed. The
//! signature covers no time, so a captured callback can be sent again: the
//! receiver acts on a task's result once (the moderator claims the task
//! id) and forgets tasks it did not start.
//!
//! ```
//! use tencent_cloud::callback::{TaskResult, signature, verify};
//!
//! let seed = "dedb6dcc1cb7c63fde8fa5abfd57";
//! let body = br#"{"TaskId": "task-video-X0zpcRUMzVidxj20","DataId":"test","Suggestion": "Block"}"#;
//! let sent = signature(seed, body);
//! assert!(sent.starts_with("74f0ae6d"));
//! assert!(verify(seed, body, &sent));
//! assert!(!verify("guessed-seed", body, &sent));
//!
//! let result = TaskResult::parse(body).unwrap();
//! assert!(result.is_final());
//! assert_eq!(result.task_id, "task-video-X0zpcRUMzVidxj20");
//! ```

use crate::moderation::{Judgement, Suggestion};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// One field of a callback body, or an error naming it.
fn field<T: DeserializeOwned>(
    value: &serde_json::Value,
    name: &'static str,
) -> Result<T, ResultError> {
    let raw = value.get(name).cloned().unwrap_or(serde_json::Value::Null);
    serde_json::from_value(raw).map_err(|e| ResultError {
        field: name,
        message: e.to_string(),
    })
}
use subtle::ConstantTimeEq;

/// The header the signature comes in.
pub const SIGNATURE_HEADER: &str = "x-signature";

/// `hex(SHA-256(seed ‖ body))`, in lower case: what Tencent Cloud sends.
pub fn signature(seed: &str, body: &[u8]) -> String {
    crate::tc3::sha256_hex(&[seed.as_bytes(), body].concat())
}

/// Whether `sent` (the `X-Signature` header, hex in either case) signs
/// `body` under `seed`, compared in constant time. An empty seed verifies
/// nothing.
pub fn verify(seed: &str, body: &[u8], sent: &str) -> bool {
    if seed.is_empty() {
        return false;
    }
    let expected = signature(seed, body);
    let sent = sent.trim().to_ascii_lowercase();
    expected.as_bytes().ct_eq(sent.as_bytes()).into()
}

/// One label's finding in a task result.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LabelResult {
    /// `Label` (`Porn`, `Abuse`, …).
    #[serde(rename = "Label", default)]
    pub label: String,
    /// `Suggestion`.
    #[serde(rename = "Suggestion")]
    pub suggestion: Suggestion,
    /// `Score`, 0–100.
    #[serde(rename = "Score", default)]
    pub score: u8,
}

/// What a callback says of a task (the fields of Tencent's task detail
/// this receiver reads; the rest are ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskResult {
    /// `TaskId`, as the task's creation answered it.
    pub task_id: String,
    /// `DataId`, as the task was created with.
    pub data_id: String,
    /// `Status`: `FINISH` once the task is done; `RUNNING` for a segment's
    /// interim result; `ERROR` when it failed. Absent: a final result.
    pub status: Option<String>,
    /// The overall `Suggestion` (absent while running).
    pub suggestion: Option<Suggestion>,
    /// Per-label findings (`Labels`).
    pub labels: Vec<LabelResult>,
    /// `ErrorDescription` of a failed task.
    pub error_description: Option<String>,
}

/// Why a callback body is not a task result: the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ResultError {
    /// The field (`body` when it is not JSON at all).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl TaskResult {
    /// Reads a callback body; the error names the field at fault.
    pub fn parse(body: &[u8]) -> Result<Self, ResultError> {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| ResultError {
            field: "body",
            message: format!("not JSON: {e}"),
        })?;
        if !value.is_object() {
            return Err(ResultError {
                field: "body",
                message: "not a JSON object".into(),
            });
        }
        let task_id: String = field(&value, "TaskId")?;
        if task_id.is_empty() {
            return Err(ResultError {
                field: "TaskId",
                message: "empty".into(),
            });
        }
        Ok(Self {
            task_id,
            data_id: field::<Option<String>>(&value, "DataId")?.unwrap_or_default(),
            status: field(&value, "Status")?,
            suggestion: field(&value, "Suggestion")?,
            labels: field::<Option<Vec<LabelResult>>>(&value, "Labels")?.unwrap_or_default(),
            error_description: field(&value, "ErrorDescription")?,
        })
    }

    /// Whether this is the task's last word (`FINISH`, `ERROR`, or no
    /// status), not a running segment's.
    pub fn is_final(&self) -> bool {
        !matches!(self.status.as_deref(), Some("RUNNING" | "PENDING"))
    }

    /// The task's judgement, as the text, image and audio calls give one:
    /// the overall suggestion with the label that carries it (the
    /// highest-scoring label of that suggestion). `None` for a task that
    /// failed or has no suggestion.
    pub fn judgement(&self) -> Option<Judgement> {
        if self.status.as_deref() == Some("ERROR") {
            return None;
        }
        let suggestion = self.suggestion?;
        let carrier = self
            .labels
            .iter()
            .filter(|l| l.suggestion == suggestion)
            .max_by_key(|l| l.score);
        Some(Judgement {
            suggestion,
            label: carrier.map_or_else(|| "Normal".into(), |l| l.label.clone()),
            sub_label: String::new(),
            score: carrier.map_or(0, |l| l.score),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const SEED: &str = "dedb6dcc1cb7c63fde8fa5abfd57";
    const BLOCK: &[u8] =
        br#"{"TaskId": "task-video-X0zpcRUMzVidxj20","DataId":"test","Suggestion": "Block"}"#;

    #[test]
    fn the_signature_is_sha256_of_seed_then_body_in_hex() {
        // Vectors computed apart: printf '%s' "<seed><body>" | sha256sum
        assert_eq!(
            signature(SEED, BLOCK),
            "74f0ae6d1f1e4eb1ffe4162da480a812f8a4dc19fe5a52bacbcd2c862d3edcfd"
        );
        let pass =
            br#"{"TaskId": "task-video-X0zpcRUMzVidxj20","DataId":"test","Suggestion": "Pass"}"#;
        assert_eq!(
            signature(SEED, pass),
            "4a97cbc9f52b26c8fb4a79ba94041d05cc713454b91abf830ae70ffe0284b392"
        );
    }

    #[test]
    fn only_the_seeds_signature_of_this_very_body_verifies() {
        let sent = signature(SEED, BLOCK);
        assert!(verify(SEED, BLOCK, &sent));
        assert!(verify(SEED, BLOCK, &sent.to_ascii_uppercase()));
        assert!(!verify(SEED, BLOCK, &sent[..63]));
        assert!(!verify(SEED, b"{}", &sent), "another body");
        assert!(!verify("other-seed", BLOCK, &sent));
        assert!(
            !verify("", BLOCK, &signature("", BLOCK)),
            "no seed, no trust"
        );
        assert!(!verify(SEED, BLOCK, ""));
    }

    #[test]
    fn a_result_names_its_label_and_running_segments_are_not_final() {
        let body =
            br#"{"TaskId": "t1", "DataId": "group:g:5", "Status": "FINISH", "Suggestion": "Review",
            "Labels": [{"Label": "Ad", "Suggestion": "Review", "Score": 40},
                       {"Label": "Porn", "Suggestion": "Review", "Score": 80},
                       {"Label": "Normal", "Suggestion": "Pass", "Score": 99}],
            "MediaInfo": {"Duration": 12}}"#;
        let result = TaskResult::parse(body).unwrap();
        assert!(result.is_final());
        let judgement = result.judgement().unwrap();
        assert_eq!((judgement.label.as_str(), judgement.score), ("Porn", 80));
        let thresholds = BTreeMap::from([("porn".to_string(), 0.7)]);
        assert_eq!(judgement.flagged(&thresholds).as_deref(), Some("porn"));

        let running = TaskResult::parse(br#"{"TaskId": "t1", "Status": "RUNNING"}"#).unwrap();
        assert!(!running.is_final());
        let failed = TaskResult::parse(
            br#"{"TaskId": "t1", "Status": "ERROR", "ErrorDescription": "download failed"}"#,
        )
        .unwrap();
        assert!(failed.is_final() && failed.judgement().is_none());
    }

    #[test]
    fn a_malformed_body_names_the_field() {
        assert_eq!(TaskResult::parse(b"<xml/>").unwrap_err().field, "body");
        assert_eq!(TaskResult::parse(b"{}").unwrap_err().field, "TaskId");
        assert_eq!(
            TaskResult::parse(br#"{"TaskId": "t", "Suggestion": "Maybe"}"#)
                .unwrap_err()
                .field,
            "Suggestion"
        );
        assert_eq!(
            TaskResult::parse(br#"{"TaskId": ""}"#).unwrap_err().field,
            "TaskId"
        );
    }
}
