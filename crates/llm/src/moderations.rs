//! OpenAI's moderation endpoint (`POST {base}/moderations`,
//! `omni-moderation-latest`): text and image inputs judged in one call,
//! per-category scores compared with configurable thresholds.
//!
//! One attempt within a deadline and no retries: the moderator calls it
//! inside IM's callback budget (text) or right after delivery (media), and
//! a late verdict is worth nothing in the first case.

use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use transport::{HttpRequest, Transport};

/// Where the endpoint is and how to call it.
#[derive(Clone)]
pub struct ModerationApi {
    /// Base URL including the version (`https://api.openai.com/v1`).
    pub base_url: String,
    /// API key (never logged).
    pub api_key: String,
    /// Model (`omni-moderation-latest`).
    pub model: String,
}

/// Something to judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Text.
    Text(String),
    /// An image, by URL (`https://…` or `data:image/…;base64,…`).
    ImageUrl(String),
}

/// The verdict on all inputs together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Whether anything was flagged.
    pub flagged: bool,
    /// The flagged categories with their scores, highest first.
    pub categories: Vec<(String, f64)>,
}

/// Why there is no verdict.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModerationError {
    /// No answer before the deadline.
    #[error("moderation: no answer within {0} ms")]
    Timeout(u128),
    /// The request could not be sent.
    #[error("moderation: {0}")]
    Transport(String),
    /// An error answer.
    #[error("moderation: HTTP {status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// An answer that is not a moderation result.
    #[error("moderation: unreadable answer: {0}")]
    Unreadable(String),
}

/// Judges `inputs` in one call. A category counts as flagged when its
/// score reaches its threshold in `thresholds`; categories without a
/// threshold use the provider's own `categories` booleans.
pub async fn moderate<T: Transport>(
    transport: &T,
    api: &ModerationApi,
    inputs: &[Input],
    thresholds: &BTreeMap<String, f64>,
    deadline: Duration,
) -> Result<Verdict, ModerationError> {
    let input: Vec<Value> = inputs
        .iter()
        .map(|i| match i {
            Input::Text(text) => json!({ "type": "text", "text": text }),
            Input::ImageUrl(url) => json!({ "type": "image_url", "image_url": { "url": url } }),
        })
        .collect();
    let request = HttpRequest {
        method: "POST",
        url: format!("{}/moderations", api.base_url.trim_end_matches('/')),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("authorization".into(), format!("Bearer {}", api.api_key)),
        ],
        body: json!({ "model": api.model, "input": input })
            .to_string()
            .into_bytes(),
        timeout: None,
    };
    let send = std::pin::pin!(transport.send(request));
    let expire = std::pin::pin!(transport.sleep(deadline));
    let response = match futures::future::select(send, expire).await {
        futures::future::Either::Left((Ok(response), _)) => response,
        futures::future::Either::Left((Err(message), _)) => {
            return Err(ModerationError::Transport(message));
        }
        futures::future::Either::Right(((), _)) => {
            return Err(ModerationError::Timeout(deadline.as_millis()));
        }
    };
    let body: Value = serde_json::from_slice(&response.body)
        .map_err(|e| ModerationError::Unreadable(e.to_string()))?;
    if response.status != 200 {
        return Err(ModerationError::Api {
            status: response.status,
            message: body["error"]["message"]
                .as_str()
                .unwrap_or("no message")
                .to_string(),
        });
    }
    let results = body["results"]
        .as_array()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ModerationError::Unreadable("no `results`".into()))?;
    Ok(judge(results, thresholds))
}

fn judge(results: &[Value], thresholds: &BTreeMap<String, f64>) -> Verdict {
    let mut flagged: BTreeMap<String, f64> = BTreeMap::new();
    for result in results {
        let Some(scores) = result["category_scores"].as_object() else {
            continue;
        };
        for (category, score) in scores {
            let score = score.as_f64().unwrap_or(0.0);
            let hit = match thresholds.get(category) {
                Some(threshold) => score >= *threshold,
                None => result["categories"][category].as_bool().unwrap_or(false),
            };
            if hit {
                let best = flagged.entry(category.clone()).or_insert(score);
                *best = best.max(score);
            }
        }
    }
    let mut categories: Vec<(String, f64)> = flagged.into_iter().collect();
    categories.sort_by(|a, b| b.1.total_cmp(&a.1));
    Verdict {
        flagged: !categories.is_empty(),
        categories,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use transport::testing::{Scripted, answer, block_on};

    fn api() -> ModerationApi {
        ModerationApi {
            base_url: "https://api.openai.com/v1/".into(),
            api_key: "sk-test".into(),
            model: "omni-moderation-latest".into(),
        }
    }

    const FLAGGED: &str = r#"{"id":"modr-1","model":"omni-moderation-latest","results":[{"flagged":true,
        "categories":{"sexual":true,"violence":false,"illicit":null},
        "category_scores":{"sexual":0.93,"violence":0.41,"illicit":0.0}}]}"#;

    #[test]
    fn sends_text_and_images_and_reads_flags() {
        let transport = Scripted::new(vec![answer(200, &[], FLAGGED)]);
        let verdict = block_on(moderate(
            &&transport,
            &api(),
            &[
                Input::Text("hello".into()),
                Input::ImageUrl("https://x/y.png".into()),
            ],
            &BTreeMap::new(),
            Duration::from_secs(1),
        ))
        .unwrap();
        assert_eq!(verdict.categories, [("sexual".to_string(), 0.93)]);
        let sent = &transport.sent()[0];
        assert_eq!(sent.url, "https://api.openai.com/v1/moderations");
        let body: Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(body["model"], "omni-moderation-latest");
        assert_eq!(body["input"][1]["image_url"]["url"], "https://x/y.png");
        assert!(
            sent.headers
                .iter()
                .any(|(k, v)| k == "authorization" && v == "Bearer sk-test")
        );
    }

    #[test]
    fn thresholds_override_the_providers_booleans() {
        let transport = Scripted::new(vec![answer(200, &[], FLAGGED)]);
        let thresholds =
            BTreeMap::from([("sexual".to_string(), 0.95), ("violence".to_string(), 0.4)]);
        let verdict = block_on(moderate(
            &&transport,
            &api(),
            &[Input::Text("x".into())],
            &thresholds,
            Duration::from_secs(1),
        ))
        .unwrap();
        assert_eq!(verdict.categories, [("violence".to_string(), 0.41)]);
    }

    #[test]
    fn errors_are_typed() {
        let transport = Scripted::new(vec![answer(
            401,
            &[],
            r#"{"error":{"message":"Incorrect API key provided"}}"#,
        )]);
        let error = block_on(moderate(
            &&transport,
            &api(),
            &[Input::Text("x".into())],
            &BTreeMap::new(),
            Duration::from_secs(1),
        ))
        .unwrap_err();
        assert_eq!(
            error,
            ModerationError::Api {
                status: 401,
                message: "Incorrect API key provided".into()
            }
        );
    }
}
