//! Creating tickets through the Tickets API.
//!
//! Authentication is OAuth `client_credentials` (`POST /oauth/tokens`),
//! with the token cached by the caller and refreshed once on a 401; API-token
//! basic auth (`{email}/token:{token}`) remains as a legacy option, since
//! Zendesk stops accepting new API tokens on 2026-10-27 and all of them on
//! 2027-04-30.
//!
//! Every creation carries an `Idempotency-Key` (Zendesk keeps it 2 h), which
//! makes retrying it safe: 429 (after `Retry-After`), 5xx and network failures
//! are retried within a time budget, never creating a second ticket.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

pub use transport::{HttpRequest, HttpResponse, Transport};

/// How to authenticate.
#[derive(Clone)]
pub enum Auth {
    /// OAuth `client_credentials` (the default).
    OAuth {
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: String,
        /// Scope, e.g. `tickets:read tickets:write`.
        scope: String,
    },
    /// Legacy API token basic auth.
    ApiToken {
        /// Agent e-mail.
        email: String,
        /// API token.
        token: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::OAuth {
                client_id, scope, ..
            } => write!(f, "OAuth {{ client_id: {client_id:?}, scope: {scope:?} }}"),
            Auth::ApiToken { email, .. } => write!(f, "ApiToken {{ email: {email:?} }}"),
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZendeskError {
    /// No response.
    #[error("Zendesk unreachable: {0}")]
    Transport(String),
    /// Credentials refused.
    #[error("Zendesk refused the credentials ({status}): {detail}")]
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// Zendesk's explanation.
        detail: String,
    },
    /// Still rate limited when the time budget ran out.
    #[error("Zendesk rate limit: retry after {retry_after} s")]
    RateLimited {
        /// Seconds Zendesk asked to wait.
        retry_after: u64,
    },
    /// The idempotency key was used with a different request.
    #[error("Zendesk: the idempotency key was already used with different parameters")]
    IdempotencyMismatch,
    /// Any other error answer.
    #[error("Zendesk answered {status}: {error}: {description}")]
    Api {
        /// HTTP status.
        status: u16,
        /// `error`.
        error: String,
        /// `description` / details.
        description: String,
    },
}

/// A ticket to create.
#[derive(Debug, Clone, Serialize)]
pub struct NewTicket {
    /// Subject.
    pub subject: String,
    /// First comment.
    pub description: String,
    /// The requester; `None` makes the authenticated API user the
    /// requester (Zendesk's rule when a ticket names none).
    pub requester: Option<Requester>,
    /// `external_id`: the IM user id, to find the requester's tickets.
    pub external_id: String,
    /// Tags.
    pub tags: Vec<String>,
}

/// A ticket's requester by name and e-mail: Zendesk uses the user with
/// that e-mail, creating one if there is none, and mails them about the
/// ticket. So the e-mail must be one the caller may speak for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requester {
    /// Display name.
    pub name: String,
    /// E-mail, the user's identity in Zendesk.
    pub email: String,
}

impl Requester {
    /// The requester bound to a chat identity: the e-mail is derived from
    /// the (verified) IM user id under a domain the operator controls, so a
    /// user can only ever file tickets as themselves.
    ///
    /// IM user ids are case-sensitive and e-mail addresses are not, so
    /// every byte outside `a-z 0-9 . _ -` (capitals included) is written
    /// `=XX`; a local part that would pass 64 characters is `im-` and a
    /// digest of the id instead.
    ///
    /// ```
    /// use zendesk::api::Requester;
    /// let r = Requester::bound_to("alice", "Alice Example", "chat.example.com");
    /// assert_eq!(r.email, "alice@chat.example.com");
    /// assert_eq!(Requester::bound_to("Alice", "A", "d.example").email, "=41lice@d.example");
    /// ```
    pub fn bound_to(user_id: &str, name: &str, domain: &str) -> Self {
        let mut local = String::new();
        for b in user_id.bytes() {
            match b {
                b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' => local.push(b as char),
                other => local.push_str(&format!("={other:02X}")),
            }
        }
        if local.len() > 64
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(user_id.as_bytes());
            local = format!("im-{}", hex_lower(&digest[..16]));
        }
        Self {
            name: name.to_string(),
            email: format!("{local}@{domain}"),
        }
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A created (or replayed) ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Ticket id.
    pub ticket_id: u64,
    /// Zendesk replayed an earlier creation with the same key.
    pub replayed: bool,
}

/// A ticket as shown by the API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Ticket {
    /// Id.
    pub id: u64,
    /// Lowercase status.
    #[serde(default)]
    pub status: String,
    /// Assignee.
    #[serde(default)]
    pub assignee_id: Option<u64>,
}

/// A user as shown by the API: enough to tell an agent and name them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    /// Id.
    pub id: u64,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// `end-user`, `agent` or `admin`.
    #[serde(default)]
    pub role: String,
    /// Suspended or deleted users are not active.
    #[serde(default = "active_by_default")]
    pub active: bool,
    /// The user's photo, when they have one (`photo.content_url`).
    #[serde(default, deserialize_with = "photo_url")]
    pub photo: Option<String>,
}

fn active_by_default() -> bool {
    true
}

fn photo_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(value["content_url"].as_str().map(String::from))
}

impl User {
    /// Whether the user works tickets (`agent` or `admin`) and may sign in.
    pub fn is_active_agent(&self) -> bool {
        self.active && (self.role == "agent" || self.role == "admin")
    }
}

/// A Tickets API client.
pub struct Client<T> {
    transport: T,
    base_url: String,
    auth: Auth,
    budget: Duration,
    token: Option<String>,
}

impl<T: Transport> Client<T> {
    /// A client; `cached_token` is an OAuth token kept from earlier calls;
    /// `budget` bounds the time spent waiting between retries.
    pub fn new(
        transport: T,
        base_url: &str,
        auth: Auth,
        cached_token: Option<String>,
        budget: Duration,
    ) -> Self {
        Self {
            transport,
            base_url: base_url.trim_end_matches('/').to_string(),
            auth,
            budget,
            token: cached_token,
        }
    }

    /// The OAuth token in use (to cache it).
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    async fn fetch_token(&mut self) -> Result<(), ZendeskError> {
        let Auth::OAuth {
            client_id,
            client_secret,
            scope,
        } = &self.auth
        else {
            return Ok(());
        };
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        });
        let response = self
            .transport
            .send(HttpRequest {
                method: "POST",
                url: format!("{}/oauth/tokens", self.base_url),
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.to_string().into_bytes(),
                timeout: None,
            })
            .await
            .map_err(ZendeskError::Transport)?;
        if response.status != 200 && response.status != 201 {
            let (error, description) = error_fields(&response.body);
            return Err(ZendeskError::Unauthorized {
                status: response.status,
                detail: format!("OAuth token request failed: {error}: {description}"),
            });
        }
        let value: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let token = value["access_token"]
            .as_str()
            .ok_or_else(|| ZendeskError::Api {
                status: response.status,
                error: "BadTokenResponse".into(),
                description: "no access_token in the OAuth answer".into(),
            })?;
        self.token = Some(token.to_string());
        Ok(())
    }

    fn authorization(&self) -> String {
        match &self.auth {
            Auth::OAuth { .. } => format!("Bearer {}", self.token.as_deref().unwrap_or("")),
            Auth::ApiToken { email, token } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{email}/token:{token}"))
            ),
        }
    }

    /// Sends with auth; fetches a token first when there is none, and once
    /// more after a 401. Retries 429 / 5xx / network failures within the
    /// budget when `retry_safe`.
    async fn send(
        &mut self,
        method: &'static str,
        path: &str,
        extra: Vec<(String, String)>,
        body: Vec<u8>,
        retry_safe: bool,
    ) -> Result<HttpResponse, ZendeskError> {
        if matches!(self.auth, Auth::OAuth { .. }) && self.token.is_none() {
            self.fetch_token().await?;
        }
        let mut refreshed = false;
        let mut waited = Duration::ZERO;
        let mut backoff = Duration::from_millis(250);
        loop {
            let mut headers = vec![
                ("authorization".to_string(), self.authorization()),
                ("content-type".to_string(), "application/json".to_string()),
            ];
            headers.extend(extra.iter().cloned());
            let outcome = self
                .transport
                .send(HttpRequest {
                    method,
                    url: format!("{}{path}", self.base_url),
                    headers,
                    body: body.clone(),
                    timeout: None,
                })
                .await;
            let wait = match &outcome {
                Ok(r)
                    if r.status == 401 && !refreshed && matches!(self.auth, Auth::OAuth { .. }) =>
                {
                    refreshed = true;
                    self.fetch_token().await?;
                    continue;
                }
                Ok(r) if r.status == 429 => {
                    let retry_after = r
                        .header("retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .unwrap_or(1);
                    let wait = Duration::from_secs(retry_after);
                    // An absurd `Retry-After` must not overflow the sum.
                    if waited
                        .checked_add(wait)
                        .is_none_or(|total| total > self.budget)
                    {
                        return Err(ZendeskError::RateLimited { retry_after });
                    }
                    Some(wait)
                }
                Ok(r) if r.status >= 500 && retry_safe => Some(backoff),
                Err(_) if retry_safe => Some(backoff),
                _ => None,
            };
            match wait {
                Some(wait) if waited + wait <= self.budget => {
                    self.transport.sleep(wait).await;
                    waited += wait;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                _ => return outcome.map_err(ZendeskError::Transport),
            }
        }
    }

    /// Creates a ticket under `idempotency_key` (≤ 255 characters).
    pub async fn create_ticket(
        &mut self,
        ticket: &NewTicket,
        idempotency_key: &str,
    ) -> Result<Created, ZendeskError> {
        let mut body = serde_json::json!({
            "ticket": {
                "subject": ticket.subject,
                "comment": { "body": ticket.description },
                "external_id": ticket.external_id,
                "tags": ticket.tags,
            }
        });
        if let Some(requester) = &ticket.requester {
            body["ticket"]["requester"] =
                serde_json::json!({ "name": requester.name, "email": requester.email });
        }
        let response = self
            .send(
                "POST",
                "/api/v2/tickets.json",
                vec![("idempotency-key".into(), idempotency_key.into())],
                body.to_string().into_bytes(),
                true,
            )
            .await?;
        match response.status {
            200 | 201 => {
                let value: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                let ticket_id =
                    value["ticket"]["id"]
                        .as_u64()
                        .ok_or_else(|| ZendeskError::Api {
                            status: response.status,
                            error: "BadResponse".into(),
                            description: "no ticket.id in the answer".into(),
                        })?;
                Ok(Created {
                    ticket_id,
                    replayed: response.header("x-idempotency-lookup") == Some("hit"),
                })
            }
            status => Err(answer_error(status, &response.body)),
        }
    }

    /// Adds a comment to ticket `id`: an internal note unless `public`.
    ///
    /// A transport failure is not retried: Zendesk takes no idempotency
    /// key on updates, so a retry after a lost answer could add the comment
    /// twice. The caller keeps what it did not deliver and tries again.
    pub async fn add_comment(
        &mut self,
        id: u64,
        body: &str,
        public: bool,
    ) -> Result<(), ZendeskError> {
        let request = serde_json::json!({
            "ticket": { "comment": { "body": body, "public": public } }
        });
        let response = self
            .send(
                "PUT",
                &format!("/api/v2/tickets/{id}.json"),
                Vec::new(),
                request.to_string().into_bytes(),
                false,
            )
            .await?;
        match response.status {
            200 | 201 => Ok(()),
            status => Err(answer_error(status, &response.body)),
        }
    }

    /// Shows a ticket.
    pub async fn get_ticket(&mut self, id: u64) -> Result<Ticket, ZendeskError> {
        self.show(&format!("/api/v2/tickets/{id}.json"), "ticket")
            .await
    }

    /// Shows a user (`users:read` scope).
    pub async fn get_user(&mut self, id: u64) -> Result<User, ZendeskError> {
        self.show(&format!("/api/v2/users/{id}.json"), "user").await
    }

    /// `GET path` (retried when safe) and the record under `field`.
    async fn show<R: serde::de::DeserializeOwned>(
        &mut self,
        path: &str,
        field: &str,
    ) -> Result<R, ZendeskError> {
        let response = self.send("GET", path, Vec::new(), Vec::new(), true).await?;
        if response.status != 200 {
            return Err(answer_error(response.status, &response.body));
        }
        let value: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        serde_json::from_value(value[field].clone()).map_err(|e| ZendeskError::Api {
            status: 200,
            error: "BadResponse".into(),
            description: e.to_string(),
        })
    }
}

fn error_fields(body: &[u8]) -> (String, String) {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = match &value["error"] {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_string(),
        _ => "error".to_string(),
    };
    let description = value["description"]
        .as_str()
        .or_else(|| value["error_description"].as_str())
        .map(String::from)
        .unwrap_or_else(|| {
            if value["details"].is_null() {
                String::new()
            } else {
                value["details"].to_string()
            }
        });
    (error, description)
}

fn answer_error(status: u16, body: &[u8]) -> ZendeskError {
    let (error, description) = error_fields(body);
    match status {
        400 if error == "IdempotentRequestError" => ZendeskError::IdempotencyMismatch,
        401 | 403 => ZendeskError::Unauthorized {
            status,
            detail: format!("{error}: {description}"),
        },
        _ => ZendeskError::Api {
            status,
            error,
            description,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use transport::testing::{Scripted, answer, block_on};

    fn oauth() -> Auth {
        Auth::OAuth {
            client_id: "id".into(),
            client_secret: "secret".into(),
            scope: "tickets:write".into(),
        }
    }

    /// A client holding a token, with a 5 s retry budget.
    fn signed_in(t: &Scripted) -> Client<&Scripted> {
        Client::new(
            t,
            "https://z",
            oauth(),
            Some("tok".into()),
            Duration::from_secs(5),
        )
    }

    fn ticket() -> NewTicket {
        NewTicket {
            subject: "Help".into(),
            description: "It broke".into(),
            requester: Some(Requester::bound_to("alice", "Alice", "chat.example.com")),
            external_id: "alice".into(),
            tags: vec!["switchboard".into()],
        }
    }

    #[test]
    fn shows_a_user_and_tells_agents_from_the_rest() {
        let t = Scripted::new(vec![
            answer(
                200,
                &[],
                serde_json::json!({"user": {"id": 7001, "name": "Ada", "role": "agent", "active": true,
                    "photo": {"content_url": "https://z/photos/a.png"}}}),
            ),
            answer(
                200,
                &[],
                serde_json::json!({"user": {"id": 7100, "name": "Eve", "role": "end-user"}}),
            ),
            answer(
                200,
                &[],
                serde_json::json!({"user": {"id": 7004, "name": "Mal", "role": "admin", "active": false, "photo": null}}),
            ),
            answer(
                404,
                &[],
                serde_json::json!({"error": "RecordNotFound", "description": "Not found"}),
            ),
        ]);
        let mut c = signed_in(&t);
        let ada = block_on(c.get_user(7001)).unwrap();
        assert_eq!(
            (
                ada.name.as_str(),
                ada.photo.as_deref(),
                ada.is_active_agent()
            ),
            ("Ada", Some("https://z/photos/a.png"), true)
        );
        assert!(!block_on(c.get_user(7100)).unwrap().is_active_agent());
        assert!(!block_on(c.get_user(7004)).unwrap().is_active_agent());
        assert!(matches!(
            block_on(c.get_user(1)),
            Err(ZendeskError::Api { status: 404, .. })
        ));
        assert_eq!(t.sent()[0].url, "https://z/api/v2/users/7001.json");
    }

    #[test]
    fn fetches_a_token_then_creates_with_the_idempotency_key() {
        let t = Scripted::new(vec![
            answer(
                200,
                &[],
                serde_json::json!({"access_token": "tok-1", "token_type": "bearer"}),
            ),
            answer(
                201,
                &[("x-idempotency-lookup", "miss")],
                serde_json::json!({"ticket": {"id": 5158}}),
            ),
        ]);
        let mut c = Client::new(
            &t,
            "https://acme.zendesk.com/",
            oauth(),
            None,
            Duration::from_secs(5),
        );
        assert_eq!(
            block_on(c.create_ticket(&ticket(), "k1")),
            Ok(Created {
                ticket_id: 5158,
                replayed: false
            })
        );
        let sent = t.sent();
        assert_eq!(sent[0].url, "https://acme.zendesk.com/oauth/tokens");
        let token_body: Value = serde_json::from_slice(&sent[0].body).unwrap();
        assert_eq!(token_body["grant_type"], "client_credentials");
        assert_eq!(sent[1].url, "https://acme.zendesk.com/api/v2/tickets.json");
        assert!(
            sent[1]
                .headers
                .contains(&("authorization".into(), "Bearer tok-1".into()))
        );
        assert!(
            sent[1]
                .headers
                .contains(&("idempotency-key".into(), "k1".into()))
        );
        let body: Value = serde_json::from_slice(&sent[1].body).unwrap();
        assert_eq!(body["ticket"]["comment"]["body"], "It broke");
        assert_eq!(
            body["ticket"]["requester"],
            serde_json::json!({"name": "Alice", "email": "alice@chat.example.com"})
        );
        assert_eq!(c.token(), Some("tok-1"));
    }

    #[test]
    fn bound_requesters_never_collide_and_stay_valid() {
        let email = |id: &str| Requester::bound_to(id, "n", "d.example").email;
        assert_ne!(email("alice"), email("Alice"));
        assert_ne!(email("a=41"), email("aA"), "`=` itself is escaped");
        assert_eq!(email("a#b@c"), "a=23b=40c@d.example");
        let long = email(&"X".repeat(32));
        assert!(
            long.starts_with("im-") && long.len() == "im-".len() + 32 + "@d.example".len(),
            "{long}"
        );
        assert_ne!(long, email(&"Y".repeat(32)));
        assert!(email(".a").starts_with("im-"), "no leading dot");
        assert!(email("a..b").starts_with("im-"), "no double dot");
    }

    #[test]
    fn expired_token_is_refreshed_once() {
        let t = Scripted::new(vec![
            answer(401, &[], serde_json::json!({"error": "invalid_token"})),
            answer(200, &[], serde_json::json!({"access_token": "tok-2"})),
            answer(
                201,
                &[("x-idempotency-lookup", "hit")],
                serde_json::json!({"ticket": {"id": 1}}),
            ),
        ]);
        let mut c = Client::new(
            &t,
            "https://z",
            oauth(),
            Some("old".into()),
            Duration::from_secs(5),
        );
        assert_eq!(
            block_on(c.create_ticket(&ticket(), "k")),
            Ok(Created {
                ticket_id: 1,
                replayed: true
            })
        );
        assert_eq!(c.token(), Some("tok-2"));
    }

    #[test]
    fn retry_after_is_honoured_within_the_budget() {
        let t = Scripted::new(vec![
            answer(429, &[("retry-after", "2")], serde_json::json!({})),
            answer(201, &[], serde_json::json!({"ticket": {"id": 9}})),
        ]);
        let mut c = signed_in(&t);
        assert_eq!(
            block_on(c.create_ticket(&ticket(), "k")).unwrap().ticket_id,
            9
        );
        assert_eq!(*t.slept(), [Duration::from_secs(2)]);

        let t = Scripted::new(vec![answer(
            429,
            &[("retry-after", "60")],
            serde_json::json!({}),
        )]);
        let mut c = signed_in(&t);
        assert_eq!(
            block_on(c.create_ticket(&ticket(), "k")),
            Err(ZendeskError::RateLimited { retry_after: 60 })
        );
        assert!(t.slept().is_empty());
    }

    #[test]
    fn an_overflowing_retry_after_is_a_rate_limit_not_a_panic() {
        let huge = u64::MAX.to_string();
        let t = Scripted::new(vec![answer(
            429,
            &[("retry-after", huge.as_str())],
            serde_json::json!({}),
        )]);
        let mut c = signed_in(&t);
        assert_eq!(
            block_on(c.create_ticket(&ticket(), "k")),
            Err(ZendeskError::RateLimited {
                retry_after: u64::MAX
            })
        );
        assert!(t.slept().is_empty());
    }

    #[test]
    fn idempotency_mismatch_and_api_errors() {
        let t = Scripted::new(vec![answer(
            400,
            &[],
            serde_json::json!({"error": "IdempotentRequestError", "description": "Request parameters don't match the given idempotency key"}),
        )]);
        let mut c = Client::new(&t, "https://z", oauth(), Some("tok".into()), Duration::ZERO);
        assert_eq!(
            block_on(c.create_ticket(&ticket(), "k")),
            Err(ZendeskError::IdempotencyMismatch)
        );
        let t = Scripted::new(vec![answer(
            422,
            &[],
            serde_json::json!({"error": "RecordInvalid", "description": "Record validation errors"}),
        )]);
        let mut c = Client::new(&t, "https://z", oauth(), Some("tok".into()), Duration::ZERO);
        assert!(matches!(
            block_on(c.create_ticket(&ticket(), "k")),
            Err(ZendeskError::Api { status: 422, .. })
        ));
    }

    #[test]
    fn legacy_api_token_uses_basic_auth() {
        let t = Scripted::new(vec![answer(
            200,
            &[],
            serde_json::json!({"ticket": {"id": 3, "status": "open", "assignee_id": 7}}),
        )]);
        let auth = Auth::ApiToken {
            email: "a@x.com".into(),
            token: "T".into(),
        };
        let mut c = Client::new(&t, "https://z", auth, None, Duration::ZERO);
        assert_eq!(block_on(c.get_ticket(3)).unwrap().assignee_id, Some(7));
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("a@x.com/token:T")
        );
        assert!(
            t.sent()[0]
                .headers
                .contains(&("authorization".into(), expected))
        );
    }
}
