//! Test harness: starts the runner in-process on a free loopback port
//! against the real built components, plus small loopback servers that play
//! upstream services.

#![warn(missing_docs)]

pub mod bench;
pub mod node;

use spin_local_host::{AppConfig, Logger, RunningServer};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("SWITCHBOARD_ROOT"))
}

/// A test fixture manifest, e.g. `fixture("runner")`.
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name).join("spin.toml")
}

/// A fresh, empty directory for one test's runtime state.
pub fn scratch_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = root()
        .join("target/test-scratch")
        .join(format!("{label}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An application configuration with a capturing logger and its own state
/// directory.
pub fn config(manifest: PathBuf, label: &str) -> AppConfig {
    let mut config = AppConfig::new(manifest);
    config.logger = Logger::capturing();
    config.state_dir = Some(scratch_dir(label));
    config
}

/// A running runner and an HTTP client for it.
pub struct Runner {
    /// The server.
    pub server: RunningServer,
    /// What it logged.
    pub logger: Logger,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// A client.
    pub client: reqwest::Client,
}

impl Runner {
    /// Starts the runner on a free loopback port.
    pub async fn start(config: &AppConfig) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::start_on(config, listener)
    }

    /// Starts the runner on a listener already bound.
    pub fn start_on(config: &AppConfig, listener: tokio::net::TcpListener) -> anyhow::Result<Self> {
        let server = switchboard::start_on(config, listener)?;
        Ok(Self {
            url: server.url(),
            server,
            logger: config.logger.clone(),
            client: reqwest::Client::new(),
        })
    }

    /// GET `path`, returning status and body parsed as JSON (or a string).
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(self.client.get(format!("{}{path}", self.url)))
            .await
    }

    /// Sends a prepared request, returning status and JSON (or string) body.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
        let response = request.send().await.expect("request failed");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body failed");
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, body)
    }

    /// Whether any logged line contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.logger.captured().iter().any(|l| l.contains(needle))
    }
}

/// A loopback HTTP server that answers every request with a fixed body and
/// counts the requests it received.
pub struct Upstream {
    /// Its address.
    pub addr: SocketAddr,
    /// Requests received.
    pub hits: Arc<AtomicUsize>,
    _server: loopback::Server,
}

impl Upstream {
    /// Starts it on a free port.
    pub async fn start(body: &'static str) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let server = loopback::serve("127.0.0.1:0".parse().unwrap(), move |_request| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
                    body.as_bytes(),
                )))
            }
        })
        .await
        .unwrap();
        Self {
            addr: server.addr(),
            hits,
            _server: server,
        }
    }
}

/// The upstream clients' [`transport::Transport`] over reqwest, for driving
/// the emulators natively with the same clients the components use.
pub struct ReqwestTransport(pub reqwest::Client);

impl transport::Transport for ReqwestTransport {
    async fn send(
        &self,
        request: transport::HttpRequest,
    ) -> Result<transport::HttpResponse, String> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| format!("{}: {e}", request.method))?;
        let mut builder = self.0.request(method, &request.url).body(request.body);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout);
        }
        // IM's URLs carry the admin UserSig: errors never quote the URL.
        let response = builder
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.to_string(), value)
            })
            .collect();
        let body = response
            .bytes()
            .await
            .map_err(|e| e.without_url().to_string())?
            .to_vec();
        Ok(transport::HttpResponse {
            status,
            headers,
            body,
        })
    }

    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A webhook receiver that answers with a function of (command, body) and
/// records what it received.
pub struct CallbackServer {
    /// `http://<addr>/callback`.
    pub url: String,
    /// (query, body) of each call.
    pub received: Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>,
    _server: loopback::Server,
}

type Answerer = Arc<dyn Fn(&str, &serde_json::Value) -> serde_json::Value + Send + Sync>;

impl CallbackServer {
    /// Starts it on a free port.
    pub async fn start(
        answer: impl Fn(&str, &serde_json::Value) -> serde_json::Value + Send + Sync + 'static,
    ) -> Self {
        let received: Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>> = Arc::default();
        let answer: Answerer = Arc::new(answer);
        let log = received.clone();
        let server = loopback::serve(
            "127.0.0.1:0".parse().unwrap(),
            move |req: hyper::Request<hyper::body::Incoming>| {
                let (log, answer) = (log.clone(), answer.clone());
                async move {
                    let query = req.uri().query().unwrap_or("").to_string();
                    let bytes = read_body(req).await;
                    let body: serde_json::Value =
                        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
                    let command = body["CallbackCommand"].as_str().unwrap_or("").to_string();
                    let reply = answer(&command, &body);
                    log.lock().unwrap().push((query, body));
                    hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(
                        reply.to_string(),
                    )))
                }
            },
        )
        .await
        .unwrap();
        Self {
            url: format!("{}/callback", server.url()),
            received,
            _server: server,
        }
    }
}

/// A request's whole body (empty when it breaks off).
async fn read_body(req: hyper::Request<hyper::body::Incoming>) -> bytes::Bytes {
    use http_body_util::BodyExt;
    req.into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

/// A loopback endpoint that records each request (headers and raw body)
/// and answers with the next of a list of statuses, then 200: a team's
/// event receiver, honest or failing.
pub struct Recorder {
    /// `http://<addr>` (the origin; any path is accepted).
    pub origin: String,
    /// (path, headers, raw body) of each request, in arrival order.
    pub received: Arc<std::sync::Mutex<Vec<(String, http::HeaderMap, bytes::Bytes)>>>,
    _server: loopback::Server,
}

impl Recorder {
    /// Starts it on a free port.
    pub async fn start(statuses: Vec<u16>) -> Self {
        let received: Arc<std::sync::Mutex<Vec<(String, http::HeaderMap, bytes::Bytes)>>> =
            Arc::default();
        let statuses = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(
            statuses,
        )));
        let log = received.clone();
        let server = loopback::serve(
            "127.0.0.1:0".parse().unwrap(),
            move |req: hyper::Request<hyper::body::Incoming>| {
                let (log, statuses) = (log.clone(), statuses.clone());
                async move {
                    let path = req.uri().path().to_string();
                    let headers = req.headers().clone();
                    let body = read_body(req).await;
                    log.lock().unwrap().push((path, headers, body));
                    let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
                    let mut response =
                        hyper::Response::new(http_body_util::Full::new(bytes::Bytes::new()));
                    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
                    response
                }
            },
        )
        .await
        .unwrap();
        Self {
            origin: server.url(),
            received,
            _server: server,
        }
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

/// The shipped application as `switchboard up` runs it: the runner with the
/// built-in emulators as backends.
pub struct Stack {
    /// The runner.
    pub runner: Runner,
    /// The emulators.
    pub backends: switchboard::emulators::Backends,
    /// Where the application keeps its state (the `default` store's file).
    state_dir: PathBuf,
}

impl Stack {
    /// Starts the shipped `spin.toml` with `variables` (`name=value`) set.
    pub async fn start(label: &str, variables: &[&str]) -> Self {
        let mut config = config(root().join("spin.toml"), label);
        for variable in variables {
            config.variables.add_command_line(variable).unwrap();
        }
        Self::start_with(config).await
    }

    /// Starts from a prepared configuration.
    pub async fn start_with(config: AppConfig) -> Self {
        Self::start_rewired(config, &[]).await
    }

    /// Starts the emulators, then points the application elsewhere for the
    /// `(variable, value)` pairs given (an unreachable IM, say), as a fault
    /// would: the emulators keep running for the test to inspect.
    pub async fn start_rewired(mut config: AppConfig, rewire: &[(&str, String)]) -> Self {
        let backends = switchboard::emulators::Backends::start(
            &mut config,
            switchboard::emulators::EmulatorAddrs::any(),
        )
        .await
        .unwrap();
        for (name, value) in rewire {
            config
                .variables
                .fallback
                .insert(name.to_string(), value.clone());
        }
        // Bound first: Tencent's video results need the address before the
        // application loads.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        backends.send_video_results_to(&mut config, &url).unwrap();
        let runner = Runner::start_on(&config, listener).unwrap();
        backends.connect(&runner.url, &config);
        Self::assemble(runner, backends, &config)
    }

    /// A stack from a runner started on `config` and its emulators.
    pub fn assemble(
        runner: Runner,
        backends: switchboard::emulators::Backends,
        config: &AppConfig,
    ) -> Self {
        let state_dir = config
            .state_dir
            .clone()
            .expect("test configurations have a state directory");
        Self {
            runner,
            backends,
            state_dir,
        }
    }

    /// The application's `default` key-value store, opened beside the
    /// running application (SQLite's log lets both use it at once): for
    /// assertions on what the components keep.
    pub fn store(&self) -> std::sync::Arc<spin_local_host::kv::SqliteDb> {
        spin_local_host::kv::SqliteDb::open(
            &self.state_dir.join(spin_local_host::kv::DEFAULT_STORE_FILE),
        )
        .unwrap()
    }

    /// The IM emulator.
    pub fn im(&self) -> &im_emulator::ImEmulator {
        self.backends
            .im
            .as_ref()
            .expect("the IM emulator is running")
    }

    /// The Zendesk emulator.
    pub fn zendesk(&self) -> &zendesk_emulator::ZendeskEmulator {
        self.backends
            .zendesk
            .as_ref()
            .expect("the Zendesk emulator is running")
    }

    /// The Salesforce emulator.
    pub fn salesforce(&self) -> &salesforce_emulator::SalesforceEmulator {
        self.backends
            .salesforce
            .as_ref()
            .expect("the Salesforce emulator is running")
    }

    /// alice opens a request at `route` (`/zendesk/requests` or
    /// `/salesforce/requests`) with idempotency key `key`, then writes
    /// `text` in its group: the answer of the create call (201).
    pub async fn customer_opens_and_writes(
        &self,
        route: &str,
        key: &str,
        text: &str,
    ) -> serde_json::Value {
        let (status, body) = self
            .runner
            .post_as_user(
                route,
                "alice",
                Some(&usersig("alice")),
                &serde_json::json!({
                    "subject": "Help with my order", "description": text,
                    "name": "Alice Example", "email": "alice@example.com", "idempotency_key": key,
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        self.alice_says(body["group_id"].as_str().expect("a group id"), text)
            .await;
        body
    }

    /// alice writes `text` in `group` from the SDK (through IM's callbacks,
    /// as a client's message goes); panics when IM does not deliver it.
    pub async fn alice_says(&self, group: &str, text: &str) {
        let body = serde_json::json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]);
        let sent = self
            .im()
            .user_send_group("alice", group, body, Vec::new())
            .await;
        assert_eq!(sent["ErrorCode"], 0, "{sent}");
    }

    /// A group's members in the IM emulator, `None` when it does not exist.
    pub fn members(&self, group: &str) -> Option<Vec<String>> {
        self.im()
            .state()
            .groups
            .get(group)
            .map(|g| g.members.clone())
    }

    /// Loads the Zendesk sidebar page as Zendesk does for `agent` (a form
    /// `POST` with the signed-URL token `token`): status and HTML.
    pub async fn zendesk_panel_page(&self, token: &str) -> (u16, String) {
        let response = self
            .runner
            .client
            .post(format!(
                "{}/zendesk/app?origin=http%3A%2F%2F127.0.0.1&app_guid=test",
                self.runner.url
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// The panel session Zendesk's signed page load gives `agent`.
    pub async fn zendesk_panel_session(&self, agent: u64) -> String {
        let token = self.zendesk().signed_url_token(agent, now());
        let (status, html) = self.zendesk_panel_page(&token).await;
        assert_eq!(status, 200, "{html}");
        panel_session_of(&html).expect("the page holds a session")
    }

    /// `POST /zendesk/app/<route>` with the panel session `session`.
    pub async fn zendesk_panel(
        &self,
        route: &str,
        session: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let request = self
            .runner
            .client
            .post(format!("{}/zendesk/app/{route}", self.runner.url))
            .header("authorization", format!("Bearer {session}"))
            .json(body);
        self.runner.send(request).await
    }
}

/// Sends `attempts` messages one after another, `send(n)` sending the
/// `n`th, as a client flooding an agent's chat would; returns how many were
/// accepted (200). Every other answer must be the limit's 429 saying when to
/// retry, and at least one must be: a flood that is never limited fails.
pub async fn flood<F, Fut>(attempts: usize, mut send: F) -> usize
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = (u16, serde_json::Value)>,
{
    let mut accepted = 0;
    let mut limited = None;
    for n in 0..attempts {
        let (status, answer) = send(n).await;
        match status {
            200 => accepted += 1,
            429 => limited = Some(answer),
            other => panic!("message {n} of the flood: {other}: {answer}"),
        }
    }
    let limited = limited.expect("a flood is limited");
    assert!(
        limited["error"]
            .as_str()
            .is_some_and(|error| error.contains("retry in")),
        "{limited}"
    );
    accepted
}

/// The session in a sidebar page (its `#panel-setup` JSON).
pub fn panel_session_of(html: &str) -> Option<String> {
    let start = html.find("<script id=\"panel-setup\" type=\"application/json\">")?;
    let rest = &html[start..];
    let json = &rest[rest.find('>')? + 1..rest.find("</script>")?];
    let setup: serde_json::Value = serde_json::from_str(json).ok()?;
    setup["session"].as_str().map(String::from)
}

/// The gateway URL IM would call for `command`, signed now with the
/// emulator's callback token (as the IM emulator signs its webhooks).
pub fn signed_webhook_url(app_url: &str, command: &str) -> String {
    let time = now().to_string();
    format!(
        "{app_url}/im/webhook?SdkAppid=1400000000&CallbackCommand={command}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=Web&Sign={}&RequestTime={time}",
        tim::webhook::sign(switchboard::emulators::EMULATOR_CALLBACK_TOKEN, &time)
    )
}

/// The IM emulator's UserSig signer (its SDKAppID and public key).
pub fn emulator_signer() -> tim::usersig::Signer {
    tim::usersig::Signer::new(
        1400000000,
        &im_emulator::EmulatorConfig::default().secret_key,
    )
}

/// A UserSig for `user`, valid for an hour, as the IM emulator issues it.
pub fn usersig(user: &str) -> String {
    emulator_signer().generate(user, now(), 3600)
}

/// A business-hours setting that is closed now: a window in the other
/// half of the UTC day (for the bridges' out-of-hours notices).
pub fn business_hours_closed_now() -> String {
    let hour = (now() / 3600) % 24;
    let window = if hour < 12 {
        "13:00-23:00"
    } else {
        "01:00-11:00"
    };
    format!("Mon-Sun {window} Z")
}

/// Current Unix time in seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Runner {
    /// POSTs an end user's JSON request to `path`, as their chat app does:
    /// `x-im-user-id` plus, when given, `Authorization: UserSig <usersig>`.
    pub async fn post_as_user(
        &self,
        path: &str,
        user: &str,
        usersig: Option<&str>,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.url))
            .header("x-im-user-id", user)
            .json(body);
        if let Some(sig) = usersig {
            request = request.header("authorization", format!("UserSig {sig}"));
        }
        self.send(request).await
    }
}

/// A nonce no other call of this test process uses, as the shipped Apex
/// makes one for every call (32 hex characters).
pub fn fresh_nonce() -> String {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    format!("{nanos:016x}{:08x}{call:08x}", std::process::id())
}

impl Runner {
    /// POSTs `body` to `/salesforce/{route}` as the shipped Apex does:
    /// signed with `secret` at `timestamp`, carrying `nonce`.
    pub async fn post_as_apex(
        &self,
        route: &str,
        body: &str,
        secret: &str,
        timestamp: u64,
        nonce: &str,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .post(format!("{}/salesforce/{route}", self.url))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (name, value) in
            salesforce::inbound::signed_headers(secret, timestamp, nonce, body.as_bytes())
        {
            request = request.header(name, value);
        }
        self.send(request).await
    }
}

impl Runner {
    /// POSTs a Zendesk webhook delivery of `body`, signed with `secret` at
    /// `timestamp` as Zendesk signs it, with an invocation id header.
    pub async fn post_zendesk_webhook(
        &self,
        secret: &str,
        body: &str,
        timestamp: &str,
        invocation: &str,
    ) -> (u16, serde_json::Value) {
        let request = self
            .client
            .post(format!("{}/zendesk/webhook", self.url))
            .header("content-type", "application/json")
            .header(zendesk::webhook::INVOCATION_HEADER, invocation)
            .header(
                zendesk::webhook::SIGNATURE_HEADER,
                zendesk::webhook::sign(secret, timestamp, body.as_bytes()),
            )
            .header(zendesk::webhook::TIMESTAMP_HEADER, timestamp)
            .body(body.to_string());
        self.send(request).await
    }

    /// POSTs an IM webhook `body` for `command` to the gateway, signed as IM
    /// signs it with the emulator's callback token.
    pub async fn post_im_webhook(
        &self,
        command: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let url = signed_webhook_url(&self.url, command);
        self.send(self.client.post(url).json(body)).await
    }
}

/// The `Bot.OnC2CMessage` body IM sends when `from` writes `text` to
/// `@RBT#assistant` (message key `msg_key`).
pub fn robot_message(from: &str, msg_key: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "CallbackCommand": "Bot.OnC2CMessage", "From_Account": from, "To_Account": "@RBT#assistant",
        "MsgSeq": 1, "MsgRandom": 7, "MsgTime": now(), "MsgKey": msg_key, "OnlineOnlyFlag": 0,
        "SendMsgResult": 0, "EventTime": now() * 1000,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
    })
}

/// A numeric `--name value` argument of a benchmark binary, or `default`.
pub fn bench_arg(name: &str, default: usize) -> usize {
    bench_text_arg(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The value of a `--name value` argument of a benchmark binary.
pub fn bench_text_arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).cloned()
}

/// A loopback server that forwards every request to `target` until it is
/// dropped; then its port refuses connections, as an upstream that went
/// down does (the host opens a new connection per outbound request).
pub struct Forwarder {
    /// `http://<addr>`.
    pub url: String,
    _server: loopback::Server,
}

impl Forwarder {
    /// Starts it on a free port, forwarding to `target` (`http://host:port`).
    pub async fn start(target: String) -> Self {
        let client = reqwest::Client::new();
        let server = loopback::serve(
            "127.0.0.1:0".parse().unwrap(),
            move |req: hyper::Request<hyper::body::Incoming>| {
                let (client, target) = (client.clone(), target.clone());
                async move {
                    let method = req.method().clone();
                    let path = req
                        .uri()
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_default();
                    let headers = req.headers().clone();
                    let body = read_body(req).await;
                    let mut forwarded = client.request(method, format!("{target}{path}"));
                    for name in ["content-type", "authorization"] {
                        if let Some(value) = headers.get(name) {
                            forwarded = forwarded.header(name, value);
                        }
                    }
                    let (status, body) = match forwarded.body(body).send().await {
                        Ok(response) => (
                            response.status(),
                            response.bytes().await.unwrap_or_default(),
                        ),
                        Err(_) => (http::StatusCode::BAD_GATEWAY, bytes::Bytes::new()),
                    };
                    let mut response = hyper::Response::new(http_body_util::Full::new(body));
                    *response.status_mut() = status;
                    response
                }
            },
        )
        .await
        .unwrap();
        Self {
            url: server.url(),
            _server: server,
        }
    }
}

/// A loopback port that accepts connections and never answers on them: an
/// upstream that hangs. Connections are held until it is dropped.
pub struct Silent {
    /// `http://<addr>`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Silent {
    /// Starts it on a free port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        Self { url, task }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A `redis-server` of the test's own on a free loopback port, with no
/// persistence; stopped when dropped. Debian's `redis-server` package
/// provides the binary (`.ci/run` installs it).
pub struct RedisServer {
    /// `redis://127.0.0.1:<port>`.
    pub url: String,
    child: std::process::Child,
}

impl RedisServer {
    /// Starts it and waits until it answers `PING`.
    pub fn start(label: &str) -> Self {
        use std::io::{Read, Write};
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = scratch_dir(label);
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect(
                "redis-server not found: install Debian's redis-server package (`.ci/run` does)",
            );
        let server = Self {
            url: format!("redis://127.0.0.1:{port}"),
            child,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let mut answer = [0u8; 7];
                if stream.write_all(b"PING\r\n").is_ok()
                    && stream.read_exact(&mut answer).is_ok()
                    && &answer == b"+PONG\r\n"
                {
                    return server;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not answer on port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// A Spin runtime config file making it the `default` store, written
    /// into a fresh scratch directory.
    pub fn runtime_config(&self, label: &str) -> PathBuf {
        let path = scratch_dir(label).join("runtime-config.toml");
        std::fs::write(
            &path,
            format!(
                "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n",
                self.url
            ),
        )
        .unwrap();
        path
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
