//! The query string IM appends to a webhook URL (and its `Sign`), and the
//! UserSigs end users and agents present.
#![no_main]

use fuzz::{number, parts, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [query, usersig, identifier, now] = parts(data, 4)[..] else {
        return;
    };
    let query = text(query);
    if let Ok(parsed) = tim::webhook::WebhookQuery::parse(&query) {
        let verifier = tim::webhook::Verifier::new(1_400_000_000, Some("token".into()));
        let _ = verifier.verify(&parsed, number(now));
    }
    let usersig = text(usersig);
    let _ = tim::usersig::decode(&usersig);
    let signer = tim::usersig::Signer::new(1_400_000_000, "secret-key");
    let _ = signer.verify(&text(identifier), &usersig, number(now));
});
