//! Authenticating an end user's chat app by the user's own IM UserSig:
//! `Authorization: UserSig <usersig>` plus `X-IM-User-Id: <user id>`. The
//! UserSig is verified locally with the app's secret key, so the user id a
//! handler acts for is the one the credential was issued to — nobody can act
//! in someone else's name.

use crate::reply::{self, JsonResponse};
use spin_sdk::http::{HeaderMap, StatusCode};
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
