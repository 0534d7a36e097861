//! The built-in backends `switchboard up` starts when no real credentials are
//! configured, so the connectors run end to end on a laptop.

use crate::AppConfig;
use crate::manifest::LoadedManifest;
use anyhow::Result;
use im_emulator::{EmulatorConfig, ImEmulator};
use std::net::SocketAddr;

/// The emulators that were started (dropping this stops them).
#[derive(Default)]
pub struct Backends {
    /// The Tencent Cloud Chat emulator, when started.
    pub im: Option<ImEmulator>,
}

/// Accounts the IM emulator knows from the start.
pub const DEMO_ACCOUNTS: [&str; 2] = ["alice", "bob"];

/// The callback token the IM emulator signs webhooks with.
pub const EMULATOR_CALLBACK_TOKEN: &str = "switchboard-emulator-callback-token";

impl Backends {
    /// Starts the IM emulator on `im_listen` when the manifest declares
    /// `im_sdk_app_id` and no source sets it, and points the `im_*`
    /// variables at it. Values a user set are never replaced.
    pub async fn start(config: &mut AppConfig, im_listen: SocketAddr) -> Result<Self> {
        let manifest = LoadedManifest::load(&config.manifest)?.manifest;
        let declared = |name: &str| manifest.variables.contains_key(name);
        if !declared("im_sdk_app_id") || config.variables.value("im_sdk_app_id").is_some() {
            return Ok(Self::default());
        }
        let emulator_config = EmulatorConfig::default();
        let im = ImEmulator::start(emulator_config.clone(), im_listen).await?;
        // Demo accounts, so the README's curl examples work as pasted.
        for account in DEMO_ACCOUNTS {
            im.import_account(account);
        }
        let values = [
            ("im_sdk_app_id", emulator_config.sdk_app_id.to_string()),
            ("im_secret_key", emulator_config.secret_key.clone()),
            ("im_admin", emulator_config.admins[0].clone()),
            ("im_callback_token", EMULATOR_CALLBACK_TOKEN.to_string()),
            ("im_base_url", im.url()),
        ];
        for (name, value) in values {
            if declared(name) && config.variables.value(name).is_none() {
                config.variables.emulator.insert(name.to_string(), value);
            }
        }
        Ok(Self { im: Some(im) })
    }

    /// Sends the IM emulator's webhooks to the application at `app_url`.
    pub fn connect(&self, app_url: &str, config: &AppConfig) {
        if let Some(im) = &self.im {
            let token = config
                .variables
                .value("im_callback_token")
                .unwrap_or_else(|| EMULATOR_CALLBACK_TOKEN.to_string());
            im.set_callback(Some(format!("{app_url}/im/webhook")), Some(token));
        }
    }

    /// Lines describing where each emulator listens.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(im) = &self.im {
            lines.push(format!(
                "IM emulator (Tencent Cloud Chat): {} — SDKAppID {}, demo accounts {}, state at {}/emulator/state",
                im.url(),
                EmulatorConfig::default().sdk_app_id,
                DEMO_ACCOUNTS.join(", "),
                im.url()
            ));
            lines.push(format!(
                "  send as alice: curl -s -X POST {}/emulator/c2c -H 'content-type: application/json' -d                  '{{\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgBody\":[{{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{{\"Text\":\"hello\"}}}}]}}'",
                im.url()
            ));
        }
        lines
    }
}
