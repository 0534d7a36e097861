//! One HTTP exchange, as the upstream API clients (Zendesk, Salesforce) see
//! it. Components implement [`Transport`] over Spin's outbound HTTP; tests and
//! tools over any native client; unit tests over a script. The clients stay
//! free of I/O and compile for both native and `wasm32-wasip2`.

use std::time::Duration;

/// One HTTP request.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `GET`, `POST`, `PATCH`, ….
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// One HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How a client reaches its upstream. Futures need not be `Send`:
/// components run single-threaded.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// Sends a request; `Err` only when no response arrived (the text says why).
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, String>;
    /// Waits before a retry.
    async fn sleep(&self, duration: Duration);
}
