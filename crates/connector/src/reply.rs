//! JSON responses for components: one shape for every error,
//! `{"error": "<message>", "field": "<field>"?}`, so callers always know what
//! was wrong and where.

use bytes::Bytes;
use http::StatusCode;

/// The response type components return: a whole body, as
/// [`crate::edge::serve`] sends it.
pub type JsonResponse = http::Response<Bytes>;

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
