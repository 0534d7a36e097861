//! The server loop every emulator and test server shares: bind a loopback
//! address, serve each connection with one request handler (HTTP/1,
//! `TCP_NODELAY` so small answers are not held back by Nagle's algorithm),
//! and stop when the returned [`Server`] is dropped; a request as the
//! emulators' routes read it ([`Received`]); the faults a test injects into
//! an emulator's answers ([`Faults`]); and the clock ([`unix_now`]).

#![warn(missing_docs)]

mod faults;
mod received;

pub use faults::Faults;
pub use received::Received;

/// The clock behind every time an emulator stamps or checks (UserSigs,
/// mutes, message and webhook times): the components' own.
pub use transport::unix_now;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// A running server; dropping it stops accepting connections.
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Server {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Binds `listen` and serves every request with `handler`.
pub async fn serve<H, F, B>(listen: SocketAddr, handler: H) -> anyhow::Result<Server>
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted { Ok(pair) => pair, Err(_) => continue },
                _ = stopped.changed() => break,
            };
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let response = handler(request);
                    async move { Ok::<_, Infallible>(response.await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(Server { addr, stop })
}
