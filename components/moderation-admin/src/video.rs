//! `POST /moderation/tencent/video`: Tencent Cloud's Video Moderation
//! results for the videos the moderator sent it (see `tencent_cloud`'s
//! `callback` module for the signature).
//!
//! Tencent signs each result with the seed the task was created with; the
//! route is public, so the signature is the whole of its authentication:
//! a body that does not verify is refused (401) and changes nothing. A
//! verified result acts once: the first copy claims the task, a copy sent
//! again (a retry, or a replay) finds it claimed (200, `duplicate`) or gone
//! (404), and a result for a task the moderator did not start (404), or
//! whose window has ended, changes nothing. A flagged video's message is taken back as the moderator takes
//! back flagged media ([`connector::removal`]); when IM fails, the claim is
//! given back and the answer is 502, so Tencent's retry tries again.

use connector::config::{optional_variable, unix_now};
use connector::edge::Request;
use connector::im::ImSettings;
use connector::removal::{PendingVideo, remove};
use connector::reply::{self, JsonResponse};
use connector::state::{Claim, Records};
use http::{Method, StatusCode};
use screening::policy::Policy;
use screening::review::{DecisionLog, log_decision};
use serde_json::json;
use tencent_cloud::callback::{self, SIGNATURE_HEADER, TaskResult};

/// The route.
pub const PATH: &str = "/moderation/tencent/video";

/// A task result is a few kilobytes (its 30 worst segments at most).
const MAX_RESULT_BODY: usize = 256 * 1024;

/// Handles one posted result.
pub async fn result(req: Request) -> JsonResponse {
    if req.method() != Method::POST {
        return reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "video results are POSTed by Tencent Cloud",
        );
    }
    let seed = optional_variable("tencent_callback_seed");
    if seed.is_empty() {
        return reply::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "video results are off: tencent_callback_seed is not set",
        );
    }
    let (parts, body) = req.into_parts();
    let body = match connector::edge::read_body(&parts.headers, body, MAX_RESULT_BODY).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let sent = parts
        .headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !callback::verify(&seed, &body, sent) {
        return reply::error(
            StatusCode::UNAUTHORIZED,
            "X-Signature does not sign this body with the configured seed",
        );
    }
    let result = match TaskResult::parse(&body) {
        Ok(result) => result,
        Err(e) => return reply::bad_field(e.field, e.message),
    };
    if !result.is_final() {
        return answer("interim", &result.task_id);
    }
    let records = match Records::open() {
        Ok(records) => records,
        Err(e) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    act(&records, &result)
        .await
        .unwrap_or_else(|e| reply::error(StatusCode::INTERNAL_SERVER_ERROR, e))
}

fn answer(status: &str, task_id: &str) -> JsonResponse {
    reply::json(
        StatusCode::OK,
        &json!({ "status": status, "task_id": task_id }),
    )
}

/// Acts on a final result once.
async fn act(records: &Records, result: &TaskResult) -> Result<JsonResponse, String> {
    let task_id = &result.task_id;
    let key = PendingVideo::key(task_id);
    let Some(pending) = records.get::<PendingVideo>(&key)? else {
        // Done already (a replay), never started here, or (rarely) posted
        // before the moderator kept it: Tencent retries what is not 200.
        return Ok(reply::error(
            StatusCode::NOT_FOUND,
            format!("no video check is waiting for task {task_id}"),
        ));
    };
    if pending.until < unix_now() {
        records.delete(&key)?;
        return Ok(answer("expired", task_id));
    }
    let claim = format!("video-result:{task_id}");
    if records.claim(&claim, pending.until)? == Claim::Taken {
        return Ok(answer("duplicate", task_id));
    }
    let message = pending.delivered.key();
    if result.status.as_deref() == Some("ERROR") {
        eprintln!(
            "moderation: video check of {message} failed at Tencent (task {task_id}): {}",
            result
                .error_description
                .as_deref()
                .unwrap_or("no description")
        );
        records.delete(&key)?;
        return Ok(answer("failed", task_id));
    }
    let policy = match Policy::parse(&optional_variable("moderator_policy")) {
        Ok(policy) => policy,
        Err(e) => {
            records.release(&claim, pending.until)?;
            return Err(format!("moderator_policy: {e}"));
        }
    };
    let judgement = result.judgement();
    let flagged = judgement
        .as_ref()
        .and_then(|j| j.flagged(&policy.external.thresholds).map(|c| (c, j.score)));
    let Some((category, score)) = flagged else {
        records.delete(&key)?;
        return Ok(answer("passed", task_id));
    };
    let im = match ImSettings::load() {
        Ok(im) => im,
        Err(e) => {
            records.release(&claim, pending.until)?;
            return Err(e);
        }
    };
    let (outcome, error) = remove(
        &im.client(),
        &pending.delivered,
        &policy.external,
        &category,
    )
    .await;
    log_decision(&DecisionLog {
        key: &message,
        command: "video check",
        outcome,
        category: &category,
        rule: &format!("moderations:{category}"),
        severity: 0,
        score: Some(f64::from(score) / 100.0),
        excerpt: None,
        error: error.as_deref(),
        scope: None,
    });
    if outcome == "recall-failed" {
        // Tencent retries a result that is not answered 200.
        records.release(&claim, pending.until)?;
        return Ok(reply::upstream(
            "taking the message back",
            error.unwrap_or_default(),
        ));
    }
    records.delete(&key)?;
    Ok(reply::json(
        StatusCode::OK,
        &json!({ "status": outcome, "task_id": task_id, "category": category }),
    ))
}
