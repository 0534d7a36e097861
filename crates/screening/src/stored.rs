//! The run-time overlay (JSON in the application's key-value store,
//! managed by the `moderation-admin` component), as every screening
//! component reads it: compiled by the first instance that reads a new
//! version and kept beside it, loaded from there by every later instance,
//! and shared by the requests one instance serves.

use moderation::Lexicon;
use moderation::overlay::{
    COMPILED_KEY, JsonDigest, Overlay, STORE_KEY as OVERLAY_KEY, pack, unpack,
};
use spin_sdk::key_value::Store;
use std::sync::{Arc, Mutex};

/// The overlay this instance loaded, by the digest of its JSON.
static OVERLAY: Mutex<Option<(JsonDigest, Arc<Lexicon>)>> = Mutex::new(None);

/// The current overlay, or `None` when there is none. A stored overlay
/// that no longer compiles (it was validated when written) is reported and
/// ignored rather than taking moderation down; a store that cannot be read
/// is an error, for the caller's `on_error`.
///
/// The overlay's compiled form is kept beside it ([`COMPILED_KEY`]): the
/// first instance to read a new overlay compiles it and keeps the result,
/// every later one loads that (see [`moderation::overlay::pack`]). A kept
/// form is used only for the JSON it was compiled from, so one written by
/// an instance that read an older overlay is compiled over, not trusted.
pub fn overlay() -> Result<Option<Arc<Lexicon>>, String> {
    let store = Store::open_default()
        .map_err(|e| format!("key-value store: cannot open `default`: {e:?}"))?;
    let Some(json) = store
        .get(OVERLAY_KEY)
        .map_err(|e| format!("key-value store: reading `{OVERLAY_KEY}`: {e:?}"))?
    else {
        return Ok(None);
    };
    let digest = JsonDigest::of(&json);
    if let Some((loaded, lexicon)) = OVERLAY.lock().expect("not poisoned").as_ref()
        && *loaded == digest
    {
        return Ok(Some(lexicon.clone()));
    }
    let options = *crate::builtin().options();
    // A kept form that cannot be read is compiled over, like a stale one.
    let kept = store.get(COMPILED_KEY).ok().flatten();
    let lexicon = match kept.and_then(|kept| unpack(digest, &options, &kept)) {
        Some(lexicon) => lexicon,
        None => {
            let compiled = serde_json::from_slice::<Overlay>(&json)
                .map_err(|e| e.to_string())
                .and_then(|o| o.compile(options).map_err(|e| e.to_string()));
            match compiled {
                Ok(lexicon) => {
                    // Two instances compiling the same JSON keep the same
                    // bytes; failing to keep them only costs the next
                    // instance the same compile.
                    if let Err(e) = store.set(COMPILED_KEY, &pack(digest, &lexicon)) {
                        eprintln!("screening: the compiled overlay is not kept: {e:?}");
                    }
                    lexicon
                }
                Err(e) => {
                    eprintln!("screening: the stored overlay is ignored: {e}");
                    return Ok(None);
                }
            }
        }
    };
    let lexicon = Arc::new(lexicon);
    *OVERLAY.lock().expect("not poisoned") = Some((digest, lexicon.clone()));
    Ok(Some(lexicon))
}
