//! `switchboard`: a local host for Spin applications built on the `wasmtime`
//! crates. It serves the HTTP triggers of a `spin.toml` on one port the way
//! `spin up` does, for development and for the integration tests.

pub mod app;
pub mod build;
pub mod demo;
pub mod emulators;
pub mod host;
pub mod kv;
pub mod log;
pub mod manifest;
pub mod outbound;
pub mod preflight;
pub mod routes;
pub mod server;
pub mod spin_compat;
pub mod spin_host;
pub mod usersig_cmd;
pub mod variables;

pub use app::{App, AppConfig};
pub use host::ReusePolicy;
pub use log::Logger;
pub use server::RunningServer;
pub use spin_compat::SpinTarget;

/// Loads an application and serves it on `listen`: what `switchboard up`
/// does, callable in-process by tests.
pub async fn start(
    config: &AppConfig,
    listen: std::net::SocketAddr,
) -> anyhow::Result<RunningServer> {
    let app = App::load(config)?;
    preflight::check(&app)?;
    let listener = server::bind(listen).await?;
    server::serve(app, listener)
}
