//! UserSig, the credential IM clients and the REST API present: "TLS sig
//! API v2".
//!
//! A UserSig is a zlib-compressed JSON document carrying the user id, app id,
//! issue time, lifetime and `TLS.sig` = base64(HMAC-SHA256(key, content)),
//! encoded with IM's URL-safe base64 variant (`+`→`*`, `/`→`-`, `=`→`_`).
//! The key is the console's secret key used as UTF-8 bytes (it looks like
//! hex but is not decoded).
//!
//! ```
//! use tim::usersig::{Signer, VerifyError};
//!
//! let signer = Signer::new(1400000000, "my-secret-key");
//! let sig = signer.generate("alice", 1_700_000_000, 86_400);
//! let claims = signer.verify("alice", &sig, 1_700_000_100).unwrap();
//! assert_eq!(claims.identifier, "alice");
//! assert!(matches!(
//!     signer.verify("bob", &sig, 1_700_000_100),
//!     Err(VerifyError::IdentifierMismatch { .. })
//! ));
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::io::{Read, Write};

/// Why a UserSig was not accepted. Each failure is distinct so callers can
/// say exactly what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not IM's base64, not zlib, or not the expected JSON.
    #[error("malformed UserSig: {0}")]
    Malformed(String),
    /// Issued for another app.
    #[error("UserSig was issued for SDKAppID {found}, expected {expected}")]
    AppIdMismatch {
        /// Our app id.
        expected: u64,
        /// The one in the UserSig.
        found: u64,
    },
    /// Issued for another user.
    #[error("UserSig was issued for user `{found}`, not `{expected}`")]
    IdentifierMismatch {
        /// The user id claimed by the caller.
        expected: String,
        /// The one in the UserSig.
        found: String,
    },
    /// Past `TLS.time + TLS.expire`.
    #[error("UserSig expired at {expired_at} (now {now})")]
    Expired {
        /// Unix time it expired.
        expired_at: u64,
        /// The time it was checked.
        now: u64,
    },
    /// The HMAC does not match: wrong key, or tampered.
    #[error("UserSig signature does not match (wrong secret key or tampered)")]
    BadSignature,
}

/// The fields of a decoded UserSig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `TLS.identifier`: the user id.
    pub identifier: String,
    /// `TLS.sdkappid`.
    pub sdk_app_id: u64,
    /// `TLS.time`: Unix time of issue.
    pub time: u64,
    /// `TLS.expire`: lifetime in seconds.
    pub expire: u64,
    /// `TLS.sig`: standard base64 of the HMAC.
    pub sig: String,
}

impl Claims {
    /// Unix time after which the UserSig is expired.
    pub fn expires_at(&self) -> u64 {
        self.time.saturating_add(self.expire)
    }
}

#[derive(Serialize, Deserialize)]
struct Document {
    #[serde(rename = "TLS.ver")]
    ver: String,
    #[serde(rename = "TLS.identifier")]
    identifier: String,
    #[serde(rename = "TLS.sdkappid")]
    sdk_app_id: u64,
    #[serde(rename = "TLS.expire")]
    expire: u64,
    #[serde(rename = "TLS.time")]
    time: u64,
    #[serde(rename = "TLS.sig")]
    sig: String,
}

/// Generates and verifies UserSigs for one app.
#[derive(Clone)]
pub struct Signer {
    sdk_app_id: u64,
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("key", &"<secret>")
            .finish()
    }
}

impl Signer {
    /// A signer for `sdk_app_id` with the console's secret key.
    pub fn new(sdk_app_id: u64, key: &str) -> Self {
        Self {
            sdk_app_id,
            key: key.as_bytes().to_vec(),
        }
    }

    /// The app id.
    pub fn sdk_app_id(&self) -> u64 {
        self.sdk_app_id
    }

    fn mac(&self, identifier: &str, time: u64, expire: u64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(content(identifier, self.sdk_app_id, time, expire).as_bytes());
        mac
    }

    /// `TLS.sig` for the given fields: standard base64 of the HMAC.
    pub fn sig(&self, identifier: &str, time: u64, expire: u64) -> String {
        STANDARD.encode(self.mac(identifier, time, expire).finalize().into_bytes())
    }

    /// A UserSig for `identifier`, issued at `now` (Unix seconds), valid for
    /// `expire` seconds.
    pub fn generate(&self, identifier: &str, now: u64, expire: u64) -> String {
        let document = Document {
            ver: "2.0".into(),
            identifier: identifier.into(),
            sdk_app_id: self.sdk_app_id,
            expire,
            time: now,
            sig: self.sig(identifier, now, expire),
        };
        let json = serde_json::to_vec(&document).expect("serialising plain fields cannot fail");
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder
            .write_all(&json)
            .expect("writing to a Vec cannot fail");
        let compressed = encoder.finish().expect("writing to a Vec cannot fail");
        to_im_base64(&STANDARD.encode(compressed))
    }

    /// Checks a UserSig for `identifier` at time `now`: app id, identifier,
    /// expiry (`now > time + expire` is expired), then the HMAC in constant
    /// time.
    pub fn verify(&self, identifier: &str, usersig: &str, now: u64) -> Result<Claims, VerifyError> {
        let claims = decode(usersig)?;
        if claims.sdk_app_id != self.sdk_app_id {
            return Err(VerifyError::AppIdMismatch {
                expected: self.sdk_app_id,
                found: claims.sdk_app_id,
            });
        }
        if claims.identifier != identifier {
            return Err(VerifyError::IdentifierMismatch {
                expected: identifier.into(),
                found: claims.identifier,
            });
        }
        if now > claims.expires_at() {
            return Err(VerifyError::Expired {
                expired_at: claims.expires_at(),
                now,
            });
        }
        let presented = STANDARD
            .decode(&claims.sig)
            .map_err(|_| VerifyError::BadSignature)?;
        self.mac(&claims.identifier, claims.time, claims.expire)
            .verify_slice(&presented)
            .map_err(|_| VerifyError::BadSignature)?;
        Ok(claims)
    }
}

/// The exact text that is signed.
fn content(identifier: &str, sdk_app_id: u64, time: u64, expire: u64) -> String {
    format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{sdk_app_id}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    )
}

fn to_im_base64(standard: &str) -> String {
    standard
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

fn from_im_base64(im: &str) -> String {
    im.chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect()
}

/// Decodes a UserSig without checking it (for display and diagnosis).
pub fn decode(usersig: &str) -> Result<Claims, VerifyError> {
    const MAX_INFLATED: u64 = 64 * 1024;
    let compressed = STANDARD
        .decode(from_im_base64(usersig.trim()))
        .map_err(|e| VerifyError::Malformed(format!("not base64: {e}")))?;
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(&compressed[..])
        .take(MAX_INFLATED)
        .read_to_end(&mut json)
        .map_err(|e| VerifyError::Malformed(format!("not a zlib stream: {e}")))?;
    let document: Document = serde_json::from_slice(&json)
        .map_err(|e| VerifyError::Malformed(format!("unexpected JSON: {e}")))?;
    if document.ver != "2.0" {
        return Err(VerifyError::Malformed(format!(
            "TLS.ver is {:?}, only \"2.0\" is supported",
            document.ver
        )));
    }
    Ok(Claims {
        identifier: document.identifier,
        sdk_app_id: document.sdk_app_id,
        time: document.time,
        expire: document.expire,
        sig: document.sig,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

    #[test]
    fn official_test_vector() {
        let signer = Signer::new(1400000000, KEY);
        assert_eq!(
            content("xiaojun", 1400000000, 1700000000, 15552000),
            "TLS.identifier:xiaojun\nTLS.sdkappid:1400000000\nTLS.time:1700000000\nTLS.expire:15552000\n"
        );
        assert_eq!(
            signer.sig("xiaojun", 1700000000, 15552000),
            "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="
        );
    }

    #[test]
    fn round_trip() {
        let signer = Signer::new(1400000000, KEY);
        let sig = signer.generate("xiaojun", 1700000000, 15552000);
        assert!(!sig.contains(['+', '/', '=']));
        let claims = signer
            .verify("xiaojun", &sig, 1700000000 + 15552000)
            .unwrap();
        assert_eq!(claims.sig, "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=");
        assert_eq!(claims.expires_at(), 1715552000);
    }

    #[test]
    fn each_failure_is_distinct() {
        let signer = Signer::new(1400000000, KEY);
        let sig = signer.generate("alice", 1000, 60);
        assert_eq!(
            Signer::new(1400000001, KEY).verify("alice", &sig, 1000),
            Err(VerifyError::AppIdMismatch {
                expected: 1400000001,
                found: 1400000000
            })
        );
        assert!(matches!(
            signer.verify("bob", &sig, 1000),
            Err(VerifyError::IdentifierMismatch { .. })
        ));
        // Valid through time + expire inclusive, expired one second later.
        assert!(signer.verify("alice", &sig, 1060).is_ok());
        assert_eq!(
            signer.verify("alice", &sig, 1061),
            Err(VerifyError::Expired {
                expired_at: 1060,
                now: 1061
            })
        );
        assert_eq!(
            Signer::new(1400000000, "another-key").verify("alice", &sig, 1000),
            Err(VerifyError::BadSignature)
        );
        assert!(matches!(
            signer.verify("alice", "not a usersig", 1000),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn tampered_fields_fail_the_hmac() {
        let signer = Signer::new(1400000000, KEY);
        // Same user, longer lifetime, old signature: must not verify.
        let forged = Document {
            ver: "2.0".into(),
            identifier: "alice".into(),
            sdk_app_id: 1400000000,
            expire: 999_999,
            time: 1000,
            sig: signer.sig("alice", 1000, 60),
        };
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&serde_json::to_vec(&forged).unwrap())
            .unwrap();
        let forged = to_im_base64(&STANDARD.encode(enc.finish().unwrap()));
        assert_eq!(
            signer.verify("alice", &forged, 5000),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn debug_hides_the_key() {
        assert!(!format!("{:?}", Signer::new(1, KEY)).contains(KEY));
    }
}
