//! Spin's Redis key-value backend (`type = "redis"`), as Spin 4.0.2's
//! `key-value-redis` behaves: every store label on one URL shares one
//! keyspace (keys are not prefixed), `get-keys` is `KEYS *`, and
//! `increment` is `INCRBY`, whose counters are decimal text. That is what
//! lets several hosts share state: each claim is one atomic Redis command.

use anyhow::{Context, Result};
use redis::Commands;
use std::sync::Mutex;

/// Idle connections kept for reuse; more are opened under load.
const IDLE_CONNECTIONS: usize = 8;

/// A Redis server, shared by every instance (and by every host pointed at
/// it).
pub struct RedisDb {
    client: redis::Client,
    idle: Mutex<Vec<redis::Connection>>,
}

impl RedisDb {
    /// Connects to `url` (`redis://host[:port][/db]`), failing now rather
    /// than at the first request when the server is not there.
    pub fn connect(url: &str) -> Result<Self> {
        let client = redis::Client::open(url)
            .with_context(|| format!("invalid Redis URL `{}`", crate::kv::redacted_url(url)))?;
        let db = Self {
            client,
            idle: Mutex::new(Vec::new()),
        };
        db.with(|c| redis::cmd("PING").query::<String>(c))
            .with_context(|| format!("cannot reach Redis at `{}`", crate::kv::redacted_url(url)))?;
        Ok(db)
    }

    /// Runs `op` on an idle connection (or a new one), then keeps the
    /// connection unless the call failed.
    fn with<T>(
        &self,
        op: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut connection = match idle {
            Some(connection) => connection,
            None => self
                .client
                .get_connection_with_timeout(std::time::Duration::from_secs(5))?,
        };
        let result = op(&mut connection);
        if result.is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < IDLE_CONNECTIONS {
                idle.push(connection);
            }
        }
        Ok(result?)
    }

    /// `GET`.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.with(|c| c.get(key))
    }

    /// `SET`.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.with(|c| c.set(key, value))
    }

    /// `DEL`.
    pub fn delete(&self, key: &str) -> Result<()> {
        self.with(|c| c.del(key))
    }

    /// `EXISTS`.
    pub fn exists(&self, key: &str) -> Result<bool> {
        self.with(|c| c.exists(key))
    }

    /// `KEYS *`: every key on the server, whatever store label asked.
    pub fn keys(&self) -> Result<Vec<String>> {
        let mut keys: Vec<String> = self.with(|c| c.keys("*"))?;
        keys.sort();
        Ok(keys)
    }

    /// `INCRBY`: atomic on the server, so racing hosts each get their own
    /// value. A key holding anything but a decimal integer is Redis's
    /// error.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.with(|c| c.incr(key, delta))
    }
}
