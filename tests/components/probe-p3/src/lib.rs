//! A WASIp3 component built with spin-sdk 7 (`wasi:http/handler@0.3.0`),
//! for the runner's tests of what each Spin target loads: Spin 4.0.x refuses
//! it at start-up, Spin main serves it with reused instances and lets it
//! chain.
//!
//! | path | does |
//! |---|---|
//! | `/instance` | `served=<n>`: requests this instance has served |
//! | `/fetch?url=<url>` | an outbound GET: `status=<code> body=<text>` or `error=<why>` |

use bytes::Bytes;
use http_body_util::BodyExt;
use spin_sdk::http::{FullBody, Request, Response};
use spin_sdk::http_service;
use std::sync::atomic::{AtomicU64, Ordering};

static SERVED: AtomicU64 = AtomicU64::new(0);

#[http_service]
async fn handle(req: Request) -> Response<FullBody<Bytes>> {
    let served = SERVED.fetch_add(1, Ordering::SeqCst) + 1;
    let path = req.uri().path().to_string();
    let text = if path.ends_with("/fetch") {
        let url = req
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("url="))
            .unwrap_or("")
            .to_string();
        match spin_sdk::http::get(url).await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.into_body().collect().await {
                    Ok(body) => format!(
                        "status={status} body={}",
                        String::from_utf8_lossy(&body.to_bytes())
                    ),
                    Err(e) => format!("error={e:?}"),
                }
            }
            Err(e) => format!("error={e:?}"),
        }
    } else {
        format!("served={served}")
    };
    Response::new(FullBody::new(Bytes::from(text)))
}
