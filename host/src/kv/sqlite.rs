//! Spin's SQLite key-value backend (`type = "spin"`): one table of
//! (store, key, value) in a file — `.spin/sqlite_key_value.db` for the
//! default store, as `spin up` keeps it — so state survives a restart.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Creates `path` with mode 0600 if it does not exist, and narrows it to
/// 0600 if it does (an older runner created it under the default umask).
#[cfg(unix)]
fn owner_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {} to its owner", path.display()))
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> Result<()> {
    Ok(())
}

/// One SQLite database, shared by every instance.
pub struct SqliteDb {
    conn: Mutex<Connection>,
}

impl SqliteDb {
    /// Opens (creating if needed) the database file, readable by its owner
    /// only: it holds OAuth tokens and conversation memory. SQLite gives its
    /// `-wal` and `-shm` files the database file's permissions.
    pub fn open(path: &Path) -> Result<Arc<Self>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        owner_only(path)?;
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open key-value database {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Self::init(conn)
    }

    fn init(conn: Connection) -> Result<Arc<Self>> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL,
                key   TEXT NOT NULL,
                value BLOB NOT NULL,
                PRIMARY KEY (store, key)
            )",
        )?;
        Ok(Arc::new(Self {
            conn: Mutex::new(conn),
        }))
    }

    /// A private, empty, in-memory database.
    pub fn open_in_memory() -> Result<Arc<Self>> {
        let conn = Connection::open_in_memory()?;
        Self::init(conn)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of `key` in `store`.
    pub fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
            .query_row(params![store, key], |row| row.get(0))
            .optional()?)
    }

    /// Sets `key` in `store`.
    pub fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![store, key, value])?;
        Ok(())
    }

    /// Removes `key` from `store`.
    pub fn delete(&self, store: &str, key: &str) -> Result<()> {
        self.conn()
            .prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
            .execute(params![store, key])?;
        Ok(())
    }

    /// Whether `key` is set in `store`.
    pub fn exists(&self, store: &str, key: &str) -> Result<bool> {
        Ok(self.get(store, key)?.is_some())
    }

    /// Adds `delta` to the counter at `key` (0 when absent) and returns the
    /// new value, in one immediate transaction: of any number of callers
    /// racing on one key, in this process or another on the same file,
    /// each sees a distinct result. Counters are 8-byte little-endian, as
    /// Spin's SQLite store keeps them; a key holding anything else is an
    /// error (Spin's host panics there).
    pub fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: Option<Vec<u8>> = tx
            .prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
            .query_row(params![store, key], |row| row.get(0))
            .optional()?;
        let current = match current {
            None => 0,
            Some(bytes) => i64::from_le_bytes(bytes.as_slice().try_into().map_err(|_| {
                anyhow::anyhow!("`{key}` holds {} bytes, not an 8-byte counter", bytes.len())
            })?),
        };
        let next = current
            .checked_add(delta)
            .ok_or_else(|| anyhow::anyhow!("incrementing `{key}` overflows"))?;
        tx.prepare_cached(
            "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![store, key, next.to_le_bytes().as_slice()])?;
        tx.commit()?;
        Ok(next)
    }

    /// Every key in `store`, sorted.
    pub fn keys(&self, store: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
        let keys = stmt
            .query_map(params![store], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_persistence() {
        let dir = std::env::temp_dir().join(format!("sb-kv-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("kv.db");
        {
            let kv = SqliteDb::open(&path).unwrap();
            kv.set("default", "a", b"1").unwrap();
            kv.set("default", "a", b"2").unwrap();
            kv.set("other", "a", b"x").unwrap();
            kv.set("default", "b", b"3").unwrap();
            kv.delete("default", "b").unwrap();
            kv.delete("default", "missing").unwrap();
        }
        let kv = SqliteDb::open(&path).unwrap();
        assert_eq!(kv.get("default", "a").unwrap().as_deref(), Some(&b"2"[..]));
        assert!(!kv.exists("default", "b").unwrap());
        assert_eq!(kv.keys("default").unwrap(), ["a"]);
        assert_eq!(kv.keys("other").unwrap(), ["a"]);
    }

    #[test]
    fn increments_are_atomic_and_refuse_what_is_not_a_counter() {
        let kv = SqliteDb::open_in_memory().unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let kv = kv.clone();
                std::thread::spawn(move || {
                    (0..50)
                        .map(|_| kv.increment("default", "n", 1).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen: Vec<i64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (1..=400).collect::<Vec<_>>(),
            "every result is distinct"
        );
        assert_eq!(
            kv.get("default", "n").unwrap().unwrap(),
            400i64.to_le_bytes()
        );
        assert_eq!(kv.increment("default", "n", -400).unwrap(), 0);
        kv.set("default", "text", b"{}").unwrap();
        let err = kv.increment("default", "text", 1).unwrap_err().to_string();
        assert!(err.contains("not an 8-byte counter"), "{err}");
        assert_eq!(kv.get("default", "text").unwrap().unwrap(), b"{}");
    }

    #[cfg(unix)]
    #[test]
    fn the_database_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = std::env::temp_dir().join(format!("sb-kv-mode-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kv.db");
        // An older runner's file, world-readable.
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let kv = SqliteDb::open(&path).unwrap();
        kv.set("default", "token", b"secret").unwrap();
        assert_eq!(mode(&path), 0o600);
        let wal = dir.join("kv.db-wal");
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600);
        }
    }
}
