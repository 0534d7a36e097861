//! The external moderation service the policy names: OpenAI's
//! `/moderations` or Tencent Cloud's Text and Image Moderation, behind one
//! question: does anything here stop the message, and under which
//! category?

use connector::outbound::SpinHttp;
use llm::moderations::{self, Input, ModerationApi};
use std::collections::BTreeMap;
use std::time::Duration;
use tencent_cloud::TencentModeration;

/// A configured service.
pub enum External {
    /// OpenAI-compatible `/moderations`.
    OpenAi(ModerationApi),
    /// Tencent Cloud TMS and IMS.
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
    /// Judges `inputs` (text and image URLs) within `deadline`; `key`
    /// names the message to the service. `Ok(None)`: nothing stops it.
    pub async fn judge(
        &self,
        inputs: &[Input],
        key: &str,
        thresholds: &BTreeMap<String, f64>,
        deadline: Duration,
    ) -> Result<Option<Flagged>, String> {
        let http = SpinHttp::within(deadline);
        match self {
            External::OpenAi(api) => {
                let verdict = moderations::moderate(&http, api, inputs, thresholds, deadline)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(verdict.categories.first().map(|(category, score)| Flagged {
                    category: category.clone(),
                    score: *score,
                }))
            }
            External::Tencent(service) => {
                let now = connector::config::unix_now();
                // Each input is its own call; they run side by side, so the
                // deadline bounds them all.
                let calls = inputs.iter().map(|input| async {
                    match input {
                        Input::Text(text) => service.text(&http, text, key, deadline, now).await,
                        Input::ImageUrl(url) => service.image(&http, url, key, deadline, now).await,
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
