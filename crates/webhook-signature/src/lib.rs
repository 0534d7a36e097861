//! `base64(HMAC-SHA256(secret, part₁ + part₂ + …))` — the signature scheme
//! of Zendesk webhooks (timestamp + raw body) and of Switchboard's Apex
//! callouts — with verification in constant time; [`switchboard`] lays
//! out the parts of Switchboard's own signed calls.
//!
//! ```
//! let signature = webhook_signature::sign("secret", &[b"1700000000", b"{}"]);
//! assert!(webhook_signature::verify("secret", &[b"1700000000", b"{}"], &signature));
//! assert!(!webhook_signature::verify("secret", &[b"1700000000", b"{ }"], &signature));
//! ```

#![warn(missing_docs)]

pub mod switchboard;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(secret: &str, parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// The standard-base64 HMAC-SHA256 of the parts, concatenated with no separator.
pub fn sign(secret: &str, parts: &[&[u8]]) -> String {
    STANDARD.encode(mac(secret, parts).finalize().into_bytes())
}

/// Whether `presented` (standard base64) is the signature of the parts; a
/// hex or otherwise mis-encoded value never matches.
pub fn verify(secret: &str, parts: &[&[u8]], presented: &str) -> bool {
    match STANDARD.decode(presented.trim()) {
        Ok(bytes) => mac(secret, parts).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}
