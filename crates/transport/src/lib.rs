//! One HTTP exchange, as every upstream API client (IM, Zendesk,
//! Salesforce, the LLM providers, Tencent Cloud, decision events) sees it. Components implement [`Transport`] over Spin's outbound HTTP; tests and
//! tools over any native client; unit tests over a script. The clients stay
//! free of I/O and compile for both native and `wasm32-wasip2`.

#![warn(missing_docs)]

use std::time::Duration;

/// Current Unix time in seconds: the one clock every client and component
/// stamps and checks with (UserSigs, token expiries, webhook windows,
/// rate-limit hours, retention). A clock before 1970 reads as 0.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

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
    /// How long this exchange may take at most, within whatever deadline
    /// the transport already has (a component's whole-request budget);
    /// `None`: that deadline alone. An exchange past it fails as if no
    /// answer arrived.
    pub timeout: Option<Duration>,
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

/// A scripted [`Transport`] for unit tests of the clients: answers from a
/// list, records what was sent and every wait, never blocks.
pub mod testing {
    use super::{HttpRequest, HttpResponse, Transport};
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::time::Duration;

    /// Answers in order; `Err` plays a network failure.
    #[derive(Default)]
    pub struct Scripted {
        answers: RefCell<VecDeque<Result<HttpResponse, String>>>,
        sent: RefCell<Vec<HttpRequest>>,
        slept: RefCell<Vec<Duration>>,
    }

    impl Scripted {
        /// A script of answers.
        pub fn new(answers: Vec<Result<HttpResponse, String>>) -> Self {
            Self {
                answers: RefCell::new(answers.into()),
                ..Self::default()
            }
        }

        /// The requests sent so far.
        pub fn sent(&self) -> Vec<HttpRequest> {
            self.sent.borrow().clone()
        }

        /// The waits asked for so far.
        pub fn slept(&self) -> Vec<Duration> {
            self.slept.borrow().clone()
        }
    }

    impl Transport for &Scripted {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
            self.sent.borrow_mut().push(request);
            self.answers
                .borrow_mut()
                .pop_front()
                .unwrap_or_else(|| Err("the script has no answer left".into()))
        }

        async fn sleep(&self, duration: Duration) {
            self.slept.borrow_mut().push(duration);
        }
    }

    /// An answer whose body is `body`'s text (e.g. a `serde_json::Value`).
    pub fn answer(
        status: u16,
        headers: &[(&str, &str)],
        body: impl std::fmt::Display,
    ) -> Result<HttpResponse, String> {
        Ok(HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_string().into_bytes(),
        })
    }

    /// Runs a future that never waits (the scripted transport never does).
    pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(value) => value,
            std::task::Poll::Pending => panic!("a scripted exchange waited"),
        }
    }
}
