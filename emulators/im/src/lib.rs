//! A stateful loopback emulator of Tencent Cloud Chat's REST API and
//! webhooks, for tests and for `switchboard up` without real credentials.
//!
//! - REST: `POST /v4/<service>/<command>?sdkappid=..&identifier=..&usersig=..&random=..&contenttype=json`,
//!   with the admin UserSig checked by the real algorithm (wrong key → 70009,
//!   expired → 70001) and IM's error codes (10010, 10021, 10015, 90001, …).
//! - Webhooks: with a callback URL set, sends are run through IM's callbacks
//!   (`Group.CallbackBeforeSendMsg` honouring allow / reject / drop /
//!   replace, after-send callbacks, `Bot.OnC2CMessage`, `Bot.OnGroupMessage`),
//!   signed with `Sign`/`RequestTime` when a token is set.
//! - Control: `POST /emulator/c2c` and `POST /emulator/group` send as an end
//!   user would from the SDK, `POST /emulator/create_group` creates a group
//!   as a user (running `Group.CallbackBeforeCreateGroup`), `POST
//!   /emulator/modify_group` changes its name, introduction or notification
//!   as a member (then `Group.CallbackAfterGroupInfoChanged`, which REST
//!   `modify_group_base_info` fires too), `POST /emulator/join_group` adds members as if they joined from the SDK; `GET /emulator/state` returns the whole state.

#![warn(missing_docs)]

mod commands;
mod state;
mod webhooks;

pub use state::{C2cMessage, Delivery, Group, GroupMessage, State, text_of};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The app the emulator plays.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// SDKAppID.
    pub sdk_app_id: u64,
    /// Secret key UserSigs are checked with.
    pub secret_key: String,
    /// Admin accounts allowed to call the REST API.
    pub admins: Vec<String>,
    /// Where webhooks go, if anywhere.
    pub callback_url: Option<String>,
    /// Callback token for `Sign`; `None` sends unsigned webhooks.
    pub callback_token: Option<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            sdk_app_id: 1400000000,
            secret_key: "switchboard-emulator-secret-key".into(),
            admins: vec!["administrator".into()],
            callback_url: None,
            callback_token: None,
        }
    }
}

pub(crate) struct Shared {
    pub(crate) config: Mutex<EmulatorConfig>,
    pub(crate) state: Mutex<State>,
    pub(crate) http: reqwest::Client,
    /// IM error codes the next REST calls answer with.
    pub(crate) faults: loopback::Faults<i64>,
}

impl Shared {
    pub(crate) fn config(&self) -> EmulatorConfig {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running emulator; stops when dropped.
pub struct ImEmulator {
    server: loopback::Server,
    shared: Arc<Shared>,
}

impl ImEmulator {
    /// Starts it on `listen` (port 0 for any free port).
    pub async fn start(config: EmulatorConfig, listen: SocketAddr) -> Result<Self> {
        let shared = Arc::new(Shared {
            config: Mutex::new(config),
            state: Mutex::new(State::default()),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(2))
                .build()?,
            faults: loopback::Faults::default(),
        });
        let handler_shared = shared.clone();
        let server = loopback::serve(listen, move |request| {
            let shared = handler_shared.clone();
            async move { route(shared, request).await }
        })
        .await
        .with_context(|| "IM emulator")?;
        Ok(Self { server, shared })
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://<addr>`: the REST base URL to configure.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A copy of the whole state.
    pub fn state(&self) -> State {
        self.shared.state().clone()
    }

    /// Changes where webhooks go (and the token they are signed with).
    pub fn set_callback(&self, url: Option<String>, token: Option<String>) {
        let mut config = self.shared.config.lock().unwrap_or_else(|e| e.into_inner());
        config.callback_url = url;
        config.callback_token = token;
    }

    /// The next authenticated REST call fails with IM error `code`.
    pub fn fail_next(&self, code: i64) {
        self.shared.faults.fail_next(code);
    }

    /// Creates a robot account, as `create_robot` would.
    pub fn create_robot(&self, robot: &str) {
        self.shared.state().robots.insert(robot.to_string());
    }

    /// Adds members to a group directly (as if they joined through the SDK).
    pub fn join_group(&self, group_id: &str, accounts: &[&str]) -> bool {
        join(
            &self.shared,
            group_id,
            accounts.iter().map(|a| a.to_string()),
        )
        .is_some()
    }

    /// Imports an account, as `account_import` would.
    pub fn import_account(&self, account: &str) {
        self.shared.state().accounts.insert(account.to_string());
    }

    /// An end user sends a one-to-one message from the SDK; returns IM's
    /// answer envelope (with `MsgKey` on success).
    pub async fn user_send_c2c(&self, from: &str, to: &str, body: Value) -> Value {
        commands::client_send_c2c(&self.shared, from, to, body).await
    }

    /// An end user sends a group message from the SDK (`at` lists mentioned
    /// accounts); returns IM's answer envelope.
    pub async fn user_send_group(
        &self,
        from: &str,
        group_id: &str,
        body: Value,
        at: Vec<String>,
    ) -> Value {
        commands::client_send_group(&self.shared, from, group_id, body, at).await
    }

    /// A member changes a group's `Name`, `Introduction` or `Notification`
    /// from the SDK (`texts` is a JSON object of those it sets); the
    /// after-change callback is delivered asynchronously, as IM does.
    pub fn user_modify_group(&self, operator: &str, group_id: &str, texts: Value) -> Value {
        commands::client_modify_group(&self.shared, operator, group_id, &texts)
    }

    /// An end user creates a group from the SDK (with the before-create
    /// callback); returns IM's answer envelope (with `GroupId`).
    pub async fn user_create_group(
        &self,
        owner: &str,
        group_id: Option<&str>,
        name: &str,
        group_type: &str,
    ) -> Value {
        commands::client_create_group(&self.shared, owner, group_id, name, group_type).await
    }
}

async fn route(
    shared: Arc<Shared>,
    request: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let Ok(loopback::Received {
        method,
        path,
        query,
        body,
        ..
    }) = loopback::Received::read(request).await
    else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({ "error": "cannot read body" }),
        );
    };
    if let Some(command) = path.strip_prefix("/v4/") {
        if method != hyper::Method::POST {
            return json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({ "error": "IM REST calls are POST" }),
            );
        }
        let answer = commands::rest(&shared, command, &query, &body).await;
        return json_response(StatusCode::OK, answer);
    }
    match (method.as_str(), path.as_str()) {
        ("GET", "/emulator/state") => json_response(
            StatusCode::OK,
            serde_json::to_value(&*shared.state()).unwrap_or(Value::Null),
        ),
        ("POST", "/emulator/c2c") | ("POST", "/emulator/group") => {
            let input = match json_input(&body) {
                Ok(input) => input,
                Err(response) => return response,
            };
            let from = input["From_Account"].as_str().unwrap_or("").to_string();
            let msg_body = input["MsgBody"].clone();
            let answer = if path == "/emulator/c2c" {
                let to = input["To_Account"].as_str().unwrap_or("").to_string();
                commands::client_send_c2c(&shared, &from, &to, msg_body).await
            } else {
                let group = input["GroupId"].as_str().unwrap_or("").to_string();
                let at = commands::accounts_of(&input["At_Account"], "");
                commands::client_send_group(&shared, &from, &group, msg_body, at).await
            };
            json_response(StatusCode::OK, answer)
        }
        ("POST", "/emulator/join_group") => {
            let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let group_id = input["GroupId"].as_str().unwrap_or("");
            let accounts = commands::accounts_of(&input["Accounts"], "");
            match join(&shared, group_id, accounts.into_iter()) {
                Some(members) => json_response(StatusCode::OK, json!({ "members": members })),
                None => json_response(
                    StatusCode::NOT_FOUND,
                    json!({ "error": format!("no group `{group_id}`") }),
                ),
            }
        }
        ("POST", "/emulator/modify_group") => {
            let input = match json_input(&body) {
                Ok(input) => input,
                Err(response) => return response,
            };
            let answer = commands::client_modify_group(
                &shared,
                input["Operator_Account"].as_str().unwrap_or(""),
                input["GroupId"].as_str().unwrap_or(""),
                &input,
            );
            json_response(StatusCode::OK, answer)
        }
        ("POST", "/emulator/create_group") => {
            let input = match json_input(&body) {
                Ok(input) => input,
                Err(response) => return response,
            };
            let answer = commands::client_create_group(
                &shared,
                input["Owner_Account"].as_str().unwrap_or(""),
                input["GroupId"].as_str(),
                input["Name"].as_str().unwrap_or(""),
                input["Type"].as_str().unwrap_or("Public"),
            )
            .await;
            json_response(StatusCode::OK, answer)
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({ "error": format!("no emulator route {method} {path}") }),
        ),
    }
}

/// A control route's JSON body, or the 400 that says it is not JSON.
#[allow(
    clippy::result_large_err,
    reason = "the error is the ready response, built once per bad request"
)]
fn json_input(body: &[u8]) -> Result<Value, Response<Full<Bytes>>> {
    serde_json::from_slice(body).map_err(|_| {
        json_response(
            StatusCode::BAD_REQUEST,
            json!({ "error": "body must be JSON" }),
        )
    })
}

/// Adds `accounts` to a group (as if they joined from the SDK); the new
/// member list, or `None` when there is no such group.
fn join(
    shared: &Shared,
    group_id: &str,
    accounts: impl Iterator<Item = String>,
) -> Option<Vec<String>> {
    let mut state = shared.state();
    let group = state.groups.get_mut(group_id)?;
    for account in accounts {
        if !group.members.contains(&account) {
            group.members.push(account);
        }
    }
    Some(group.members.clone())
}

fn json_response(status: StatusCode, value: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
