//! `tim`: the server side of Tencent Cloud Chat ("IM", formerly TIM), in
//! Rust, with no I/O of its own so the same code runs natively and inside
//! Spin components (`wasm32-wasip2`).
//!
//! - [`events`]: typed webhook bodies and the answers IM expects.
//! - [`message`]: message bodies (`MsgBody`) and splitting long text.
//! - [`shown`]: every text a client shows for a message body, for screening.
//! - [`rest`]: the REST API client, over any HTTP transport.
//! - [`usersig`]: generate and verify UserSigs (TLS sig API v2).
//! - [`webhook`]: verify that a webhook call comes from IM (`Sign`,
//!   `RequestTime`, `SdkAppid`).

pub mod events;
pub mod message;
pub mod rest;
pub mod shown;
pub mod usersig;
pub mod webhook;
