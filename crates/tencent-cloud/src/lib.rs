//! Tencent Cloud API 3.0 as the moderator uses it: requests signed with
//! TC3-HMAC-SHA256 ([`tc3`]); the content-moderation calls
//! `TextModeration` (TMS), `ImageModeration` (IMS),
//! `CreateAudioModerationSyncTask` (AMS) and `CreateVideoModerationTask`
//! (VM) ([`moderation`]); and the signed results Tencent posts back for a
//! video task ([`callback`]).
//!
//! Free of I/O: the calls go through a [`transport::Transport`], so they
//! compile for `wasm32-wasip2` components and run in native tests; the
//! emulator verifies what they sign with the same [`tc3`] code.

#![warn(missing_docs)]

pub mod callback;
pub mod moderation;
pub mod tc3;

pub use moderation::{Judgement, ModerationError, TencentModeration, VideoCallback};
