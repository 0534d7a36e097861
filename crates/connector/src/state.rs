//! JSON records in the component's default key-value store: the memory that
//! lets a retried request resume where it stopped instead of repeating work.

use serde::Serialize;
use serde::de::DeserializeOwned;
use spin_sdk::key_value::Store;

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

    /// Whether `key` is set.
    pub fn has(&self, key: &str) -> Result<bool, String> {
        self.store
            .exists(key)
            .map_err(|e| format!("key-value store: reading `{key}`: {e:?}"))
    }
}
