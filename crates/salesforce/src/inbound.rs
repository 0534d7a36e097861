//! Verifying Apex callouts to the bridge.
//!
//! HMAC mode (the default): Apex sends `X-Switchboard-Timestamp` (Unix
//! seconds) and `X-Switchboard-Signature` = base64(HMAC-SHA256(secret,
//! timestamp + raw body)). The receiver checks freshness and the MAC over the
//! raw bytes in constant time, and remembers signatures it accepted within
//! the window so a replayed call is refused.
//!
//! Bearer mode: `Authorization: Bearer <secret>` from a Named Credential's
//! External Credential custom header, compared in constant time.
//!
//! ```
//! use salesforce::inbound::{sign, verify_hmac};
//!
//! let body = br#"{"events":[]}"#;
//! let signature = sign("s3cret", "1764147600", body);
//! assert!(verify_hmac("s3cret", Some("1764147600"), Some(&signature), body, 1764147610, 300).is_ok());
//! assert!(verify_hmac("s3cret", Some("1764147600"), Some(&signature), b"{}", 1764147610, 300).is_err());
//! ```

use subtle::ConstantTimeEq;

/// Timestamp header.
pub const TIMESTAMP_HEADER: &str = "x-switchboard-timestamp";
/// Signature header.
pub const SIGNATURE_HEADER: &str = "x-switchboard-signature";

/// Why an inbound call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// Headers absent.
    #[error("missing `{0}` header")]
    Missing(&'static str),
    /// Timestamp not Unix seconds.
    #[error("`X-Switchboard-Timestamp` `{0}` is not Unix seconds")]
    BadTimestamp(String),
    /// Outside the window.
    #[error("request timestamp is {skew} s away from now (allowed: {window} s)")]
    Stale {
        /// Distance from now.
        skew: u64,
        /// Window.
        window: u64,
    },
    /// MAC or secret mismatch.
    #[error("signature does not match (expected base64 HMAC-SHA256 of timestamp + raw body)")]
    BadSignature,
    /// Bearer secret mismatch.
    #[error("bearer secret does not match")]
    BadSecret,
    /// Seen before within the window.
    #[error("this signed request was already received (replay)")]
    Replayed,
}

/// The signature Apex computes: base64(HMAC-SHA256(secret, timestamp + body)).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    webhook_signature::sign(secret, &[timestamp.as_bytes(), body])
}

/// Checks an HMAC-signed call. The caller then records the signature to
/// refuse replays (see [`InboundError::Replayed`]).
pub fn verify_hmac(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: u64,
    window: u64,
) -> Result<(), InboundError> {
    let timestamp = timestamp.ok_or(InboundError::Missing("X-Switchboard-Timestamp"))?;
    let signature = signature.ok_or(InboundError::Missing("X-Switchboard-Signature"))?;
    let time: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| InboundError::BadTimestamp(timestamp.to_string()))?;
    let skew = now.abs_diff(time);
    if skew > window {
        return Err(InboundError::Stale { skew, window });
    }
    if webhook_signature::verify(secret, &[timestamp.as_bytes(), body], signature) {
        Ok(())
    } else {
        Err(InboundError::BadSignature)
    }
}

/// Checks `Authorization: Bearer <secret>` in constant time.
pub fn verify_bearer(secret: &str, authorization: Option<&str>) -> Result<(), InboundError> {
    let presented = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or(InboundError::Missing("Authorization"))?;
    if presented.as_bytes().ct_eq(secret.as_bytes()).into() {
        Ok(())
    } else {
        Err(InboundError::BadSecret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_accepts_and_rejects() {
        let body = br#"{"events":[{"type":"case_closed","case_id":"500000000000001AAA"}]}"#;
        let sig = sign("k", "1000", body);
        assert_eq!(
            verify_hmac("k", Some("1000"), Some(&sig), body, 1100, 300),
            Ok(())
        );
        assert_eq!(
            verify_hmac("x", Some("1000"), Some(&sig), body, 1100, 300),
            Err(InboundError::BadSignature)
        );
        assert_eq!(
            verify_hmac("k", Some("1001"), Some(&sig), body, 1100, 300),
            Err(InboundError::BadSignature)
        );
        assert_eq!(
            verify_hmac("k", Some("1000"), Some(&sig), body, 1301, 300),
            Err(InboundError::Stale {
                skew: 301,
                window: 300
            })
        );
        assert_eq!(
            verify_hmac("k", None, Some(&sig), body, 1000, 300),
            Err(InboundError::Missing("X-Switchboard-Timestamp"))
        );
        assert_eq!(
            verify_hmac("k", Some("1000"), None, body, 1000, 300),
            Err(InboundError::Missing("X-Switchboard-Signature"))
        );
        assert!(matches!(
            verify_hmac("k", Some("soon"), Some(&sig), body, 1000, 300),
            Err(InboundError::BadTimestamp(_))
        ));
    }

    #[test]
    fn bearer() {
        assert_eq!(verify_bearer("s", Some("Bearer s")), Ok(()));
        assert_eq!(
            verify_bearer("s", Some("Bearer t")),
            Err(InboundError::BadSecret)
        );
        assert_eq!(
            verify_bearer("s", None),
            Err(InboundError::Missing("Authorization"))
        );
    }
}
