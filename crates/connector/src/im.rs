//! The IM side every bridge shares: settings from the `im_*` variables, the
//! REST client, and opening a group with its requester in it.

use crate::config::{number, variable};
use crate::outbound::SpinHttp;
use tim::rest::{Client, CreateGroup, ImConfig, ImError, MemberAccount, Outcome, RetryPolicy};
use tim::usersig::Signer;

/// `im_sdk_app_id`, `im_secret_key`, `im_admin`, `im_base_url`.
pub struct ImSettings {
    /// Signs and verifies UserSigs for the app.
    pub signer: Signer,
    /// Admin account of REST calls.
    pub admin: String,
    /// REST base URL.
    pub base_url: String,
    /// The deadline REST calls share, when the caller set one with
    /// [`ImSettings::within`]; otherwise each client gets a fresh
    /// [`SpinHttp::default`] budget when it is made.
    pub http: Option<SpinHttp>,
}

impl ImSettings {
    /// Reads the variables; the error names the one at fault.
    pub fn load() -> Result<Self, String> {
        let app_id: u64 = number("im_sdk_app_id", None)?;
        Ok(Self {
            signer: Signer::new(app_id, &variable("im_secret_key")?),
            admin: variable("im_admin")?,
            base_url: variable("im_base_url")?,
            http: None,
        })
    }

    /// The same settings, with every REST call ending within `budget` from
    /// now (the time whoever waits on this request allows).
    pub fn within(self, budget: std::time::Duration) -> Self {
        Self {
            http: Some(SpinHttp::within(budget)),
            ..self
        }
    }

    /// The REST client (make it when the calls are about to be made: without
    /// a shared deadline, its budget starts now).
    pub fn client(&self) -> Client<SpinHttp> {
        Client::new(
            self.http.unwrap_or_default(),
            ImConfig {
                base_url: self.base_url.clone(),
                admin: self.admin.clone(),
                signer: self.signer.clone(),
                timeout: tim::rest::DEFAULT_TIMEOUT,
                retry: RetryPolicy::default(),
            },
        )
    }
}

/// Makes sure `group_id` exists with `user` in it: imports the account,
/// creates the group (or finds it), adds the user. Safe to repeat. The
/// nickname is what the user typed, screened ([`screening::shown_name`]).
pub async fn open_group(
    im: &Client<SpinHttp>,
    group_id: &str,
    name: &str,
    user: &str,
    nick: &str,
) -> Result<(), ImError> {
    im.account_import(user, Some(&screening::shown_name(nick)))
        .await?;
    let outcome = im
        .ensure_group(&CreateGroup {
            group_type: "Public".into(),
            name: name.chars().take(30).collect(),
            group_id: Some(group_id.to_string()),
            apply_join_option: Some("DisableApply".into()),
            members: vec![MemberAccount {
                account: user.to_string(),
            }],
            ..Default::default()
        })
        .await?;
    if outcome == Outcome::AlreadyDone {
        im.ensure_member(group_id, user).await?;
    }
    Ok(())
}

/// Adds an agent (importing the account first). Safe to repeat.
pub async fn add_agent(
    im: &Client<SpinHttp>,
    group_id: &str,
    account: &str,
) -> Result<Outcome, ImError> {
    im.account_import(account, None).await?;
    im.ensure_member(group_id, account).await
}

/// Makes the agents in `group_id` exactly `assignee` (an IM account, or
/// none): adds it, then removes every other member whose account starts
/// with `agent_prefix`. The requester and anyone else stay. It reads the
/// membership from IM rather than from a stored record, so it converges
/// whatever order webhooks, sidebar calls and retries arrive in, and a
/// former agent never keeps access because a record missed them.
pub async fn converge_agents(
    im: &Client<SpinHttp>,
    group_id: &str,
    agent_prefix: &str,
    assignee: Option<&str>,
) -> Result<Vec<String>, ImError> {
    if let Some(account) = assignee {
        add_agent(im, group_id, account).await?;
    }
    // Without a prefix, agents cannot be told from the requester.
    if agent_prefix.is_empty() {
        return Ok(Vec::new());
    }
    let groups = im.get_group_info(&[group_id.to_string()]).await?;
    let former: Vec<String> = groups
        .iter()
        .filter(|g| g.group_id == group_id)
        .flat_map(|g| g.members.iter().map(|m| m.account.clone()))
        .filter(|m| m.starts_with(agent_prefix) && Some(m.as_str()) != assignee)
        .collect();
    if !former.is_empty() {
        im.delete_group_member(group_id, &former, false).await?;
    }
    Ok(former)
}

/// IM webhook bodies are at most a 12 KB message plus envelope.
pub const MAX_WEBHOOK_BODY: usize = 256 * 1024;

/// Reads an IM webhook the gateway chained here (already verified there):
/// its `CallbackCommand` and typed body, or a 400 naming what is wrong.
pub async fn read_webhook(
    req: crate::edge::Request,
) -> Result<(String, tim::events::Event), crate::reply::JsonResponse> {
    use crate::reply;
    let query = req.uri().query().unwrap_or("").to_string();
    let command = tim::webhook::WebhookQuery::parse(&query)
        .map_err(|e| reply::bad_field("CallbackCommand", e.to_string()))?
        .callback_command;
    let (parts, body) = req.into_parts();
    let body = crate::edge::read_body(&parts.headers, body, MAX_WEBHOOK_BODY).await?;
    let event = tim::events::Event::parse(&command, &body)
        .map_err(|e| reply::bad_field("body", format!("not a {command} body: {e}")))?;
    Ok((command, event))
}

/// Checks a webhook IM sent, passed on by the gateway with IM's own query
/// (`SdkAppid`, `Sign`, `RequestTime`): the same check the gateway made,
/// with `im_sdk_app_id`, `im_callback_token` and `im_webhook_window_secs`,
/// so that a component's route that is reachable from outside acts only on
/// IM's calls. A 401 naming what is wrong otherwise (never the token).
pub fn verified_callback(
    raw_query: &str,
    now: u64,
) -> Result<tim::webhook::WebhookQuery, crate::reply::JsonResponse> {
    use crate::reply;
    use http::StatusCode;
    let unauthorized = |message: String| {
        eprintln!("rejected IM callback: {message}");
        reply::error(StatusCode::UNAUTHORIZED, message)
    };
    let app_id: u64 = crate::config::number("im_sdk_app_id", None)
        .map_err(|e| reply::error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let token = crate::config::variable("im_callback_token")
        .map_err(|e| reply::error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let window: u64 = crate::config::number("im_webhook_window_secs", None)
        .map_err(|e| reply::error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let query =
        tim::webhook::WebhookQuery::parse(raw_query).map_err(|e| unauthorized(e.to_string()))?;
    tim::webhook::Verifier::new(app_id, Some(token))
        .with_window(window)
        .verify(&query, now)
        .map_err(|e| unauthorized(e.to_string()))?;
    Ok(query)
}

/// Posts `text` to `group_id` as a system notification once for good,
/// however many requests race here: under the claim `claim`, given back
/// if IM fails so that a later attempt posts it.
pub async fn notify_once(
    records: &crate::state::Records,
    im: &Client<SpinHttp>,
    group_id: &str,
    claim: &str,
    text: &str,
) -> Result<(), String> {
    const FOREVER: u64 = u64::MAX;
    if records.claim(claim, FOREVER)? == crate::state::Claim::Taken {
        return Ok(());
    }
    if let Err(e) = im.send_group_system_notification(group_id, text, &[]).await {
        let _ = records.release(claim, FOREVER);
        return Err(e.to_string());
    }
    Ok(())
}
