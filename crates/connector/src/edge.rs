//! The component's HTTP edge on WASI 0.2 (`wasi:http/incoming-handler`),
//! the ABI every released Spin, SpinKube's shim and `wasmtime serve` load.
//!
//! Handlers are written against the `http` crate's types: they take a
//! [`Request`] whose body is read on demand, with a size cap
//! ([`Body::read`]), and return a [`Response`] with the whole body. [`serve`]
//! connects such a handler to Spin's `incoming-handler` export, and runs the
//! work a handler queued with [`after_response`] once the response is out —
//! a WASI 0.2 host hands the response to the client as soon as it is set and
//! keeps the instance running until `handle` returns, so this is how a
//! component acknowledges a webhook at once and does the slow part after.
//!
//! ```ignore
//! #[spin_sdk::http_component]
//! async fn handle(req: spin_sdk::http::IncomingRequest, out: spin_sdk::http::ResponseOutparam) {
//!     connector::edge::serve(req, out, my_handler).await
//! }
//! ```

use crate::reply;
use bytes::Bytes;
use futures::{SinkExt, Stream, StreamExt};
use http::StatusCode;
use spin_sdk::http::{
    Fields, IncomingRequest, IncomingResponse, OutgoingResponse, ResponseOutparam,
};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// An incoming request: method, URI, headers, and the body still unread.
pub type Request = http::Request<Body>;

/// A complete response.
pub type Response = http::Response<Bytes>;

type Chunks = Pin<Box<dyn Stream<Item = Result<Vec<u8>, String>>>>;

/// A body read on demand, chunk by chunk, so that a size limit stops the
/// read instead of buffering whatever the peer sends.
pub struct Body {
    chunks: Chunks,
    /// An outbound response must outlive its body stream: dropping it
    /// cancels the exchange.
    _response: Option<IncomingResponse>,
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// More than the limit arrived (or was announced).
    #[error("the body is over {0} bytes")]
    TooLarge(usize),
    /// The stream failed.
    #[error("cannot read the body: {0}")]
    Failed(String),
}

impl Body {
    /// A body with nothing in it.
    pub fn empty() -> Self {
        Self {
            chunks: Box::pin(futures::stream::empty()),
            _response: None,
        }
    }

    /// The body of an outbound response, read as it arrives.
    pub(crate) fn of_response(response: IncomingResponse) -> Self {
        let chunks = response
            .take_body_stream()
            .map(|chunk| chunk.map_err(|e| e.to_debug_string()));
        Self {
            chunks: Box::pin(chunks),
            _response: Some(response),
        }
    }

    /// The next chunk, `None` at the end.
    pub async fn chunk(&mut self) -> Option<Result<Vec<u8>, BodyError>> {
        self.chunks
            .next()
            .await
            .map(|chunk| chunk.map_err(BodyError::Failed))
    }

    /// Reads the whole body, stopping as soon as more than `max` bytes
    /// arrived.
    pub async fn read(mut self, max: usize) -> Result<Bytes, BodyError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.chunk().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > max {
                return Err(BodyError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
    }
}

/// Turns Spin's incoming request into a [`Request`].
fn request(incoming: IncomingRequest) -> Result<Request, String> {
    let mut builder = http::Request::builder()
        .method(incoming.method().to_string().as_str())
        .uri(incoming.path_with_query().unwrap_or_else(|| "/".into()));
    for (name, value) in incoming.headers().entries() {
        builder = builder.header(name, value);
    }
    let chunks = incoming
        .into_body_stream()
        .map(|chunk| chunk.map_err(|e| e.to_debug_string()));
    builder
        .body(Body {
            chunks: Box::pin(chunks),
            _response: None,
        })
        .map_err(|e| format!("the request line or a header is not valid HTTP: {e}"))
}

/// Writes `response` to Spin's response outparam.
async fn respond(out: ResponseOutparam, response: Response) {
    let (parts, body) = response.into_parts();
    let headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec()))
        .collect();
    let fields = match Fields::from_list(&headers) {
        Ok(fields) => fields,
        Err(e) => {
            eprintln!("a response header was refused by the host: {e:?}");
            Fields::new()
        }
    };
    let outgoing = OutgoingResponse::new(fields);
    if outgoing.set_status_code(parts.status.as_u16()).is_err() {
        eprintln!("the host refused status {}", parts.status);
    }
    let mut sink = outgoing.take_body();
    out.set(outgoing);
    if let Err(e) = sink.send(body.to_vec()).await {
        eprintln!("writing the response body failed: {e:?}");
    }
    // Dropping the sink finishes the body: the client has it all now.
    drop(sink);
}

thread_local! {
    static AFTER_RESPONSE: RefCell<Vec<Pin<Box<dyn Future<Output = ()>>>>> =
        const { RefCell::new(Vec::new()) };
}

/// Queues work to run after the response has been sent (a webhook's
/// acknowledgement must not wait for an LLM). [`serve`] runs it to
/// completion before the instance ends.
pub fn after_response(work: impl Future<Output = ()> + 'static) {
    AFTER_RESPONSE.with(|queue| queue.borrow_mut().push(Box::pin(work)));
}

/// Serves one request: builds the [`Request`], runs `handler`, sends its
/// response, then runs what the handler queued with [`after_response`].
pub async fn serve<H, F>(incoming: IncomingRequest, out: ResponseOutparam, handler: H)
where
    H: FnOnce(Request) -> F,
    F: Future<Output = Response>,
{
    let response = match request(incoming) {
        Ok(request) => handler(request).await,
        Err(message) => reply::bad_field("request", message),
    };
    respond(out, response).await;
    // Work queued by queued work runs too, until nothing is left.
    loop {
        let queued = AFTER_RESPONSE.with(|queue| std::mem::take(&mut *queue.borrow_mut()));
        if queued.is_empty() {
            break;
        }
        futures::future::join_all(queued).await;
    }
}

/// Reads a request body of at most `max` bytes: 413 above it (checked on
/// `content-length` first, then while it arrives, so an oversized chunked
/// body is never buffered whole), 408 when it takes longer than
/// [`BODY_DEADLINE`], 400 when it cannot be read.
pub async fn read_body(
    headers: &http::HeaderMap,
    body: Body,
    max: usize,
) -> Result<Bytes, Response> {
    let too_large = || {
        reply::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {max} bytes"),
        )
    };
    let declared = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > max) {
        return Err(too_large());
    }
    let read = std::pin::pin!(body.read(max));
    let expire = std::pin::pin!(sleep(BODY_DEADLINE));
    match futures::future::select(read, expire).await {
        futures::future::Either::Left((read, _)) => read.map_err(|e| match e {
            BodyError::TooLarge(_) => too_large(),
            BodyError::Failed(_) => reply::bad_field("body", e),
        }),
        // A client that trickles its body would hold the instance.
        futures::future::Either::Right(_) => Err(reply::error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {} s",
                BODY_DEADLINE.as_secs()
            ),
        )),
    }
}

/// How long a request body may take to arrive, whatever its size.
pub const BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits for `duration` (a WASI monotonic-clock timer, driven by Spin's
/// executor like the HTTP streams are).
pub async fn sleep(duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    let deadline = wasi::clocks::monotonic_clock::now().saturating_add(nanos);
    Sleep {
        deadline,
        registration: None,
    }
    .await
}

struct Sleep {
    deadline: u64,
    /// Dropping a token unregisters its pollable: only the newest one waits.
    registration: Option<spin_executor::CancelOnDropToken>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if wasi::clocks::monotonic_clock::now() >= self.deadline {
            self.registration = None;
            return Poll::Ready(());
        }
        let pollable = wasi::clocks::monotonic_clock::subscribe_instant(self.deadline);
        self.registration = Some(spin_executor::CancelOnDropToken::from(
            spin_executor::push_waker_and_get_token(pollable, cx.waker().clone()),
        ));
        Poll::Pending
    }
}
