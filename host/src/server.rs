//! The HTTP listener: accepts connections and hands each request to the
//! application.

use crate::app::App;
use anyhow::{Context, Result};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A server running in the background; dropping it (or calling
/// [`RunningServer::shutdown`]) stops accepting connections.
pub struct RunningServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Waits until the server stops (it runs until shut down).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Binds `addr` with a clear error when the port is taken.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!(
            "cannot listen on {addr}: is another `switchboard up` or `spin up` using it? \
             Choose another address with --listen"
        )
    })
}

/// A client gets this long to send a request's head (line and headers);
/// a slower one is disconnected, so it cannot hold a connection open.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The most a request's head may take, and the read buffer's size: a
/// larger head is refused (431) before it is buffered.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves `app` on `listener` in a background task.
pub fn serve(app: App, listener: TcpListener) -> Result<RunningServer> {
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            let (stream, client) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(_) => continue,
                },
                _ = stopped.changed() => break,
            };
            // Responses are written in pieces; without this, Nagle's
            // algorithm and delayed ACKs add ~40 ms to every request.
            let _ = stream.set_nodelay(true);
            let app = app.clone();
            let mut conn_stopped = stopped.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let app = app.clone();
                    async move { Ok::<_, Infallible>(app.handle(request, client).await) }
                });
                let conn = http1::Builder::new()
                    .keep_alive(true)
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .max_buf_size(MAX_HEAD_BYTES)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = conn_stopped.changed() => {}
                }
            });
        }
    });
    Ok(RunningServer {
        addr,
        stop,
        task: Some(task),
    })
}
