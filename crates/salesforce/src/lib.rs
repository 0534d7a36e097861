//! Salesforce, as the Switchboard case bridge needs it, with no I/O of its
//! own (runs natively and in `wasm32-wasip2` components):
//!
//! - [`api`]: OAuth (client credentials by default, JWT bearer, legacy
//!   username-password) and Case creation, idempotent by External ID upsert.
//! - [`inbound`]: verifying the calls Apex makes to the bridge (HMAC over
//!   timestamp + raw body, or a bearer secret).

pub mod api;
pub mod inbound;
