//! `allowed_outbound_hosts`: which outbound HTTP requests a component may make.
//!
//! Entries follow Spin's syntax: `scheme://host[:port]`, where the scheme may
//! be `*`, the host may be `*` or `*.suffix`, and the port may be `*`; with no
//! port the scheme's default port is meant. `http://*.spin.internal` (or
//! `http://<component>.spin.internal`) allows service chaining. Entries may
//! contain `{{ variable }}` templates, rendered at start-up.

use anyhow::{Context, Result, bail};
use http::Uri;

/// One parsed allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowedHost {
    /// `None` for `*`.
    scheme: Option<String>,
    host: HostPattern,
    /// `None` for `:*`; an omitted port is stored as the scheme's default.
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    Subdomain(String),
}

/// A component's outbound allow-list.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    entries: Vec<AllowedHost>,
}

impl AllowList {
    /// Parses rendered entries (templates already substituted).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self> {
        let entries = entries
            .iter()
            .map(|e| parse_entry(e.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { entries })
    }

    /// Whether a request to `scheme://host:port` is allowed.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        self.entries.iter().any(|e| {
            let scheme_ok = e.scheme.as_deref().is_none_or(|s| s == scheme);
            let host_ok = match &e.host {
                HostPattern::Any => true,
                HostPattern::Exact(h) => *h == host,
                HostPattern::Subdomain(suffix) => {
                    host.len() > suffix.len() + 1
                        && host.ends_with(suffix.as_str())
                        && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
                }
            };
            let port_ok = match e.port {
                None => true,
                Some(p) => p == port,
            };
            scheme_ok && host_ok && port_ok
        })
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn parse_entry(entry: &str) -> Result<AllowedHost> {
    let (scheme, rest) = entry.split_once("://").with_context(|| {
        format!("allowed_outbound_hosts entry `{entry}` needs a scheme, e.g. `https://{entry}`")
    })?;
    if rest.contains('/') {
        bail!(
            "allowed_outbound_hosts entry `{entry}`: paths are not allowed, only scheme://host[:port]"
        );
    }
    let scheme = match scheme {
        "*" => None,
        s if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '+' || c == '-') =>
        {
            Some(s.to_string())
        }
        _ => bail!("allowed_outbound_hosts entry `{entry}`: invalid scheme `{scheme}`"),
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => (host, Some(port)),
        _ => (rest, None),
    };
    if host.is_empty() {
        bail!("allowed_outbound_hosts entry `{entry}`: missing host");
    }
    let port = match port {
        Some("*") => None,
        Some(p) => Some(p.parse::<u16>().with_context(|| {
            format!("allowed_outbound_hosts entry `{entry}`: invalid port `{p}`")
        })?),
        None => match scheme.as_deref().and_then(default_port) {
            Some(p) => Some(p),
            None => bail!(
                "allowed_outbound_hosts entry `{entry}`: give a port (or `:*`) for this scheme"
            ),
        },
    };
    let host = host.to_ascii_lowercase();
    let host = if host == "*" {
        HostPattern::Any
    } else if let Some(suffix) = host.strip_prefix("*.") {
        HostPattern::Subdomain(suffix.to_string())
    } else if host.contains('*') {
        bail!(
            "allowed_outbound_hosts entry `{entry}`: `*` may only be the whole host or a `*.` prefix"
        );
    } else {
        HostPattern::Exact(host)
    };
    Ok(AllowedHost { scheme, host, port })
}

/// The scheme, host and port a request URI targets.
pub fn target_of(uri: &Uri) -> Option<(String, String, u16)> {
    let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
    let host = uri
        .host()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().or_else(|| default_port(&scheme))?;
    Some((scheme, host, port))
}

/// If `host` is `<component>.spin.internal`, the component id.
pub fn chained_component(host: &str) -> Option<&str> {
    host.strip_suffix(".spin.internal")
        .filter(|id| !id.is_empty() && !id.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(entries).unwrap()
    }

    #[test]
    fn exact_host_uses_default_port() {
        let l = list(&["https://api.example.com"]);
        assert!(l.allows("https", "api.example.com", 443));
        assert!(l.allows("https", "API.example.com", 443));
        assert!(!l.allows("https", "api.example.com", 8443));
        assert!(!l.allows("http", "api.example.com", 80));
        assert!(!l.allows("https", "example.com", 443));
    }

    #[test]
    fn wildcards() {
        let l = list(&["*://*.example.com:*", "http://localhost:3000"]);
        assert!(l.allows("http", "a.example.com", 81));
        assert!(l.allows("https", "a.b.example.com", 443));
        assert!(!l.allows("https", "example.com", 443));
        assert!(!l.allows("https", "badexample.com", 443));
        assert!(l.allows("http", "localhost", 3000));
        assert!(!l.allows("http", "localhost", 3001));
        assert!(list(&["*://*:*"]).allows("http", "anything", 1));
    }

    #[test]
    fn chaining_entries() {
        let l = list(&["http://*.spin.internal"]);
        assert!(l.allows("http", "moderator.spin.internal", 80));
        assert_eq!(
            chained_component("moderator.spin.internal"),
            Some("moderator")
        );
        assert_eq!(chained_component("a.b.spin.internal"), None);
        assert_eq!(chained_component("example.com"), None);
    }

    #[test]
    fn rejects_bad_entries() {
        for bad in [
            "example.com",
            "https://example.com/path",
            "https://ex*ample.com",
            "https://x:port",
            "redis://x",
        ] {
            assert!(AllowList::parse(&[bad]).is_err(), "{bad}");
        }
        assert!(AllowList::parse(&["redis://cache:6379"]).is_ok());
    }

    #[test]
    fn target_defaults() {
        let uri: Uri = "http://127.0.0.1/x".parse().unwrap();
        assert_eq!(
            target_of(&uri),
            Some(("http".into(), "127.0.0.1".into(), 80))
        );
    }
}

/// Dispatches `http://<component>.spin.internal/...` requests in-process.
pub trait ServiceChain: Send + Sync {
    /// Sends `request` to `component` and returns its response.
    fn dispatch(
        &self,
        component: String,
        request: http::Request<WasiBody>,
    ) -> futures::future::BoxFuture<'static, Result<http::Response<WasiBody>, HttpError>>;
}

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// The outbound-request policy of one component: the allow-list, service
/// chaining, and a log line for every refused host.
#[derive(Clone)]
pub struct OutboundHooks {
    component: Arc<str>,
    allow: Arc<AllowList>,
    /// `None` where the Spin target cannot chain from this component (a
    /// WASIp3 handler on Spin 4.0.x: the name does not resolve).
    chain: Option<Weak<dyn ServiceChain>>,
    logger: Logger,
}

use crate::log::Logger;
use std::sync::{Arc, Weak};

impl OutboundHooks {
    /// Hooks for `component` with its rendered allow-list; `chain` is
    /// `None` where service chaining does not work for it.
    pub fn new(
        component: Arc<str>,
        allow: AllowList,
        chain: Option<Weak<dyn ServiceChain>>,
        logger: Logger,
    ) -> Self {
        Self {
            component,
            allow: Arc::new(allow),
            chain,
            logger,
        }
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

fn done() -> Box<dyn Future<Output = Result<(), HttpError>> + Send> {
    Box::new(async { Ok(()) })
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _request_io: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        let Some((scheme, host, port)) = target_of(request.uri()) else {
            return Box::new(async { Err(HttpError::HttpRequestUriInvalid) });
        };
        if !self.allow.allows(&scheme, &host, port) {
            let shown_port = if Some(port) == default_port(&scheme) {
                String::new()
            } else {
                format!(":{port}")
            };
            self.logger.line(format!(
                "[{}] outbound request to {scheme}://{host}{shown_port} refused: the host is not permitted \
                 (add \"{scheme}://{host}{shown_port}\" to `allowed_outbound_hosts` of [component.{}])",
                self.component, self.component
            ));
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        // Spin drops the guest's `Host`; its HTTP client (hyper-util's
        // legacy client) then sends the URI's authority (below).
        let mut request = request;
        request.headers_mut().remove(http::header::HOST);
        if let Some(target) = chained_component(&host) {
            let Some(chain) = &self.chain else {
                self.logger.line(format!(
                    "[{}] service chaining to {host} failed: Spin 4.0.x does not resolve \
                     `*.spin.internal` from a WASIp3 handler (spinframework/spin#3586)",
                    self.component
                ));
                return Box::new(async {
                    Err(HttpError::DnsError {
                        rcode: Some("address not available".into()),
                        info_code: Some(0),
                    })
                });
            };
            let target = target.to_string();
            let chain = chain.upgrade();
            return Box::new(async move {
                let chain = chain.ok_or(HttpError::DestinationUnavailable)?;
                let response = chain.dispatch(target, request).await?;
                Ok((response, done()))
            });
        }
        // The authority as hyper-util's client writes it: the port only when
        // it is not the scheme's default (wasmtime's sender alone would send
        // no `Host` at all, which no HTTP/1.1 server has to accept).
        let name = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let authority = if Some(port) == default_port(&scheme) {
            name
        } else {
            format!("{name}:{port}")
        };
        if let Ok(value) = http::HeaderValue::from_str(&authority) {
            request.headers_mut().insert(http::header::HOST, value);
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod hook_tests {
    use super::*;
    use http_body_util::BodyExt;

    fn hooks(chain: Option<Weak<dyn ServiceChain>>, logger: Logger) -> OutboundHooks {
        OutboundHooks::new(
            "caller".into(),
            AllowList::parse(&["http://*.spin.internal"]).unwrap(),
            chain,
            logger,
        )
    }

    fn request(url: &str) -> http::Request<WasiBody> {
        http::Request::get(url)
            .body(
                http_body_util::Empty::new()
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .unwrap()
    }

    /// Spin 4.0.x: a WASIp3 handler's `*.spin.internal` request fails to
    /// resolve (spinframework/spin#3586); the host says so in its log.
    #[tokio::test]
    async fn without_chaining_a_spin_internal_request_is_a_dns_error() {
        let logger = Logger::capturing();
        let mut hooks = hooks(None, logger.clone());
        let sent = hooks.send_request(
            request("http://moderator.spin.internal/im/callback"),
            None,
            Box::new(async { Ok(()) }),
        );
        let error = Box::into_pin(sent).await.err().expect("refused");
        assert!(matches!(error, HttpError::DnsError { .. }), "{error:?}");
        assert!(
            logger
                .captured()
                .iter()
                .any(|line| line.contains("spinframework/spin#3586")),
            "{:?}",
            logger.captured()
        );
    }
}
