//! Verifying Apex callouts to the bridge.
//!
//! HMAC mode (the default): Apex sends `X-Switchboard-Timestamp` (Unix
//! seconds), `X-Switchboard-Nonce` (16 to 64 characters of `A-Z a-z 0-9 _
//! -`, fresh for every call) and `X-Switchboard-Signature` =
//! base64(HMAC-SHA256(secret, timestamp + "." + nonce + "." + raw body)).
//! The receiver checks freshness and the MAC over the raw bytes in constant
//! time, then claims the nonce for the window: a replayed call carries a
//! nonce already claimed, while two honest calls with identical bodies in
//! the same second carry different ones.
//!
//! Bearer mode: `Authorization: Bearer <secret>` from a Named Credential's
//! External Credential custom header, compared in constant time.
//!
//! ```
//! use salesforce::inbound::{sign, verify_hmac};
//!
//! let body = br#"{"events":[]}"#;
//! let nonce = "3f1c9a0e5b7d4c2a8e6f0b1d3c5a7e9f";
//! let signature = sign("s3cret", "1764147600", nonce, body);
//! let verify = |ts, nonce, body| {
//!     verify_hmac("s3cret", Some(ts), Some(nonce), Some(&signature), body, 1764147610, 300)
//! };
//! assert!(verify("1764147600", nonce, body).is_ok());
//! assert!(verify("1764147600", nonce, b"{}").is_err());
//! assert!(verify("1764147600", "another-nonce-0000", body).is_err());
//! ```

use subtle::ConstantTimeEq;

pub use webhook_signature::switchboard::{
    NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signed_headers,
};

/// Why an inbound call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// Headers absent.
    #[error("missing `{0}` header")]
    Missing(&'static str),
    /// Timestamp not Unix seconds.
    #[error("`X-Switchboard-Timestamp` `{0}` is not Unix seconds")]
    BadTimestamp(String),
    /// Nonce of the wrong shape (its value is not echoed: it is the
    /// caller's input, of any length).
    #[error("`X-Switchboard-Nonce` must be 16 to 64 characters of A-Z a-z 0-9 _ -")]
    BadNonce,
    /// Outside the window.
    #[error("request timestamp is {skew} s away from now (allowed: {window} s)")]
    Stale {
        /// Distance from now.
        skew: u64,
        /// Window.
        window: u64,
    },
    /// MAC or secret mismatch.
    #[error(
        "signature does not match (expected base64 HMAC-SHA256 of timestamp + \".\" + nonce + \".\" + raw body)"
    )]
    BadSignature,
    /// Bearer secret mismatch.
    #[error("bearer secret does not match")]
    BadSecret,
    /// Its nonce was claimed before within the window.
    #[error("this signed request was already received (replay)")]
    Replayed,
}

/// A verified HMAC call: what its replay claim is keyed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The call's nonce (checked shape, so safe in a key).
    pub nonce: String,
    /// Until when the call could pass the window again (Unix seconds): the
    /// end of its replay claim.
    pub replayable_until: u64,
}

fn valid_nonce(nonce: &str) -> bool {
    (16..=64).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks an HMAC-signed call. The caller then claims
/// [`Verified::nonce`] until [`Verified::replayable_until`] and refuses
/// the call as [`InboundError::Replayed`] when the claim is taken.
pub fn verify_hmac(
    secret: &str,
    timestamp: Option<&str>,
    nonce: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: u64,
    window: u64,
) -> Result<Verified, InboundError> {
    let timestamp = timestamp.ok_or(InboundError::Missing("X-Switchboard-Timestamp"))?;
    let nonce = nonce.ok_or(InboundError::Missing("X-Switchboard-Nonce"))?;
    let signature = signature.ok_or(InboundError::Missing("X-Switchboard-Signature"))?;
    let time: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| InboundError::BadTimestamp(timestamp.to_string()))?;
    if !valid_nonce(nonce) {
        return Err(InboundError::BadNonce);
    }
    let skew = now.abs_diff(time);
    if skew > window {
        return Err(InboundError::Stale { skew, window });
    }
    let content = webhook_signature::switchboard::content(timestamp, nonce, body);
    if webhook_signature::verify(secret, &content, signature) {
        Ok(Verified {
            nonce: nonce.to_string(),
            replayable_until: time.saturating_add(window).saturating_add(1),
        })
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

    const NONCE: &str = "0123456789abcdef";

    #[test]
    fn hmac_accepts_and_rejects() {
        let body = br#"{"events":[{"type":"case_closed","case_id":"500000000000001AAA"}]}"#;
        let sig = sign("k", "1000", NONCE, body);
        let verify = |secret, ts, nonce, sig: Option<&str>, body: &[u8], now| {
            verify_hmac(secret, ts, nonce, sig, body, now, 300)
        };
        assert_eq!(
            verify("k", Some("1000"), Some(NONCE), Some(&sig), body, 1100),
            Ok(Verified {
                nonce: NONCE.into(),
                replayable_until: 1301
            })
        );
        assert_eq!(
            verify("x", Some("1000"), Some(NONCE), Some(&sig), body, 1100),
            Err(InboundError::BadSignature)
        );
        assert_eq!(
            verify("k", Some("1001"), Some(NONCE), Some(&sig), body, 1100),
            Err(InboundError::BadSignature)
        );
        assert_eq!(
            verify(
                "k",
                Some("1000"),
                Some("0123456789abcdeF"),
                Some(&sig),
                body,
                1100
            ),
            Err(InboundError::BadSignature),
            "the nonce is signed"
        );
        assert_eq!(
            verify("k", Some("1000"), Some(NONCE), Some(&sig), body, 1301),
            Err(InboundError::Stale {
                skew: 301,
                window: 300
            })
        );
        assert_eq!(
            verify("k", None, Some(NONCE), Some(&sig), body, 1000),
            Err(InboundError::Missing("X-Switchboard-Timestamp"))
        );
        assert_eq!(
            verify("k", Some("1000"), None, Some(&sig), body, 1000),
            Err(InboundError::Missing("X-Switchboard-Nonce"))
        );
        assert_eq!(
            verify("k", Some("1000"), Some(NONCE), None, body, 1000),
            Err(InboundError::Missing("X-Switchboard-Signature"))
        );
        assert!(matches!(
            verify("k", Some("soon"), Some(NONCE), Some(&sig), body, 1000),
            Err(InboundError::BadTimestamp(_))
        ));
        for bad in [
            "short",
            "0123456789abcde!",
            &"a".repeat(65),
            "0123456789abcdef:",
        ] {
            assert_eq!(
                verify("k", Some("1000"), Some(bad), Some(&sig), body, 1000),
                Err(InboundError::BadNonce),
                "{bad}"
            );
        }
    }

    #[test]
    fn signed_headers_verify() {
        let headers = signed_headers("k", 1000, NONCE, b"{}");
        let get = |name| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert!(
            verify_hmac(
                "k",
                get(TIMESTAMP_HEADER),
                get(NONCE_HEADER),
                get(SIGNATURE_HEADER),
                b"{}",
                1000,
                300
            )
            .is_ok()
        );
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
