//! The bridge's configuration, read from Spin variables on each request
//! (instances are reused, but variables are the deployment's, not the
//! request's, so nothing here is per-request state).

use connector::config::{number, optional_variable as optional, variable};
use connector::im::ImSettings;
use std::time::Duration;
use zendesk::api::Auth;

/// What the sidebar panel needs: the app's key and installation (to check
/// Zendesk's signed-URL token) and the bridge's session secret.
pub struct PanelSettings {
    /// `zendesk_app_public_key`: the app's RSA public key (PEM).
    pub public_key: String,
    /// `zendesk_app_installation_id`.
    pub installation_id: u64,
    /// `zendesk_app_secret`: signs panel sessions.
    pub session_secret: String,
    /// `zendesk_panel_unassigned`: whether agents other than the assignee
    /// may read a ticket's chat.
    pub unassigned_may_read: bool,
}

impl PanelSettings {
    fn load() -> Result<Self, String> {
        let public_key = variable("zendesk_app_public_key")?;
        if !public_key.contains("-----BEGIN PUBLIC KEY-----") {
            return Err(
                "configuration: zendesk_app_public_key must be the app's public key in PEM (-----BEGIN PUBLIC KEY-----)"
                    .into(),
            );
        }
        let installation_id = number("zendesk_app_installation_id", None)?;
        let session_secret = variable("zendesk_app_secret")?;
        if session_secret.len() < 32 {
            return Err(
                "configuration: zendesk_app_secret must be at least 32 characters (it signs agents' panel sessions)"
                    .into(),
            );
        }
        let unassigned = optional("zendesk_panel_unassigned");
        let unassigned_may_read = match unassigned.as_str() {
            "read" => true,
            "none" => false,
            other => {
                return Err(format!(
                    "configuration: zendesk_panel_unassigned `{other}` must be `read` or `none`"
                ));
            }
        };
        Ok(Self {
            public_key: public_key.replace("\\n", "\n"),
            installation_id,
            session_secret,
            unassigned_may_read,
        })
    }
}

/// Everything the handlers need.
pub struct Config {
    pub im: ImSettings,
    pub zendesk_base_url: String,
    pub zendesk_auth: Auth,
    pub webhook_secret: String,
    pub webhook_window: u64,
    /// The sidebar panel's settings; `Err` names what is missing, so only
    /// the panel's routes fail when the app is not set up.
    pub panel: Result<PanelSettings, String>,
    pub group_prefix: String,
    pub greeting: String,
    /// Business hours and the notices of a request nobody answers yet.
    pub availability: connector::hours::Availability,
    pub agent_prefix: String,
    pub dissolve_on: Vec<String>,
    /// Domain of the requester e-mails bound to IM users; `None`: tickets
    /// name no requester (the API user is theirs).
    pub requester_domain: Option<String>,
}

impl Config {
    /// Reads and checks every variable; the error names the one at fault.
    pub fn load() -> Result<Self, String> {
        let auth_mode = optional("zendesk_auth");
        let zendesk_auth = match auth_mode.as_str() {
            "oauth" => Auth::OAuth {
                client_id: variable("zendesk_client_id")?,
                client_secret: variable("zendesk_client_secret")?,
                scope: optional("zendesk_oauth_scope"),
            },
            "api_token" => {
                eprintln!(
                    "warning: zendesk_auth=api_token is deprecated: Zendesk stops accepting API tokens on 2027-04-30; \
                     switch to OAuth client credentials"
                );
                Auth::ApiToken {
                    email: variable("zendesk_api_email")?,
                    token: variable("zendesk_api_token")?,
                }
            }
            other => {
                return Err(format!(
                    "configuration: zendesk_auth `{other}` must be `oauth` or `api_token`"
                ));
            }
        };
        let zendesk_base_url = variable("zendesk_base_url")?
            .trim_end_matches('/')
            .to_string();
        let webhook_window = number("zendesk_webhook_window_secs", None)?;
        let dissolve_on: Vec<String> = optional("zendesk_dissolve_on")
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        for state in &dissolve_on {
            if ![
                "new", "open", "pending", "hold", "solved", "closed", "deleted",
            ]
            .contains(&state.as_str())
            {
                return Err(format!(
                    "configuration: zendesk_dissolve_on: unknown status `{state}`"
                ));
            }
        }
        let domain = optional("zendesk_requester_domain").to_ascii_lowercase();
        let valid_domain = domain.contains('.')
            && domain.len() <= 200
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !domain.is_empty() && !valid_domain {
            return Err(format!(
                "configuration: zendesk_requester_domain `{domain}` is not a domain name (like chat-users.example.com)"
            ));
        }
        Ok(Self {
            requester_domain: (!domain.is_empty()).then_some(domain),
            im: ImSettings::load()?.within(connector::bridge::CALLER_BUDGET),
            zendesk_base_url,
            zendesk_auth,
            webhook_secret: variable("zendesk_webhook_secret")?,
            webhook_window,
            panel: PanelSettings::load(),
            group_prefix: variable("zendesk_group_prefix")?,
            greeting: variable("zendesk_greeting")?,
            availability: connector::hours::Availability::from_variables("zendesk", optional)?,
            agent_prefix: optional("zendesk_agent_prefix"),
            dissolve_on,
        })
    }

    /// The Zendesk client, with the cached OAuth token.
    pub fn zendesk(
        &self,
        token: Option<String>,
    ) -> zendesk::api::Client<connector::outbound::SpinHttp> {
        zendesk::api::Client::new(
            self.im.http.unwrap_or_default(),
            &self.zendesk_base_url,
            self.zendesk_auth.clone(),
            token,
            Duration::from_secs(8),
        )
    }

    /// The IM group of a ticket.
    pub fn group_id(&self, ticket_id: u64) -> String {
        format!("{}{ticket_id}", self.group_prefix)
    }

    /// The IM account of a Zendesk agent.
    pub fn agent_account(&self, agent_id: &str) -> String {
        format!("{}{agent_id}", self.agent_prefix)
    }

    /// Whether reaching `state` dissolves the group.
    pub fn dissolves_on(&self, state: &str) -> bool {
        self.dissolve_on.iter().any(|s| s == state)
    }
}
