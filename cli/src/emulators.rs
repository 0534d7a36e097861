//! The built-in backends `switchboard up` starts when no real credentials are
//! configured, so the connectors run end to end on a laptop.

use anyhow::{Context, Result};
use im_emulator::{EmulatorConfig, ImEmulator};
use llm_emulator::LlmEmulator;
use salesforce_emulator::{SalesforceConfig, SalesforceEmulator};
use spin_local_host::AppConfig;
use spin_local_host::manifest::LoadedManifest;
use std::net::SocketAddr;
use zendesk_emulator::{ZendeskConfig, ZendeskEmulator};

/// The emulators that were started (dropping this stops them).
#[derive(Default)]
pub struct Backends {
    /// The Tencent Cloud Chat emulator, when started.
    pub im: Option<ImEmulator>,
    /// The Zendesk emulator, when started.
    pub zendesk: Option<ZendeskEmulator>,
    /// The Salesforce emulator, when started.
    pub salesforce: Option<SalesforceEmulator>,
    /// The LLM provider emulator, when started.
    pub llm: Option<LlmEmulator>,
}

/// Where the built-in emulators listen.
#[derive(Debug, Clone, Copy)]
pub struct EmulatorAddrs {
    /// The IM emulator.
    pub im: SocketAddr,
    /// The Zendesk emulator.
    pub zendesk: SocketAddr,
    /// The Salesforce emulator.
    pub salesforce: SocketAddr,
    /// The LLM emulator.
    pub llm: SocketAddr,
}

impl EmulatorAddrs {
    /// The ports `switchboard up --listen <listen>` uses: the next four
    /// after its own, on loopback whatever address it listens on (the
    /// emulators' secrets are public).
    pub fn after(listen: SocketAddr) -> Self {
        let next = |offset: u16| {
            SocketAddr::new(
                std::net::Ipv4Addr::LOCALHOST.into(),
                listen.port().wrapping_add(offset),
            )
        };
        Self {
            im: next(1),
            zendesk: next(2),
            salesforce: next(3),
            llm: next(4),
        }
    }

    /// Any free loopback ports (for tests).
    pub fn any() -> Self {
        let any: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
        Self {
            im: any,
            zendesk: any,
            salesforce: any,
            llm: any,
        }
    }
}

/// The secret the bridge signs sidebar panel sessions with when it runs
/// against the Zendesk emulator (local only: it is public).
pub const EMULATOR_APP_SECRET: &str = "zendesk-emulator-panel-session-secret";
/// The secret the (simulated) Apex side signs its calls with.
pub const EMULATOR_SALESFORCE_INBOUND_SECRET: &str = "salesforce-emulator-inbound-secret";
/// The Case External ID field used against the emulator.
pub const EMULATOR_EXTERNAL_ID_FIELD: &str = "Switchboard_Request_Id__c";

/// Accounts the IM emulator knows from the start.
pub const DEMO_ACCOUNTS: [&str; 2] = ["alice", "bob"];
/// The robot the IM emulator knows from the start (the default `chatbot_robots`).
pub const DEMO_ROBOT: &str = "@RBT#assistant";

/// The moderation admin token `switchboard up` uses when the IM emulator
/// runs and none is set (local development only: it is public).
pub const EMULATOR_MODERATION_ADMIN_TOKEN: &str = "switchboard-local-moderation-admin";

/// The callback token the IM emulator signs webhooks with.
pub const EMULATOR_CALLBACK_TOKEN: &str = "switchboard-emulator-callback-token";

/// Variables that point at a backend or prove who we are to it, besides
/// every variable the manifest declares `secret = true`. Setting any of them
/// means "I run against real systems": then no emulator starts, because an
/// emulator's public constants must never sit beside a real credential.
/// Plain settings (auth mode, paths, the Case External ID field, the admin
/// account's name) may be set with the emulators running.
pub const BACKEND_VARIABLES: &[&str] = &[
    "im_sdk_app_id",
    "im_base_url",
    "zendesk_base_url",
    "zendesk_client_id",
    "zendesk_api_email",
    "zendesk_app_public_key",
    "zendesk_app_installation_id",
    "salesforce_login_url",
    "salesforce_client_id",
    "salesforce_username",
    "llm_openai_url",
    "llm_compat_url",
    "llm_anthropic_url",
    "llm_minimax_url",
    "moderation_api_url",
    "tencent_secret_id",
    "tencent_tms_url",
    "tencent_ims_url",
    "tencent_ams_url",
    "tencent_vm_url",
];

impl Backends {
    /// Starts every built-in emulator and points the variables at them, when
    /// no source sets a backend variable ([`BACKEND_VARIABLES`] or a secret);
    /// settings a user set are kept. When one is set, none starts, and every
    /// required variable must be set too: the error names the missing ones.
    ///
    /// Emulators listen on loopback only: a non-loopback address is refused.
    pub async fn start(config: &mut AppConfig, addrs: EmulatorAddrs) -> Result<Self> {
        let manifest = LoadedManifest::load(&config.manifest)?.manifest;
        let configured: Vec<&String> = manifest
            .variables
            .iter()
            .filter(|(name, decl)| decl.secret || BACKEND_VARIABLES.contains(&name.as_str()))
            .map(|(name, _)| name)
            .filter(|name| config.variables.value(name).is_some())
            .collect();
        if !configured.is_empty() {
            let missing: Vec<String> = manifest
                .variables
                .iter()
                .filter(|(name, decl)| {
                    decl.default.is_none() && config.variables.value(name).is_none()
                })
                .map(|(name, _)| format!("`{name}` (SPIN_VARIABLE_{})", name.to_ascii_uppercase()))
                .collect();
            if !missing.is_empty() {
                let set: Vec<String> = configured.iter().map(|n| format!("`{n}`")).collect();
                anyhow::bail!(
                    "{} set, so the built-in emulators stay off (they are all or nothing: their public \
                     secrets never sit beside real credentials); set these too: {}",
                    set.join(", "),
                    missing.join(", ")
                );
            }
            return Ok(Self::default());
        }
        for (name, addr) in [
            ("IM", addrs.im),
            ("Zendesk", addrs.zendesk),
            ("Salesforce", addrs.salesforce),
            ("LLM", addrs.llm),
        ] {
            if !addr.ip().is_loopback() {
                anyhow::bail!(
                    "the {name} emulator would listen on {addr}: emulators serve public secrets, \
                     so they listen on loopback only (127.0.0.1 or ::1)"
                );
            }
        }
        let declared = |name: &str| manifest.variables.contains_key(name);
        let mut backends = Self::default();
        if declared("im_sdk_app_id") {
            backends.im = Some(Self::start_im(config, addrs.im, &declared).await?);
        }
        if declared("zendesk_base_url") {
            let zendesk = ZendeskEmulator::start(ZendeskConfig::default(), addrs.zendesk).await?;
            let settings = zendesk.config();
            let values = [
                ("zendesk_base_url", zendesk.url()),
                ("zendesk_auth", "oauth".to_string()),
                ("zendesk_client_id", settings.client_id.clone()),
                ("zendesk_client_secret", settings.client_secret.clone()),
                ("zendesk_webhook_secret", settings.webhook_secret.clone()),
                ("zendesk_app_secret", EMULATOR_APP_SECRET.to_string()),
                // One line (`\n` for the newlines, which the bridge
                // accepts), so an env file can carry it.
                (
                    "zendesk_app_public_key",
                    zendesk_emulator::ZAF_PUBLIC_KEY.trim().replace('\n', "\\n"),
                ),
                (
                    "zendesk_app_installation_id",
                    settings.app_installation_id.to_string(),
                ),
            ];
            fill(config, &declared, &values);
            backends.zendesk = Some(zendesk);
        }
        if declared("salesforce_login_url") {
            let salesforce =
                SalesforceEmulator::start(SalesforceConfig::default(), addrs.salesforce).await?;
            let settings = salesforce.config().clone();
            let values = [
                ("salesforce_login_url", salesforce.url()),
                ("salesforce_auth", "client_credentials".to_string()),
                ("salesforce_client_id", settings.client_id),
                ("salesforce_client_secret", settings.client_secret),
                (
                    "salesforce_inbound_secret",
                    EMULATOR_SALESFORCE_INBOUND_SECRET.to_string(),
                ),
                (
                    "salesforce_external_id_field",
                    EMULATOR_EXTERNAL_ID_FIELD.to_string(),
                ),
            ];
            fill(config, &declared, &values);
            backends.salesforce = Some(salesforce);
        }
        if declared("llm_openai_url") {
            let llm = LlmEmulator::start(addrs.llm).await?;
            let mut values = Vec::new();
            for (kind, path) in [
                ("openai", "/v1"),
                ("compat", "/v1"),
                ("anthropic", ""),
                ("minimax", ""),
            ] {
                values.push((format!("llm_{kind}_url"), llm.url()));
                values.push((format!("llm_{kind}_path"), path.to_string()));
                values.push((
                    format!("llm_{kind}_api_key"),
                    llm_emulator::API_KEY.to_string(),
                ));
            }
            values.push(("moderation_api_url".into(), llm.url()));
            values.push(("moderation_api_path".into(), "/v1".into()));
            values.push((
                "moderation_api_key".into(),
                llm_emulator::API_KEY.to_string(),
            ));
            // The same emulator answers Tencent Cloud's TMS, IMS, AMS and VM.
            values.push(("tencent_tms_url".into(), llm.url()));
            values.push(("tencent_ims_url".into(), llm.url()));
            values.push(("tencent_ams_url".into(), llm.url()));
            values.push(("tencent_vm_url".into(), llm.url()));
            values.push((
                "tencent_secret_id".into(),
                llm_emulator::tencent::SECRET_ID.to_string(),
            ));
            values.push((
                "tencent_secret_key".into(),
                llm_emulator::tencent::SECRET_KEY.to_string(),
            ));
            let values: Vec<(&str, String)> = values
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            fill(config, &declared, &values);
            backends.llm = Some(llm);
        }
        Ok(backends)
    }

    /// Points Tencent Cloud's video results at the application served at
    /// `app_url`: while the LLM emulator stands in for Tencent,
    /// `tencent_video_callback_url` becomes `<app_url>/moderation/tencent/video`
    /// and `tencent_callback_seed` the emulator's, unless set. Call it once
    /// the application's address is known and before it loads.
    pub fn send_video_results_to(&self, config: &mut AppConfig, app_url: &str) -> Result<()> {
        if self.llm.is_none() {
            return Ok(());
        }
        let manifest = LoadedManifest::load(&config.manifest)?.manifest;
        let declared = |name: &str| manifest.variables.contains_key(name);
        let values = [
            (
                "tencent_video_callback_url",
                format!("{}/moderation/tencent/video", app_url.trim_end_matches('/')),
            ),
            (
                "tencent_callback_seed",
                llm_emulator::tencent::CALLBACK_SEED.to_string(),
            ),
        ];
        fill(config, &declared, &values);
        Ok(())
    }

    /// Whether any emulator runs.
    pub fn any(&self) -> bool {
        self.im.is_some()
            || self.zendesk.is_some()
            || self.salesforce.is_some()
            || self.llm.is_some()
    }

    /// Refuses to serve the application on a non-loopback address while
    /// emulators run: their public secrets (the moderation admin token, the
    /// Apex and sidebar-app secrets) would then open it to the network.
    pub fn check_listen(&self, listen: SocketAddr) -> Result<()> {
        if self.any() && !listen.ip().is_loopback() {
            anyhow::bail!(
                "--listen {listen}: with the built-in emulators the application accepts their public \
                 secrets, so it listens on loopback only; set real credentials (or --no-emulators) to serve {}",
                listen.ip()
            );
        }
        Ok(())
    }

    async fn start_im(
        config: &mut AppConfig,
        listen: SocketAddr,
        declared: &dyn Fn(&str) -> bool,
    ) -> Result<ImEmulator> {
        let emulator_config = EmulatorConfig::default();
        let im = ImEmulator::start(emulator_config.clone(), listen).await?;
        // Demo accounts, so the README's curl examples work as pasted.
        for account in DEMO_ACCOUNTS {
            im.import_account(account);
        }
        im.create_robot(DEMO_ROBOT);
        let values = [
            ("im_sdk_app_id", emulator_config.sdk_app_id.to_string()),
            ("im_secret_key", emulator_config.secret_key.clone()),
            ("im_admin", emulator_config.admins[0].clone()),
            ("im_callback_token", EMULATOR_CALLBACK_TOKEN.to_string()),
            ("im_base_url", im.url()),
            (
                "moderation_admin_token",
                EMULATOR_MODERATION_ADMIN_TOKEN.to_string(),
            ),
        ];
        fill(config, declared, &values);
        Ok(im)
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
        if let Some(zendesk) = &self.zendesk {
            zendesk.set_webhook_url(Some(format!("{app_url}/zendesk/webhook")));
            zendesk.set_app_url(Some(format!("{app_url}/zendesk/app")));
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
                "  ask the robot as alice: curl -s -X POST {}/emulator/c2c -H 'content-type: application/json' -d '{{\"From_Account\":\"alice\",\"To_Account\":\"@RBT#assistant\",\"MsgBody\":[{{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{{\"Text\":\"hello\"}}}}]}}'",
                im.url()
            ));
            lines.push(format!(
                "  moderation admin token (local only): {EMULATOR_MODERATION_ADMIN_TOKEN}"
            ));
        }
        if let Some(zendesk) = &self.zendesk {
            lines.push(format!(
                "Zendesk emulator: {} — OAuth client `{}`, state at {}/emulator/state",
                zendesk.url(),
                zendesk.config().client_id,
                zendesk.url()
            ));
            lines.push(format!(
                "  a ticket's sidebar chat as agent Ada: {}/agent/tickets/<ticket id>?agent=7001",
                zendesk.url()
            ));
        }
        if let Some(llm) = &self.llm {
            lines.push(format!(
                "LLM emulator (OpenAI-compatible, Anthropic, MiniMax, OpenAI moderations, Tencent Cloud TMS/IMS): {} — deterministic answers",
                llm.url()
            ));
        }
        if let Some(salesforce) = &self.salesforce {
            lines.push(format!(
                "Salesforce emulator: {} — client credentials `{}`, state at {}/emulator/state",
                salesforce.url(),
                salesforce.config().client_id,
                salesforce.url()
            ));
        }
        lines
    }
}

/// The variables the running emulators filled in, as `--env-file` lines
/// (`name='value'`), for more hosts to point at the same emulators. A value
/// the format cannot carry (a newline, or both kinds of quote) is refused
/// by name.
pub fn env_file_text(config: &AppConfig) -> Result<String> {
    let mut text = String::from(
        "# Written by `switchboard emulators`: every variable points at its built-in emulators.\n\
         # The secrets are the emulators' public ones; never use this file beside real credentials.\n",
    );
    for (name, value) in &config.variables.fallback {
        let line = if value.contains('\n') {
            None
        } else if !value.contains('\'') {
            Some(format!("{name}='{value}'"))
        } else if !value.contains('"') {
            Some(format!("{name}=\"{value}\""))
        } else {
            None
        };
        let line = line.with_context(|| {
            format!("`{name}`: its value cannot be written as one env-file line")
        })?;
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text)
}

/// Sets the emulator's value for each declared variable nobody else set.
fn fill(config: &mut AppConfig, declared: &dyn Fn(&str) -> bool, values: &[(&str, String)]) {
    config.variables.fallback_origin = "built-in emulator";
    for (name, value) in values {
        if declared(name) && config.variables.value(name).is_none() {
            config
                .variables
                .fallback
                .insert(name.to_string(), value.clone());
        }
    }
}
