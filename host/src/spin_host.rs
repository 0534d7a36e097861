//! Host side of the Spin interfaces components import (WIT under `wit/`):
//! `fermyon:spin/{key-value,variables}@2.0.0` for WASI 0.2 components (what
//! our connectors use, and what every released Spin provides) and
//! `spin:{key-value,variables}@3.0.0` for WASIp3 components. Both pairs
//! reach the same stores and variables through the same checks, and so does
//! `wasi:keyvalue@0.2.0-draft2` (store, and the atomic `increment` the
//! connectors claim with).

use crate::kv::KvBackend;
use std::collections::HashMap;
use std::sync::Arc;
use wasmtime::component::{
    Accessor, FutureReader, HasData, Linker, Resource, ResourceTable, StreamReader,
};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "switchboard:host/spin-host",
        imports: { default: trappable },
        with: {
            "spin:key-value/key-value.store": super::OpenStore,
        },
        require_store_data_send: true,
    });
}

mod bindings_wasip2 {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "switchboard:host/spin-host-wasip2",
        imports: { default: async | trappable },
        with: {
            "fermyon:spin/key-value.store": super::OpenStore,
            "wasi:keyvalue/store.bucket": super::OpenStore,
        },
        require_store_data_send: true,
    });
}

use bindings::spin::key_value::key_value;
use bindings::spin::variables::variables;
use bindings_wasip2::fermyon::spin::key_value as key_value_v2;
use bindings_wasip2::fermyon::spin::variables as variables_v2;
use bindings_wasip2::wasi::keyvalue::{atomics as wasi_atomics, store as wasi_store};

/// An open key-value store handle held in a component's resource table.
pub struct OpenStore {
    label: String,
}

/// The per-instance state the Spin interfaces need. Nothing in it is
/// per-request: instances are reused across requests.
pub struct SpinCtx {
    /// The component's resolved variables.
    pub variables: Arc<HashMap<String, String>>,
    /// Store labels the component may open.
    pub key_value_stores: Arc<[String]>,
    /// The application's key-value backend.
    pub kv: Arc<KvBackend>,
}

/// Borrowed view of a [`SpinCtx`] plus the resource table.
pub struct SpinView<'a> {
    ctx: &'a SpinCtx,
    table: &'a mut ResourceTable,
}

impl<'a> SpinView<'a> {
    /// Pairs a context with the store's resource table.
    pub fn new(ctx: &'a SpinCtx, table: &'a mut ResourceTable) -> Self {
        Self { ctx, table }
    }
}

/// Marker type through which the generated traits reach a [`SpinView`].
pub struct Spin;

impl HasData for Spin {
    type Data<'a> = SpinView<'a>;
}

/// Adds `spin:key-value`, `spin:variables` (both versions) and
/// `wasi:keyvalue` to a linker.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> SpinView<'_>,
) -> wasmtime::Result<()> {
    key_value::add_to_linker::<T, Spin>(linker, get)?;
    variables::add_to_linker::<T, Spin>(linker, get)?;
    key_value_v2::add_to_linker::<T, Spin>(linker, get)?;
    variables_v2::add_to_linker::<T, Spin>(linker, get)?;
    wasi_store::add_to_linker::<T, Spin>(linker, get)?;
    wasi_atomics::add_to_linker::<T, Spin>(linker, get)?;
    Ok(())
}

/// Why a store cannot be opened, in terms both interface versions share.
enum OpenRefused {
    AccessDenied,
    NoSuchStore,
}

impl SpinCtx {
    /// Whether the component may open `label`: it must be listed in
    /// `key_value_stores`, and provisioned (`default`, or a label the
    /// runtime config file defines).
    fn check_open(&self, label: &str) -> Result<(), OpenRefused> {
        if !self.key_value_stores.iter().any(|l| l == label) {
            Err(OpenRefused::AccessDenied)
        } else if !self.kv.provides(label) {
            Err(OpenRefused::NoSuchStore)
        } else {
            Ok(())
        }
    }

    /// A variable's value; `Err(true)` for an invalid name, `Err(false)`
    /// for an undeclared one.
    fn variable(&self, name: &str) -> Result<String, (bool, String)> {
        if crate::template::check_variable_name(name).is_err() {
            return Err((true, format!("`{name}` is not a valid variable name")));
        }
        self.variables.get(name).cloned().ok_or_else(|| {
            (
                false,
                format!("the component declares no variable `{name}`"),
            )
        })
    }
}

type KvResult<T> = Result<T, key_value::Error>;

fn backend_error(e: anyhow::Error) -> key_value::Error {
    key_value::Error::Other(format!("{e:#}"))
}

impl<U: 'static> key_value::HostStoreWithStore<U> for Spin {
    async fn open(
        accessor: &Accessor<U, Self>,
        label: String,
    ) -> wasmtime::Result<KvResult<Resource<OpenStore>>> {
        accessor.with(|mut access| {
            let view = access.get();
            match view.ctx.check_open(&label) {
                Err(OpenRefused::AccessDenied) => Ok(Err(key_value::Error::AccessDenied)),
                Err(OpenRefused::NoSuchStore) => Ok(Err(key_value::Error::NoSuchStore)),
                Ok(()) => Ok(Ok(view.table.push(OpenStore { label })?)),
            }
        })
    }

    async fn get(
        accessor: &Accessor<U, Self>,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<KvResult<Option<Vec<u8>>>> {
        let (kv, label) = open_store(accessor, &store)?;
        Ok(backend_call(|| kv.get(&label, &key)))
    }

    async fn set(
        accessor: &Accessor<U, Self>,
        store: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<KvResult<()>> {
        let (kv, label) = open_store(accessor, &store)?;
        Ok(backend_call(|| kv.set(&label, &key, &value)))
    }

    async fn delete(
        accessor: &Accessor<U, Self>,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<KvResult<()>> {
        let (kv, label) = open_store(accessor, &store)?;
        Ok(backend_call(|| kv.delete(&label, &key)))
    }

    async fn exists(
        accessor: &Accessor<U, Self>,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<KvResult<bool>> {
        let (kv, label) = open_store(accessor, &store)?;
        Ok(backend_call(|| kv.exists(&label, &key)))
    }

    async fn get_keys(
        accessor: &Accessor<U, Self>,
        store: Resource<OpenStore>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<KvResult<()>>)> {
        let (kv, label) = open_store(accessor, &store)?;
        let (keys, result) = match backend_call(|| kv.keys(&label)) {
            Ok(keys) => (keys, Ok(())),
            Err(e) => (Vec::new(), Err(e)),
        };
        accessor.with(|mut access| {
            let stream = StreamReader::new(&mut access, keys)?;
            let future =
                FutureReader::new(&mut access, async move { wasmtime::error::Ok(result) })?;
            Ok((stream, future))
        })
    }
}

impl key_value::HostStore for SpinView<'_> {
    fn drop(&mut self, store: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl key_value::Host for SpinView<'_> {}

fn open_store<U>(
    accessor: &Accessor<U, Spin>,
    store: &Resource<OpenStore>,
) -> wasmtime::Result<(Arc<KvBackend>, String)> {
    accessor.with(|mut access| {
        let view = access.get();
        let label = view.table.get(store)?.label.clone();
        Ok((view.ctx.kv.clone(), label))
    })
}

/// Runs a backend call; the backend itself keeps waits off the executor
/// (see [`crate::kv::KvBackend`]).
fn backend_call<T>(f: impl FnOnce() -> anyhow::Result<T>) -> KvResult<T> {
    f().map_err(backend_error)
}

impl<U: 'static> variables::HostWithStore<U> for Spin {
    async fn get(
        accessor: &Accessor<U, Self>,
        name: String,
    ) -> wasmtime::Result<Result<String, variables::Error>> {
        accessor.with(|mut access| {
            Ok(access
                .get()
                .ctx
                .variable(&name)
                .map_err(|(invalid, message)| {
                    if invalid {
                        variables::Error::InvalidName(message)
                    } else {
                        variables::Error::Undefined(message)
                    }
                }))
        })
    }
}

impl variables::Host for SpinView<'_> {}

type KvResultV2<T> = Result<T, key_value_v2::Error>;

fn v2_error(e: key_value::Error) -> key_value_v2::Error {
    match e {
        key_value::Error::StoreTableFull => key_value_v2::Error::StoreTableFull,
        key_value::Error::NoSuchStore => key_value_v2::Error::NoSuchStore,
        key_value::Error::AccessDenied => key_value_v2::Error::AccessDenied,
        key_value::Error::Other(message) => key_value_v2::Error::Other(message),
    }
}

impl SpinView<'_> {
    /// One backend call on an open store. The store is looked up now, so
    /// the future borrows nothing.
    fn on_store<R: Send + 'static>(
        &self,
        store: &Resource<OpenStore>,
        op: impl FnOnce(&KvBackend, &str) -> anyhow::Result<R> + Send + 'static,
    ) -> wasmtime::Result<impl Future<Output = KvResultV2<R>> + Send + 'static> {
        let (kv, label) = (self.ctx.kv.clone(), self.table.get(store)?.label.clone());
        Ok(async move { backend_call(|| op(&kv, &label)).map_err(v2_error) })
    }
}

impl key_value_v2::HostStore for SpinView<'_> {
    async fn open(&mut self, label: String) -> wasmtime::Result<KvResultV2<Resource<OpenStore>>> {
        Ok(match self.ctx.check_open(&label) {
            Err(OpenRefused::AccessDenied) => Err(key_value_v2::Error::AccessDenied),
            Err(OpenRefused::NoSuchStore) => Err(key_value_v2::Error::NoSuchStore),
            Ok(()) => Ok(self.table.push(OpenStore { label })?),
        })
    }

    async fn get(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<KvResultV2<Option<Vec<u8>>>> {
        Ok(self
            .on_store(&store, move |kv, label| kv.get(label, &key))?
            .await)
    }

    async fn set(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<KvResultV2<()>> {
        Ok(self
            .on_store(&store, move |kv, label| kv.set(label, &key, &value))?
            .await)
    }

    async fn delete(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<KvResultV2<()>> {
        Ok(self
            .on_store(&store, move |kv, label| kv.delete(label, &key))?
            .await)
    }

    async fn exists(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<KvResultV2<bool>> {
        Ok(self
            .on_store(&store, move |kv, label| kv.exists(label, &key))?
            .await)
    }

    async fn get_keys(
        &mut self,
        store: Resource<OpenStore>,
    ) -> wasmtime::Result<KvResultV2<Vec<String>>> {
        Ok(self.on_store(&store, |kv, label| kv.keys(label))?.await)
    }

    async fn drop(&mut self, store: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl key_value_v2::Host for SpinView<'_> {}

impl variables_v2::Host for SpinView<'_> {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, variables_v2::Error>> {
        Ok(self.ctx.variable(&name).map_err(|(invalid, message)| {
            if invalid {
                variables_v2::Error::InvalidName(message)
            } else {
                variables_v2::Error::Undefined(message)
            }
        }))
    }
}

type WasiKvResult<T> = Result<T, wasi_store::Error>;

fn wasi_error(e: key_value_v2::Error) -> wasi_store::Error {
    match e {
        key_value_v2::Error::NoSuchStore => wasi_store::Error::NoSuchStore,
        key_value_v2::Error::AccessDenied => wasi_store::Error::AccessDenied,
        key_value_v2::Error::StoreTableFull => {
            wasi_store::Error::Other("store table full".to_string())
        }
        key_value_v2::Error::Other(message) => wasi_store::Error::Other(message),
    }
}

impl wasi_store::Host for SpinView<'_> {
    async fn open(
        &mut self,
        identifier: String,
    ) -> wasmtime::Result<WasiKvResult<Resource<OpenStore>>> {
        Ok(match self.ctx.check_open(&identifier) {
            // Spin answers both with `access-denied` only for unlisted
            // labels; a listed but unprovisioned one fails in its store
            // manager, which we report as `no-such-store`.
            Err(OpenRefused::AccessDenied) => Err(wasi_store::Error::AccessDenied),
            Err(OpenRefused::NoSuchStore) => Err(wasi_store::Error::NoSuchStore),
            Ok(()) => Ok(self.table.push(OpenStore { label: identifier })?),
        })
    }
}

impl wasi_store::HostBucket for SpinView<'_> {
    async fn get(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<WasiKvResult<Option<Vec<u8>>>> {
        let call = self.on_store(&bucket, move |kv, label| kv.get(label, &key))?;
        Ok(call.await.map_err(wasi_error))
    }

    async fn set(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<WasiKvResult<()>> {
        let call = self.on_store(&bucket, move |kv, label| kv.set(label, &key, &value))?;
        Ok(call.await.map_err(wasi_error))
    }

    async fn delete(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<WasiKvResult<()>> {
        let call = self.on_store(&bucket, move |kv, label| kv.delete(label, &key))?;
        Ok(call.await.map_err(wasi_error))
    }

    async fn exists(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<WasiKvResult<bool>> {
        let call = self.on_store(&bucket, move |kv, label| kv.exists(label, &key))?;
        Ok(call.await.map_err(wasi_error))
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<OpenStore>,
        cursor: Option<String>,
    ) -> wasmtime::Result<WasiKvResult<wasi_store::KeyResponse>> {
        if cursor.is_some() {
            // Spin's own answer: it returns every key in the first page.
            return Ok(Err(wasi_store::Error::Other(
                "list_keys: cursor not supported".to_string(),
            )));
        }
        let call = self.on_store(&bucket, |kv, label| kv.keys(label))?;
        Ok(call
            .await
            .map(|keys| wasi_store::KeyResponse { keys, cursor: None })
            .map_err(wasi_error))
    }

    async fn drop(&mut self, bucket: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl wasi_atomics::Host for SpinView<'_> {
    async fn increment(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<WasiKvResult<i64>> {
        let call = self.on_store(&bucket, move |kv, label| kv.increment(label, &key, delta))?;
        Ok(call.await.map_err(wasi_error))
    }
}
