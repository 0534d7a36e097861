//! `switchboard`: the Switchboard application on the local Spin-compatible
//! host ([`spin_local_host`]), with what only this application needs: the
//! built-in emulators and the variables they fill in, the checks of its own
//! settings made before serving, the scripted demo and the UserSig tool.

#![warn(missing_docs)]

pub mod demo;
pub mod emulators;
pub mod preflight;
pub mod usersig_cmd;

use spin_local_host::{App, AppConfig, RunningServer};

/// Loads the application, checks its own settings ([`preflight`]) and
/// serves it on `listen`: what `switchboard up` does, callable in-process by
/// tests.
pub async fn start(
    config: &AppConfig,
    listen: std::net::SocketAddr,
) -> anyhow::Result<RunningServer> {
    start_on(config, spin_local_host::server::bind(listen).await?)
}

/// [`start`] on a listener already bound: its address is known before the
/// application loads (the built-in emulators' video results go to it).
pub fn start_on(
    config: &AppConfig,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<RunningServer> {
    let app = App::load(config)?;
    preflight::check(&app)?;
    spin_local_host::server::serve(app, listener)
}
