//! Component instances: the wasmtime engine, the linker with every host
//! interface, and the instance lifecycle Spin 4 uses (a fresh instance per
//! request for WASIp2 components; reuse for WASIp3 components, up to a number
//! of requests, a number at once, and an idle timeout).

use crate::log::{ComponentOutput, Logger, Stream};
use crate::outbound::OutboundHooks;
use crate::spin_host::{self, SpinCtx, SpinView};
use anyhow::{Context as _, Result};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
    ProfilingStrategy, Store, StoreContextMut,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::handler::{
    self, HandlerState, ProxyHandler, ProxyPre, ShouldAccept, WorkerExpiration, WorkerState,
    WorkerStatus,
};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// How instances of WASIp3 components are reused (Spin's defaults: 128
/// requests per instance, 16 at once, 1 s idle timeout).
#[derive(Debug, Clone, Copy)]
pub struct ReusePolicy {
    /// Requests one instance serves before it is dropped; 1 disables reuse.
    pub max_instance_reuse_count: usize,
    /// Requests one instance serves at the same time.
    pub max_instance_concurrent_reuse_count: usize,
    /// How long an idle instance is kept for another request.
    pub idle_instance_timeout: Duration,
}

impl Default for ReusePolicy {
    fn default() -> Self {
        Self {
            max_instance_reuse_count: 128,
            max_instance_concurrent_reuse_count: 16,
            idle_instance_timeout: Duration::from_secs(1),
        }
    }
}

/// The store data of one component instance.
pub struct HostState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: OutboundHooks,
    spin: SpinCtx,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.hooks,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

fn spin_view(state: &mut HostState) -> SpinView<'_> {
    SpinView::new(&state.spin, &mut state.table)
}

/// Converts wasmtime's error type so `anyhow::Context` can be attached.
fn anyhow_result<T>(result: wasmtime::Result<T>) -> Result<T> {
    result.map_err(anyhow::Error::from)
}

/// How many written bytes of a memory slot are reset in place (the rest
/// go back to the kernel) when PAGEMAP_SCAN can find them.
const KEEP_RESIDENT_BYTES: usize = 16 << 20;

/// How many bytes of a table slot are zeroed in place instead of handed
/// back to the kernel: Spin's default (`SPIN_WASMTIME_TABLE_KEEP_RESIDENT`,
/// half a megabyte). Without it every instance's first call through its
/// table faults the table's pages in again, and each `madvise` that gave
/// them back interrupts the other cores to flush their TLBs.
const TABLE_KEEP_RESIDENT_BYTES: usize = 512 << 10;

/// The environment variable that, set to anything, has the engine write a
/// perf map of the compiled wasm code (for profiling the host with `perf`).
pub const PERFMAP_VARIABLE: &str = "SWITCHBOARD_PERFMAP";

/// The process-wide engine: one per process so that compiled components can
/// be cached and shared by every runner started in it (tests start many).
pub fn engine() -> Result<&'static Engine> {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    if let Some(engine) = ENGINE.get() {
        return Ok(engine);
    }
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(512)
        .total_core_instances(1024)
        .total_memories(512)
        .total_tables(1024)
        .max_memory_size(512 << 20)
        .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES);
    // Every request gets fresh instances, and each reads the same pages of
    // its component's memory image (the moderator's compiled lexicon is
    // megabytes): by default a slot's memory is handed back to the kernel
    // and every page faulted in again by the next instance. Where the
    // kernel can say which pages an instance wrote (PAGEMAP_SCAN, Linux
    // 6.7+), only those are reset and the rest stay mapped.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES);
    }
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .wasm_component_model_async(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // `perf record` cannot name JIT-compiled wasm functions on its own;
    // with this set, wasmtime writes /tmp/perf-<pid>.map so that it can.
    if std::env::var_os(PERFMAP_VARIABLE).is_some_and(|v| !v.is_empty()) {
        config.profiler(ProfilingStrategy::PerfMap);
    }
    let engine =
        anyhow_result(Engine::new(&config)).context("cannot create the wasmtime engine")?;
    Ok(ENGINE.get_or_init(|| engine))
}

/// Compiles a component, reusing an earlier compilation of the same file
/// (same path, size and modification time) made in this process.
pub fn compile(path: &std::path::Path) -> Result<Component> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    type Key = (std::path::PathBuf, u64, std::time::SystemTime);
    static CACHE: std::sync::OnceLock<Mutex<HashMap<Key, Component>>> = std::sync::OnceLock::new();
    let meta = std::fs::metadata(path).with_context(|| {
        format!(
            "component file {} not found: run `switchboard build` (or `cargo run -p switchboard -- build`) first",
            path.display()
        )
    })?;
    let key = (path.to_path_buf(), meta.len(), meta.modified()?);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(component) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(component.clone());
    }
    let component = anyhow_result(Component::from_file(engine()?, path))
        .with_context(|| format!("cannot compile {}", path.display()))?;
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, component.clone());
    Ok(component)
}

fn linker() -> Result<&'static Linker<HostState>> {
    static LINKER: std::sync::OnceLock<Linker<HostState>> = std::sync::OnceLock::new();
    if let Some(linker) = LINKER.get() {
        return Ok(linker);
    }
    let mut linker = Linker::new(engine()?);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    spin_host::add_to_linker(&mut linker, spin_view)?;
    Ok(LINKER.get_or_init(|| linker))
}

/// Everything needed to create instances of one component.
pub struct ComponentSpec {
    /// Component id from the manifest.
    pub id: Arc<str>,
    /// The compiled component.
    pub component: Component,
    /// Environment variables from the manifest.
    pub environment: Vec<(String, String)>,
    /// Resolved component variables, the key-value stores it may open and
    /// the application's key-value backend.
    pub spin: Arc<SpinShared>,
    /// Outbound request policy and service chaining.
    pub hooks: OutboundHooks,
    /// Instance reuse settings (applied to WASIp3 components only).
    pub reuse: ReusePolicy,
    /// Where the component's output and failures are logged.
    pub logger: Logger,
    /// Its HTTP handler kind, as the Spin target's check found it.
    pub handler: crate::spin_compat::Handler,
}

/// The parts of a [`SpinCtx`] shared by every instance of a component.
pub struct SpinShared {
    /// Component variables.
    pub variables: Arc<std::collections::HashMap<String, String>>,
    /// Allowed key-value store labels.
    pub key_value_stores: Arc<[String]>,
    /// Key-value backend.
    pub kv: Arc<crate::kv::KvBackend>,
}

/// A component ready to serve requests.
pub struct ComponentHandler {
    handler: ProxyHandler<InstanceFactory>,
    /// Whether the component exports WASIp3 `wasi:http/handler`.
    pub is_p3: bool,
}

impl ComponentHandler {
    /// Links the component and prepares its instance pool.
    pub fn new(spec: ComponentSpec) -> Result<Self> {
        let pre = anyhow_result(linker()?.instantiate_pre(&spec.component)).with_context(|| {
            format!(
                "component `{}` imports an interface Spin provides but this host does not \
                 implement (it implements WASI 0.2, WASI 0.3.0, wasi:http, \
                 fermyon:spin/key-value and variables @2.0.0, spin:key-value and \
                 spin:variables @3.0.0, wasi:keyvalue/store and atomics.increment \
                 @0.2.0-draft2)",
                spec.id
            )
        })?;
        let (pre, is_p3) = match spec.handler {
            crate::spin_compat::Handler::Wasip3 => (
                ProxyPre::P3(
                    anyhow_result(wasmtime_wasi_http::p3::bindings::ServicePre::new(pre))
                        .with_context(|| format!("component `{}`", spec.id))?,
                ),
                true,
            ),
            crate::spin_compat::Handler::Wasip2 => (
                ProxyPre::P2(
                    anyhow_result(wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre))
                        .with_context(|| format!("component `{}`", spec.id))?,
                ),
                false,
            ),
            crate::spin_compat::Handler::Other => anyhow::bail!(
                "component `{}`: Spin serves its HTTP export, but this host implements only \
                 `wasi:http/incoming-handler@0.2.x` and `wasi:http/handler@0.3.x`",
                spec.id
            ),
        };
        let reuse = if is_p3 {
            spec.reuse
        } else {
            ReusePolicy {
                max_instance_reuse_count: 1,
                max_instance_concurrent_reuse_count: 1,
                ..spec.reuse
            }
        };
        let factory = InstanceFactory {
            pre,
            reuse,
            spec: Arc::new(spec),
        };
        Ok(Self {
            handler: ProxyHandler::new(factory),
            is_p3,
        })
    }

    /// Hands a request to an instance (new or reused) and waits for its response.
    pub async fn handle(&self, request: handler::Request) -> Result<handler::Response> {
        self.handler
            .handle((), request)
            .await
            .map_err(anyhow::Error::from)
    }
}

struct InstanceFactory {
    pre: ProxyPre<HostState>,
    reuse: ReusePolicy,
    spec: Arc<ComponentSpec>,
}

impl HandlerState for InstanceFactory {
    type StoreData = HostState;
    type WorkerExpiration = IdleExpiration;
    type WorkerState = InstanceLife;

    async fn instantiate(
        &self,
    ) -> wasmtime::Result<handler::Instance<HostState, IdleExpiration, InstanceLife>> {
        let spec = &self.spec;
        let mut wasi = WasiCtx::builder();
        wasi.stdout(ComponentOutput::new(
            &spec.id,
            Stream::Stdout,
            spec.logger.clone(),
        ))
        .stderr(ComponentOutput::new(
            &spec.id,
            Stream::Stderr,
            spec.logger.clone(),
        ))
        .envs(&spec.environment);
        let state = HostState {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: spec.hooks.clone(),
            spin: SpinCtx {
                variables: spec.spin.variables.clone(),
                key_value_stores: spec.spin.key_value_stores.clone(),
                kv: spec.spin.kv.clone(),
            },
        };
        let mut store = Store::new(engine().map_err(wasmtime::Error::from_anyhow)?, state);
        let proxy = self.pre.instantiate_async(&mut store).await?;
        Ok(handler::Instance {
            store,
            proxy,
            view: <HostState as WasiHttpView>::http,
            expiration: IdleExpiration::new(self.reuse.idle_instance_timeout),
            state: InstanceLife {
                reuse: self.reuse,
                spec: self.spec.clone(),
            },
        })
    }
}

/// Decides how many requests an instance takes, and reports failures.
struct InstanceLife {
    reuse: ReusePolicy,
    spec: Arc<ComponentSpec>,
}

impl WorkerState for InstanceLife {
    type StoreData = HostState;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.reuse.max_instance_reuse_count {
            ShouldAccept::Never
        } else if concurrent >= self.reuse.max_instance_concurrent_reuse_count {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, HostState>,
        _data: (),
        _task: wasmtime::component::GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + 'static + Send + Sync>> {
        // Like `spin up`, no request deadline.
        Box::pin(std::future::pending())
    }

    fn drop(&self, _store: Store<HostState>, result: wasmtime::Result<()>) {
        if let Err(error) = result {
            self.spec.logger.line(format!(
                "[{}] instance dropped after a failure: {error:?}",
                self.spec.id
            ));
        }
    }
}

/// Ends an instance once it has been idle for the configured time.
struct IdleExpiration {
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl IdleExpiration {
    fn new(idle: Duration) -> Self {
        Self {
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl WorkerExpiration for IdleExpiration {
    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        state: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        if state != WorkerStatus::Idle {
            // Requests and work spawned after a response run to completion.
            return Poll::Pending;
        }
        let deadline = tokio::time::Instant::from_std(start + self.idle);
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        self.timer.as_mut().poll(cx)
    }
}
