//! `/moderation/review`: the decisions the moderator kept (see
//! [`screening::review`]).
//!
//! - `GET /moderation/review?user=&category=&outcome=&group=&since=&until=&false_positive=&limit=`
//!   — newest first, at most `limit` (100 by default, 1000 at most); when
//!   more may match, `next_until` is the `until` of the next page.
//! - `GET /moderation/review/<id>` — one decision.
//! - `POST /moderation/review/<id>/false-positive` — marks it and adds its
//!   allowlist entries to the overlay: by default each finding's context
//!   (the words around the match), or the body's `{"allow": ["…"]}`.
//!   Marking again adds nothing twice.
//!
//! The key-value interface lists every key of the store, so a listing
//! reads all keys and then only the decisions its time range admits.

use crate::overlay;
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::{Method, StatusCode};
use moderation::overlay::Overlay;
use screening::review::{self, FalsePositive, Filter, Reviewed};

/// `GET /moderation/review`.
pub fn list(records: &Records, method: &Method, query: &str) -> Result<JsonResponse, String> {
    if method != Method::GET {
        return Ok(reply::error(StatusCode::METHOD_NOT_ALLOWED, "use GET"));
    }
    let filter = match Filter::parse(query) {
        Ok(filter) => filter,
        Err(e) => return Ok(reply::bad_field(&e.field, e.message)),
    };
    let mut found = Vec::new();
    let mut more = false;
    for key in records.keys_with_prefix(review::KEY_PREFIX)?.iter().rev() {
        let Some((time, _)) = review::parse_key(key) else {
            continue;
        };
        if filter.since.is_some_and(|since| time < since) {
            break; // newest first: the rest is older still
        }
        if !filter.admits_time(time) {
            continue;
        }
        // A decision swept between listing and reading is simply gone.
        let Some(reviewed) = records.get::<Reviewed>(key)? else {
            continue;
        };
        if filter.matches(&reviewed) {
            if found.len() == filter.limit {
                more = true;
                break;
            }
            found.push(reviewed);
        }
    }
    let mut answer = serde_json::json!({ "count": found.len(), "decisions": found });
    if more && let Some(last) = found.last() {
        // Decisions of the same second as the last one shown are shown
        // again on the next page rather than skipped.
        answer["next_until"] = (last.decision.time + 1).into();
    }
    Ok(reply::json(StatusCode::OK, &answer))
}

/// The key of decision `id`, `Ok(Err)` being the 404 or 400 to answer.
fn find(records: &Records, id: &str) -> Result<Result<String, JsonResponse>, String> {
    if !review::valid_id(id) {
        return Ok(Err(reply::bad_field(
            "id",
            "a decision id is 32 lowercase hex digits",
        )));
    }
    let suffix = format!(":{id}");
    Ok(records
        .keys_with_prefix(review::KEY_PREFIX)?
        .into_iter()
        .find(|key| key.ends_with(&suffix))
        .ok_or_else(|| {
            reply::error(
                StatusCode::NOT_FOUND,
                format!("no decision `{id}` (never made, or older than the review retention)"),
            )
        }))
}

/// `GET /moderation/review/<id>`.
pub fn one(records: &Records, method: &Method, id: &str) -> Result<JsonResponse, String> {
    if method != Method::GET {
        return Ok(reply::error(StatusCode::METHOD_NOT_ALLOWED, "use GET"));
    }
    let key = match find(records, id)? {
        Ok(key) => key,
        Err(response) => return Ok(response),
    };
    Ok(match records.get::<Reviewed>(&key)? {
        Some(reviewed) => reply::json(
            StatusCode::OK,
            &serde_json::to_value(&reviewed).expect("a decision serializes"),
        ),
        None => reply::error(StatusCode::NOT_FOUND, format!("no decision `{id}`")),
    })
}

/// The body of a false-positive mark.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Mark {
    /// Allowlist entries to add instead of the findings' contexts.
    allow: Option<Vec<String>>,
}

/// `POST /moderation/review/<id>/false-positive`.
pub fn false_positive(
    records: &Records,
    method: &Method,
    id: &str,
    body: &[u8],
) -> Result<JsonResponse, String> {
    if method != Method::POST {
        return Ok(reply::error(StatusCode::METHOD_NOT_ALLOWED, "use POST"));
    }
    let mark: Mark = if body.iter().all(u8::is_ascii_whitespace) {
        Mark::default()
    } else {
        match serde_json::from_slice(body) {
            Ok(mark) => mark,
            Err(e) => {
                return Ok(reply::bad_field(
                    "body",
                    format!("expected {{\"allow\": [\"…\"]}} or nothing: {e}"),
                ));
            }
        }
    };
    let key = match find(records, id)? {
        Ok(key) => key,
        Err(response) => return Ok(response),
    };
    let Some(mut reviewed) = records.get::<Reviewed>(&key)? else {
        return Ok(reply::error(
            StatusCode::NOT_FOUND,
            format!("no decision `{id}`"),
        ));
    };
    let entries = mark.allow.unwrap_or_else(|| reviewed.allowlist_entries());
    if entries.is_empty() {
        return Ok(reply::bad_field(
            "allow",
            "this decision holds no matched text to allow (the external service decided it); \
             give the entries as {\"allow\": [\"…\"]}",
        ));
    }
    let mut next = overlay::stored(records)?;
    next.merge(Overlay {
        terms: Vec::new(),
        allow: entries.clone(),
    });
    if let Err(response) = overlay::save(records, &next)? {
        return Ok(response);
    }
    let mut allow = reviewed
        .false_positive
        .take()
        .map(|marked| marked.allow)
        .unwrap_or_default();
    for entry in entries {
        if !allow.contains(&entry) {
            allow.push(entry);
        }
    }
    reviewed.false_positive = Some(FalsePositive {
        at: connector::config::unix_now(),
        allow,
    });
    records.put(&key, &reviewed)?;
    Ok(reply::json(
        StatusCode::OK,
        &serde_json::json!({
            "decision": reviewed,
            "overlay": overlay::counts(&next),
        }),
    ))
}
