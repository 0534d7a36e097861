//! A request as an emulator reads it: the parts its routes look at, and the
//! whole body, read once.

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request};

/// A request with its body read.
#[derive(Debug)]
pub struct Received {
    /// `GET`, `POST`, ….
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The query, empty when there is none.
    pub query: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, whole.
    pub body: Bytes,
}

impl Received {
    /// Reads `request`'s body. A body that breaks off is an error: the
    /// emulator answers it as a bad request rather than act on half of it.
    pub async fn read(request: Request<Incoming>) -> Result<Self, hyper::Error> {
        let (head, body) = request.into_parts();
        Ok(Self {
            method: head.method,
            path: head.uri.path().to_string(),
            query: head.uri.query().unwrap_or("").to_string(),
            headers: head.headers,
            body: body.collect().await?.to_bytes(),
        })
    }

    /// A header's value, when it is present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
