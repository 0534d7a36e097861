//! A loaded application: every component compiled and linked, the router,
//! and the HTTP server that feeds requests to them.

use crate::host::{ComponentHandler, ComponentSpec, ReusePolicy, SpinShared};
use crate::kv::KvBackend;
use crate::log::Logger;
use crate::manifest::{LoadedManifest, Route};
use crate::outbound::{AllowList, OutboundHooks, ServiceChain};
use crate::routes::{RouteMatch, Router};
use crate::spin_compat::{Handler, Interfaces, SpinTarget};
use crate::template::Template;
use crate::variables::{ResolvedVariables, VariableSources};
use anyhow::{Context, Result};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

/// What `switchboard up` (or a test) needs to start an application.
#[derive(Clone)]
pub struct AppConfig {
    /// Path of `spin.toml`.
    pub manifest: PathBuf,
    /// Values for application variables.
    pub variables: VariableSources,
    /// Instance reuse for WASIp3 components.
    pub reuse: ReusePolicy,
    /// Where `sqlite_key_value.db` lives; default `.spin/` beside the manifest.
    pub state_dir: Option<PathBuf>,
    /// Spin's runtime config file (`--runtime-config-file`): key-value
    /// stores (SQLite files, Redis) by label.
    pub runtime_config: Option<PathBuf>,
    /// Where log lines go.
    pub logger: Logger,
    /// The Spin release whose behaviour is reproduced (what loads, what
    /// chains).
    pub spin: SpinTarget,
}

impl AppConfig {
    /// Defaults for a manifest: no extra variables, Spin's reuse settings.
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        Self {
            manifest: manifest.into(),
            variables: VariableSources::default(),
            reuse: ReusePolicy::default(),
            state_dir: None,
            runtime_config: None,
            logger: Logger::stderr(),
            spin: SpinTarget::default(),
        }
    }
}

/// A loaded application, ready to serve.
#[derive(Clone)]
pub struct App {
    shared: Arc<AppShared>,
}

struct AppShared {
    /// Itself, so that a chained request's future can keep it alive.
    me: Weak<AppShared>,
    router: Router,
    components: HashMap<String, ComponentHandler>,
    variables: ResolvedVariables,
    logger: Logger,
    /// `[component.<id>.tool.switchboard] examples`, by component.
    examples: Vec<(String, Vec<String>)>,
}

impl App {
    /// Loads the manifest, resolves variables, compiles and links every
    /// component. Every configuration error surfaces here, before listening.
    pub fn load(config: &AppConfig) -> Result<Self> {
        let loaded = LoadedManifest::load(&config.manifest)?;
        let manifest = &loaded.manifest;
        let variables = ResolvedVariables::resolve(manifest, &config.variables)?;
        let router = Router::new(manifest.trigger.http.iter().filter_map(|t| match &t.route {
            Route::Path(route) => Some((route.clone(), t.component.clone())),
            Route::Private { .. } => None,
        }))?;
        let state_dir = config
            .state_dir
            .clone()
            .unwrap_or_else(|| loaded.dir.join(".spin"));
        let needs_kv = manifest
            .component
            .values()
            .any(|c| !c.key_value_stores.is_empty());
        let runtime = config
            .runtime_config
            .as_deref()
            .map(crate::kv::RuntimeConfig::load)
            .transpose()?;
        let default_file = state_dir.join(crate::kv::DEFAULT_STORE_FILE);
        // Components that list no store cannot open one; an in-memory
        // default keeps the code path the same without touching disk.
        let kv = KvBackend::open(runtime.as_ref(), needs_kv.then_some(default_file.as_path()))?;

        // Compile everything first (slow, fallible), then wire the handlers
        // to the shared state they chain through.
        let profile = config.spin.profile();
        let mut compiled = Vec::new();
        for (id, component) in &manifest.component {
            let path = loaded.component_source(id)?;
            let bytes = std::fs::read(&path).with_context(|| {
                format!(
                    "component `{id}`: file {} not found: run `switchboard build` (or \
                     `cargo run -p switchboard -- build`) first",
                    path.display()
                )
            })?;
            let handler = Interfaces::decode(&bytes)
                .and_then(|interfaces| profile.check(&interfaces))
                .with_context(|| format!("component `{id}` ({})", path.display()))?;
            let wasm = crate::host::compile(&path).with_context(|| format!("component `{id}`"))?;
            let mut allowed = Vec::new();
            for entry in &component.allowed_outbound_hosts {
                allowed.push(render_allowed_host(&variables, id, entry, profile.name())?);
            }
            let allow = AllowList::parse(&allowed)
                .with_context(|| format!("`component.{id}.allowed_outbound_hosts`"))?;
            let chaining = handler != Handler::Wasip3 || profile.chaining_from_wasip3();
            compiled.push((
                id.clone(),
                component.clone(),
                wasm,
                allow,
                handler,
                chaining,
            ));
        }

        let examples = manifest
            .component
            .iter()
            .filter_map(|(id, component)| {
                let list = component
                    .tool
                    .as_ref()?
                    .get("switchboard")?
                    .get("examples")?
                    .as_array()?;
                let list: Vec<String> = list
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect();
                Some((id.clone(), list))
            })
            .collect();
        let logger = config.logger.clone();
        let reuse = config.reuse;
        let mut error = None;
        let shared = Arc::new_cyclic(|weak: &Weak<AppShared>| {
            let chain: Weak<dyn ServiceChain> = weak.clone();
            let mut components = HashMap::new();
            for (id, component, wasm, allow, handler, chaining) in compiled {
                let id_arc: Arc<str> = id.clone().into();
                let spec = ComponentSpec {
                    id: id_arc.clone(),
                    component: wasm,
                    environment: component.environment.clone().into_iter().collect(),
                    spin: Arc::new(SpinShared {
                        variables: Arc::new(
                            variables.components.get(&id).cloned().unwrap_or_default(),
                        ),
                        key_value_stores: component.key_value_stores.clone().into(),
                        kv: kv.clone(),
                    }),
                    hooks: OutboundHooks::new(
                        id_arc,
                        allow,
                        chaining.then(|| chain.clone()),
                        logger.clone(),
                    ),
                    reuse,
                    logger: logger.clone(),
                    handler,
                };
                match ComponentHandler::new(spec) {
                    Ok(handler) => {
                        components.insert(id, handler);
                    }
                    Err(e) => {
                        error.get_or_insert(e);
                    }
                }
            }
            AppShared {
                me: weak.clone(),
                router,
                components,
                variables,
                logger: logger.clone(),
                examples,
            }
        });
        if let Some(e) = error {
            return Err(e);
        }
        Ok(Self { shared })
    }

    /// The routes, most specific first, with their component ids.
    pub fn routes(&self) -> Vec<(String, String)> {
        self.shared
            .router
            .entries()
            .iter()
            .map(|e| (e.pattern.raw().to_string(), e.component.clone()))
            .collect()
    }

    /// Ready-to-paste example commands of a component
    /// (`[component.<id>.tool.switchboard] examples`, `{url}` = the app URL).
    pub fn examples(&self, component: &str) -> Vec<String> {
        self.shared
            .examples
            .iter()
            .find(|(id, _)| id == component)
            .map(|(_, list)| list.clone())
            .unwrap_or_default()
    }

    /// The resolved variables (secret values hidden by their `Debug`).
    pub fn variables(&self) -> &ResolvedVariables {
        &self.shared.variables
    }

    /// Handles one request from a client.
    pub async fn handle(
        &self,
        request: Request<hyper::body::Incoming>,
        client: SocketAddr,
    ) -> Response<WasiBody> {
        let request = request.map(|body| body.map_err(HttpError::Hyper).boxed_unsync());
        self.shared.handle_public(request, client).await
    }
}

/// Renders one `allowed_outbound_hosts` entry. Spin resolves templated
/// entries when an instance starts, and one that comes out empty or with a
/// path makes it deny every outbound request of the component; here that is
/// a start-up error naming the variable to fix.
fn render_allowed_host(
    variables: &ResolvedVariables,
    component: &str,
    entry: &str,
    spin: &str,
) -> Result<String> {
    let template = Template::parse(entry)?;
    let rendered = variables
        .render(&template)
        .with_context(|| format!("`component.{component}.allowed_outbound_hosts`"))?;
    let named: Vec<String> = template.references().map(|v| format!("`{v}`")).collect();
    if named.is_empty() {
        return Ok(rendered);
    }
    let problem = if rendered.trim().is_empty() {
        Some("is empty".to_string())
    } else {
        rendered
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('/'))
            .filter(|(_, path)| !path.is_empty())
            .map(|(_, path)| format!("is `{rendered}`, which has a path (`/{path}`)"))
    };
    match problem {
        None => Ok(rendered),
        Some(problem) => anyhow::bail!(
            "`component.{component}.allowed_outbound_hosts` entry `{entry}` {problem}: {spin} \
             would deny every outbound request of `{component}`. Set {} to scheme://host[:port] \
             (e.g. https://api.example.com)",
            named.join(", ")
        ),
    }
}

impl AppShared {
    async fn handle_public(
        &self,
        mut request: Request<WasiBody>,
        client: SocketAddr,
    ) -> Response<WasiBody> {
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        let Some(matched) = self.router.route(&path) else {
            return text_response(StatusCode::NOT_FOUND, "Not Found\n");
        };
        let component = matched.entry.component.clone();
        set_spin_headers(&mut request, &matched, Some(client));
        match self.dispatch_to(&component, request).await {
            Ok(response) => response,
            Err(error) => {
                self.logger
                    .line(format!("[{component}] {method} {path} failed: {error:#}"));
                text_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n")
            }
        }
    }

    async fn dispatch_to(
        &self,
        component: &str,
        request: Request<WasiBody>,
    ) -> Result<Response<WasiBody>> {
        let handler = self
            .components
            .get(component)
            .with_context(|| format!("no component `{component}`"))?;
        handler.handle(request).await
    }
}

impl ServiceChain for AppShared {
    fn dispatch(
        &self,
        component: String,
        mut request: Request<WasiBody>,
    ) -> futures::future::BoxFuture<'static, Result<Response<WasiBody>, HttpError>> {
        let path = request.uri().path().to_string();
        if !self.components.contains_key(&component) {
            self.logger
                .line(format!("service chaining: no component `{component}`"));
            return Box::pin(async { Err(HttpError::DestinationNotFound) });
        }
        set_chained_headers(&mut request, &path);
        // The future must be 'static: hold the application alive while the
        // chained request runs.
        let app = self.me.upgrade();
        Box::pin(async move {
            let Some(app) = app else {
                return Err(HttpError::DestinationUnavailable);
            };
            app.dispatch_to(&component, request)
                .await
                .map_err(|e| HttpError::InternalError(Some(format!("{e:#}"))))
        })
    }
}

fn set_header(request: &mut Request<WasiBody>, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        request.headers_mut().insert(name, value);
    }
}

/// The `spin-*` headers of a chained request: Spin matches it against a
/// synthetic `/...` route whatever routes the component has (Spin 4.0.2
/// `RouteMatch::synthetic`), so the path info is the whole path and the
/// client is `0.0.0.0:0`.
fn set_chained_headers(request: &mut Request<WasiBody>, path: &str) {
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.to_string());
    let host = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .unwrap_or_default();
    set_header(
        request,
        "spin-full-url",
        &format!("http://{host}{path_and_query}"),
    );
    set_header(request, "spin-path-info", path);
    set_header(request, "spin-matched-route", "/...");
    set_header(request, "spin-raw-component-route", "/...");
    set_header(request, "spin-component-route", "");
    set_header(request, "spin-base-path", "/");
    set_header(request, "spin-client-addr", "0.0.0.0:0");
}

/// Sets the `spin-*` headers Spin gives every request.
fn set_spin_headers(
    request: &mut Request<WasiBody>,
    matched: &RouteMatch<'_>,
    client: Option<SocketAddr>,
) {
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .unwrap_or("localhost")
        .to_string();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let scheme = request.uri().scheme_str().unwrap_or("http").to_string();
    set_header(
        request,
        "spin-full-url",
        &format!("{scheme}://{host}{path_and_query}"),
    );
    set_header(request, "spin-path-info", &matched.path_info);
    set_header(request, "spin-matched-route", matched.entry.pattern.raw());
    set_header(
        request,
        "spin-raw-component-route",
        matched.entry.pattern.raw(),
    );
    set_header(
        request,
        "spin-component-route",
        &matched.entry.pattern.base(),
    );
    set_header(request, "spin-base-path", "/");
    if let Some(client) = client {
        set_header(request, "spin-client-addr", &client.to_string());
    }
}

fn text_response(status: StatusCode, body: &'static str) -> Response<WasiBody> {
    let mut response = Response::new(
        Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
