//! Streaming answers to one-to-one chats: the LLM's SSE deltas go to IM with
//! `send_stream_msg` as they arrive, the last with `Finish: 1`. How the
//! answer is cut into pieces and each piece screened is
//! [`chatbot::stream`]; this module reads the provider's stream and sends.

use crate::config::Config;
use chatbot::conversation::Incoming;
use chatbot::settings::Robot;
use chatbot::stream::{MAX_STREAM_BYTES, Pieces};
use llm::ChatRequest;

/// Waits for `future` until `deadline`; `None` when it passed first.
async fn before<F: std::future::Future>(
    deadline: std::time::Instant,
    future: F,
) -> Option<F::Output> {
    let remaining = deadline.saturating_duration_since(std::time::Instant::now());
    let future = std::pin::pin!(future);
    let expire = std::pin::pin!(connector::edge::sleep(remaining));
    match futures::future::select(future, expire).await {
        futures::future::Either::Left((output, _)) => Some(output),
        futures::future::Either::Right(_) => None,
    }
}

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
    // The whole answer, first byte to last, within the robot's timeout.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(robot.timeout_secs);
    let sent = connector::outbound::send(http.method, &http.url, &http.headers, http.body);
    let Some(sent) = before(deadline, sent).await else {
        eprintln!(
            "chatbot: {} stream from {} did not start within {} s",
            robot.id,
            provider.label(),
            robot.timeout_secs
        );
        return None;
    };
    let response = match sent {
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
    let mut body = response.body;
    // Bytes not yet decoded: a chunk may end inside a UTF-8 character.
    let mut undecoded = Vec::new();
    let mut sse = String::new();
    let judge = config.judge(robot);
    let mut pieces = Pieces::new(&judge, &robot.blocked_reply);
    let mut key: Option<String> = None;
    loop {
        let next = match before(deadline, body.chunk()).await {
            Some(next) => next,
            None => {
                eprintln!(
                    "chatbot: {} stream ended at the {} s timeout",
                    robot.id, robot.timeout_secs
                );
                None
            }
        };
        let (deltas, mut done) = match next {
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
            pieces.push(&delta);
        }
        if pieces.overflowed() && !done {
            eprintln!(
                "chatbot: {} stream over {MAX_STREAM_BYTES} bytes; ended there",
                robot.id
            );
            done = true;
        }
        if let Some(piece) = pieces.next(done, key.is_some()) {
            done |= piece.last;
            // A client per piece: each send gets its own IM budget, however
            // long the stream has run.
            match config
                .im
                .client()
                .send_stream_msg(
                    &robot.id,
                    &incoming.user,
                    &piece.text,
                    key.as_deref(),
                    piece.last,
                )
                .await
            {
                Ok(msg_key) => key = Some(msg_key),
                Err(e) => {
                    eprintln!("chatbot: {} stream to IM failed: {e}", robot.id);
                    return key.map(|_| pieces.full().to_string());
                }
            }
        }
        if done {
            break;
        }
    }
    // No chunk reached IM: let the caller answer the ordinary way.
    key.map(|_| pieces.full().to_string())
}
