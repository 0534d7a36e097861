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
    let app = App::load(config)?;
    preflight::check(&app)?;
    spin_local_host::serve(app, listen).await
}
