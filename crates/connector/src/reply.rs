//! JSON responses for components: one shape for every error,
//! `{"error": "<message>", "field": "<field>"?}`, so callers always know what
//! was wrong and where.

use crate::edge::{Body, BodyError};
use bytes::Bytes;
use http::StatusCode;

/// The response type components return.
pub type JsonResponse = crate::edge::Response;

/// A response with a JSON body.
pub fn json(status: StatusCode, value: &serde_json::Value) -> JsonResponse {
    raw_json(status, Bytes::from(value.to_string()))
}

/// A response whose body is already JSON bytes.
pub fn raw_json(status: StatusCode, body: impl Into<Bytes>) -> JsonResponse {
    let mut response = http::Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        "application/json".parse().expect("static header value"),
    );
    response
}

/// The answer to a create request: 201 when this call created it, 200 when
/// it repeats an earlier one (same idempotency key) — the body is the same.
pub fn created(replay: bool, value: &serde_json::Value) -> JsonResponse {
    let status = if replay {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    json(status, value)
}

/// `{"error": message}` with `status`.
pub fn error(status: StatusCode, message: impl std::fmt::Display) -> JsonResponse {
    json(status, &serde_json::json!({ "error": message.to_string() }))
}

/// `400 {"error": message, "field": field}`.
pub fn bad_field(field: &str, message: impl std::fmt::Display) -> JsonResponse {
    json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({ "error": message.to_string(), "field": field }),
    )
}

/// Reads a request body of at most `max` bytes: 413 above it (checked on
/// `content-length` first, then while it arrives, so an oversized chunked
/// body is never buffered whole), 408 when it takes longer than
/// [`BODY_DEADLINE`], 400 when it cannot be read.
pub async fn read_body(
    headers: &http::HeaderMap,
    body: Body,
    max: usize,
) -> Result<Bytes, JsonResponse> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {max} bytes"),
        )
    };
    let declared = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > max) {
        return Err(too_large());
    }
    let read = std::pin::pin!(body.read(max));
    let expire = std::pin::pin!(crate::edge::sleep(BODY_DEADLINE));
    match futures::future::select(read, expire).await {
        futures::future::Either::Left((read, _)) => read.map_err(|e| match e {
            BodyError::TooLarge(_) => too_large(),
            BodyError::Failed(_) => bad_field("body", e),
        }),
        // A client that trickles its body would hold the instance.
        futures::future::Either::Right(_) => Err(error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {} s",
                BODY_DEADLINE.as_secs()
            ),
        )),
    }
}

/// How long a request body may take to arrive, whatever its size.
pub const BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Logs and answers `502 {"error": "<what>: <error>"}` for a failed upstream
/// call, so the caller sees which system failed and how.
pub fn upstream(what: &str, failure: impl std::fmt::Display) -> JsonResponse {
    eprintln!("{what}: {failure}");
    error(StatusCode::BAD_GATEWAY, format!("{what}: {failure}"))
}

/// `400 {"error", "field"}` for a [`crate::request::FieldError`].
pub fn field_error(error: &crate::request::FieldError) -> JsonResponse {
    bad_field(error.field, &error.message)
}
