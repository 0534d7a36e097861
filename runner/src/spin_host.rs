//! Host side of the Spin interfaces components import: `spin:key-value` and
//! `spin:variables` (WIT under `wit/`).

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

use bindings::spin::key_value::key_value;
use bindings::spin::variables::variables;

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

/// Adds `spin:key-value` and `spin:variables` to a linker.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> SpinView<'_>,
) -> wasmtime::Result<()> {
    key_value::add_to_linker::<T, Spin>(linker, get)?;
    variables::add_to_linker::<T, Spin>(linker, get)?;
    Ok(())
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
            if !view.ctx.key_value_stores.contains(&label) {
                return Ok(Err(key_value::Error::AccessDenied));
            }
            if label != "default" {
                // Only the default store is provisioned, as with `spin up`
                // without a runtime config file.
                return Ok(Err(key_value::Error::NoSuchStore));
            }
            Ok(Ok(view.table.push(OpenStore { label })?))
        })
    }

    async fn get(
        accessor: &Accessor<U, Self>,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<KvResult<Option<Vec<u8>>>> {
        let (kv, label) = open_store(accessor, &store)?;
        Ok(blocking(move || kv.get(&label, &key)).await)
    }

    async fn set(
        accessor: &Accessor<U, Self>,
        store: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<KvResult<()>> {
        let (kv, label) = open_store(accessor, &store)?;
        Ok(blocking(move || kv.set(&label, &key, &value)).await)
    }

    async fn delete(
        accessor: &Accessor<U, Self>,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<KvResult<()>> {
        let (kv, label) = open_store(accessor, &store)?;
        Ok(blocking(move || kv.delete(&label, &key)).await)
    }

    async fn exists(
        accessor: &Accessor<U, Self>,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<KvResult<bool>> {
        let (kv, label) = open_store(accessor, &store)?;
        Ok(blocking(move || kv.exists(&label, &key)).await)
    }

    async fn get_keys(
        accessor: &Accessor<U, Self>,
        store: Resource<OpenStore>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<KvResult<()>>)> {
        let (kv, label) = open_store(accessor, &store)?;
        let (keys, result) = match blocking(move || kv.keys(&label)).await {
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

/// Runs a SQLite call off the async executor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> KvResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(backend_error),
        Err(e) => Err(key_value::Error::Other(format!(
            "key-value task failed: {e}"
        ))),
    }
}

impl<U: 'static> variables::HostWithStore<U> for Spin {
    async fn get(
        accessor: &Accessor<U, Self>,
        name: String,
    ) -> wasmtime::Result<Result<String, variables::Error>> {
        if crate::manifest::check_variable_name(&name).is_err() {
            return Ok(Err(variables::Error::InvalidName(format!(
                "`{name}` is not a valid variable name"
            ))));
        }
        accessor.with(|mut access| {
            let view = access.get();
            Ok(match view.ctx.variables.get(&name) {
                Some(value) => Ok(value.clone()),
                None => Err(variables::Error::Undefined(format!(
                    "the component declares no variable `{name}`"
                ))),
            })
        })
    }
}

impl variables::Host for SpinView<'_> {}
