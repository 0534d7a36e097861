//! The review API's outside input: a listing's query string, a
//! false-positive mark's body and stored decisions, and the context a
//! finding keeps (offsets into any text, at any span).
#![no_main]

use fuzz::{number, parts, text};
use libfuzzer_sys::fuzz_target;
use screening::review::{Filter, MAX_LIMIT, Reviewed};

fuzz_target!(|data: &[u8]| {
    let [query, stored, sample, start, len] = parts(data, 5)[..] else {
        return;
    };
    if let Ok(filter) = Filter::parse(&text(query)) {
        assert!((1..=MAX_LIMIT).contains(&filter.limit));
        if let Ok(reviewed) = serde_json::from_slice::<Reviewed>(stored) {
            let _ = filter.matches(&reviewed);
            for entry in reviewed.allowlist_entries() {
                assert!(!entry.trim().is_empty());
            }
        }
    }
    let sample = text(sample);
    let boundaries: Vec<usize> = sample
        .char_indices()
        .map(|(i, _)| i)
        .chain([sample.len()])
        .collect();
    let start = boundaries[number(start) as usize % boundaries.len()];
    let ends: Vec<usize> = boundaries.iter().copied().filter(|&b| b >= start).collect();
    let end = ends[number(len) as usize % ends.len()];
    let context = screening::verdict::context(&sample, start..end);
    assert!(context.contains(&sample[start..end]) || context.chars().count() == 200);
});
