//! A local host for Spin applications built on the `wasmtime` crates. It
//! serves the HTTP triggers of a `spin.toml` on one port the way `spin up`
//! does, and refuses, with Spin's own reason, what the selected Spin release
//! would refuse: for development and for integration tests that must hold
//! against the released Spin rather than against a host of their own.
//!
//! It knows Spin's manifest, routes, variables, key-value stores, outbound
//! rules and component interfaces, and nothing of the application it
//! serves: the `switchboard` CLI adds that on top.

#![warn(missing_docs)]

pub mod app;
pub mod build;
pub mod host;
pub mod kv;
pub mod log;
pub mod manifest;
pub mod outbound;
pub mod routes;
pub mod server;
pub mod spin_compat;
pub mod spin_host;
pub mod template;
pub mod variables;

pub use app::{App, AppConfig};
pub use host::ReusePolicy;
pub use log::Logger;
pub use server::RunningServer;
pub use spin_compat::SpinTarget;

/// Loads an application and serves it on `listen`: what `spin up` does,
/// callable in-process.
pub async fn start(
    config: &AppConfig,
    listen: std::net::SocketAddr,
) -> anyhow::Result<RunningServer> {
    let app = App::load(config)?;
    serve(app, listen).await
}

/// Serves an application already loaded (and checked by the caller) on
/// `listen`.
pub async fn serve(app: App, listen: std::net::SocketAddr) -> anyhow::Result<RunningServer> {
    let listener = server::bind(listen).await?;
    server::serve(app, listener)
}
