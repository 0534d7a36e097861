//! The run-time lexicon overlay an operator stores (JSON), compiled beside
//! the built-in lexicon, then used to scan and mask text.
#![no_main]

use fuzz::{parts, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [overlay, sample] = parts(data, 2)[..] else {
        return;
    };
    let builtin = screening::builtin();
    let Ok(overlay) = serde_json::from_slice::<moderation::overlay::Overlay>(overlay) else {
        return;
    };
    let Ok(compiled) = overlay.compile(*builtin.options()) else {
        return;
    };
    let sample = text(sample);
    let hits = builtin.scan_with(Some(&compiled), &sample);
    let masked = moderation::mask(&sample, &hits);
    assert_eq!(masked.chars().count(), sample.chars().count());
});
