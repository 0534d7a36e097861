//! The application's key-value stores, as Spin provisions them: the
//! `default` store is SQLite in the state directory unless a runtime
//! config file (`--runtime-config-file`, Spin's format) says otherwise, and
//! that file may define more labels:
//!
//! ```toml
//! [key_value_store.default]
//! type = "redis"
//! url = "redis://127.0.0.1:6379"
//!
//! [key_value_store.archive]
//! type = "spin"              # SQLite
//! path = "archive.db"        # relative to the file; no path: in memory
//! ```
//!
//! Both backends behave as Spin's do, limits included (see [`redis`] and
//! [`sqlite`]), so nothing works here that breaks on Spin.

pub mod redis;
pub mod sqlite;

use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use self::redis::RedisDb;
pub use self::sqlite::SqliteDb;

/// The SQLite file of the default store, in the state directory.
pub const DEFAULT_STORE_FILE: &str = "sqlite_key_value.db";

/// One store's backend.
#[derive(Clone)]
enum Backend {
    Sqlite(Arc<SqliteDb>),
    Redis(Arc<RedisDb>),
}

/// A store as a runtime config file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// `type = "spin"`: SQLite at `path` (relative to the file), or in
    /// memory without one.
    Sqlite(Option<PathBuf>),
    /// `type = "redis"`, `url = "redis://…"`.
    Redis(String),
}

/// The key-value part of a Spin runtime config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Store label → backend.
    pub stores: BTreeMap<String, StoreConfig>,
}

impl RuntimeConfig {
    /// Reads `path`. Relative SQLite paths are resolved against its
    /// directory, as Spin does. Sections this host does not implement are
    /// refused by name rather than ignored.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read runtime config file '{}'", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base)
            .with_context(|| format!("runtime config file '{}'", path.display()))
    }

    /// Parses the file's text; `base` is its directory.
    pub fn parse(text: &str, base: &Path) -> Result<Self> {
        let table: toml::Table = toml::from_str(text).context("not TOML")?;
        let mut stores = BTreeMap::new();
        for (section, value) in table {
            if section != "key_value_store" {
                bail!(
                    "`[{section}]`: this host implements only `[key_value_store.<label>]` of \
                     Spin's runtime config"
                );
            }
            let labels = value
                .as_table()
                .context("`key_value_store` must be a table of stores")?;
            for (label, store) in labels {
                let store = store
                    .as_table()
                    .with_context(|| format!("`key_value_store.{label}` must be a table"))?;
                let text = |key: &str| store.get(key).and_then(|v| v.as_str());
                let config = match text("type") {
                    Some("spin") => StoreConfig::Sqlite(text("path").map(|p| base.join(p))),
                    Some("redis") => StoreConfig::Redis(
                        text("url")
                            .with_context(|| format!("`key_value_store.{label}`: missing `url`"))?
                            .to_string(),
                    ),
                    Some(other) => bail!(
                        "`key_value_store.{label}`: the store type '{other}' was not registered \
                         with the config resolver (this host has `spin` and `redis`)"
                    ),
                    None => bail!("`key_value_store.{label}`: missing `type`"),
                };
                stores.insert(label.clone(), config);
            }
        }
        Ok(Self { stores })
    }
}

/// `url` with any password replaced, for messages.
pub fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Every store of one application, by label, shared by every instance.
pub struct KvBackend {
    stores: HashMap<String, Backend>,
}

impl KvBackend {
    /// The stores of `runtime` (if any), plus `default` at `default_file`
    /// (in memory when `None`) unless `runtime` defines it. Redis servers
    /// are reached now, so a wrong URL stops start-up.
    pub fn open(runtime: Option<&RuntimeConfig>, default_file: Option<&Path>) -> Result<Arc<Self>> {
        let mut stores = HashMap::new();
        let mut redis: HashMap<String, Arc<RedisDb>> = HashMap::new();
        for (label, config) in runtime.map(|r| &r.stores).into_iter().flatten() {
            let backend = match config {
                StoreConfig::Sqlite(Some(path)) => Backend::Sqlite(SqliteDb::open(path)?),
                StoreConfig::Sqlite(None) => Backend::Sqlite(SqliteDb::open_in_memory()?),
                StoreConfig::Redis(url) => {
                    let db = match redis.get(url) {
                        Some(db) => db.clone(),
                        None => Arc::new(
                            RedisDb::connect(url)
                                .with_context(|| format!("key-value store `{label}`"))?,
                        ),
                    };
                    redis.insert(url.clone(), db.clone());
                    Backend::Redis(db)
                }
            };
            stores.insert(label.clone(), backend);
        }
        if !stores.contains_key("default") {
            let db = match default_file {
                Some(path) => SqliteDb::open(path)?,
                None => SqliteDb::open_in_memory()?,
            };
            stores.insert("default".into(), Backend::Sqlite(db));
        }
        Ok(Arc::new(Self { stores }))
    }

    /// Only a default store, in memory.
    pub fn in_memory() -> Result<Arc<Self>> {
        Self::open(None, None)
    }

    /// Whether `label` is provisioned (the runtime config defines it, or it
    /// is `default`).
    pub fn provides(&self, label: &str) -> bool {
        self.stores.contains_key(label)
    }

    fn backend(&self, label: &str) -> Result<&Backend> {
        self.stores
            .get(label)
            .with_context(|| format!("no key-value store `{label}` is provisioned"))
    }

    /// The value of `key` in `store`.
    pub fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>> {
        match self.backend(store)? {
            Backend::Sqlite(db) => db.get(store, key),
            Backend::Redis(db) => off_executor(|| db.get(key)),
        }
    }

    /// Sets `key` in `store`.
    pub fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<()> {
        match self.backend(store)? {
            Backend::Sqlite(db) => db.set(store, key, value),
            Backend::Redis(db) => off_executor(|| db.set(key, value)),
        }
    }

    /// Removes `key` from `store`.
    pub fn delete(&self, store: &str, key: &str) -> Result<()> {
        match self.backend(store)? {
            Backend::Sqlite(db) => db.delete(store, key),
            Backend::Redis(db) => off_executor(|| db.delete(key)),
        }
    }

    /// Whether `key` is set in `store`.
    pub fn exists(&self, store: &str, key: &str) -> Result<bool> {
        match self.backend(store)? {
            Backend::Sqlite(db) => db.exists(store, key),
            Backend::Redis(db) => off_executor(|| db.exists(key)),
        }
    }

    /// Every key in `store`, sorted.
    pub fn keys(&self, store: &str) -> Result<Vec<String>> {
        match self.backend(store)? {
            Backend::Sqlite(db) => db.keys(store),
            Backend::Redis(db) => off_executor(|| db.keys()),
        }
    }

    /// Adds `delta` to the counter at `key`, atomically, and returns it.
    pub fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64> {
        match self.backend(store)? {
            Backend::Sqlite(db) => db.increment(store, key, delta),
            Backend::Redis(db) => off_executor(|| db.increment(key, delta)),
        }
    }
}

/// Runs `f`, which waits on something outside the process (a Redis
/// server, a lock another process holds), without stalling the async
/// executor's other tasks: on a multi-threaded Tokio runtime they move to
/// another thread while `f` runs (`block_in_place`, as Spin's own SQLite
/// store does). Elsewhere — a single-threaded runtime, where that is not
/// allowed, or no runtime — `f` just runs.
///
/// Calls that wait on nothing (SQLite in this process: see
/// [`SqliteDb`]) do not come here: moving the executor's tasks costs
/// thread wake-ups that, for a call of a few microseconds, were most of a
/// request's time under load.
pub(crate) fn off_executor<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_config_as_spin_reads_it() {
        let base = Path::new("/srv/app");
        let config = RuntimeConfig::parse(
            r#"
            [key_value_store.default]
            type = "redis"
            url = "redis://:pw@127.0.0.1:6379/2"

            [key_value_store.archive]
            type = "spin"
            path = "data/archive.db"

            [key_value_store.scratch]
            type = "spin"
            "#,
            base,
        )
        .unwrap();
        assert_eq!(
            config.stores["default"],
            StoreConfig::Redis("redis://:pw@127.0.0.1:6379/2".into())
        );
        assert_eq!(
            config.stores["archive"],
            StoreConfig::Sqlite(Some(base.join("data/archive.db")))
        );
        assert_eq!(config.stores["scratch"], StoreConfig::Sqlite(None));
        assert_eq!(
            redacted_url("redis://:pw@127.0.0.1:6379/2"),
            "redis://…@127.0.0.1:6379/2"
        );
    }

    #[test]
    fn what_this_host_does_not_implement_is_named() {
        let base = Path::new(".");
        for (text, expected) in [
            (
                "[key_value_store.default]\ntype = \"azure_cosmos\"",
                "the store type 'azure_cosmos' was not registered",
            ),
            (
                "[key_value_store.default]\ntype = \"redis\"",
                "missing `url`",
            ),
            ("[key_value_store.default]\npath = \"x\"", "missing `type`"),
            (
                "[sqlite_database.default]\ntype = \"spin\"",
                "`[sqlite_database]`",
            ),
        ] {
            let err = format!("{:#}", RuntimeConfig::parse(text, base).unwrap_err());
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn labels_are_provisioned_by_the_runtime_config() {
        let mut runtime = RuntimeConfig::default();
        runtime
            .stores
            .insert("scratch".into(), StoreConfig::Sqlite(None));
        let kv = KvBackend::open(Some(&runtime), None).unwrap();
        assert!(kv.provides("default") && kv.provides("scratch") && !kv.provides("other"));
        kv.set("scratch", "k", b"v").unwrap();
        assert_eq!(kv.get("default", "k").unwrap(), None, "stores are apart");
        assert_eq!(kv.increment("scratch", "n", 2).unwrap(), 2);
    }
}
