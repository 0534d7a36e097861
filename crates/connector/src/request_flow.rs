//! The steps both ticket bridges take to turn a [`SupportRequest`] into a
//! ticket or Case and its IM group, with one idempotency rule.
//!
//! A request is named by [`SupportRequest::request_id`]: its idempotency
//! key, or its content when it has none, always with the user. Its progress
//! is one record in the key-value store, written as soon as each step is
//! done, so a retry (the same name) resumes after the last step and a
//! name reused for other content is refused. The help-desk call between
//! [`admit`] and [`open_group`] is each bridge's own.

use crate::reply::{self, JsonResponse};
pub use crate::request::Progress;
use crate::request::SupportRequest;
use crate::state::Records;
use http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A request admitted to the flow.
pub struct Admitted<S> {
    /// Its name ([`SupportRequest::request_id`]).
    pub request_id: String,
    /// Where its progress is stored.
    pub key: String,
    /// Its progress so far.
    pub progress: Progress<S>,
}

fn internal(e: String) -> JsonResponse {
    reply::error(StatusCode::INTERNAL_SERVER_ERROR, e)
}

/// The edge of `POST /<bridge>/requests`: the body parsed (a 400 naming the
/// field when it is wrong, with nothing changed) and the records opened,
/// then the bridge's `run`, whose early answers (`Err`) are responses too.
pub async fn handle(
    body: &[u8],
    key_required: bool,
    run: impl AsyncFnOnce(&Records, &SupportRequest) -> Result<JsonResponse, JsonResponse>,
) -> JsonResponse {
    let request = match SupportRequest::parse(body, key_required) {
        Ok(request) => request,
        Err(e) => return reply::field_error(&e),
    };
    let records = match Records::open() {
        Ok(records) => records,
        Err(e) => return internal(e),
    };
    match run(&records, &request).await {
        Ok(response) | Err(response) => response,
    }
}

/// Loads the progress of `user`'s `request`, stored by `bridge` (`zd`,
/// `sf`) under `<bridge>:request:<request id>`. A request seen for the
/// first time is counted against the user's hourly limit
/// ([`crate::bridge::admit_new_request`]) and its content recorded; a
/// request whose name was first used for other content is 409 naming
/// `idempotency_key`, and changes nothing.
pub fn admit<S: Default + Serialize + DeserializeOwned>(
    records: &Records,
    bridge: &str,
    user: &str,
    request: &SupportRequest,
) -> Result<Admitted<S>, JsonResponse> {
    let request_id = request.request_id(user);
    let key = format!("{bridge}:request:{request_id}");
    let mut progress: Progress<S> = records.get(&key).map_err(internal)?.unwrap_or_default();
    let fingerprint = request.fingerprint();
    if progress.fingerprint.is_empty() {
        crate::bridge::admit_new_request(
            records,
            bridge,
            user,
            &request_id,
            crate::config::unix_now(),
        )?;
        progress.fingerprint = fingerprint;
        records.put(&key, &progress).map_err(internal)?;
    } else if progress.fingerprint != fingerprint {
        return Err(reply::json(
            StatusCode::CONFLICT,
            &serde_json::json!({
                "error": "idempotency_key was already used for a different request",
                "field": "idempotency_key",
            }),
        ));
    }
    Ok(Admitted {
        request_id,
        key,
        progress,
    })
}

/// Stores a help-desk credential the client refreshed during a call
/// (`after`, when it differs from the `before` the client was given), so
/// the next request does not log in again.
pub fn keep_refreshed<T: Serialize + PartialEq + ?Sized>(
    records: &Records,
    key: &str,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<(), JsonResponse> {
    match after {
        Some(after) if before != Some(after) => records.put(key, after).map_err(internal),
        _ => Ok(()),
    }
}

/// Where the request's chat happens.
pub struct Group<'a> {
    /// The group's id.
    pub id: &'a str,
    /// Its name (`Ticket #42`, `Case 500…`).
    pub name: &'a str,
    /// The requester's nickname, as they gave it.
    pub nickname: &'a str,
}

/// Opens the request's group with the requester in it, unless a previous
/// attempt did, then records that, and the ticket or Case (`latest`) as the
/// user's latest under `latest_key` (for "my open request").
pub async fn open_group<S: Serialize, L: Serialize + ?Sized>(
    records: &Records,
    admitted: &mut Admitted<S>,
    im: &tim::rest::Client<crate::outbound::SpinHttp>,
    user: &str,
    group: Group<'_>,
    latest: (&str, &L),
) -> Result<(), JsonResponse> {
    if admitted.progress.group_ready {
        return Ok(());
    }
    crate::im::open_group(im, group.id, group.name, user, group.nickname)
        .await
        .map_err(|e| reply::upstream("IM group creation failed", e))?;
    admitted.progress.group_ready = true;
    records
        .put(&admitted.key, &admitted.progress)
        .map_err(internal)?;
    records.put(latest.0, latest.1).map_err(internal)
}
