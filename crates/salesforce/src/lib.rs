//! Salesforce, as the Switchboard case bridge needs it, with no I/O of its
//! own (runs natively and in `wasm32-wasip2` components):
//!
//! - [`api`]: OAuth (client credentials by default, JWT bearer, legacy
//!   username-password) and Case creation, idempotent by External ID upsert.
//! - [`events`]: the Case / AgentWork change batches Apex sends.
//! - [`inbound`]: verifying the calls Apex makes to the bridge (HMAC over
//!   timestamp, nonce and raw body, or a bearer secret).

#![warn(missing_docs)]

pub mod api;
pub mod events;
pub mod inbound;

/// Outside input never panics the Apex call checks. Run with every
/// `cargo test`.
#[cfg(test)]
mod no_panic {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn signed_calls(bytes in proptest::collection::vec(any::<u8>(), 0..300), ts in ".{0,40}", nonce in ".{0,80}", sig in ".{0,120}", now in any::<u64>(), window in any::<u64>()) {
            let _ = crate::inbound::verify_hmac("secret", Some(&ts), Some(&nonce), Some(&sig), &bytes, now, window);
            let _ = crate::inbound::verify_bearer("secret", Some(&sig));
            let _ = crate::events::parse(&bytes);
        }
    }
}
