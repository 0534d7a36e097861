//! The calls the Apex side makes: the signature headers, and the batch of
//! Case / AgentWork changes.
#![no_main]

use fuzz::{number, parts, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [timestamp, nonce, signature, body, now, bearer] = parts(data, 6)[..] else {
        return;
    };
    let (timestamp, nonce, signature) = (text(timestamp), text(nonce), text(signature));
    let _ = salesforce::inbound::verify_hmac(
        "secret",
        Some(&timestamp),
        Some(&nonce),
        Some(&signature),
        body,
        number(now),
        300,
    );
    let _ = salesforce::inbound::verify_bearer("secret", Some(&text(bearer)));
    if let Ok(events) = salesforce::events::parse(body) {
        assert!(!events.is_empty() && events.len() <= salesforce::events::MAX_EVENTS);
    }
});
