//! Switchboard's own signed calls: the scheme of the shipped Apex's
//! callouts to the Salesforce bridge and of the moderator's decision
//! events to a team's endpoint.
//!
//! Three headers: `X-Switchboard-Timestamp` (Unix seconds),
//! `X-Switchboard-Nonce` (16 to 64 characters of `A-Z a-z 0-9 _ -`, new
//! for every call) and `X-Switchboard-Signature` =
//! base64(HMAC-SHA256(secret, timestamp + "." + nonce + "." + raw body)).
//! The separators keep the fields apart: without them timestamp `1000` with
//! nonce `1…` would sign the same bytes as timestamp `10001` with nonce `…`.
//!
//! A receiver checks the timestamp against its window, the MAC in constant
//! time ([`crate::verify`] over [`content`]), then claims the nonce for the
//! window so a replayed call is refused.
//!
//! ```
//! use webhook_signature::switchboard::{content, signed_headers, SIGNATURE_HEADER};
//!
//! let body = br#"{"type":"moderation.decision"}"#;
//! let headers = signed_headers("s3cret", 1764147600, "0123456789abcdef", body);
//! let signature = &headers.iter().find(|(name, _)| *name == SIGNATURE_HEADER).unwrap().1;
//! let signed = content("1764147600", "0123456789abcdef", body);
//! assert!(webhook_signature::verify("s3cret", &signed, signature));
//! ```

/// Timestamp header (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-switchboard-timestamp";
/// Nonce header.
pub const NONCE_HEADER: &str = "x-switchboard-nonce";
/// Signature header.
pub const SIGNATURE_HEADER: &str = "x-switchboard-signature";

/// The parts a signature covers, in order.
pub fn content<'a>(timestamp: &'a str, nonce: &'a str, body: &'a [u8]) -> [&'a [u8]; 5] {
    [timestamp.as_bytes(), b".", nonce.as_bytes(), b".", body]
}

/// base64(HMAC-SHA256(secret, timestamp + "." + nonce + "." + body)).
pub fn sign(secret: &str, timestamp: &str, nonce: &str, body: &[u8]) -> String {
    crate::sign(secret, &content(timestamp, nonce, body))
}

/// The three headers of a signed call.
pub fn signed_headers(
    secret: &str,
    timestamp: u64,
    nonce: &str,
    body: &[u8],
) -> [(&'static str, String); 3] {
    let timestamp = timestamp.to_string();
    let signature = sign(secret, &timestamp, nonce, body);
    [
        (TIMESTAMP_HEADER, timestamp),
        (NONCE_HEADER, nonce.to_string()),
        (SIGNATURE_HEADER, signature),
    ]
}

/// How a signed POST fared: the attempts made and, when none succeeded,
/// the last failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Attempts made.
    pub attempts: u32,
    /// `Ok` with the status of the 2xx answer, or the last failure: a
    /// status (`HTTP 503`) or the transport's error (which names the URL
    /// without its query, never a header).
    pub result: Result<u16, String>,
}

/// POSTs `body` (JSON) to `url`, signed with `secret`, until it is
/// answered 2xx: after a failure that may pass (no answer, 408, 429, 5xx)
/// it waits the next of `backoff` and tries again; any other answer ends
/// it. Each attempt has its own timestamp and nonce (`<id>-<attempt>`, so
/// `id` must be 14 to 60 characters of `A-Z a-z 0-9 _ -`) and its own
/// transport from `transport` (each with its own deadline); `now` gives the
/// time to sign at. The receiver deduplicates by the id inside the body:
/// an attempt whose answer was lost is sent again.
pub async fn post_signed<T: transport::Transport>(
    transport: impl Fn() -> T,
    url: &str,
    secret: &str,
    id: &str,
    body: &[u8],
    now: impl Fn() -> u64,
    backoff: &[std::time::Duration],
) -> Sent {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let nonce = format!("{id}-{attempts}");
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        headers.extend(
            signed_headers(secret, now(), &nonce, body)
                .into_iter()
                .map(|(name, value)| (name.to_string(), value)),
        );
        let request = transport::HttpRequest {
            method: "POST",
            url: url.to_string(),
            headers,
            body: body.to_vec(),
            timeout: None,
        };
        let via = transport();
        let failure = match via.send(request).await {
            Ok(answer) if (200..300).contains(&answer.status) => {
                return Sent {
                    attempts,
                    result: Ok(answer.status),
                };
            }
            Ok(answer) => {
                let failure = format!("HTTP {}", answer.status);
                if !(answer.status == 408 || answer.status == 429 || answer.status >= 500) {
                    return Sent {
                        attempts,
                        result: Err(failure),
                    };
                }
                failure
            }
            Err(e) => e,
        };
        let Some(wait) = backoff.get(attempts as usize - 1) else {
            return Sent {
                attempts,
                result: Err(failure),
            };
        };
        via.sleep(*wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_separators_keep_fields_apart() {
        assert_ne!(
            sign("k", "1000", "1aaaaaaaaaaaaaaaa", b"{}"),
            sign("k", "10001", "aaaaaaaaaaaaaaaa", b"{}")
        );
    }

    #[test]
    fn a_post_is_retried_while_it_may_pass_and_each_attempt_is_signed_afresh() {
        use std::time::Duration;
        use transport::testing::{Scripted, answer, block_on};
        let script = Scripted::new(vec![
            Err("POST http://hooks.test/x: connection refused".into()),
            answer(503, &[], ""),
            answer(204, &[], ""),
        ]);
        let clock = std::cell::Cell::new(1000);
        let backoff = [Duration::from_secs(1), Duration::from_secs(4)];
        let sent = block_on(post_signed(
            || &script,
            "http://hooks.test/x",
            "k",
            "0123456789abcdef0123456789abcdef",
            b"{}",
            || {
                clock.set(clock.get() + 1);
                clock.get()
            },
            &backoff,
        ));
        assert_eq!(
            sent,
            Sent {
                attempts: 3,
                result: Ok(204)
            }
        );
        assert_eq!(script.slept(), backoff);
        let requests = script.sent();
        for (n, request) in requests.iter().enumerate() {
            let header = |name: &str| {
                request
                    .headers
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
                    .unwrap()
            };
            let nonce = format!("0123456789abcdef0123456789abcdef-{}", n + 1);
            assert_eq!(header(NONCE_HEADER), nonce);
            assert_eq!(header(TIMESTAMP_HEADER), (1001 + n).to_string());
            let signed = content(header(TIMESTAMP_HEADER), &nonce, b"{}");
            assert!(crate::verify("k", &signed, header(SIGNATURE_HEADER)));
            assert!(!crate::verify("other", &signed, header(SIGNATURE_HEADER)));
        }
    }

    #[test]
    fn a_refusal_ends_the_post_and_the_backoff_bounds_it() {
        use std::time::Duration;
        use transport::testing::{Scripted, answer, block_on};
        let id = "0123456789abcdef0123456789abcdef";
        for (answers, attempts, last) in [
            (vec![answer(401, &[], "bad signature")], 1, "HTTP 401"),
            (
                vec![answer(500, &[], ""), answer(429, &[], "")],
                2,
                "HTTP 429",
            ),
        ] {
            let script = Scripted::new(answers);
            let sent = block_on(post_signed(
                || &script,
                "http://h/x",
                "k",
                id,
                b"{}",
                || 1,
                &[Duration::from_secs(1)],
            ));
            let result = Err(last.to_string());
            assert_eq!(sent, Sent { attempts, result });
        }
    }

    #[test]
    fn a_known_vector() {
        // Computed independently: printf '1000.0123456789abcdef.{}' |
        // openssl dgst -sha256 -hmac k -binary | base64
        assert_eq!(
            sign("k", "1000", "0123456789abcdef", b"{}"),
            "UqOPfOhtelr897+Ftib8OcfYcbCifP3hQ4pQSZq33J8="
        );
    }
}
