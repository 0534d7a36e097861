//! Tencent Cloud API 3.0 as the moderator uses it: requests signed with
//! TC3-HMAC-SHA256 ([`tc3`]), and the two content-moderation calls,
//! `TextModeration` (TMS) and `ImageModeration` (IMS) ([`moderation`]).
//!
//! Free of I/O: the calls go through a [`transport::Transport`], so they
//! compile for `wasm32-wasip2` components and run in native tests; the
//! emulator verifies what they sign with the same [`tc3`] code.

#![warn(missing_docs)]

pub mod moderation;
pub mod tc3;

pub use moderation::{Judgement, ModerationError, TencentModeration};
