//! A stateful loopback emulator of Salesforce for tests and `switchboard up`:
//!
//! - `POST /services/oauth2/token`: client credentials, JWT bearer (RS256
//!   assertion checked against a configured public key) and the legacy
//!   password flow; answers without `expires_in`, like Salesforce.
//! - `/services/data/vNN.N/sobjects/Case/`: create, upsert by External ID
//!   (`PATCH .../Case/<field>/<value>`), get. Expired tokens get 401
//!   `INVALID_SESSION_ID`; a reached org limit 403 `REQUEST_LIMIT_EXCEEDED`;
//!   retired versions (< 31.0) 410.
//! - `POST .../sobjects/CaseComment/` on an existing Case (at most 4,000
//!   characters).
//! - Injected failures and latency; `GET /emulator/state`.

#![warn(missing_docs)]

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The org the emulator plays.
#[derive(Clone, Debug)]
pub struct SalesforceConfig {
    /// Consumer key.
    pub client_id: String,
    /// Consumer secret.
    pub client_secret: String,
    /// Integration user (password and JWT flows).
    pub username: String,
    /// Password + security token (password flow).
    pub password: String,
    /// PEM public key that JWT bearer assertions must verify with.
    pub jwt_public_key_pem: Option<String>,
}

impl Default for SalesforceConfig {
    fn default() -> Self {
        Self {
            client_id: "switchboard-consumer-key".into(),
            client_secret: "salesforce-emulator-consumer-secret".into(),
            username: "integration@switchboard.example".into(),
            password: "password-and-security-token".into(),
            jwt_public_key_pem: None,
        }
    }
}

/// A Case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    /// 18-character id.
    pub id: String,
    /// All fields as sent (`Subject`, `Description`, …).
    pub fields: BTreeMap<String, Value>,
    /// (External ID field, value) it was upserted by.
    pub external_id: Option<(String, String)>,
}

/// A `CaseComment`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseComment {
    /// 18-character id.
    pub id: String,
    /// `ParentId`: the Case.
    pub parent_id: String,
    /// `CommentBody` (at most 4,000 characters).
    pub body: String,
    /// `IsPublished`: shown to the customer (portal, community) or not.
    pub published: bool,
}

/// Everything the emulator holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct State {
    /// Cases by id.
    pub cases: BTreeMap<String, Case>,
    /// Case comments, in the order they were created.
    pub case_comments: Vec<CaseComment>,
    /// Grant types of successful logins, in order.
    pub logins: Vec<String>,
    /// Requests: (method, path, status).
    pub requests: Vec<(String, String, u16)>,
    #[serde(skip)]
    tokens: HashSet<String>,
    #[serde(skip)]
    next: u64,
}

struct Shared {
    url: String,
    config: SalesforceConfig,
    state: Mutex<State>,
    /// The org's API request limit is reached: every REST call gets 403.
    limit_reached: AtomicBool,
    faults: loopback::Faults<u16>,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running emulator; stops when dropped.
pub struct SalesforceEmulator {
    shared: Arc<Shared>,
    _server: loopback::Server,
}

impl SalesforceEmulator {
    /// Starts it on `listen` (port 0 for any free port).
    pub async fn start(config: SalesforceConfig, listen: SocketAddr) -> anyhow::Result<Self> {
        // The instance URL is the emulator's own address, known once bound;
        // the handler reads it from `Shared`, set right after.
        let slot: Arc<std::sync::OnceLock<Arc<Shared>>> = Arc::default();
        let handler_slot = slot.clone();
        let server = loopback::serve(listen, move |request| {
            let shared = handler_slot.get().cloned();
            async move {
                match shared {
                    Some(shared) => route(&shared, request).await,
                    None => sf_error(503, "SERVER_UNAVAILABLE", "starting", &[]),
                }
            }
        })
        .await?;
        let shared = Arc::new(Shared {
            url: server.url(),
            config,
            state: Mutex::default(),
            limit_reached: AtomicBool::new(false),
            faults: loopback::Faults::default(),
        });
        let _ = slot.set(shared.clone());
        Ok(Self {
            shared,
            _server: server,
        })
    }

    /// `http://<addr>`: both the login URL and the instance URL.
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }

    /// The org's settings.
    pub fn config(&self) -> &SalesforceConfig {
        &self.shared.config
    }

    /// A copy of the state.
    pub fn state(&self) -> State {
        self.shared.state().clone()
    }

    /// Invalidates every session (the next call gets 401 `INVALID_SESSION_ID`).
    pub fn expire_sessions(&self) {
        self.shared.state().tokens.clear();
    }

    /// Sets whether the org's API limit is reached (403 `REQUEST_LIMIT_EXCEEDED`).
    pub fn set_limit_reached(&self, reached: bool) {
        self.shared.limit_reached.store(reached, Ordering::SeqCst);
    }

    /// The next REST call is answered with `status`.
    pub fn fail_next(&self, status: u16) {
        self.shared.faults.fail_next(status);
    }

    /// Every REST answer is delayed by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.faults.set_latency(latency);
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn sf_error(status: u16, code: &str, message: &str, fields: &[&str]) -> Response<Full<Bytes>> {
    let mut error = json!({ "message": message, "errorCode": code });
    if !fields.is_empty() {
        error["fields"] = json!(fields);
    }
    reply(status, json!([error]))
}

async fn route(shared: &Shared, request: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let Ok(request) = loopback::Received::read(request).await else {
        return sf_error(
            400,
            "JSON_PARSER_ERROR",
            "The request body could not be read",
            &[],
        );
    };
    let method = request.method.to_string();
    let path = request.path.clone();
    let auth = request.header("authorization");
    let body = &request.body;
    let response = match (method.as_str(), path.as_str()) {
        ("GET", "/emulator/state") => reply(
            200,
            serde_json::to_value(&*shared.state()).unwrap_or(Value::Null),
        ),
        ("POST", "/services/oauth2/token") => token(shared, body),
        _ if path.starts_with("/services/data/") => rest(shared, &method, &path, auth, body).await,
        _ => sf_error(
            404,
            "NOT_FOUND",
            "The requested resource does not exist",
            &[],
        ),
    };
    shared
        .state()
        .requests
        .push((method, path, response.status().as_u16()));
    response
}

fn token(shared: &Shared, body: &[u8]) -> Response<Full<Bytes>> {
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let config = &shared.config;
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let invalid = |error: &str, description: &str| {
        reply(
            400,
            json!({ "error": error, "error_description": description }),
        )
    };
    let grant = get("grant_type");
    let ok = match grant {
        "client_credentials" => {
            if get("client_id") != config.client_id || get("client_secret") != config.client_secret
            {
                return invalid("invalid_client", "invalid client credentials");
            }
            true
        }
        "password" => {
            if get("client_id") != config.client_id || get("client_secret") != config.client_secret
            {
                return invalid("invalid_client", "invalid client credentials");
            }
            if get("username") != config.username || get("password") != config.password {
                return invalid("invalid_grant", "authentication failure");
            }
            true
        }
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            let Some(pem) = &config.jwt_public_key_pem else {
                return invalid("invalid_grant", "no certificate is configured for the app");
            };
            let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()) else {
                return invalid("invalid_grant", "the configured certificate is unreadable");
            };
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
            validation.set_audience(&[
                "https://login.salesforce.com",
                "https://test.salesforce.com",
                shared.url.as_str(),
            ]);
            validation.set_issuer(&[config.client_id.as_str()]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            match jsonwebtoken::decode::<Value>(get("assertion"), &key, &validation) {
                Ok(data) if data.claims["sub"] == config.username.as_str() => true,
                Ok(_) => return invalid("invalid_grant", "user hasn't approved this consumer"),
                Err(e) => return invalid("invalid_grant", &format!("invalid assertion: {e}")),
            }
        }
        other => {
            return invalid(
                "unsupported_grant_type",
                &format!("grant type not supported: {other}"),
            );
        }
    };
    debug_assert!(ok);
    let mut state = shared.state();
    state.next += 1;
    let access_token = format!("00DEMU0000000000!emu-session-{}", state.next);
    state.tokens.insert(access_token.clone());
    state.logins.push(grant.to_string());
    let issued_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    reply(
        200,
        json!({
            "access_token": access_token,
            "instance_url": shared.url,
            "id": format!("{}/id/00DEMU0000000000/005EMU0000000001", shared.url),
            "token_type": "Bearer",
            "issued_at": issued_at.to_string(),
            "signature": "emulated",
        }),
    )
}

/// Creates or updates a Case with `fields`, validating like Salesforce.
fn validate(fields: &Value) -> Result<BTreeMap<String, Value>, Box<Response<Full<Bytes>>>> {
    const KNOWN: [&str; 8] = [
        "Subject",
        "Description",
        "SuppliedName",
        "SuppliedEmail",
        "SuppliedPhone",
        "Origin",
        "Priority",
        "Status",
    ];
    let Some(object) = fields.as_object() else {
        return Err(Box::new(sf_error(
            400,
            "JSON_PARSER_ERROR",
            "the body must be a JSON object",
            &[],
        )));
    };
    for key in object.keys() {
        if !KNOWN.contains(&key.as_str()) && !key.ends_with("__c") {
            return Err(Box::new(sf_error(
                400,
                "INVALID_FIELD",
                &format!("No such column '{key}' on sobject of type Case"),
                &[],
            )));
        }
    }
    if object
        .get("Subject")
        .and_then(Value::as_str)
        .is_some_and(|s| s.chars().count() > 255)
    {
        return Err(Box::new(sf_error(
            400,
            "STRING_TOO_LONG",
            "Subject: data value too large",
            &["Subject"],
        )));
    }
    if let Some(email) = object.get("SuppliedEmail").and_then(Value::as_str)
        && !(email.contains('@') && email.contains('.'))
    {
        return Err(Box::new(sf_error(
            400,
            "INVALID_EMAIL_ADDRESS",
            &format!("Web Email: invalid email address: {email}"),
            &["SuppliedEmail"],
        )));
    }
    Ok(object.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

async fn rest(
    shared: &Shared,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &[u8],
) -> Response<Full<Bytes>> {
    shared.faults.delay().await;
    let Some(rest) = path.strip_prefix("/services/data/v") else {
        return sf_error(
            404,
            "NOT_FOUND",
            "The requested resource does not exist",
            &[],
        );
    };
    let (version, resource) = rest.split_once('/').unwrap_or((rest, ""));
    match version.parse::<f64>() {
        Ok(v) if v < 31.0 => {
            return sf_error(
                410,
                "API_DISABLED_FOR_ORG",
                &format!("API version {version} is retired"),
                &[],
            );
        }
        Ok(_) => {}
        Err(_) => {
            return sf_error(
                404,
                "NOT_FOUND",
                "The requested resource does not exist",
                &[],
            );
        }
    }
    let token = auth.and_then(|a| a.strip_prefix("Bearer ")).unwrap_or("");
    if !shared.state().tokens.contains(token) {
        return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid", &[]);
    }
    if shared.limit_reached.load(Ordering::SeqCst) {
        return sf_error(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
            &[],
        );
    }
    if let Some(status) = shared.faults.take() {
        return sf_error(
            status,
            "UNKNOWN_EXCEPTION",
            &format!("emulated failure {status}"),
            &[],
        );
    }
    let segments: Vec<&str> = resource.trim_end_matches('/').split('/').collect();
    let parsed = || serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    let mut state = shared.state();
    match (method, segments.as_slice()) {
        ("POST", ["sobjects", "Case"]) => {
            let fields = match validate(&parsed()) {
                Ok(fields) => fields,
                Err(response) => return *response,
            };
            let id = insert_case(&mut state, fields, None);
            reply(201, json!({ "id": id, "success": true, "errors": [] }))
        }
        ("POST", ["sobjects", "CaseComment"]) => {
            let input = parsed();
            let parent = input["ParentId"].as_str().unwrap_or_default().to_string();
            let body = input["CommentBody"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !state.cases.contains_key(&parent) {
                return sf_error(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    "Parent ID: id value of incorrect type",
                    &["ParentId"],
                );
            }
            if body.trim().is_empty() || body.chars().count() > 4000 {
                return sf_error(
                    400,
                    "STRING_TOO_LONG",
                    "Body: data value too large or empty (max length=4000)",
                    &["CommentBody"],
                );
            }
            state.next += 1;
            let id = format!("00aEMU{:012}", state.next);
            state.case_comments.push(CaseComment {
                id: id.clone(),
                parent_id: parent,
                body,
                published: input["IsPublished"].as_bool().unwrap_or(false),
            });
            reply(201, json!({ "id": id, "success": true, "errors": [] }))
        }
        ("PATCH", ["sobjects", "Case", field, value]) => {
            if !field.ends_with("__c") {
                return sf_error(
                    404,
                    "NOT_FOUND",
                    &format!(
                        "Provided external ID field does not exist or is not accessible: {field}"
                    ),
                    &[],
                );
            }
            let fields = match validate(&parsed()) {
                Ok(fields) => fields,
                Err(response) => return *response,
            };
            let key = (field.to_string(), value.to_string());
            let matches: Vec<String> = state
                .cases
                .values()
                .filter(|c| c.external_id.as_ref() == Some(&key))
                .map(|c| c.id.clone())
                .collect();
            match matches.as_slice() {
                [] => {
                    let id = insert_case(&mut state, fields, Some(key));
                    reply(
                        201,
                        json!({ "id": id, "success": true, "errors": [], "created": true }),
                    )
                }
                [id] => {
                    let id = id.clone();
                    if let Some(case) = state.cases.get_mut(&id) {
                        case.fields.extend(fields);
                    }
                    reply(
                        200,
                        json!({ "id": id, "success": true, "errors": [], "created": false }),
                    )
                }
                many => reply(
                    300,
                    json!(
                        many.iter()
                            .map(|id| format!("/services/data/v{version}/sobjects/Case/{id}"))
                            .collect::<Vec<_>>()
                    ),
                ),
            }
        }
        ("GET", ["sobjects", "Case", id]) => match state.cases.get(*id) {
            Some(case) => {
                let mut value = json!(case.fields);
                value["Id"] = json!(case.id);
                reply(200, value)
            }
            None => sf_error(
                404,
                "NOT_FOUND",
                "The requested resource does not exist",
                &[],
            ),
        },
        _ => sf_error(
            404,
            "NOT_FOUND",
            "The requested resource does not exist",
            &[],
        ),
    }
}

/// Stores a new Case; returns its id.
fn insert_case(
    state: &mut State,
    fields: BTreeMap<String, Value>,
    external_id: Option<(String, String)>,
) -> String {
    let id = new_id(state);
    state.cases.insert(
        id.clone(),
        Case {
            id: id.clone(),
            fields,
            external_id,
        },
    );
    id
}

fn new_id(state: &mut State) -> String {
    state.next += 1;
    format!("500EMU{:012}", state.next)
}
