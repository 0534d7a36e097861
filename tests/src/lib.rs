//! Test harness: starts the runner in-process on a free loopback port
//! against the real built components, plus small loopback servers that play
//! upstream services.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use switchboard::{AppConfig, Logger, RunningServer};

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
        let server = switchboard::start(config, "127.0.0.1:0".parse().unwrap()).await?;
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
}

impl Upstream {
    /// Starts it on a free port.
    pub async fn start(body: &'static str) -> Self {
        use hyper::server::conn::http1;
        use hyper::service::service_fn;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let counter = counter.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |_req| {
                        counter.fetch_add(1, Ordering::SeqCst);
                        async move {
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(bytes::Bytes::from_static(
                                    body.as_bytes(),
                                )),
                            ))
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, hits }
    }
}

/// `tim`'s REST client over reqwest, for driving the IM emulator natively.
pub struct ReqwestTransport(pub reqwest::Client);

impl tim::rest::Transport for ReqwestTransport {
    async fn post_json(
        &self,
        url: &str,
        body: Vec<u8>,
        timeout: std::time::Duration,
    ) -> Result<Vec<u8>, tim::rest::TransportError> {
        let response = self
            .0
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| tim::rest::TransportError(e.to_string()))?;
        if !response.status().is_success() {
            return Err(tim::rest::TransportError(format!(
                "HTTP {}",
                response.status()
            )));
        }
        Ok(response
            .bytes()
            .await
            .map_err(|e| tim::rest::TransportError(e.to_string()))?
            .to_vec())
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
}

type Answerer = Arc<dyn Fn(&str, &serde_json::Value) -> serde_json::Value + Send + Sync>;

impl CallbackServer {
    /// Starts it on a free port.
    pub async fn start(
        answer: impl Fn(&str, &serde_json::Value) -> serde_json::Value + Send + Sync + 'static,
    ) -> Self {
        use http_body_util::BodyExt;
        use hyper::server::conn::http1;
        use hyper::service::service_fn;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/callback", listener.local_addr().unwrap());
        let received: Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>> = Arc::default();
        let answer: Answerer = Arc::new(answer);
        let log = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let (log, answer) = (log.clone(), answer.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (log, answer) = (log.clone(), answer.clone());
                        async move {
                            let query = req.uri().query().unwrap_or("").to_string();
                            let bytes = req.into_body().collect().await.unwrap().to_bytes();
                            let body: serde_json::Value =
                                serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
                            let command =
                                body["CallbackCommand"].as_str().unwrap_or("").to_string();
                            let reply = answer(&command, &body);
                            log.lock().unwrap().push((query, body));
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(bytes::Bytes::from(reply.to_string())),
                            ))
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, received }
    }
}
