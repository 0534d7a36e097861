//! Decisions, after the answer: each one that is not `allow` is kept in the
//! review list (see [`screening::review`]; the `moderation-admin`
//! component lists and marks them) and, when `moderation_events_secret` is
//! set, POSTed as a signed event to `moderation_events_origin` +
//! `moderation_events_path` (see [`webhook_signature::switchboard`]),
//! retried with backoff. Nothing here delays IM's answer.
//!
//! IM may deliver a callback twice; the decision's id is the same both
//! times and is claimed first, so it is kept and announced once.

use connector::config::{optional_variable, unix_now};
use connector::outbound::SpinHttp;
use connector::state::{Claim, Records};
use screening::policy::Policy;
use screening::review::{self, Decision, Delivery, Origin, Reviewed};
use screening::verdict::Verdict;
use std::time::Duration;

/// How long a decision's claim lasts: IM redelivers within seconds.
const CLAIM_SECS: u64 = 86_400;
/// Waits between attempts of an event (four attempts in about half a
/// minute).
const BACKOFF: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(20),
];
/// How long one attempt may take.
const ATTEMPT_BUDGET: Duration = Duration::from_secs(10);
/// Where the last sweep of expired decisions is marked (not under
/// [`review::KEY_PREFIX`]: it is not a decision).
const SWEEP_KEY: &str = "mod:review-swept-at";

/// Where events go, when they are on.
struct Endpoint {
    url: String,
    secret: String,
}

impl Endpoint {
    /// The configured endpoint; `Err` when the secret is set but the origin
    /// is not.
    fn load() -> Result<Option<Self>, String> {
        let secret = optional_variable("moderation_events_secret");
        if secret.is_empty() {
            return Ok(None);
        }
        let origin = optional_variable("moderation_events_origin");
        let origin = origin.trim_end_matches('/');
        if origin.is_empty() || origin.ends_with(".invalid") {
            return Err(
                "moderation_events_secret is set but moderation_events_origin is not: \
                 set it to the origin (scheme://host[:port]) of the endpoint"
                    .into(),
            );
        }
        Ok(Some(Self {
            url: format!("{origin}{}", optional_variable("moderation_events_path")),
            secret,
        }))
    }
}

/// Keeps and announces the decision `verdict` is, after the answer.
/// `outcome` names what was done when it is not the verdict's outcome.
pub fn record(policy: &Policy, origin: Origin<'_>, verdict: &Verdict, outcome: Option<&str>) {
    let Some(decision) = Decision::of(origin, verdict, outcome, unix_now()) else {
        return;
    };
    let endpoint = match Endpoint::load() {
        Ok(endpoint) => endpoint,
        Err(e) => {
            eprintln!("moderator: decision {}: no event: {e}", decision.id);
            None
        }
    };
    if !policy.review.store && endpoint.is_none() {
        return;
    }
    let keep = policy.review.store.then_some(policy.review.retention_secs);
    let with_text = policy.log_text;
    connector::edge::after_response(async move {
        if let Err(e) = announce(decision, keep, with_text, endpoint).await {
            eprintln!("moderator: {e}");
        }
    });
}

async fn announce(
    decision: Decision,
    keep: Option<u64>,
    with_text: bool,
    endpoint: Option<Endpoint>,
) -> Result<(), String> {
    let records = Records::open()?;
    let claim = format!("mod:decision:{}", decision.id);
    if records.claim(&claim, decision.time + CLAIM_SECS)? == Claim::Taken {
        return Ok(());
    }
    let key = decision.store_key();
    if let Some(retention) = keep {
        let reviewed = Reviewed {
            decision: decision.clone(),
            delivery: if endpoint.is_some() {
                Delivery::Pending
            } else {
                Delivery::Off
            },
            false_positive: None,
        };
        records.put(&key, &reviewed)?;
        if let Err(e) = sweep(&records, unix_now(), retention) {
            eprintln!("moderator: {e}");
        }
    }
    let Some(endpoint) = endpoint else {
        return Ok(());
    };
    let body = serde_json::to_vec(&decision.event(with_text)).expect("an event serializes");
    let sent = webhook_signature::switchboard::post_signed(
        || SpinHttp::within(ATTEMPT_BUDGET),
        &endpoint.url,
        &endpoint.secret,
        &decision.id,
        &body,
        unix_now,
        &BACKOFF,
    )
    .await;
    let delivery = match sent.result {
        Ok(_) => Delivery::Delivered {
            attempts: sent.attempts,
        },
        Err(error) => {
            println!(
                "{}",
                serde_json::json!({
                    "moderation": "event-failed",
                    "id": decision.id,
                    "attempts": sent.attempts,
                    "error": error,
                })
            );
            Delivery::Failed {
                attempts: sent.attempts,
                error,
            }
        }
    };
    if keep.is_some() {
        // Read again: a reviewer may have marked it meanwhile.
        if let Some(mut reviewed) = records.get::<Reviewed>(&key)? {
            reviewed.delivery = delivery;
            records.put(&key, &reviewed)?;
        }
    }
    Ok(())
}

/// Deletes the decisions older than `retention`, at most hourly.
fn sweep(records: &Records, now: u64, retention: u64) -> Result<(), String> {
    if records.marked(SWEEP_KEY, now, 3600)? {
        return Ok(());
    }
    records.mark(SWEEP_KEY, now)?;
    let oldest = now.saturating_sub(retention);
    for key in records.keys_with_prefix(review::KEY_PREFIX)? {
        match review::parse_key(&key) {
            Some((time, _)) if time >= oldest => break, // sorted: the rest is newer
            _ => records.delete(&key)?,
        }
    }
    Ok(())
}
