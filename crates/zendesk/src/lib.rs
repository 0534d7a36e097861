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
