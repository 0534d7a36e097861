//! JSON responses for components: one shape for every error,
//! `{"error": "<message>", "field": "<field>"?}`, so callers always know what
//! was wrong and where.

use bytes::Bytes;
use spin_sdk::http::{FullBody, Response, StatusCode};

/// The response type components return.
pub type JsonResponse = Response<FullBody<Bytes>>;

/// A response with a JSON body.
pub fn json(status: StatusCode, value: &serde_json::Value) -> JsonResponse {
    raw_json(status, Bytes::from(value.to_string()))
}

/// A response whose body is already JSON bytes.
pub fn raw_json(status: StatusCode, body: impl Into<Bytes>) -> JsonResponse {
    let mut response = Response::new(FullBody::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        "application/json".parse().expect("static header value"),
    );
    response
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

/// `400 {"error", "field"}` for a [`crate::request::FieldError`].
pub fn field_error(error: &crate::request::FieldError) -> JsonResponse {
    bad_field(error.field, &error.message)
}

/// Reads a Spin variable, empty allowed.
pub async fn optional_variable(name: &str) -> String {
    spin_sdk::variables::get(name)
        .await
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Reads a required Spin variable, explaining how to set it when missing.
pub async fn variable(name: &str) -> Result<String, String> {
    match spin_sdk::variables::get(name).await {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        Ok(_) => Err(format!(
            "configuration: variable `{name}` is empty (set SPIN_VARIABLE_{})",
            name.to_ascii_uppercase()
        )),
        Err(e) => Err(format!("configuration: variable `{name}`: {e:?}")),
    }
}

/// Current Unix time in seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
