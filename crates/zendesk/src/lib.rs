//! Zendesk, as the Switchboard ticket bridge needs it, with no I/O of its
//! own (runs natively and in `wasm32-wasip2` components):
//!
//! - [`webhook`]: verify a webhook delivery's signature and freshness, and
//!   read ticket events (event subscriptions and trigger bodies).
//! - [`api`]: create tickets with OAuth `client_credentials` (API tokens as a
//!   legacy option), idempotency keys and `Retry-After`.
//! - [`app`]: verify the token Zendesk signs for a sidebar app's page (the
//!   agent's identity), and the panel sessions the bridge starts from it.

#![warn(missing_docs)]

pub mod api;
pub mod app;
pub mod webhook;

/// Outside input never panics a parser: webhook events, signature
/// timestamps, sidebar-app tokens and sessions. Run with every `cargo test`.
#[cfg(test)]
mod no_panic {
    use proptest::prelude::*;
    const KEY: &str = include_str!("../../../emulators/zendesk/testdata/zaf-signing-key.pub.pem");

    proptest! {
        #[test]
        fn webhooks_and_app_tokens(bytes in proptest::collection::vec(any::<u8>(), 0..400), text in ".{0,200}", now in any::<u64>(), window in any::<u64>()) {
            let _ = crate::webhook::parse_event(&bytes);
            let _ = crate::webhook::parse_event(text.as_bytes());
            let _ = crate::webhook::parse_timestamp(&text);
            let _ = crate::webhook::verify("secret", &text, &bytes, &text, now, window);
            let _ = crate::app::verify_signed_url(Some(&text), KEY, "https://a.zendesk.com", 1, now);
            let _ = crate::app::PanelSession::verify(&text, "secret", now);
        }
    }
}
