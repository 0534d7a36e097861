//! A WASIp2 `wasi:http/incoming-handler` component for the runner's tests:
//! it answers `p2 <method> <path> served=<n>`, where `n` counts requests this
//! instance served (always 1, since the runner gives WASIp2 a fresh instance
//! per request).

use std::sync::atomic::{AtomicU64, Ordering};
use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

static SERVED: AtomicU64 = AtomicU64::new(0);

struct Probe;

impl wasip2::exports::http::incoming_handler::Guest for Probe {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let served = SERVED.fetch_add(1, Ordering::SeqCst) + 1;
        let method = format!("{:?}", request.method());
        let path = request.path_with_query().unwrap_or_default();
        let text = format!("p2 {method} {path} served={served}");
        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("body is taken once");
        ResponseOutparam::set(response_out, Ok(response));
        let stream = body.write().expect("stream is taken once");
        stream
            .blocking_write_and_flush(text.as_bytes())
            .expect("writing the response body");
        drop(stream);
        OutgoingBody::finish(body, None).expect("finishing the response body");
    }
}

wasip2::http::proxy::export!(Probe with_types_in wasip2);
