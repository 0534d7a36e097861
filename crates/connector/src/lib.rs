//! Plumbing shared by the Switchboard components.
//!
//! - [`dispatch`]: the IM gateway's command → component table.
//! - [`reply`] (feature `spin`): JSON responses and errors for components.

pub mod dispatch;
#[cfg(feature = "spin")]
pub mod reply;
