//! The bridge's configuration, from Spin variables.

use connector::config::{number, optional_variable as optional, variable};
use connector::im::ImSettings;
use salesforce::api::Auth;

/// How Apex's calls are authenticated.
pub enum Inbound {
    /// base64 HMAC-SHA256 over timestamp + raw body (replays refused).
    Hmac(String),
    /// `Authorization: Bearer <secret>`.
    Bearer(String),
}

/// What closing a Case does to its group.
#[derive(PartialEq, Eq)]
pub enum CloseAction {
    /// Dissolve at once.
    Dissolve,
    /// Post `close_notice`, then dissolve.
    NotifyThenDissolve,
}

/// Everything the handlers need.
pub struct Config {
    pub im: ImSettings,
    pub login_url: String,
    pub auth: Auth,
    pub api_version: String,
    pub external_id_field: Option<String>,
    pub auto_assign: String,
    pub origin: String,
    pub group_prefix: String,
    /// Business hours and the notices of a request nobody answers yet.
    pub availability: connector::hours::Availability,
    pub user_prefix: String,
    pub close_action: CloseAction,
    pub close_notice: String,
    pub inbound: Inbound,
    pub inbound_window: u64,
    /// `salesforce_chat_unassigned`: whether users who do not work a Case
    /// (but can see it) may read its chat in the Case chat component.
    pub chat_unassigned_may_read: bool,
}

impl Config {
    /// Reads and checks every variable; the error names the one at fault.
    pub fn load() -> Result<Self, String> {
        let auth = match optional("salesforce_auth").as_str() {
            "client_credentials" => Auth::ClientCredentials {
                client_id: variable("salesforce_client_id")?,
                client_secret: variable("salesforce_client_secret")?,
            },
            "jwt_bearer" => Auth::JwtBearer {
                client_id: variable("salesforce_client_id")?,
                username: variable("salesforce_username")?,
                private_key_pem: variable("salesforce_jwt_private_key")?,
                audience: variable("salesforce_jwt_audience")?,
            },
            "password" => {
                eprintln!(
                    "warning: salesforce_auth=password is deprecated: Salesforce retires the username-password flow \
                     on 2027-02-20; switch to client_credentials or jwt_bearer"
                );
                Auth::Password {
                    client_id: variable("salesforce_client_id")?,
                    client_secret: variable("salesforce_client_secret")?,
                    username: variable("salesforce_username")?,
                    password: variable("salesforce_password")?,
                }
            }
            other => {
                return Err(format!(
                    "configuration: salesforce_auth `{other}` must be client_credentials, jwt_bearer or password"
                ));
            }
        };
        let field = optional("salesforce_external_id_field");
        let custom_field =
            field.ends_with("__c") && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !field.is_empty() && !custom_field {
            return Err(format!(
                "configuration: salesforce_external_id_field `{field}` must be a custom field API name ending in __c"
            ));
        }
        let close_action = match optional("salesforce_close_action").as_str() {
            "dissolve" => CloseAction::Dissolve,
            "notify_then_dissolve" => CloseAction::NotifyThenDissolve,
            other => {
                return Err(format!(
                    "configuration: salesforce_close_action `{other}` must be dissolve or notify_then_dissolve"
                ));
            }
        };
        let inbound = match optional("salesforce_inbound_auth").as_str() {
            "hmac" => Inbound::Hmac(variable("salesforce_inbound_secret")?),
            "bearer" => Inbound::Bearer(variable("salesforce_inbound_secret")?),
            other => {
                return Err(format!(
                    "configuration: salesforce_inbound_auth `{other}` must be hmac or bearer"
                ));
            }
        };
        let inbound_window = number("salesforce_inbound_window_secs", None)?;
        let chat_unassigned_may_read = match optional("salesforce_chat_unassigned").as_str() {
            "read" => true,
            "none" => false,
            other => {
                return Err(format!(
                    "configuration: salesforce_chat_unassigned `{other}` must be `read` or `none`"
                ));
            }
        };
        Ok(Self {
            im: ImSettings::load()?.within(connector::bridge::CALLER_BUDGET),
            login_url: variable("salesforce_login_url")?,
            auth,
            api_version: variable("salesforce_api_version")?,
            external_id_field: (!field.is_empty()).then_some(field),
            auto_assign: variable("salesforce_auto_assign")?,
            origin: variable("salesforce_case_origin")?,
            group_prefix: variable("salesforce_group_prefix")?,
            availability: connector::hours::Availability::from_variables("salesforce", optional)?,
            user_prefix: optional("salesforce_user_prefix"),
            close_action,
            close_notice: optional("salesforce_close_notice"),
            inbound,
            inbound_window,
            chat_unassigned_may_read,
        })
    }

    /// The Salesforce client, with the cached session.
    pub fn salesforce(
        &self,
        session: Option<salesforce::api::Session>,
    ) -> salesforce::api::Client<connector::outbound::SpinHttp> {
        salesforce::api::Client::new(
            self.im.http.unwrap_or_default(),
            &self.login_url,
            self.auth.clone(),
            &self.api_version,
            &self.auto_assign,
            session,
        )
    }

    /// The IM group of a Case.
    pub fn group_id(&self, case_id: &str) -> String {
        format!("{}{case_id}", self.group_prefix)
    }

    /// The IM account of a Salesforce user.
    pub fn agent_account(&self, user_id: &str) -> String {
        format!("{}{user_id}", self.user_prefix)
    }
}
