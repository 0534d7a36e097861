//! The run-time overlay (JSON in the application's key-value store,
//! managed by the `moderation-admin` component), as every screening
//! component reads it: loaded once per instance and shared by the requests
//! it serves, rebuilt only when its stored bytes change.

use moderation::Lexicon;
use moderation::overlay::{Overlay, STORE_KEY as OVERLAY_KEY};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// The compiled overlay, keyed by a hash of the stored JSON.
static OVERLAY: Mutex<Option<(u64, Arc<Lexicon>)>> = Mutex::new(None);

/// The current overlay, or `None` when there is none. A stored overlay
/// that no longer compiles (it was validated when written) is reported and
/// ignored rather than taking moderation down; a store that cannot be read
/// is an error, for the caller's `on_error`.
pub fn overlay() -> Result<Option<Arc<Lexicon>>, String> {
    let store = spin_sdk::key_value::Store::open_default()
        .map_err(|e| format!("key-value store: cannot open `default`: {e:?}"))?;
    let Some(bytes) = store
        .get(OVERLAY_KEY)
        .map_err(|e| format!("key-value store: reading `{OVERLAY_KEY}`: {e:?}"))?
    else {
        return Ok(None);
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    let hash = hasher.finish();
    if let Some((cached, lexicon)) = OVERLAY.lock().expect("not poisoned").as_ref()
        && *cached == hash
    {
        return Ok(Some(lexicon.clone()));
    }
    let compiled = serde_json::from_slice::<Overlay>(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|o| {
            o.compile(*crate::builtin().options())
                .map_err(|e| e.to_string())
        });
    match compiled {
        Ok(lexicon) => {
            let lexicon = Arc::new(lexicon);
            *OVERLAY.lock().expect("not poisoned") = Some((hash, lexicon.clone()));
            Ok(Some(lexicon))
        }
        Err(e) => {
            eprintln!("screening: the stored overlay is ignored: {e}");
            Ok(None)
        }
    }
}
