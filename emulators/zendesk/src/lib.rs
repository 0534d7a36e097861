//! A stateful loopback emulator of Zendesk for tests and `switchboard up`:
//!
//! - `POST /oauth/tokens` (`client_credentials`), tokens that can be expired
//!   on demand; legacy API-token basic auth.
//! - `POST /api/v2/tickets.json` with `Idempotency-Key` semantics (miss, hit
//!   replaying the first answer, 400 `IdempotentRequestError` for a changed
//!   body); `GET /api/v2/tickets/{id}.json`.
//! - Injected 429s with `Retry-After`, failures and latency.
//! - `PUT /api/v2/tickets/{id}.json` adding a comment as the API user.
//! - Signed webhook deliveries of ticket events (assignment, status,
//!   deletion, comments added), including exact duplicates, to a
//!   configured URL.
//! - `GET /api/v2/users/{id}.json` for the agents and end users configured.
//! - `GET /agent/tickets/{id}?agent={user id}`: the agent workspace as a
//!   browser shows it, with the sidebar app in an iframe: it posts the app's
//!   page a signed-URL token (RS256, [`ZAF_SIGNING_KEY`]) and answers the ZAF
//!   SDK's `postMessage` calls as Zendesk does (see [`workspace`]).
//! - `GET /emulator/state` returns everything; `POST
//!   /emulator/tickets/{id}/assign|status|delete|comment` makes an agent's
//!   change (or a user's comment) and delivers its webhook.

#![warn(missing_docs)]

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use loopback::unix_now as now;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub mod workspace;

/// The private key the emulator signs signed-URL tokens with (test-only;
/// see `testdata/README.md`).
pub const ZAF_SIGNING_KEY: &str = include_str!("../testdata/zaf-signing-key.pem");
/// Its public half: what an admin copies into `zendesk_app_public_key`.
pub const ZAF_PUBLIC_KEY: &str = include_str!("../testdata/zaf-signing-key.pub.pem");

/// A Zendesk user of the emulated account.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct User {
    /// Id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// `agent`, `admin` or `end-user`.
    pub role: String,
    /// E-mail.
    pub email: String,
    /// Suspended users are not active.
    pub active: bool,
    /// Their photo's URL (`photo.content_url`), when they have one.
    pub photo: Option<String>,
}

impl User {
    fn new(id: u64, name: &str, role: &str) -> Self {
        Self {
            id,
            name: name.into(),
            role: role.into(),
            email: format!(
                "{}@example.com",
                name.to_ascii_lowercase().replace(' ', ".")
            ),
            active: true,
            photo: None,
        }
    }
}

/// The account the emulator plays.
#[derive(Clone, Debug)]
pub struct ZendeskConfig {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// Legacy API user e-mail.
    pub api_email: String,
    /// Legacy API token.
    pub api_token: String,
    /// Webhook signing secret.
    pub webhook_secret: String,
    /// Where webhooks go.
    pub webhook_url: Option<String>,
    /// The account's users.
    pub users: Vec<User>,
    /// The sidebar app's installation id (its signed-URL tokens' `aud`).
    pub app_installation_id: u64,
    /// The sidebar app's page (its `ticket_sidebar` location URL).
    pub app_url: Option<String>,
}

impl Default for ZendeskConfig {
    fn default() -> Self {
        Self {
            client_id: "switchboard".into(),
            client_secret: "zendesk-emulator-client-secret".into(),
            api_email: "admin@example.com".into(),
            api_token: "zendesk-emulator-api-token".into(),
            webhook_secret: "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==".into(),
            webhook_url: None,
            users: vec![
                User {
                    photo: Some("https://emulator.zendesk.invalid/photos/7001.png".into()),
                    ..User::new(7001, "Ada Lovelace", "agent")
                },
                User::new(7002, "Grace Hopper", "agent"),
                User::new(7003, "Alan Turing", "admin"),
                User::new(7100, "Eve Customer", "end-user"),
                User {
                    active: false,
                    ..User::new(7004, "Mallory Former", "agent")
                },
            ],
            app_installation_id: 9001,
            app_url: None,
        }
    }
}

/// A ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    /// Id.
    pub id: u64,
    /// Subject.
    pub subject: String,
    /// First comment.
    pub description: String,
    /// Requester name (empty when the ticket named none: Zendesk then
    /// makes the authenticated API user the requester).
    pub requester_name: String,
    /// Requester e-mail (empty likewise).
    pub requester_email: String,
    /// `external_id`.
    pub external_id: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Lowercase status.
    pub status: String,
    /// Assignee.
    pub assignee_id: Option<u64>,
    /// Deleted.
    pub deleted: bool,
    /// Comments added after the description, in order.
    pub comments: Vec<TicketComment>,
}

/// A comment added to a ticket after its description.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketComment {
    /// Id.
    pub id: u64,
    /// Text.
    pub body: String,
    /// Public reply, or internal note.
    pub public: bool,
    /// Author: [`API_USER_ID`] for comments made through the API.
    pub author_id: u64,
}

/// The user the API credentials act as (an admin), who authors comments
/// made through the API.
pub const API_USER_ID: u64 = 7003;

/// One webhook delivery and its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// `x-zendesk-webhook-invocation-id`.
    pub invocation_id: String,
    /// `x-zendesk-webhook-signature-timestamp`.
    pub timestamp: String,
    /// Raw body sent.
    pub body: String,
    /// HTTP status answered.
    pub status: Option<u16>,
    /// Body answered.
    pub answer: Option<Value>,
    /// Transport error.
    pub error: Option<String>,
}

/// Everything the emulator holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct State {
    /// Tickets by id.
    pub tickets: BTreeMap<u64, Ticket>,
    /// Idempotency keys seen (key → first request body).
    pub idempotency_keys: BTreeMap<String, Value>,
    /// OAuth tokens issued so far.
    pub tokens_issued: u32,
    /// Requests received: (method, path, status answered).
    pub requests: Vec<(String, String, u16)>,
    /// Webhook deliveries.
    pub deliveries: Vec<Delivery>,
    #[serde(skip)]
    valid_tokens: HashSet<String>,
    #[serde(skip)]
    replies: HashMap<String, (u16, Value)>,
    #[serde(skip)]
    next_ticket: u64,
    #[serde(skip)]
    next_event: u64,
}

struct Shared {
    /// `http://<addr>`, the account URL.
    url: Mutex<String>,
    config: Mutex<ZendeskConfig>,
    state: Mutex<State>,
    /// Queued 429s, by their `Retry-After`; given before any other fault.
    rate_limits: Mutex<VecDeque<u64>>,
    faults: loopback::Faults<u16>,
    http: reqwest::Client,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn config(&self) -> ZendeskConfig {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A running emulator; stops when dropped.
pub struct ZendeskEmulator {
    server: loopback::Server,
    shared: Arc<Shared>,
}

impl ZendeskEmulator {
    /// Starts it on `listen` (port 0 for any free port).
    pub async fn start(config: ZendeskConfig, listen: SocketAddr) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared {
            url: Mutex::default(),
            config: Mutex::new(config),
            state: Mutex::new(State {
                next_ticket: 5000,
                ..State::default()
            }),
            rate_limits: Mutex::default(),
            faults: loopback::Faults::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        });
        let handler_shared = shared.clone();
        let server = loopback::serve(listen, move |request| {
            let shared = handler_shared.clone();
            async move { route(&shared, request).await }
        })
        .await?;
        *shared.url.lock().unwrap_or_else(|e| e.into_inner()) = server.url();
        Ok(Self { server, shared })
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A copy of the state.
    pub fn state(&self) -> State {
        self.shared.state().clone()
    }

    /// The settings (credentials, signing secret).
    pub fn config(&self) -> ZendeskConfig {
        self.shared.config()
    }

    /// Where webhooks go.
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.shared
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .webhook_url = url;
    }

    /// Where the sidebar app's page is (the `ticket_sidebar` URL).
    pub fn set_app_url(&self, url: Option<String>) {
        self.shared
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .app_url = url;
    }

    /// The signed-URL token Zendesk would post to the app's page for
    /// `user_id`, valid for five minutes from `now`.
    pub fn signed_url_token(&self, user_id: u64, now: u64) -> String {
        self.shared.signed_url_token(user_id, now)
    }

    /// Revokes every OAuth token issued so far (the next call gets a 401).
    pub fn expire_tokens(&self) {
        self.shared.state().valid_tokens.clear();
    }

    /// The next API call is answered 429 with `Retry-After: retry_after`.
    pub fn rate_limit_next(&self, retry_after: u64) {
        self.shared
            .rate_limits
            .lock()
            .unwrap()
            .push_back(retry_after);
    }

    /// The next API call is answered with `status`.
    pub fn fail_next(&self, status: u16) {
        self.shared.faults.fail_next(status);
    }

    /// Every API answer is delayed by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.faults.set_latency(latency);
    }

    /// An agent takes (or, with `None`, leaves) the ticket; delivers
    /// `ticket.agent_assignment_changed`.
    pub async fn assign(&self, ticket_id: u64, agent: Option<u64>) -> Option<Delivery> {
        self.shared.assign(ticket_id, agent).await
    }

    /// Changes the status (lowercase); delivers `ticket.status_changed`.
    pub async fn set_status(&self, ticket_id: u64, status: &str) -> Option<Delivery> {
        self.shared.set_status(ticket_id, status).await
    }

    /// Soft-deletes the ticket; delivers `ticket.soft_deleted`.
    pub async fn delete(&self, ticket_id: u64) -> Option<Delivery> {
        self.shared.delete(ticket_id).await
    }

    /// A user comments in Zendesk's own ticket UI (an agent's public reply
    /// or internal note, or the requester); delivers
    /// `ticket.comment_added`.
    pub async fn comment(
        &self,
        ticket_id: u64,
        author_id: u64,
        body: &str,
        public: bool,
    ) -> Option<Delivery> {
        self.shared
            .comment(ticket_id, author_id, body, public)
            .await
    }

    /// Delivers an earlier delivery again, unchanged (same invocation id and
    /// body, fresh signature), as Zendesk sometimes does.
    pub async fn redeliver(&self, delivery: &Delivery) -> Option<Delivery> {
        self.shared
            .send(delivery.invocation_id.clone(), delivery.body.clone())
            .await
    }
}

/// Ticket changes and their webhooks, shared by the Rust API and the
impl Shared {
    fn url(&self) -> String {
        self.url.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn signed_url_token(&self, user_id: u64, now: u64) -> String {
        zendesk::app::sign_signed_url(
            ZAF_SIGNING_KEY,
            &self.url(),
            self.config().app_installation_id,
            user_id,
            now,
            300,
        )
        .expect("the emulator's key is an RSA key")
    }
}

/// `/emulator/tickets/...` control routes.
impl Shared {
    /// An agent takes (or, with `None`, leaves) the ticket; delivers
    /// `ticket.agent_assignment_changed`.
    async fn assign(&self, ticket_id: u64, agent: Option<u64>) -> Option<Delivery> {
        let previous = {
            let mut state = self.state();
            let ticket = state.tickets.get_mut(&ticket_id)?;
            std::mem::replace(&mut ticket.assignee_id, agent)
        };
        let event = json!({ "current": agent.map(|a| a.to_string()), "previous": previous.map(|a| a.to_string()) });
        self.emit(ticket_id, "agent_assignment_changed", event)
            .await
    }

    /// Changes the status (lowercase); delivers `ticket.status_changed`.
    async fn set_status(&self, ticket_id: u64, status: &str) -> Option<Delivery> {
        let previous = {
            let mut state = self.state();
            let ticket = state.tickets.get_mut(&ticket_id)?;
            std::mem::replace(&mut ticket.status, status.to_string())
        };
        let event =
            json!({ "current": status.to_uppercase(), "previous": previous.to_uppercase() });
        self.emit(ticket_id, "status_changed", event).await
    }

    /// Soft-deletes the ticket; delivers `ticket.soft_deleted`.
    async fn delete(&self, ticket_id: u64) -> Option<Delivery> {
        self.state().tickets.get_mut(&ticket_id)?.deleted = true;
        self.emit(ticket_id, "soft_deleted", json!({})).await
    }

    /// Adds a comment by `author_id` (a configured user, or
    /// [`API_USER_ID`]); delivers `ticket.comment_added`. `None` when the
    /// ticket or the author does not exist.
    async fn comment(
        &self,
        ticket_id: u64,
        author_id: u64,
        body: &str,
        public: bool,
    ) -> Option<Delivery> {
        let author = self
            .config()
            .users
            .into_iter()
            .find(|u| u.id == author_id)?;
        let id = {
            let mut state = self.state();
            state.next_event += 1;
            let id = 90_000 + state.next_event;
            let ticket = state.tickets.get_mut(&ticket_id)?;
            ticket.comments.push(TicketComment {
                id,
                body: body.to_string(),
                public,
                author_id,
            });
            id
        };
        let event = json!({ "comment": {
            "id": id.to_string(), "body": body, "is_public": public,
            "author": { "id": author_id.to_string(), "is_staff": author.role != "end-user", "name": author.name },
        }});
        self.emit(ticket_id, "comment_added", event).await
    }

    async fn emit(&self, ticket_id: u64, kind: &str, event: Value) -> Option<Delivery> {
        let (body, invocation) = {
            let mut state = self.state();
            state.next_event += 1;
            let n = state.next_event;
            let ticket = state.tickets.get(&ticket_id)?;
            let body = json!({
                "account_id": 22129848,
                "detail": {
                    "id": ticket.id.to_string(),
                    "assignee_id": ticket.assignee_id.map(|a| a.to_string()),
                    "status": if ticket.deleted { "DELETED".to_string() } else { ticket.status.to_uppercase() },
                    "subject": ticket.subject,
                    "description": ticket.description,
                    "external_id": ticket.external_id,
                    "via": { "channel": "web_service" },
                },
                "event": event,
                "id": format!("evt-{n:08}-0000-4000-8000-000000000000"),
                "subject": format!("zen:ticket:{ticket_id}"),
                "time": zendesk::webhook::format_timestamp(now()),
                "type": format!("zen:event-type:ticket.{kind}"),
                "zendesk_event_version": "2022-11-06",
            });
            (body.to_string(), format!("inv-{n:08}"))
        };
        self.send(invocation, body).await
    }

    async fn send(&self, invocation_id: String, body: String) -> Option<Delivery> {
        let config = self.config();
        let url = config.webhook_url?;
        let timestamp = zendesk::webhook::format_timestamp(now());
        let signature = zendesk::webhook::sign(&config.webhook_secret, &timestamp, body.as_bytes());
        let mut delivery = Delivery {
            invocation_id: invocation_id.clone(),
            timestamp: timestamp.clone(),
            body: body.clone(),
            status: None,
            answer: None,
            error: None,
        };
        let sent = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-zendesk-account-id", "22129848")
            .header("x-zendesk-webhook-id", "01EMULATORWEBHOOK")
            .header(zendesk::webhook::INVOCATION_HEADER, invocation_id)
            .header(zendesk::webhook::SIGNATURE_HEADER, signature)
            .header(zendesk::webhook::TIMESTAMP_HEADER, timestamp)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                delivery.status = Some(response.status().as_u16());
                delivery.answer = response.json().await.ok();
            }
            Err(e) => delivery.error = Some(e.to_string()),
        }
        self.state().deliveries.push(delivery.clone());
        Some(delivery)
    }
}

/// `POST /emulator/tickets/{id}/assign` `{"assignee_id": n | null}`,
/// `.../status` `{"status": "closed"}`, `.../delete`: the change an agent
/// makes in Zendesk, delivered as a signed webhook; answers the delivery.
async fn control(shared: &Shared, rest: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let input: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some((id, action)) = rest.split_once('/') else {
        return reply(
            404,
            json!({ "error": "use /emulator/tickets/{id}/{assign|status|delete|comment}" }),
            &[],
        );
    };
    let Ok(id) = id.parse::<u64>() else {
        return reply(
            400,
            json!({ "error": format!("ticket id `{id}` is not a number") }),
            &[],
        );
    };
    let delivery = match action {
        "assign" => shared.assign(id, input["assignee_id"].as_u64()).await,
        "status" => match input["status"].as_str() {
            Some(status) => shared.set_status(id, status).await,
            None => return reply(400, json!({ "error": "status is required" }), &[]),
        },
        "delete" => shared.delete(id).await,
        "comment" => match (input["author_id"].as_u64(), input["body"].as_str()) {
            (Some(author), Some(text)) => {
                let public = input["public"].as_bool().unwrap_or(true);
                shared.comment(id, author, text, public).await
            }
            _ => {
                return reply(
                    400,
                    json!({ "error": "author_id (a user id) and body are required" }),
                    &[],
                );
            }
        },
        other => {
            return reply(
                404,
                json!({ "error": format!("no ticket action `{other}`") }),
                &[],
            );
        }
    };
    match delivery {
        Some(delivery) => reply(
            200,
            serde_json::to_value(delivery).unwrap_or(Value::Null),
            &[],
        ),
        None => reply(
            404,
            json!({ "error": format!("no ticket {id}, or no webhook URL configured") }),
            &[],
        ),
    }
}

fn reply(status: u16, body: Value, headers: &[(&str, String)]) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = response.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            h.insert(name, value);
        }
    }
    response
}

async fn route(shared: &Shared, request: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    if method == "GET"
        && let Some(ticket) = path.strip_prefix("/agent/tickets/")
    {
        let response = workspace::page(shared, ticket, request.uri().query().unwrap_or(""));
        shared
            .state()
            .requests
            .push((method, path, response.status().as_u16()));
        return response;
    }
    let Ok(request) = loopback::Received::read(request).await else {
        return reply(
            400,
            json!({ "error": "the request body could not be read" }),
            &[],
        );
    };
    let idempotency = request.header("idempotency-key").map(String::from);
    let response = handle(
        shared,
        &method,
        &path,
        request.header("authorization"),
        idempotency,
        &request.body,
    )
    .await;
    shared
        .state()
        .requests
        .push((method, path, response.status().as_u16()));
    response
}

async fn handle(
    shared: &Shared,
    method: &str,
    path: &str,
    auth: Option<&str>,
    idempotency: Option<String>,
    body: &[u8],
) -> Response<Full<Bytes>> {
    if (method, path) == ("GET", "/emulator/state") {
        return reply(
            200,
            serde_json::to_value(&*shared.state()).unwrap_or(Value::Null),
            &[],
        );
    }
    if method == "POST"
        && let Some(rest) = path.strip_prefix("/emulator/tickets/")
    {
        return control(shared, rest, body).await;
    }
    if (method, path) == ("POST", "/oauth/tokens") {
        return oauth(shared, body);
    }
    if !path.starts_with("/api/v2/") {
        return reply(
            404,
            json!({ "error": "InvalidEndpoint", "description": format!("{method} {path}") }),
            &[],
        );
    }
    shared.faults.delay().await;
    let rate_limit = shared.rate_limits.lock().unwrap().pop_front();
    if let Some(retry_after) = rate_limit {
        return reply(
            429,
            json!({ "error": "TooManyRequests", "description": "Rate limit exceeded" }),
            &[("retry-after", retry_after.to_string())],
        );
    }
    if let Some(status) = shared.faults.take() {
        return reply(
            status,
            json!({ "error": "InjectedFailure", "description": format!("emulated {status}") }),
            &[],
        );
    }
    if !authorized(shared, auth) {
        return reply(
            401,
            json!({ "error": "invalid_token", "description": "The access token provided is expired, revoked, malformed or invalid for other reasons." }),
            &[],
        );
    }
    if method == "GET"
        && let Some(id) = path
            .strip_prefix("/api/v2/users/")
            .and_then(|rest| rest.strip_suffix(".json"))
    {
        let user = id
            .parse::<u64>()
            .ok()
            .and_then(|id| shared.config().users.into_iter().find(|u| u.id == id));
        return match user {
            Some(u) => reply(200, json!({ "user": user_json(&u) }), &[]),
            None => reply(
                404,
                json!({ "error": "RecordNotFound", "description": "Not found" }),
                &[],
            ),
        };
    }
    if method == "PUT"
        && let Some(id) = path
            .strip_prefix("/api/v2/tickets/")
            .and_then(|rest| rest.strip_suffix(".json"))
            .and_then(|id| id.parse::<u64>().ok())
    {
        return update_ticket(shared, id, body).await;
    }
    match (method, path) {
        ("POST", "/api/v2/tickets.json" | "/api/v2/tickets") => {
            create_ticket(shared, idempotency, body)
        }
        ("GET", p) => match p
            .strip_prefix("/api/v2/tickets/")
            .and_then(|rest| rest.strip_suffix(".json"))
            .and_then(|id| id.parse::<u64>().ok())
        {
            Some(id) => match shared.state().tickets.get(&id) {
                Some(t) if !t.deleted => reply(200, json!({ "ticket": ticket_json(t) }), &[]),
                _ => reply(
                    404,
                    json!({ "error": "RecordNotFound", "description": "Not found" }),
                    &[],
                ),
            },
            None => reply(
                404,
                json!({ "error": "InvalidEndpoint", "description": p }),
                &[],
            ),
        },
        _ => reply(
            404,
            json!({ "error": "InvalidEndpoint", "description": format!("{method} {path}") }),
            &[],
        ),
    }
}

/// `PUT /api/v2/tickets/{id}.json` with a `comment` (the only update the
/// bridges make): added as the API user, and its `comment_added` webhook
/// delivered before the answer. Closed tickets refuse updates, as Zendesk's
/// do.
async fn update_ticket(shared: &Shared, id: u64, body: &[u8]) -> Response<Full<Bytes>> {
    let input: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let comment = &input["ticket"]["comment"];
    let Some(text) = comment["body"].as_str().filter(|t| !t.trim().is_empty()) else {
        return reply(
            422,
            json!({ "error": "RecordInvalid", "description": "Record validation errors",
                    "details": { "base": [{ "description": "Comment: cannot be blank" }] } }),
            &[],
        );
    };
    let status = shared
        .state()
        .tickets
        .get(&id)
        .filter(|t| !t.deleted)
        .map(|t| t.status.clone());
    match status.as_deref() {
        None => reply(
            404,
            json!({ "error": "RecordNotFound", "description": "Not found" }),
            &[],
        ),
        Some("closed") => reply(
            422,
            json!({ "error": "RecordInvalid", "description": "Record validation errors",
                    "details": { "status": [{ "description": "Status: closed prevents ticket update" }] } }),
            &[],
        ),
        Some(_) => {
            let public = comment["public"].as_bool().unwrap_or(true);
            shared.comment(id, API_USER_ID, text, public).await;
            let ticket = shared.state().tickets.get(&id).map(ticket_json);
            reply(200, json!({ "ticket": ticket }), &[])
        }
    }
}

fn authorized(shared: &Shared, auth: Option<&str>) -> bool {
    let Some(auth) = auth else { return false };
    if let Some(token) = auth.strip_prefix("Bearer ") {
        return shared.state().valid_tokens.contains(token.trim());
    }
    if let Some(basic) = auth.strip_prefix("Basic ") {
        let config = shared.config();
        let expected = format!("{}/token:{}", config.api_email, config.api_token);
        return base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .is_ok_and(|decoded| decoded == expected.as_bytes());
    }
    false
}

fn oauth(shared: &Shared, body: &[u8]) -> Response<Full<Bytes>> {
    let config = shared.config();
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return reply(
            400,
            json!({ "error": "invalid_request", "error_description": "body must be JSON" }),
            &[],
        );
    };
    if request["grant_type"] != "client_credentials" {
        return reply(
            400,
            json!({ "error": "unsupported_grant_type", "error_description": "use client_credentials" }),
            &[],
        );
    }
    if request["client_id"] != config.client_id.as_str()
        || request["client_secret"] != config.client_secret.as_str()
    {
        return reply(
            401,
            json!({ "error": "invalid_client", "error_description": "Client authentication failed" }),
            &[],
        );
    }
    let mut state = shared.state();
    state.tokens_issued += 1;
    let token = format!("emu-token-{}", state.tokens_issued);
    state.valid_tokens.insert(token.clone());
    reply(
        200,
        json!({ "access_token": token, "token_type": "bearer", "scope": request["scope"].as_str().unwrap_or("read write") }),
        &[],
    )
}

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id, "name": u.name, "role": u.role, "email": u.email, "active": u.active,
        "suspended": !u.active, "locale": "en-US",
        "photo": u.photo.as_ref().map(|url| json!({ "content_url": url, "content_type": "image/png" })),
        "url": format!("/api/v2/users/{}.json", u.id),
    })
}

fn ticket_json(t: &Ticket) -> Value {
    json!({
        "id": t.id, "subject": t.subject, "description": t.description, "status": t.status,
        "assignee_id": t.assignee_id, "external_id": t.external_id, "tags": t.tags,
        "url": format!("/api/v2/tickets/{}.json", t.id),
    })
}

fn create_ticket(
    shared: &Shared,
    idempotency: Option<String>,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return reply(
            400,
            json!({ "error": "InvalidJSON", "description": "body is not JSON" }),
            &[],
        );
    };
    let mut state = shared.state();
    if let Some(key) = &idempotency {
        if key.is_empty() || key.len() > 255 {
            return reply(
                400,
                json!({ "error": "InvalidIdempotencyKey", "description": "1 to 255 characters" }),
                &[],
            );
        }
        if let Some(first) = state.idempotency_keys.get(key) {
            if *first != request {
                return reply(
                    400,
                    json!({ "error": "IdempotentRequestError", "description": "Request parameters don't match the given idempotency key" }),
                    &[("x-idempotency-lookup", "miss".into())],
                );
            }
            let (status, answer) = state.replies[key].clone();
            return reply(status, answer, &[("x-idempotency-lookup", "hit".into())]);
        }
    }
    let ticket = &request["ticket"];
    let description = ticket["comment"]["body"]
        .as_str()
        .unwrap_or("")
        .trim()
        .to_string();
    if description.is_empty() {
        return reply(
            422,
            json!({ "error": "RecordInvalid", "description": "Record validation errors",
                    "details": { "base": [{ "description": "Description: cannot be blank" }] } }),
            &[],
        );
    }
    state.next_ticket += 1;
    let t = Ticket {
        id: state.next_ticket,
        subject: ticket["subject"].as_str().unwrap_or("").to_string(),
        description,
        requester_name: ticket["requester"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        requester_email: ticket["requester"]["email"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        external_id: ticket["external_id"].as_str().map(String::from),
        tags: ticket["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        status: "new".into(),
        assignee_id: None,
        deleted: false,
        comments: Vec::new(),
    };
    let answer = json!({ "ticket": ticket_json(&t), "audit": { "events": [] } });
    state.tickets.insert(t.id, t);
    if let Some(key) = idempotency {
        state.idempotency_keys.insert(key.clone(), request);
        state.replies.insert(key, (201, answer.clone()));
    }
    reply(201, answer, &[("x-idempotency-lookup", "miss".into())])
}
