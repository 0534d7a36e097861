//! TC3-HMAC-SHA256, Tencent Cloud API 3.0's request signature, for JSON
//! `POST`s to `/` as the official SDKs send them.
//!
//! The canonical request is `POST`, `/`, an empty query, the signed headers
//! `content-type` and `host` (the host name without a port), and the
//! SHA-256 of the body, one per line. The string to sign is the algorithm,
//! the timestamp, the credential scope `<UTC date>/<service>/tc3_request`
//! and the SHA-256 of the canonical request. The key is derived by chained
//! HMACs: `"TC3" + secret key` over the date, that over the service, that
//! over `tc3_request`; the signature is the hex HMAC of the string to sign.
//!
//! ```
//! use tencent_cloud::tc3::{self, Credential, Signable};
//!
//! let credential = Credential { secret_id: "AKIDEXAMPLE".into(), secret_key: "secret".into() };
//! let request = Signable {
//!     service: "tms",
//!     host: "tms.tencentcloudapi.com",
//!     content_type: "application/json",
//!     payload: br#"{"Content":"aGk="}"#,
//!     timestamp: 1764147600,
//! };
//! let authorization = tc3::authorization(&credential, &request);
//! assert!(authorization.starts_with(
//!     "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2025-11-26/tms/tc3_request, SignedHeaders=content-type;host, Signature="
//! ));
//! assert!(tc3::verify(&authorization, &credential, &request, 1764147610, 300).is_ok());
//! ```

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The algorithm's name, first in `Authorization`.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The headers every signature here covers.
pub const SIGNED_HEADERS: &str = "content-type;host";

/// A SecretId and its SecretKey (the key is never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// `SecretId` (`AKID…`), sent in the clear.
    pub secret_id: String,
    /// `SecretKey`, which signs.
    pub secret_key: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// What a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Signable<'a> {
    /// The service: the first label of the API's host (`tms`, `ims`).
    pub service: &'a str,
    /// The host name the request goes to, without a port.
    pub host: &'a str,
    /// The `Content-Type` sent.
    pub content_type: &'a str,
    /// The body.
    pub payload: &'a [u8],
    /// `X-TC-Timestamp`, Unix seconds.
    pub timestamp: u64,
}

/// Why a signature is refused, with the error code Tencent Cloud answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tc3Error {
    /// `Authorization` or `X-TC-Timestamp` is absent.
    #[error("missing `{0}` header")]
    Missing(&'static str),
    /// `Authorization` is not `TC3-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    #[error("`Authorization` is not a TC3-HMAC-SHA256 signature: {0}")]
    Malformed(&'static str),
    /// The SecretId is not one this service knows.
    #[error("the SecretId is not found")]
    UnknownSecretId,
    /// The timestamp is too far from now.
    #[error("the signature expired: its timestamp is {skew} s from now (allowed: {window} s)")]
    Expired {
        /// Distance from now.
        skew: u64,
        /// Allowed distance.
        window: u64,
    },
    /// The scope or the signature does not match the request.
    #[error("the signature does not match the request ({0})")]
    Mismatch(&'static str),
}

impl Tc3Error {
    /// Tencent Cloud's `Error.Code` for it.
    pub fn code(&self) -> &'static str {
        match self {
            Tc3Error::Missing(_) | Tc3Error::Malformed(_) => "AuthFailure.InvalidAuthorization",
            Tc3Error::UnknownSecretId => "AuthFailure.SecretIdNotFound",
            Tc3Error::Expired { .. } => "AuthFailure.SignatureExpire",
            Tc3Error::Mismatch(_) => "AuthFailure.SignatureFailure",
        }
    }
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower-case hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The UTC date of `timestamp` as `YYYY-MM-DD`, the scope's first part.
pub fn date(timestamp: u64) -> String {
    let date = i64::try_from(timestamp)
        .ok()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The hex signature of `request` with `secret_key`.
pub fn signature(secret_key: &str, request: &Signable<'_>) -> String {
    let canonical = format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\n{SIGNED_HEADERS}\n{}",
        request.content_type,
        request.host,
        sha256_hex(request.payload)
    );
    let date = date(request.timestamp);
    let to_sign = format!(
        "{ALGORITHM}\n{}\n{date}/{}/tc3_request\n{}",
        request.timestamp,
        request.service,
        sha256_hex(canonical.as_bytes())
    );
    let key = hmac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let key = hmac(&key, request.service.as_bytes());
    let key = hmac(&key, b"tc3_request");
    hex(&hmac(&key, to_sign.as_bytes()))
}

/// The `Authorization` header of `request`.
pub fn authorization(credential: &Credential, request: &Signable<'_>) -> String {
    format!(
        "{ALGORITHM} Credential={}/{}/{}/tc3_request, SignedHeaders={SIGNED_HEADERS}, Signature={}",
        credential.secret_id,
        date(request.timestamp),
        request.service,
        signature(&credential.secret_key, request)
    )
}

/// The parts of an `Authorization` header.
struct Parsed<'a> {
    secret_id: &'a str,
    date: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse(header: &str) -> Result<Parsed<'_>, Tc3Error> {
    let rest = header
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or(Tc3Error::Malformed(
            "it does not start with `TC3-HMAC-SHA256 `",
        ))?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return Err(Tc3Error::Malformed("an unknown part")),
        }
    }
    let credential = credential.ok_or(Tc3Error::Malformed("no Credential"))?;
    let mut scope = credential.split('/');
    let (Some(secret_id), Some(date), Some(service), Some("tc3_request"), None) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(Tc3Error::Malformed(
            "Credential is not <SecretId>/<date>/<service>/tc3_request",
        ));
    };
    Ok(Parsed {
        secret_id,
        date,
        service,
        signed_headers: signed_headers.ok_or(Tc3Error::Malformed("no SignedHeaders"))?,
        signature: signature.ok_or(Tc3Error::Malformed("no Signature"))?,
    })
}

/// Checks `header` (`Authorization`) against `request` as received: the
/// SecretId, the timestamp within `window` seconds of `now`, the scope's
/// date and service, the signed headers, then the signature in constant
/// time.
pub fn verify(
    header: &str,
    credential: &Credential,
    request: &Signable<'_>,
    now: u64,
    window: u64,
) -> Result<(), Tc3Error> {
    let parsed = parse(header)?;
    if !bool::from(
        parsed
            .secret_id
            .as_bytes()
            .ct_eq(credential.secret_id.as_bytes()),
    ) {
        return Err(Tc3Error::UnknownSecretId);
    }
    let skew = now.abs_diff(request.timestamp);
    if skew > window {
        return Err(Tc3Error::Expired { skew, window });
    }
    if parsed.date != date(request.timestamp) {
        return Err(Tc3Error::Mismatch(
            "the scope's date is not the timestamp's",
        ));
    }
    if parsed.service != request.service {
        return Err(Tc3Error::Mismatch("the scope names another service"));
    }
    if parsed.signed_headers != SIGNED_HEADERS {
        return Err(Tc3Error::Mismatch(
            "SignedHeaders must be content-type;host",
        ));
    }
    let expected = signature(&credential.secret_key, request);
    if bool::from(parsed.signature.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(Tc3Error::Mismatch("Signature"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential() -> Credential {
        Credential {
            secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE".into(),
            secret_key: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE".into(),
        }
    }

    /// The inputs of Tencent Cloud's signature v3 example (CVM
    /// `DescribeInstances`), signed by the official Node SDK's own signer
    /// (`Sign.sign3` of `tencentcloud-sdk-nodejs-common` 4.1.220, payload
    /// passed as bytes); `tests/tests/tencent_sdk.rs` repeats the comparison
    /// live on every run.
    #[test]
    fn the_node_sdk_signs_the_example_the_same() {
        let request = Signable {
            service: "cvm",
            host: "cvm.tencentcloudapi.com",
            content_type: "application/json; charset=utf-8",
            payload: br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#,
            timestamp: 1551113065,
        };
        assert_eq!(date(1551113065), "2019-02-25");
        assert_eq!(
            signature(&credential().secret_key, &request),
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn every_part_of_the_request_is_covered() {
        let credential = credential();
        let request = Signable {
            service: "tms",
            host: "tms.tencentcloudapi.com",
            content_type: "application/json",
            payload: b"{}",
            timestamp: 1_764_147_600,
        };
        let header = authorization(&credential, &request);
        assert_eq!(
            verify(&header, &credential, &request, 1_764_147_600, 300),
            Ok(())
        );
        let changed = [
            Signable {
                payload: b"{ }",
                ..request
            },
            Signable {
                host: "tms.intl.tencentcloudapi.com",
                ..request
            },
            Signable {
                content_type: "text/plain",
                ..request
            },
            Signable {
                timestamp: request.timestamp + 1,
                ..request
            },
        ];
        for other in changed {
            assert_eq!(
                verify(&header, &credential, &other, 1_764_147_600, 300).map_err(|e| e.code()),
                Err("AuthFailure.SignatureFailure"),
                "{other:?}"
            );
        }
        let ims = Signable {
            service: "ims",
            ..request
        };
        assert_eq!(
            verify(&header, &credential, &ims, 1_764_147_600, 300),
            Err(Tc3Error::Mismatch("the scope names another service"))
        );
        assert_eq!(
            verify(&header, &credential, &request, 1_764_148_000, 300).map_err(|e| e.code()),
            Err("AuthFailure.SignatureExpire")
        );
        let stranger = Credential {
            secret_id: "AKIDother".into(),
            ..credential.clone()
        };
        assert_eq!(
            verify(&header, &stranger, &request, 1_764_147_600, 300),
            Err(Tc3Error::UnknownSecretId)
        );
        let wrong_key = Credential {
            secret_key: "guess".into(),
            ..credential.clone()
        };
        assert_eq!(
            verify(&header, &wrong_key, &request, 1_764_147_600, 300),
            Err(Tc3Error::Mismatch("Signature"))
        );
        for bad in [
            "",
            "Bearer x",
            "TC3-HMAC-SHA256 Credential=a/b",
            "TC3-HMAC-SHA256 Signature=00",
        ] {
            assert_eq!(
                verify(bad, &credential, &request, 1_764_147_600, 300).map_err(|e| e.code()),
                Err("AuthFailure.InvalidAuthorization"),
                "{bad}"
            );
        }
        assert!(
            !format!("{credential:?}").contains(&credential.secret_key),
            "the key is not printed"
        );
    }
}
