//! Streaming answers to one-to-one chats: the LLM's SSE deltas go to IM with
//! `send_stream_msg` as they arrive, the last with `Finish: 1`. How the
//! answer is cut into pieces and each piece screened is
//! [`chatbot::stream`]; this module reads the provider's stream and sends.

use crate::config::Config;
use chatbot::conversation::Incoming;
use chatbot::settings::Robot;
use chatbot::stream::{MAX_STREAM_BYTES, Pieces};
use connector::outbound::{Chunk, SpinHttp};
use llm::ChatRequest;

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
    let request = llm::stream_request(provider, request)?;
    // The whole answer, first byte to last, within the robot's timeout.
    let http = SpinHttp::within(std::time::Duration::from_secs(robot.timeout_secs));
    let mut response = match http.open(request).await {
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
                "chatbot: {} stream from {} did not start: {e}",
                robot.id,
                provider.label()
            );
            return None;
        }
    };
    let mut sse = llm::SseText::default();
    let judge = config.judge(robot);
    let mut pieces = Pieces::new(&judge, &robot.blocked_reply);
    let mut key: Option<String> = None;
    loop {
        let (deltas, mut done) = match response.chunk().await {
            Chunk::Data(data) => sse.push(&data),
            Chunk::Failed(e) => {
                eprintln!("chatbot: {} stream interrupted: {e}", robot.id);
                (Vec::new(), true)
            }
            Chunk::Expired => {
                eprintln!(
                    "chatbot: {} stream ended at the {} s timeout",
                    robot.id, robot.timeout_secs
                );
                (Vec::new(), true)
            }
            Chunk::End => (Vec::new(), true),
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
