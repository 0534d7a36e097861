//! What LLM providers answer that we parse ourselves: `Retry-After` /
//! `retry-after-ms` headers and the server-sent events of a stream.
#![no_main]

use fuzz::{parts, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [seconds, millis, sse] = parts(data, 3)[..] else {
        return;
    };
    let response = transport::HttpResponse {
        status: 429,
        headers: vec![
            ("retry-after".into(), text(seconds)),
            ("retry-after-ms".into(), text(millis)),
        ],
        body: Vec::new(),
    };
    if let Some(wait) = llm::retry_after(&response) {
        assert!(wait <= std::time::Duration::from_secs(60));
    }
    let mut buffer = text(sse);
    let _ = llm::parse_sse_text(&mut buffer);
    // The raw bytes, in reads cut anywhere (inside characters and lines).
    let mut stream = llm::SseText::default();
    for read in sse.chunks(7) {
        let _ = stream.push(read);
    }
});
