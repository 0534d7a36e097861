//! Where the runner's own messages and the components' stdout/stderr go.
//!
//! Everything the runner prints about requests and components goes through a
//! [`Logger`], so that tests can capture it and assert on it (for example that
//! a secret never appears), and so that every line carries the id of the
//! component it is about.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// A destination for log lines, cheap to clone and safe to share between
/// requests and component instances.
#[derive(Clone, Default)]
pub struct Logger {
    capture: Option<Arc<Mutex<Vec<String>>>>,
}

impl Logger {
    /// A logger that writes each line to the process's standard error.
    pub fn stderr() -> Self {
        Self { capture: None }
    }

    /// A logger that keeps every line in memory (and still prints it), for
    /// tests that assert on what was logged.
    pub fn capturing() -> Self {
        Self {
            capture: Some(Arc::default()),
        }
    }

    /// Writes one line.
    pub fn line(&self, line: impl Into<String>) {
        let line = line.into();
        eprintln!("{line}");
        if let Some(capture) = &self.capture {
            capture.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    }

    /// The lines captured so far (empty unless built with [`Logger::capturing`]).
    pub fn captured(&self) -> Vec<String> {
        match &self.capture {
            Some(capture) => capture.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            None => Vec::new(),
        }
    }
}

/// Which of a component's output streams a [`ComponentOutput`] carries.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    /// The component's stdout.
    Stdout,
    /// The component's stderr.
    Stderr,
}

/// A component's stdout or stderr, turned into log lines prefixed with the
/// component id (`[im-gateway stderr] ...`), as `spin up` does.
#[derive(Clone)]
pub struct ComponentOutput {
    prefix: Arc<str>,
    logger: Logger,
}

impl ComponentOutput {
    /// Output of `component` on `stream`, written to `logger`.
    pub fn new(component: &str, stream: Stream, logger: Logger) -> Self {
        let name = match stream {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        };
        Self {
            prefix: format!("[{component} {name}] ").into(),
            logger,
        }
    }
}

impl IsTerminal for ComponentOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for ComponentOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            output: self.clone(),
            partial: Vec::new(),
        })
    }
}

/// Buffers bytes until a newline, then logs the complete line.
struct LineWriter {
    output: ComponentOutput,
    partial: Vec<u8>,
}

impl LineWriter {
    fn emit(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches('\r');
        self.output
            .logger
            .line(format!("{}{}", self.output.prefix, text));
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.partial.extend_from_slice(buf);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.emit(&line[..line.len() - 1]);
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.emit(&rest);
        }
    }
}
