//! JSON records in the component's default key-value store: the memory that
//! lets a retried request resume where it stopped instead of repeating work.

use serde::Serialize;
use serde::de::DeserializeOwned;
use spin_sdk::key_value::Store;

/// A token bucket's limits: `capacity` actions at once, refilled at
/// `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Rate {
    /// Most actions in a burst.
    pub capacity: f64,
    /// Tokens added per minute.
    pub per_minute: f64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Bucket {
    tokens: f64,
    updated: u64,
}

/// The default store, with JSON helpers and errors that say which key failed.
pub struct Records {
    store: Store,
}

impl Records {
    /// Opens the default store.
    pub fn open() -> Result<Self, String> {
        Store::open_default()
            .map(|store| Self { store })
            .map_err(|e| format!("key-value store: cannot open `default`: {e:?}"))
    }

    /// Reads and decodes `key`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, String> {
        match self.store.get(key) {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("key-value store: `{key}` holds unreadable JSON: {e}")),
            Ok(None) => Ok(None),
            Err(e) => Err(format!("key-value store: reading `{key}`: {e:?}")),
        }
    }

    /// Encodes and writes `key`.
    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), String> {
        let bytes = serde_json::to_vec(value).map_err(|e| format!("encoding `{key}`: {e}"))?;
        self.store
            .set(key, &bytes)
            .map_err(|e| format!("key-value store: writing `{key}`: {e:?}"))
    }

    /// Whether `key` holds a mark written less than `ttl_secs` before
    /// `now`: marks expire, an older one counts as absent (and is
    /// overwritten by the next [`Records::mark`]).
    pub fn marked(&self, key: &str, now: u64, ttl_secs: u64) -> Result<bool, String> {
        Ok(self
            .get::<u64>(key)?
            .is_some_and(|at| now.saturating_sub(at) < ttl_secs))
    }

    /// Writes a mark at `now` (Unix seconds) for [`Records::marked`].
    pub fn mark(&self, key: &str, now: u64) -> Result<(), String> {
        self.put(key, &now)
    }

    /// Takes one token from the bucket at `key` (full when new): `true`
    /// when there was one. Not atomic (the key-value interface has no
    /// compare-and-set): requests racing in the same instant may each take
    /// the last token, so a limit can be exceeded by the concurrency, never
    /// by a sequence of requests.
    pub fn take_token(&self, key: &str, rate: Rate, now: u64) -> Result<bool, String> {
        let mut bucket: Bucket = self.get(key)?.unwrap_or(Bucket {
            tokens: rate.capacity,
            updated: now,
        });
        let refill = now.saturating_sub(bucket.updated) as f64 * rate.per_minute / 60.0;
        bucket.tokens = (bucket.tokens + refill).min(rate.capacity);
        bucket.updated = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        self.put(key, &bucket)?;
        Ok(allowed)
    }

    /// Whether `key` is set.
    pub fn has(&self, key: &str) -> Result<bool, String> {
        self.store
            .exists(key)
            .map_err(|e| format!("key-value store: reading `{key}`: {e:?}"))
    }
}
