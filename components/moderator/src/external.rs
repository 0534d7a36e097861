//! The external moderation service the policy names: OpenAI's
//! `/moderations` or Tencent Cloud's Text, Image and Audio Moderation,
//! behind one question: does anything here stop the message, and under
//! which category?

use connector::outbound::SpinHttp;
use llm::moderations::{self, Input, ModerationApi};
use screening::media::Subject;
use std::collections::BTreeMap;
use std::time::Duration;
use tencent_cloud::TencentModeration;

/// A configured service.
pub enum External {
    /// OpenAI-compatible `/moderations`.
    OpenAi(ModerationApi),
    /// Tencent Cloud TMS, IMS and AMS.
    Tencent(TencentModeration),
}

/// What stopped a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Flagged {
    /// The category (OpenAI's, or Tencent's label in lower case).
    pub category: String,
    /// Its score, 0–1.
    pub score: f64,
}

impl External {
    /// Whether this service judges `subject`: OpenAI's `/moderations`
    /// reads text and images only.
    pub fn judges(&self, subject: &Subject) -> bool {
        !matches!(
            (self, subject),
            (External::OpenAi(_), Subject::Audio { .. })
        )
    }

    /// Judges `subjects` (those it [`judges`](Self::judges)) within
    /// `deadline`; `key` names the message to the service. `Ok(None)`:
    /// nothing stops it.
    pub async fn judge(
        &self,
        subjects: &[Subject],
        key: &str,
        thresholds: &BTreeMap<String, f64>,
        deadline: Duration,
    ) -> Result<Option<Flagged>, String> {
        let http = SpinHttp::within(deadline);
        match self {
            External::OpenAi(api) => {
                let inputs: Vec<Input> = subjects
                    .iter()
                    .filter_map(|subject| match subject {
                        Subject::Text(text) => Some(Input::Text(text.clone())),
                        Subject::Image(url) => Some(Input::ImageUrl(url.clone())),
                        Subject::Audio { .. } => None,
                    })
                    .collect();
                if inputs.is_empty() {
                    return Ok(None);
                }
                let verdict = moderations::moderate(&http, api, &inputs, thresholds, deadline)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(verdict.categories.first().map(|(category, score)| Flagged {
                    category: category.clone(),
                    score: *score,
                }))
            }
            External::Tencent(service) => {
                let now = connector::config::unix_now();
                // Each subject is its own call; they run side by side, so the
                // deadline bounds them all.
                let calls = subjects.iter().map(|subject| async {
                    match subject {
                        Subject::Text(text) => service.text(&http, text, key, deadline, now).await,
                        Subject::Image(url) => service.image(&http, url, key, deadline, now).await,
                        Subject::Audio { url, format } => {
                            service.audio(&http, url, format, key, deadline, now).await
                        }
                    }
                });
                let mut flagged = None;
                for judgement in futures::future::join_all(calls).await {
                    let judgement = judgement.map_err(|e| e.to_string())?;
                    if flagged.is_none()
                        && let Some(category) = judgement.flagged(thresholds)
                    {
                        flagged = Some(Flagged {
                            category,
                            score: f64::from(judgement.score) / 100.0,
                        });
                    }
                }
                Ok(flagged)
            }
        }
    }
}
