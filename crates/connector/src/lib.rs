//! Plumbing shared by the Switchboard components.
//!
//! - [`agent_chat`]: a ticket's chat as an agent's panel shows it, and the
//!   checks on what an agent sends.
//! - [`agent_panel`] (feature `spin`): the agent chat calls both bridges
//!   answer: history pages, sending once as the agent, per-agent limits.
//! - [`chat_sync`] (feature `spin`): a support group's chat copied into its
//!   ticket or Case, once each, in order, batched.
//! - [`config`]: Spin variables, the whole numbers in them, and the clock.
//! - [`cors`]: which browser origins may call the end users' routes.
//! - [`dispatch`]: the IM gateway's command → component table.
//! - [`hours`]: a help desk's business hours.
//! - [`auth`] (feature `spin`): end users authenticated by their IM UserSig.
//! - [`bridge`] (feature `spin`): the checks every ticket-bridge route shares.
//! - [`edge`] (feature `spin`): the WASI 0.2 HTTP handler, request bodies
//!   read with a cap, work after the response, timers.
//! - [`reply`] (feature `spin`): JSON responses and errors for components.
//! - [`outbound`] (feature `spin`): Spin's outbound HTTP as the transport of
//!   the `tim`, Zendesk, Salesforce and LLM clients.
//! - [`state`] (feature `spin`): JSON records in the key-value store.
//! - [`im`] (feature `spin`): IM settings, client, and opening a group.
//! - [`removal`] (feature `spin`): taking a flagged delivered message back
//!   out of its conversation (a notice, or a recall).
//! - [`request`]: the support request end users send to a bridge.
//! - [`request_flow`] (feature `spin`): the steps both bridges take from a
//!   support request to a ticket or Case and its group, with one
//!   idempotency rule.
//! - [`url`]: what an error may say about a URL, and which URLs may carry
//!   credentials.

#![warn(missing_docs)]
#![allow(
    clippy::result_large_err,
    reason = "handlers return a ready HTTP response as their error; it is built once per request, not on a hot path"
)]

pub mod agent_chat;
#[cfg(feature = "spin")]
pub mod agent_panel;
#[cfg(feature = "spin")]
pub mod auth;
#[cfg(feature = "spin")]
pub mod bridge;
#[cfg(feature = "spin")]
pub mod chat_sync;
pub mod config;
pub mod cors;
pub mod dispatch;
#[cfg(feature = "spin")]
pub mod edge;
pub mod hours;
#[cfg(feature = "spin")]
pub mod im;
#[cfg(feature = "spin")]
pub mod outbound;
#[cfg(feature = "spin")]
pub mod removal;
#[cfg(feature = "spin")]
pub mod reply;
pub mod request;
#[cfg(feature = "spin")]
pub mod request_flow;
#[cfg(feature = "spin")]
pub mod state;
pub mod url;
