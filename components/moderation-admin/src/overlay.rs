//! `/moderation/overlay`, kept as JSON under [`OVERLAY_KEY`]. An update
//! applies to the next message: the screening components compile a new
//! version once and keep the compiled form under [`COMPILED_KEY`], tied to
//! the JSON it came from (see `screening::stored`).
//!
//! - `GET` — the overlay.
//! - `PUT` — replace it: `{"terms": [{"text", "category", "severity"?,
//!   "action"?, "whole_word"?, "regex"?}], "allow": ["…"]}`.
//! - `POST` — add to it (same shape; duplicates skipped).
//! - `DELETE` — remove it.

use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::{Method, StatusCode};
use moderation::overlay::{COMPILED_KEY, Overlay, STORE_KEY as OVERLAY_KEY};

/// Answers one call; `Err` is a store failure.
pub fn handle(records: &Records, method: &Method, body: &[u8]) -> Result<JsonResponse, String> {
    let current = stored(records)?;
    let next = match *method {
        Method::GET => return Ok(summary(&current)),
        Method::DELETE => {
            records.delete(OVERLAY_KEY)?;
            // Unused without its JSON; removed so nothing of it is left.
            records.delete(COMPILED_KEY)?;
            return Ok(summary(&Overlay::default()));
        }
        Method::PUT | Method::POST => {
            let incoming: Overlay = match serde_json::from_slice(body) {
                Ok(overlay) => overlay,
                Err(e) => return Ok(reply::bad_field("body", format!("not an overlay: {e}"))),
            };
            if method == Method::PUT {
                incoming
            } else {
                let mut merged = current;
                merged.merge(incoming);
                merged
            }
        }
        _ => {
            return Ok(reply::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "use GET, PUT, POST or DELETE",
            ));
        }
    };
    Ok(match save(records, &next)? {
        Ok(()) => summary(&next),
        Err(response) => response,
    })
}

/// The stored overlay (empty when there is none, or when what is stored no
/// longer reads: the next write replaces it).
pub fn stored(records: &Records) -> Result<Overlay, String> {
    Ok(records
        .get_raw(OVERLAY_KEY)?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default())
}

/// Validates and stores `overlay`: the inner `Err` is the 400 naming the
/// field that does not compile, the outer a store failure.
pub fn save(records: &Records, overlay: &Overlay) -> Result<Result<(), JsonResponse>, String> {
    // Compiling is the validation: the moderator compiles the same way.
    if let Err(e) = overlay.compile(moderation::Options::default()) {
        return Ok(Err(reply::bad_field(&e.field, e.message)));
    }
    records.put(OVERLAY_KEY, overlay).map(Ok)
}

/// The overlay as the API shows it.
pub fn summary(overlay: &Overlay) -> JsonResponse {
    reply::json(StatusCode::OK, &counts(overlay))
}

/// The overlay with its counts.
pub fn counts(overlay: &Overlay) -> serde_json::Value {
    serde_json::json!({
        "terms": overlay.terms,
        "allow": overlay.allow,
        "counts": { "terms": overlay.terms.len(), "allow": overlay.allow.len() },
    })
}
