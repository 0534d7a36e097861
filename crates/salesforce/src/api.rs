//! Salesforce OAuth and Case creation.
//!
//! - Client credentials (`grant_type=client_credentials`, My Domain token
//!   endpoint) is the default; JWT bearer (RS256 assertion: `iss` consumer
//!   key, `sub` username, `aud` login URL, `exp` ≤ 3 min) the second option;
//!   username-password is legacy (Salesforce retires it on 2027-02-20).
//! - Token answers carry no `expires_in`: an expired token shows up as 401
//!   `INVALID_SESSION_ID`, answered by logging in once more and retrying once.
//!   The caller caches the [`Session`] (the key-value store) so there is no
//!   login per request.
//! - `create_case` posts a new Case (never retried after a network failure:
//!   it may have been created); `upsert_case` upserts by an External ID field
//!   and is safe to retry.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use transport::unix_now as now;
use transport::{HttpRequest, HttpResponse, Transport};

/// How to log in.
#[derive(Clone)]
pub enum Auth {
    /// OAuth client credentials (the default).
    ClientCredentials {
        /// Consumer key.
        client_id: String,
        /// Consumer secret.
        client_secret: String,
    },
    /// OAuth JWT bearer.
    JwtBearer {
        /// Consumer key (`iss`).
        client_id: String,
        /// Integration user's username (`sub`).
        username: String,
        /// PEM private key whose certificate is on the app.
        private_key_pem: String,
        /// `aud`: `https://login.salesforce.com`, `https://test.salesforce.com` or a site URL.
        audience: String,
    },
    /// Legacy username-password flow.
    Password {
        /// Consumer key.
        client_id: String,
        /// Consumer secret.
        client_secret: String,
        /// Username.
        username: String,
        /// Password followed by the security token.
        password: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::ClientCredentials { .. } => "ClientCredentials",
            Auth::JwtBearer { .. } => "JwtBearer",
            Auth::Password { .. } => "Password",
        })
    }
}

/// A logged-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Bearer token.
    pub access_token: String,
    /// Where REST calls go.
    pub instance_url: String,
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SalesforceError {
    /// No response.
    #[error("Salesforce unreachable: {0}")]
    Transport(String),
    /// Login refused.
    #[error("Salesforce login failed ({status}): {detail}")]
    Login {
        /// HTTP status.
        status: u16,
        /// `error` / `error_description`.
        detail: String,
    },
    /// The org's API limit (403 `REQUEST_LIMIT_EXCEEDED`).
    #[error("Salesforce API limit reached (REQUEST_LIMIT_EXCEEDED): {0}")]
    LimitExceeded(String),
    /// An upsert matched several records (300).
    #[error("the External ID matched several Cases; nothing was written")]
    MultipleMatches,
    /// Any other error answer.
    #[error("Salesforce answered {status}: {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// `errorCode`.
        code: String,
        /// `message` (with `fields` when given).
        message: String,
    },
}

/// A Case to create.
#[derive(Debug, Clone, Serialize)]
pub struct NewCase {
    /// `Subject`.
    #[serde(rename = "Subject")]
    pub subject: String,
    /// `Description`.
    #[serde(rename = "Description")]
    pub description: String,
    /// `SuppliedName`.
    #[serde(rename = "SuppliedName")]
    pub supplied_name: String,
    /// `SuppliedEmail`, when the user gave one (a chat the assistant
    /// hands over has none).
    #[serde(rename = "SuppliedEmail", skip_serializing_if = "Option::is_none")]
    pub supplied_email: Option<String>,
    /// `Origin`.
    #[serde(rename = "Origin")]
    pub origin: String,
}

/// A Salesforce REST client.
pub struct Client<T> {
    transport: T,
    login_url: String,
    auth: Auth,
    api_version: String,
    auto_assign: String,
    session: Option<Session>,
}

fn error_of(status: u16, body: &[u8]) -> SalesforceError {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let first = value
        .as_array()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or(value);
    let code = first["errorCode"].as_str().unwrap_or("UNKNOWN").to_string();
    let mut message = first["message"].as_str().unwrap_or("").to_string();
    if let Some(fields) = first["fields"].as_array().filter(|f| !f.is_empty()) {
        let fields: Vec<&str> = fields.iter().filter_map(Value::as_str).collect();
        message = format!("{message} (fields: {})", fields.join(", "));
    }
    match (status, code.as_str()) {
        (403, "REQUEST_LIMIT_EXCEEDED") => SalesforceError::LimitExceeded(message),
        (300, _) => SalesforceError::MultipleMatches,
        _ => SalesforceError::Api {
            status,
            code,
            message,
        },
    }
}

fn is_invalid_session(response: &HttpResponse) -> bool {
    response.status == 401 && String::from_utf8_lossy(&response.body).contains("INVALID_SESSION_ID")
}

impl<T: Transport> Client<T> {
    /// A client. `cached` is a session kept from earlier calls;
    /// `auto_assign` is the `Sforce-Auto-Assign` value (`TRUE`, `FALSE` or an
    /// AssignmentRule id).
    pub fn new(
        transport: T,
        login_url: &str,
        auth: Auth,
        api_version: &str,
        auto_assign: &str,
        cached: Option<Session>,
    ) -> Self {
        Self {
            transport,
            login_url: login_url.trim_end_matches('/').to_string(),
            auth,
            api_version: api_version.trim_start_matches('v').to_string(),
            auto_assign: auto_assign.to_string(),
            session: cached,
        }
    }

    /// The session in use (to cache it).
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Runs the configured OAuth flow.
    pub async fn login(&mut self) -> Result<&Session, SalesforceError> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        match &self.auth {
            Auth::ClientCredentials {
                client_id,
                client_secret,
            } => {
                form.append_pair("grant_type", "client_credentials")
                    .append_pair("client_id", client_id)
                    .append_pair("client_secret", client_secret);
            }
            Auth::JwtBearer {
                client_id,
                username,
                private_key_pem,
                audience,
            } => {
                #[derive(Serialize)]
                struct Claims<'a> {
                    iss: &'a str,
                    sub: &'a str,
                    aud: &'a str,
                    exp: u64,
                }
                let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.as_bytes())
                    .map_err(|e| SalesforceError::Login {
                        status: 0,
                        detail: format!("the JWT private key is not an RSA PEM key: {e}"),
                    })?;
                let assertion = jsonwebtoken::encode(
                    &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
                    &Claims {
                        iss: client_id,
                        sub: username,
                        aud: audience,
                        exp: now() + 170,
                    },
                    &key,
                )
                .map_err(|e| SalesforceError::Login {
                    status: 0,
                    detail: format!("cannot sign the JWT assertion: {e}"),
                })?;
                form.append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
                    .append_pair("assertion", &assertion);
            }
            Auth::Password {
                client_id,
                client_secret,
                username,
                password,
            } => {
                form.append_pair("grant_type", "password")
                    .append_pair("client_id", client_id)
                    .append_pair("client_secret", client_secret)
                    .append_pair("username", username)
                    .append_pair("password", password);
            }
        }
        let response = self
            .transport
            .send(HttpRequest {
                method: "POST",
                url: format!("{}/services/oauth2/token", self.login_url),
                headers: vec![(
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                )],
                body: form.finish().into_bytes(),
                timeout: None,
            })
            .await
            .map_err(SalesforceError::Transport)?;
        let value: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        if response.status != 200 {
            let detail = format!(
                "{}: {}",
                value["error"].as_str().unwrap_or("error"),
                value["error_description"].as_str().unwrap_or("")
            );
            return Err(SalesforceError::Login {
                status: response.status,
                detail,
            });
        }
        match (
            value["access_token"].as_str(),
            value["instance_url"].as_str(),
        ) {
            (Some(token), Some(instance)) => Ok(self.session.insert(Session {
                access_token: token.to_string(),
                instance_url: instance.trim_end_matches('/').to_string(),
            })),
            _ => Err(SalesforceError::Login {
                status: response.status,
                detail: "the token answer has no access_token / instance_url".into(),
            }),
        }
    }

    /// Sends an authenticated REST call; logs in when there is no session,
    /// and once more (retrying once) on 401 `INVALID_SESSION_ID`. With
    /// `idempotent`, network failures and 5xx are retried twice.
    async fn call(
        &mut self,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<HttpResponse, SalesforceError> {
        if self.session.is_none() {
            self.login().await?;
        }
        let mut relogged = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let session = self.session.clone().expect("logged in above");
            let mut headers = vec![
                (
                    "authorization".to_string(),
                    format!("Bearer {}", session.access_token),
                ),
                ("accept".to_string(), "application/json".to_string()),
                ("sforce-auto-assign".to_string(), self.auto_assign.clone()),
            ];
            if body.is_some() {
                headers.push(("content-type".to_string(), "application/json".to_string()));
            }
            let outcome = self
                .transport
                .send(HttpRequest {
                    method,
                    url: format!(
                        "{}/services/data/v{}{path}",
                        session.instance_url, self.api_version
                    ),
                    headers,
                    body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
                    timeout: None,
                })
                .await;
            match outcome {
                Ok(response) if is_invalid_session(&response) && !relogged => {
                    relogged = true;
                    self.login().await?;
                }
                Ok(response) if response.status >= 500 && idempotent && attempt < 3 => {
                    self.transport
                        .sleep(Duration::from_millis(200 * attempt))
                        .await;
                }
                Err(_) if idempotent && attempt < 3 => {
                    self.transport
                        .sleep(Duration::from_millis(200 * attempt))
                        .await;
                }
                Ok(response) => return Ok(response),
                Err(e) => return Err(SalesforceError::Transport(e)),
            }
        }
    }

    /// `POST /sobjects/Case/`; returns the new Case id.
    pub async fn create_case(&mut self, case: &NewCase) -> Result<String, SalesforceError> {
        let body = serde_json::to_value(case).expect("a Case serialises");
        let response = self
            .call("POST", "/sobjects/Case/", Some(&body), false)
            .await?;
        if response.status != 201 {
            return Err(error_of(response.status, &response.body));
        }
        let value: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        value["id"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| SalesforceError::Api {
                status: 201,
                code: "BAD_RESPONSE".into(),
                message: "no id in the create answer".into(),
            })
    }

    /// `POST /sobjects/CaseComment/`: a comment on Case `case_id`, shown to
    /// the customer (portal, community) only when `published`. At most
    /// 4,000 characters. Not retried after a transport failure: a retry
    /// after a lost answer would add it twice.
    pub async fn add_case_comment(
        &mut self,
        case_id: &str,
        body: &str,
        published: bool,
    ) -> Result<(), SalesforceError> {
        let comment = serde_json::json!({
            "ParentId": case_id,
            "CommentBody": body,
            "IsPublished": published,
        });
        let response = self
            .call("POST", "/sobjects/CaseComment/", Some(&comment), false)
            .await?;
        if response.status != 201 {
            return Err(error_of(response.status, &response.body));
        }
        Ok(())
    }

    /// `PATCH /sobjects/Case/<field>/<value>`: creates the Case or finds the
    /// one made earlier with the same External ID. Returns (id, created).
    pub async fn upsert_case(
        &mut self,
        field: &str,
        value: &str,
        case: &NewCase,
    ) -> Result<(String, bool), SalesforceError> {
        let body = serde_json::to_value(case).expect("a Case serialises");
        let path = format!("/sobjects/Case/{field}/{value}");
        let response = self.call("PATCH", &path, Some(&body), true).await?;
        match response.status {
            200 | 201 => {
                let answer: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                let id = answer["id"].as_str().map(String::from).ok_or_else(|| {
                    SalesforceError::Api {
                        status: response.status,
                        code: "BAD_RESPONSE".into(),
                        message: "no id in the upsert answer".into(),
                    }
                })?;
                Ok((id, response.status == 201))
            }
            status => Err(error_of(status, &response.body)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use transport::testing::{Scripted, answer, block_on};

    fn case() -> NewCase {
        NewCase {
            subject: "Help".into(),
            description: "Broken".into(),
            supplied_name: "Alice".into(),
            supplied_email: Some("alice@example.com".into()),
            origin: "Chat".into(),
        }
    }

    fn client(t: &Scripted, cached: Option<Session>) -> Client<&Scripted> {
        Client::new(
            t,
            "https://acme.my.salesforce.com/",
            Auth::ClientCredentials {
                client_id: "ck".into(),
                client_secret: "cs".into(),
            },
            "v67.0",
            "FALSE",
            cached,
        )
    }

    fn token(n: u32) -> Result<HttpResponse, String> {
        answer(
            200,
            &[],
            serde_json::json!({"access_token": format!("tok{n}"), "instance_url": "https://acme.my.salesforce.com", "token_type": "Bearer"}),
        )
    }

    #[test]
    fn logs_in_and_creates() {
        let t = Scripted::new(vec![
            token(1),
            answer(
                201,
                &[],
                serde_json::json!({"id": "500A", "success": true, "errors": []}),
            ),
        ]);
        let mut c = client(&t, None);
        assert_eq!(block_on(c.create_case(&case())).unwrap(), "500A");
        let sent = t.sent();
        assert_eq!(
            sent[0].url,
            "https://acme.my.salesforce.com/services/oauth2/token"
        );
        assert_eq!(
            std::str::from_utf8(&sent[0].body).unwrap(),
            "grant_type=client_credentials&client_id=ck&client_secret=cs"
        );
        assert_eq!(
            sent[1].url,
            "https://acme.my.salesforce.com/services/data/v67.0/sobjects/Case/"
        );
        assert!(
            sent[1]
                .headers
                .contains(&("sforce-auto-assign".into(), "FALSE".into()))
        );
        let body: Value = serde_json::from_slice(&sent[1].body).unwrap();
        assert_eq!(
            (body["SuppliedEmail"].as_str(), body["Origin"].as_str()),
            (Some("alice@example.com"), Some("Chat"))
        );
    }

    #[test]
    fn invalid_session_relogs_once_and_retries_once() {
        let expired = || {
            answer(
                401,
                &[],
                serde_json::json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
            )
        };
        let cached = Session {
            access_token: "old".into(),
            instance_url: "https://acme.my.salesforce.com".into(),
        };
        let t = Scripted::new(vec![
            expired(),
            token(2),
            answer(201, &[], serde_json::json!({"id": "500B"})),
        ]);
        let mut c = client(&t, Some(cached.clone()));
        assert_eq!(block_on(c.create_case(&case())).unwrap(), "500B");
        assert_eq!(c.session().unwrap().access_token, "tok2");
        // Still 401 after one re-login: the error, not a loop.
        let t = Scripted::new(vec![expired(), token(3), expired()]);
        let mut c = client(&t, Some(cached));
        assert!(matches!(
            block_on(c.create_case(&case())),
            Err(SalesforceError::Api { status: 401, .. })
        ));
        assert_eq!(t.sent().len(), 3);
    }

    #[test]
    fn errors_are_typed() {
        let t = Scripted::new(vec![
            token(1),
            answer(
                403,
                &[],
                serde_json::json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
            ),
        ]);
        assert!(matches!(
            block_on(client(&t, None).create_case(&case())),
            Err(SalesforceError::LimitExceeded(_))
        ));
        let t = Scripted::new(vec![
            token(1),
            answer(
                400,
                &[],
                serde_json::json!([{"message": "bad value", "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["SuppliedEmail"]}]),
            ),
        ]);
        let err = block_on(client(&t, None).create_case(&case())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Salesforce answered 400: INVALID_EMAIL_ADDRESS: bad value (fields: SuppliedEmail)"
        );
        let t = Scripted::new(vec![answer(
            400,
            &[],
            serde_json::json!({"error": "invalid_client", "error_description": "invalid client credentials"}),
        )]);
        assert!(matches!(
            block_on(client(&t, None).create_case(&case())),
            Err(SalesforceError::Login { status: 400, .. })
        ));
        // A create is never retried after a network failure.
        let t = Scripted::new(vec![token(1), Err("reset".into())]);
        assert!(matches!(
            block_on(client(&t, None).create_case(&case())),
            Err(SalesforceError::Transport(_))
        ));
        assert_eq!(t.sent().len(), 2);
    }

    #[test]
    fn upsert_is_retried_and_reports_created() {
        let t = Scripted::new(vec![
            token(1),
            Err("reset".into()),
            answer(503, &[], serde_json::json!([])),
            answer(201, &[], serde_json::json!({"id": "500C", "created": true})),
        ]);
        let mut c = client(&t, None);
        assert_eq!(
            block_on(c.upsert_case("Switchboard_Request_Id__c", "r1", &case())).unwrap(),
            ("500C".into(), true)
        );
        assert_eq!(
            t.sent()[3].url,
            "https://acme.my.salesforce.com/services/data/v67.0/sobjects/Case/Switchboard_Request_Id__c/r1"
        );
        assert_eq!(t.sent()[3].method, "PATCH");
        let t = Scripted::new(vec![
            token(1),
            answer(
                300,
                &[],
                serde_json::json!([
                    "/services/data/v67.0/sobjects/Case/1",
                    "/services/data/v67.0/sobjects/Case/2"
                ]),
            ),
        ]);
        assert_eq!(
            block_on(client(&t, None).upsert_case("F", "v", &case())),
            Err(SalesforceError::MultipleMatches)
        );
    }

    #[test]
    fn jwt_bearer_signs_an_rs256_assertion() {
        let pem = include_str!("../testdata/jwt-test-key.pem");
        let t = Scripted::new(vec![token(1)]);
        let mut c = Client::new(
            &t,
            "https://login.salesforce.com",
            Auth::JwtBearer {
                client_id: "ck".into(),
                username: "int@acme.com".into(),
                private_key_pem: pem.into(),
                audience: "https://login.salesforce.com".into(),
            },
            "67.0",
            "TRUE",
            None,
        );
        block_on(c.login()).unwrap();
        let body = String::from_utf8(t.sent()[0].body.clone()).unwrap();
        let assertion = body.split("assertion=").nth(1).unwrap();
        let header = jsonwebtoken::decode_header(assertion).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        assert!(
            body.starts_with("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
        );
    }
}
