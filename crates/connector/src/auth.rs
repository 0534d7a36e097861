//! Authenticating callers.
//!
//! End users' chat apps present the user's own IM UserSig:
//! `Authorization: UserSig <usersig>` plus `X-IM-User-Id: <user id>`. The
//! UserSig is verified locally with the app's secret key, so the user id a
//! handler acts for is the one the credential was issued to — nobody can act
//! in someone else's name.

use crate::reply::{self, JsonResponse};
use http::{HeaderMap, StatusCode};
use subtle::ConstantTimeEq;
use tim::usersig::Signer;

/// Header naming the user the UserSig is for.
pub const USER_HEADER: &str = "x-im-user-id";

/// The verified user id, or a 401 saying exactly what is wrong.
pub fn end_user(headers: &HeaderMap, signer: &Signer, now: u64) -> Result<String, JsonResponse> {
    let unauthorized = |message: String| reply::error(StatusCode::UNAUTHORIZED, message);
    let usersig = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("UserSig "))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| unauthorized("missing `Authorization: UserSig <usersig>` header".into()))?;
    let user = headers
        .get(USER_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| unauthorized(format!("missing `{USER_HEADER}` header")))?;
    signer
        .verify(user, usersig, now)
        .map(|claims| claims.identifier)
        .map_err(|e| unauthorized(e.to_string()))
}

/// Checks `Authorization: Bearer <token>` against `expected` in constant
/// time (operators' admin endpoints). An empty `expected` means the
/// endpoint is switched off: 503 naming `variable`, never an open door.
pub fn bearer(headers: &HeaderMap, expected: &str, variable: &str) -> Result<(), JsonResponse> {
    if expected.is_empty() {
        return Err(reply::error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("this endpoint is off until `{variable}` is set"),
        ));
    }
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            reply::error(
                StatusCode::UNAUTHORIZED,
                "missing `Authorization: Bearer <token>` header",
            )
        })?;
    if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(reply::error(
            StatusCode::UNAUTHORIZED,
            format!("the bearer token does not match `{variable}`"),
        ))
    }
}
