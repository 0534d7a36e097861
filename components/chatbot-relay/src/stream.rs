//! Streaming answers to one-to-one chats: the LLM's SSE deltas go to IM with
//! `send_stream_msg` as they arrive (flushed at word boundaries, so the
//! word-list screen sees whole words), the last with `Finish: 1`.

use crate::config::Config;
use crate::config::Robot;
use crate::relay::{Incoming, screen};
use llm::ChatRequest;

/// Flush once this many characters are buffered (at a word boundary).
const FLUSH_CHARS: usize = 48;

/// Streams the answer of the first provider. `None` when streaming did not
/// start (not OpenAI-compatible, or the request failed before any text):
/// the caller then answers the ordinary way, with fallback providers.
pub async fn answer(
    config: &Config,
    robot: &Robot,
    incoming: &Incoming,
    request: &ChatRequest,
) -> Option<String> {
    let provider = robot.providers.first()?;
    let http = llm::stream_request(provider, request)?;
    let response =
        match connector::outbound::send(http.method, &http.url, &http.headers, http.body).await {
            Ok(response) if (200..300).contains(&response.status) => response,
            Ok(response) => {
                eprintln!(
                    "chatbot: {} stream from {} answered {}",
                    robot.id,
                    provider.label(),
                    response.status
                );
                return None;
            }
            Err(e) => {
                eprintln!(
                    "chatbot: {} stream from {} failed: {e}",
                    robot.id,
                    provider.label()
                );
                return None;
            }
        };
    let im = config.im.client();
    let mut body = response.body;
    // Bytes not yet decoded: a chunk may end inside a UTF-8 character.
    let mut undecoded = Vec::new();
    let mut sse = String::new();
    let mut pending = String::new();
    let mut full = String::new();
    let mut key: Option<String> = None;
    loop {
        let (deltas, done) = match body.chunk().await {
            Some(Ok(data)) => {
                undecoded.extend_from_slice(&data);
                let valid = match std::str::from_utf8(&undecoded) {
                    Ok(text) => text.len(),
                    Err(e) if e.error_len().is_none() => e.valid_up_to(),
                    // Not UTF-8 at all: decode lossily rather than stall.
                    Err(_) => undecoded.len(),
                };
                sse.push_str(&String::from_utf8_lossy(&undecoded[..valid]));
                undecoded.drain(..valid);
                llm::parse_sse_text(&mut sse)
            }
            Some(Err(e)) => {
                eprintln!("chatbot: {} stream interrupted: {e}", robot.id);
                (Vec::new(), true)
            }
            None => (Vec::new(), true),
        };
        for delta in deltas {
            pending.push_str(&delta);
            full.push_str(&delta);
        }
        let cut = if done {
            pending.len()
        } else if pending.chars().count() >= FLUSH_CHARS {
            pending
                .rfind(char::is_whitespace)
                .map(|i| i + 1)
                .unwrap_or(0)
        } else {
            0
        };
        if cut > 0 || (done && key.is_some()) {
            let chunk: String = pending.drain(..cut).collect();
            let chunk = screen(config, robot, &chunk);
            match im
                .send_stream_msg(&robot.id, &incoming.user, &chunk, key.as_deref(), done)
                .await
            {
                Ok(msg_key) => key = Some(msg_key),
                Err(e) => {
                    eprintln!("chatbot: {} stream to IM failed: {e}", robot.id);
                    return key.map(|_| full);
                }
            }
        }
        if done {
            break;
        }
    }
    // No chunk reached IM: let the caller answer the ordinary way.
    key.map(|_| full)
}
