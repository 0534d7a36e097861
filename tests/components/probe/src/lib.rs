//! A test component for the runner's integration tests: each path under its
//! route exercises one host feature and reports what it saw as JSON. It is a
//! WASI 0.2 component built the way the connectors are (spin-sdk 5 through
//! `connector::edge`), so the runner is tested on the ABI they ship.
//!
//! | path | does |
//! |---|---|
//! | `/headers` | echoes the `spin-*` request headers |
//! | `/var/<name>` | reads a component variable |
//! | `/kv/<key>` | GET / PUT (or POST) / DELETE a key in the default store |
//! | `/fetch?url=<url>` | makes an outbound GET and reports status or error |
//! | `/spawn/<key>?ms=<n>` | answers at once, then waits and writes `<key>` |
//! | `/instance` | how many requests this instance has served |
//! | `/trap` | traps |
//! | anything else | echoes method, path and body |

use bytes::Bytes;
use connector::edge::Request;
use http::StatusCode;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::key_value::Store;
use std::sync::atomic::{AtomicU64, Ordering};

/// Requests served by this instance; shows whether instances are reused.
static SERVED: AtomicU64 = AtomicU64::new(0);

type Response = connector::edge::Response;

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    let mut response = Response::new(Bytes::from(value.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn query_param(req: &Request, name: &str) -> Option<String> {
    req.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.replace("%3A", ":").replace("%2F", "/"))
    })
}

#[spin_sdk::http_component]
async fn entry(req: IncomingRequest, out: ResponseOutparam) {
    connector::edge::serve(req, out, |req| async {
        probe(req).await.unwrap_or_else(|e| {
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({ "error": format!("{e:#}") }),
            )
        })
    })
    .await
}

async fn probe(req: Request) -> anyhow::Result<Response> {
    let served = SERVED.fetch_add(1, Ordering::SeqCst) + 1;
    let info = header(&req, "spin-path-info").unwrap_or_default();
    let segments: Vec<&str> = info.trim_start_matches('/').splitn(2, '/').collect();
    let arg = segments.get(1).copied().unwrap_or("").to_string();
    match segments[0] {
        "headers" => {
            let mut out = serde_json::Map::new();
            for (name, value) in req.headers() {
                if name.as_str().starts_with("spin-") {
                    out.insert(name.to_string(), value.to_str().unwrap_or("").into());
                }
            }
            Ok(json(StatusCode::OK, out.into()))
        }
        "var" => match spin_sdk::variables::get(&arg) {
            Ok(value) => Ok(json(StatusCode::OK, serde_json::json!({ "value": value }))),
            Err(e) => Ok(json(
                StatusCode::NOT_FOUND,
                serde_json::json!({ "error": format!("{e:?}") }),
            )),
        },
        "kv" => kv(req, &arg).await,
        "fetch" => {
            let url = query_param(&req, "url").unwrap_or_default();
            let request = connector::outbound::HttpRequest {
                method: "GET",
                url,
                headers: Vec::new(),
                body: Vec::new(),
                timeout: None,
            };
            match connector::outbound::SpinHttp::default().open(request).await {
                Ok(resp) => {
                    let status = resp.status;
                    let body = resp.read(16 << 20).await.map_err(anyhow::Error::msg)?;
                    let body = String::from_utf8_lossy(&body).into_owned();
                    Ok(json(
                        StatusCode::OK,
                        serde_json::json!({ "status": status, "body": body }),
                    ))
                }
                Err(e) => Ok(json(
                    StatusCode::BAD_GATEWAY,
                    serde_json::json!({ "error": format!("{e:?}") }),
                )),
            }
        }
        "spawn" => {
            let ms: u64 = query_param(&req, "ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(300);
            let key = arg.clone();
            connector::edge::after_response(async move {
                connector::edge::sleep(std::time::Duration::from_millis(ms)).await;
                if let Ok(store) = Store::open_default() {
                    let _ = store.set(&key, b"done");
                }
            });
            Ok(json(
                StatusCode::ACCEPTED,
                serde_json::json!({ "spawned": arg }),
            ))
        }
        "instance" => Ok(json(
            StatusCode::OK,
            serde_json::json!({ "served": served }),
        )),
        "trap" => panic!("probe asked to trap"),
        "log" => {
            println!("stdout line: {arg}");
            eprintln!("stderr line: {arg}");
            Ok(json(StatusCode::OK, serde_json::json!({ "logged": arg })))
        }
        _ => {
            let method = req.method().to_string();
            let path = req.uri().path().to_string();
            let body = read_body(req.into_body()).await?;
            Ok(json(
                StatusCode::OK,
                serde_json::json!({
                    "method": method,
                    "path": path,
                    "path_info": info,
                    "body": String::from_utf8_lossy(&body),
                }),
            ))
        }
    }
}

async fn kv(req: Request, key: &str) -> anyhow::Result<Response> {
    let store = match Store::open_default() {
        Ok(store) => store,
        Err(e) => {
            return Ok(json(
                StatusCode::FORBIDDEN,
                serde_json::json!({ "error": format!("{e:?}") }),
            ));
        }
    };
    let method = req.method().clone();
    // POST stores too, so that a chained webhook can be recorded.
    if method == http::Method::PUT || method == http::Method::POST {
        let body = read_body(req.into_body()).await?;
        store.set(key, &body)?;
        Ok(json(StatusCode::OK, serde_json::json!({ "set": key })))
    } else if method == http::Method::DELETE {
        store.delete(key)?;
        Ok(json(StatusCode::OK, serde_json::json!({ "deleted": key })))
    } else {
        match store.get(key)? {
            Some(value) => Ok(json(
                StatusCode::OK,
                serde_json::json!({ "value": String::from_utf8_lossy(&value) }),
            )),
            None => Ok(json(
                StatusCode::NOT_FOUND,
                serde_json::json!({ "missing": key }),
            )),
        }
    }
}

async fn read_body(body: connector::edge::Body) -> anyhow::Result<Vec<u8>> {
    Ok(body.read(16 << 20).await?.to_vec())
}
