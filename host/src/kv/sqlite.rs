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
    /// Copies the write-ahead log into the database off the request path
    /// (a file database only).
    checkpointer: Option<Checkpointer>,
    /// The database file (`None` in memory), for a call that has to wait
    /// for another process's lock (see [`SqliteDb::run`]).
    file: Option<std::path::PathBuf>,
}

/// How many commits pass between nudges to the checkpointer: SQLite's own
/// automatic checkpoint comes every 1,000 pages of log, and a commit here
/// writes a few pages.
const CHECKPOINT_EVERY_COMMITS: u32 = 256;

/// How long written data may wait in the log before it is checkpointed
/// anyway.
const CHECKPOINT_AT_LEAST_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A thread with its own connection that checkpoints the log.
///
/// SQLite checkpoints on the connection that commits, inside that commit,
/// and a checkpoint ends with an `fsync`: every few hundred writes one
/// request waited for the disk while holding the connection every other
/// instance was queued on (the moderator's webhook p99 was 8 ms for a p50
/// of 1.5 ms). Here the request connection never checkpoints; this thread
/// does, in `PASSIVE` mode, which waits for no reader or writer, so
/// requests go on writing to the log meanwhile.
struct Checkpointer {
    nudge: std::sync::mpsc::SyncSender<()>,
    commits: std::sync::atomic::AtomicU32,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open key-value database {}", path.display()))?;
        let (nudge, nudged) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("kv-checkpoint".into())
            .spawn(move || {
                use std::sync::mpsc::RecvTimeoutError;
                loop {
                    let last = match nudged.recv_timeout(CHECKPOINT_AT_LEAST_EVERY) {
                        Ok(()) | Err(RecvTimeoutError::Timeout) => false,
                        Err(RecvTimeoutError::Disconnected) => true,
                    };
                    // A checkpoint that fails leaves the data in the log,
                    // where every reader still finds it; the next one
                    // copies it.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    if last {
                        return;
                    }
                }
            })
            .context("cannot start the key-value checkpoint thread")?;
        Ok(Self {
            nudge,
            commits: std::sync::atomic::AtomicU32::new(0),
            thread: Some(thread),
        })
    }

    /// Counts a commit, nudging the thread every
    /// [`CHECKPOINT_EVERY_COMMITS`] (never waiting for it).
    fn committed(&self) {
        let n = self
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % CHECKPOINT_EVERY_COMMITS == CHECKPOINT_EVERY_COMMITS - 1 {
            let _ = self.nudge.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    /// Ends the thread after a last checkpoint, so that the database file
    /// holds everything once its store is gone.
    fn drop(&mut self) {
        let (nudge, _) = std::sync::mpsc::sync_channel(1);
        drop(std::mem::replace(&mut self.nudge, nudge));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
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
        // The checkpointer's thread does it (see [`Checkpointer`]).
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.busy_timeout(LOCK_WAIT)?;
        Self::init(conn, Some(Checkpointer::start(path)?), Some(path))
    }

    fn init(
        conn: Connection,
        checkpointer: Option<Checkpointer>,
        file: Option<&Path>,
    ) -> Result<Arc<Self>> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL,
                key   TEXT NOT NULL,
                value BLOB NOT NULL,
                PRIMARY KEY (store, key)
            )",
        )?;
        // From now on, never wait for another process's lock in place (see
        // `run`).
        conn.busy_timeout(std::time::Duration::ZERO)?;
        Ok(Arc::new(Self {
            conn: Mutex::new(conn),
            checkpointer,
            file: file.map(Path::to_path_buf),
        }))
    }

    /// A private, empty, in-memory database.
    pub fn open_in_memory() -> Result<Arc<Self>> {
        let conn = Connection::open_in_memory()?;
        Self::init(conn, None, None)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn committed(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.committed();
        }
    }

    /// Runs `op` on the request connection.
    ///
    /// Nothing here waits for the disk to flush (the checkpointer does
    /// that), so calls are made in place on the async executor. The one wait left is
    /// a lock another process holds on the same file: the request
    /// connection does not wait for it (`SQLITE_BUSY` at once), and `op`
    /// runs again on a connection of its own that waits up to [`LOCK_WAIT`]
    /// for the lock, with the executor's other tasks moved to another
    /// thread meanwhile; the request connection stays free for the calls
    /// that need not wait. `op` is a whole transaction, so running it again
    /// repeats nothing that was kept.
    fn run<T>(&self, mut op: impl FnMut(&mut Connection) -> Result<T>) -> Result<T> {
        let first = op(&mut self.conn());
        match (first, &self.file) {
            (Err(e), Some(file)) if is_busy(&e) => crate::kv::off_executor(|| {
                let mut conn = Connection::open(file).with_context(|| {
                    format!("cannot open key-value database {}", file.display())
                })?;
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                conn.pragma_update(None, "wal_autocheckpoint", 0)?;
                conn.busy_timeout(LOCK_WAIT)?;
                op(&mut conn)
            }),
            (other, _) => other,
        }
    }

    /// The value of `key` in `store`.
    pub fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.run(|conn| {
            Ok(conn
                .prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row(params![store, key], |row| row.get(0))
                .optional()?)
        })
    }

    /// Sets `key` in `store`.
    pub fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<()> {
        self.run(|conn| {
            conn.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![store, key, value])?;
            Ok(())
        })?;
        self.committed();
        Ok(())
    }

    /// Removes `key` from `store`.
    pub fn delete(&self, store: &str, key: &str) -> Result<()> {
        self.run(|conn| {
            conn.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute(params![store, key])?;
            Ok(())
        })?;
        self.committed();
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
        let next = self.run(|conn| {
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
        })?;
        self.committed();
        Ok(next)
    }

    /// Every key in `store`, sorted.
    pub fn keys(&self, store: &str) -> Result<Vec<String>> {
        self.run(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            let keys = stmt
                .query_map(params![store], |row| row.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(keys)
        })
    }
}

/// How long a call waits for a lock another process holds on the file
/// before it fails.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether `e` is SQLite saying another connection holds the lock.
fn is_busy(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<rusqlite::Error>(),
        Some(rusqlite::Error::SqliteFailure(failure, _))
            if failure.code == rusqlite::ErrorCode::DatabaseBusy
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory for one test's database, and the file's path in it
    /// (the directory itself is created by [`SqliteDb::open`]).
    fn scratch_db(test: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("sb-kv-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("kv.db");
        (dir, path)
    }

    #[test]
    fn round_trip_and_persistence() {
        let (dir, path) = scratch_db("round-trip");
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
        drop(kv);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_log_reaches_the_database_file_without_a_request_waiting_for_it() {
        let (dir, path) = scratch_db("checkpoint");
        let kv = SqliteDb::open(&path).unwrap();
        let value = vec![7u8; 1024];
        for i in 0..2 * CHECKPOINT_EVERY_COMMITS {
            kv.set("default", &format!("k{i}"), &value).unwrap();
        }
        // The request connection never checkpoints, so only the thread can
        // have moved the data out of the log into the file.
        let wanted = u64::from(2 * CHECKPOINT_EVERY_COMMITS) * 1024;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::metadata(&path).unwrap().len() < wanted {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file still holds {} bytes",
                std::fs::metadata(&path).unwrap().len()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(kv.get("default", "k0").unwrap(), Some(value));
        drop(kv);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_lock_another_process_holds_is_waited_for_and_stalls_no_other_call() {
        use std::time::{Duration, Instant};
        let (dir, path) = scratch_db("busy");
        let kv = SqliteDb::open(&path).unwrap();
        kv.set("default", "seen", b"before").unwrap();
        // Another process on the same file, as far as SQLite can tell.
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let started = Instant::now();
        let writer = {
            let kv = kv.clone();
            std::thread::spawn(move || {
                let n = kv.increment("default", "n", 1).unwrap();
                kv.set("default", "k", b"v").unwrap();
                (n, started.elapsed())
            })
        };
        // While the writer waits for the lock, a read is not queued behind it.
        std::thread::sleep(Duration::from_millis(50));
        let read_at = Instant::now();
        assert_eq!(
            kv.get("default", "seen").unwrap().as_deref(),
            Some(&b"before"[..])
        );
        let read_took = read_at.elapsed();
        std::thread::sleep(Duration::from_millis(250));
        other.execute_batch("COMMIT").unwrap();
        let (n, wrote_after) = writer.join().unwrap();
        assert!(
            read_took < Duration::from_millis(100),
            "a read waited {read_took:?} behind a write waiting for the lock"
        );
        assert_eq!(n, 1);
        assert!(
            wrote_after >= Duration::from_millis(250),
            "the write went through while the lock was held"
        );
        assert_eq!(kv.get("default", "k").unwrap().as_deref(), Some(&b"v"[..]));
        drop(kv);
        let _ = std::fs::remove_dir_all(&dir);
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
        let (dir, path) = scratch_db("mode");
        std::fs::create_dir_all(&dir).unwrap();
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
