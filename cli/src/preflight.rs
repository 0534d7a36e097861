//! Checks of the Switchboard application's own settings that no Spin host
//! makes, run before `switchboard up` serves anything: a setting that would
//! otherwise fail at the first request (or, worse, quietly weaken it) stops
//! the start with the variable named.

use anyhow::{Result, bail};
use spin_local_host::App;

/// Refuses an application whose `moderator_policy` does not parse: the
/// moderator would refuse every message with it (it fails closed), so the
/// operator hears about it now rather than from their users.
pub fn check(app: &App) -> Result<()> {
    if let Some(policy) = app.variables().application.get("moderator_policy")
        && let Err(error) = screening::policy::Policy::parse(&policy.value)
    {
        bail!(
            "{error} (variable `moderator_policy`, from {})",
            policy.origin
        );
    }
    Ok(())
}
