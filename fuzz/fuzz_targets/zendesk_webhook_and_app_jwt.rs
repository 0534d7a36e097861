//! Zendesk's signed webhook deliveries (timestamp, signature, event body)
//! and the sidebar app's JWT.
#![no_main]

use fuzz::{number, parts, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [timestamp, signature, body, now, header] = parts(data, 5)[..] else {
        return;
    };
    let (timestamp, signature) = (text(timestamp), text(signature));
    let _ = zendesk::webhook::parse_timestamp(&timestamp);
    let _ = zendesk::webhook::verify("secret", &timestamp, body, &signature, number(now), 300);
    let _ = zendesk::webhook::parse_event(body);
    let header = text(header);
    let _ = zendesk::app::verify(Some(&header), "secret", "issuer", "audience");
    let bearer = format!("Bearer {header}");
    let _ = zendesk::app::verify(Some(&bearer), "secret", "issuer", "audience");
});
