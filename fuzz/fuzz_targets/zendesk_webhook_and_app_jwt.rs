//! Zendesk's signed webhook deliveries (timestamp, signature, event body)
//! and the sidebar app's tokens: Zendesk's signed-URL token and the panel
//! session.
#![no_main]

use fuzz::{number, parts, text};
use libfuzzer_sys::fuzz_target;

const KEY: &str = include_str!("../../emulators/zendesk/testdata/zaf-signing-key.pub.pem");

fuzz_target!(|data: &[u8]| {
    let [timestamp, signature, body, now, header] = parts(data, 5)[..] else {
        return;
    };
    let (timestamp, signature) = (text(timestamp), text(signature));
    let _ = zendesk::webhook::parse_timestamp(&timestamp);
    let _ = zendesk::webhook::verify("secret", &timestamp, body, &signature, number(now), 300);
    let _ = zendesk::webhook::parse_event(body);
    let header = text(header);
    let _ = zendesk::app::verify_signed_url(Some(&header), KEY, "https://a.zendesk.com", 1, number(now));
    let _ = zendesk::app::PanelSession::verify(&header, "secret", number(now));
    let bearer = format!("Bearer {header}");
    let _ = zendesk::app::PanelSession::verify(&bearer, "secret", number(now));
});
