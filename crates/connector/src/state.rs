//! JSON records in the component's default key-value store: the memory that
//! lets a retried request resume where it stopped instead of repeating work;
//! and claims, which decide atomically who does a piece of work once.
//!
//! Claims use `wasi:keyvalue/atomics.increment` on the same store: it is
//! the one operation every Spin target makes indivisible on every backend
//! (a SQLite transaction, Redis `INCRBY`), where `fermyon:spin/key-value`
//! has only get-then-set. A claim's key carries the end of its window, so
//! [`Records::sweep_claims`] can drop ended ones without reading them.

use serde::Serialize;
use serde::de::DeserializeOwned;
use spin_sdk::key_value::Store;
use spin_sdk::wit::wasi::keyvalue::{atomics, store as wasi_store};

/// Key prefix of claims: `claim:<until>:<name>`.
const CLAIM_PREFIX: &str = "claim:";
/// Where the time of the last sweep is kept.
const SWEEP_KEY: &str = "claims:swept-at";

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
    /// The same store through `wasi:keyvalue`, opened on the first claim.
    bucket: std::cell::OnceCell<wasi_store::Bucket>,
}

/// Whether a claim was won.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This caller is the first: it does the work (and releases the claim
    /// if the work fails, so a retry can do it).
    Won,
    /// Someone claimed it earlier in the window, or is doing it right now.
    Taken,
}

impl Records {
    /// Opens the default store.
    pub fn open() -> Result<Self, String> {
        Store::open_default()
            .map(|store| Self {
                store,
                bucket: std::cell::OnceCell::new(),
            })
            .map_err(|e| format!("key-value store: cannot open `default`: {e:?}"))
    }

    fn bucket(&self) -> Result<&wasi_store::Bucket, String> {
        if let Some(bucket) = self.bucket.get() {
            return Ok(bucket);
        }
        let bucket = wasi_store::open("default")
            .map_err(|e| format!("key-value store: cannot open `default` for claims: {e:?}"))?;
        Ok(self.bucket.get_or_init(|| bucket))
    }

    /// Claims `name` for the window ending at `until` (Unix seconds): of
    /// every caller, concurrent or not, on any instance or host sharing the
    /// store, exactly one gets [`Claim::Won`] until the window ends or the
    /// winner calls [`Records::release`]. `until` must be derived from the
    /// authenticated input (a signed timestamp, an event's own time), never
    /// from the clock, so that every duplicate names the same claim.
    ///
    /// A claim whose window has ended still counts as taken until it is
    /// swept: callers refuse input that old by its timestamp anyway.
    pub fn claim(&self, name: &str, until: u64) -> Result<Claim, String> {
        Ok(if self.count(name, until)? == 1 {
            Claim::Won
        } else {
            Claim::Taken
        })
    }

    /// Counts one more use of `name` in the window ending at `until` and
    /// returns the count so far, this one included: of callers racing,
    /// each gets a different count, so a limit checked against it holds
    /// under any concurrency. Swept like claims.
    pub fn count(&self, name: &str, until: u64) -> Result<i64, String> {
        let key = claim_key(name, until);
        atomics::increment(self.bucket()?, &key, 1)
            .map_err(|e| format!("key-value store: counting `{key}`: {e:?}"))
    }

    /// The count of `name` in the window ending at `until`, without adding
    /// to it (0 when nothing was counted): an atomic read, as consistent as
    /// [`Records::count`] itself.
    pub fn tally(&self, name: &str, until: u64) -> Result<i64, String> {
        let key = claim_key(name, until);
        atomics::increment(self.bucket()?, &key, 0)
            .map_err(|e| format!("key-value store: reading `{key}`: {e:?}"))
    }

    /// Gives a won claim back, after the work it guarded failed: the next
    /// attempt (a retry, or the same signed request sent again) may claim
    /// it, so an event is never lost to its own replay mark.
    pub fn release(&self, name: &str, until: u64) -> Result<(), String> {
        let key = claim_key(name, until);
        self.bucket()?
            .delete(&key)
            .map_err(|e| format!("key-value store: releasing `{key}`: {e:?}"))
    }

    /// Runs `work` once for the claim `name` (see [`Records::claim`]):
    /// `Ok(None)` when it is taken, else the work's response, releasing
    /// the claim when that response is a server error (the work did not
    /// take effect, and the caller's retry must be able to do it).
    pub async fn once(
        &self,
        name: &str,
        until: u64,
        work: impl Future<Output = crate::edge::Response>,
    ) -> Result<Option<crate::edge::Response>, String> {
        if self.claim(name, until)? == Claim::Taken {
            return Ok(None);
        }
        let response = work.await;
        if response.status().is_server_error()
            && let Err(e) = self.release(name, until)
        {
            // Logged, not returned: the failure the caller sees is the
            // work's own; the claim then ends with its window.
            eprintln!("{e}; the failed work stays claimed until its window ends");
        }
        Ok(Some(response))
    }

    /// Deletes the claims whose window ended before `now`, at most once
    /// every `every_secs` (the last sweep's time is a plain record: two
    /// sweeps at once only do the same deletions twice). Returns how many
    /// were deleted.
    pub fn sweep_claims(&self, now: u64, every_secs: u64) -> Result<usize, String> {
        if self.marked(SWEEP_KEY, now, every_secs)? {
            return Ok(0);
        }
        self.mark(SWEEP_KEY, now)?;
        let keys = self
            .store
            .get_keys()
            .map_err(|e| format!("key-value store: listing keys: {e:?}"))?;
        let mut deleted = 0;
        for key in keys {
            if claim_until(&key).is_some_and(|until| until < now) {
                self.store
                    .delete(&key)
                    .map_err(|e| format!("key-value store: deleting `{key}`: {e:?}"))?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Reads `key`'s bytes.
    pub fn get_raw(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.store
            .get(key)
            .map_err(|e| format!("key-value store: reading `{key}`: {e:?}"))
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
    pub fn put<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), String> {
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

    /// The keys that start with `prefix`, sorted. Spin's key-value
    /// interface lists every key of the store, so this reads them all: for
    /// occasional listings (an admin's review), not for every request.
    pub fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>, String> {
        let mut keys: Vec<String> = self
            .store
            .get_keys()
            .map_err(|e| format!("key-value store: listing keys: {e:?}"))?
            .into_iter()
            .filter(|key| key.starts_with(prefix))
            .collect();
        keys.sort_unstable();
        Ok(keys)
    }

    /// Deletes `key` (nothing when it is not set).
    pub fn delete(&self, key: &str) -> Result<(), String> {
        self.store
            .delete(key)
            .map_err(|e| format!("key-value store: deleting `{key}`: {e:?}"))
    }

    /// Whether `key` is set.
    pub fn has(&self, key: &str) -> Result<bool, String> {
        self.store
            .exists(key)
            .map_err(|e| format!("key-value store: reading `{key}`: {e:?}"))
    }
}

fn claim_key(name: &str, until: u64) -> String {
    format!("{CLAIM_PREFIX}{until}:{name}")
}

/// The end of the window of the claim stored at `key`, if it is one.
fn claim_until(key: &str) -> Option<u64> {
    key.strip_prefix(CLAIM_PREFIX)?
        .split(':')
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_keys_carry_their_window() {
        let key = claim_key("sf:nonce:abc:def", 1_764_000_000);
        assert_eq!(key, "claim:1764000000:sf:nonce:abc:def");
        assert_eq!(claim_until(&key), Some(1_764_000_000));
        assert_eq!(claim_until("claims:swept-at"), None);
        assert_eq!(claim_until("zd:ticket:1"), None);
        assert_eq!(claim_until("claim:soon:x"), None);
    }
}
