//! `switchboard usersig gen|verify`: the console's "UserSig Generation &
//! Verification" page as a command, using the same variables the components
//! use (`im_sdk_app_id`, `im_secret_key`) unless flags override them.

use anyhow::{Context, Result, bail};
use spin_local_host::variables::VariableSources;
use std::path::PathBuf;

/// Where the app id and secret key come from.
#[derive(clap::Args, Debug)]
pub struct KeyArgs {
    /// SDKAppID (default: variable `im_sdk_app_id`).
    #[arg(long)]
    pub sdkappid: Option<u64>,
    /// Secret key (default: variable `im_secret_key`). Prefer the variable:
    /// command lines end up in shell history.
    #[arg(long)]
    pub key: Option<String>,
    /// Env file with `SPIN_VARIABLE_IM_SDK_APP_ID=...` / `im_secret_key=...` lines.
    #[arg(long)]
    pub env_file: Option<PathBuf>,
}

impl KeyArgs {
    /// The signer for these settings, or an error naming what is missing.
    pub fn signer(&self) -> Result<tim::usersig::Signer> {
        let mut sources = VariableSources::from_process_env();
        if let Some(path) = &self.env_file {
            sources.load_env_file(path)?;
        }
        let sdk_app_id = match self.sdkappid {
            Some(id) => id,
            None => {
                let raw = sources
                    .value("im_sdk_app_id")
                    .context("no SDKAppID: pass --sdkappid or set SPIN_VARIABLE_IM_SDK_APP_ID")?;
                raw.trim()
                    .parse()
                    .with_context(|| format!("im_sdk_app_id `{raw}` is not a number"))?
            }
        };
        let key = match &self.key {
            Some(key) => key.clone(),
            None => sources
                .value("im_secret_key")
                .context("no secret key: pass --key or set SPIN_VARIABLE_IM_SECRET_KEY")?,
        };
        if key.is_empty() {
            bail!("the secret key is empty");
        }
        Ok(tim::usersig::Signer::new(sdk_app_id, &key))
    }
}

/// Prints a fresh UserSig (alone, for scripts).
pub fn generate(keys: &KeyArgs, user: &str, expire: u64) -> Result<()> {
    if user.is_empty() {
        bail!("--user must not be empty");
    }
    if expire == 0 {
        bail!("--expire must be at least 1 second");
    }
    println!(
        "{}",
        keys.signer()?.generate(user, transport::unix_now(), expire)
    );
    Ok(())
}

/// Prints the decoded fields and whether the UserSig is valid; errors (and so
/// exits non-zero) with the exact reason when it is not.
pub fn verify(keys: &KeyArgs, user: &str, usersig: &str) -> Result<()> {
    let signer = keys.signer()?;
    match tim::usersig::decode(usersig) {
        Ok(claims) => {
            println!("TLS.identifier: {}", claims.identifier);
            println!("TLS.sdkappid:   {}", claims.sdk_app_id);
            println!("TLS.time:       {}", claims.time);
            println!(
                "TLS.expire:     {} (expires at {})",
                claims.expire,
                claims.expires_at()
            );
        }
        Err(e) => bail!("invalid: {e}"),
    }
    match signer.verify(user, usersig, transport::unix_now()) {
        Ok(_) => {
            println!("valid");
            Ok(())
        }
        Err(e) => bail!("invalid: {e}"),
    }
}
