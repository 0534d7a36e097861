//! Zendesk, as the Switchboard ticket bridge needs it, with no I/O of its
//! own (runs natively and in `wasm32-wasip2` components):
//!
//! - [`webhook`]: verify a webhook delivery's signature and freshness, and
//!   read ticket events (event subscriptions and trigger bodies).
//! - [`api`]: create tickets with OAuth `client_credentials` (API tokens as a
//!   legacy option), idempotency keys and `Retry-After`.
//! - [`app`]: verify the JWT a Zendesk sidebar app's requests carry.

pub mod api;
pub mod app;
pub mod webhook;

/// Outside input never panics a parser: webhook events, signature
/// timestamps, sidebar-app JWTs. Run with every `cargo test`.
#[cfg(test)]
mod no_panic {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn webhooks_and_app_tokens(bytes in proptest::collection::vec(any::<u8>(), 0..400), text in ".{0,200}", now in any::<u64>(), window in any::<u64>()) {
            let _ = crate::webhook::parse_event(&bytes);
            let _ = crate::webhook::parse_event(text.as_bytes());
            let _ = crate::webhook::parse_timestamp(&text);
            let _ = crate::webhook::verify("secret", &text, &bytes, &text, now, window);
            let header = format!("Bearer {text}");
            let _ = crate::app::verify(Some(&header), "secret", "issuer", "audience");
            let _ = crate::app::verify(Some(&text), "secret", "issuer", "audience");
        }
    }
}
