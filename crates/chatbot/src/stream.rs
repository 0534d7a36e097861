//! A streamed answer cut into the pieces sent to IM: flushed at word
//! boundaries once enough is buffered, each piece judged as part of
//! everything sent before it, not alone. A term split across two deltas
//! ("go kill " then "yourself") is found in the joined text and masked in
//! the piece still to be sent; an answer that turns out to be blocked ends
//! the stream with the robot's `blocked_reply` instead of its next piece.
//!
//! ```
//! use chatbot::judge::Judge;
//! use chatbot::settings::Settings;
//! use chatbot::stream::{Piece, Pieces};
//!
//! let settings = Settings::from_variables(|name| match name {
//!     "chatbot_robots" => r#"[{"id": "@RBT#r", "providers": [{"kind": "openai", "model": "m"}]}]"#.into(),
//!     "llm_openai_url" => "http://llm".into(),
//!     _ => String::new(),
//! })
//! .unwrap();
//! let judge = Judge::new(&settings, &settings.robots[0], None);
//! let mut pieces = Pieces::new(&judge, &settings.robots[0].blocked_reply);
//! pieces.push("Hello");
//! assert_eq!(pieces.next(false, false), None, "too little to flush yet");
//! pieces.push(" there.");
//! assert_eq!(pieces.next(true, false), Some(Piece { text: "Hello there.".into(), last: true }));
//! assert_eq!(pieces.full(), "Hello there.");
//! ```

use crate::judge::{Judge, Screened};

/// Flush once this many characters are buffered (at a word boundary).
pub const FLUSH_CHARS: usize = 48;

/// The most of an answer a stream may bring; past it the stream is ended
/// (the robot's message finished with what came), so a runaway or hostile
/// provider cannot grow the instance's memory without bound.
pub const MAX_STREAM_BYTES: usize = 64 * 1024;

/// One piece of the robot's streamed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The text to send (possibly empty: a last piece that only ends the
    /// message).
    pub text: String,
    /// Whether it ends the message (`Finish: 1`).
    pub last: bool,
}

/// The text of a streamed answer so far, and how much of it was sent.
pub struct Pieces<'a> {
    judge: &'a Judge<'a>,
    blocked_reply: &'a str,
    /// Everything the provider sent.
    full: String,
    /// The part of `full` not yet sent: always its end.
    pending: String,
    /// Bytes of `full` sent.
    sent: usize,
}

impl<'a> Pieces<'a> {
    /// An empty answer judged by `judge`; `blocked_reply` replaces what an
    /// answer found blocked would have said next.
    pub fn new(judge: &'a Judge<'a>, blocked_reply: &'a str) -> Self {
        Self {
            judge,
            blocked_reply,
            full: String::new(),
            pending: String::new(),
            sent: 0,
        }
    }

    /// Adds a delta from the provider.
    pub fn push(&mut self, delta: &str) {
        self.pending.push_str(delta);
        self.full.push_str(delta);
    }

    /// Whether the answer has grown past [`MAX_STREAM_BYTES`]: the caller
    /// should end it.
    pub fn overflowed(&self) -> bool {
        self.full.len() > MAX_STREAM_BYTES
    }

    /// Everything the provider sent (what the robot remembers).
    pub fn full(&self) -> &str {
        &self.full
    }

    /// The piece to send now, if any. `done` says the provider's stream
    /// ended (or must end); `started` that a piece was sent already, so
    /// the message must be finished even with nothing left to say.
    pub fn next(&mut self, done: bool, started: bool) -> Option<Piece> {
        let cut = if done {
            self.pending.len()
        } else if self.pending.chars().count() >= FLUSH_CHARS {
            self.pending
                .rfind(char::is_whitespace)
                .map(|i| i + 1)
                .unwrap_or(0)
        } else {
            0
        };
        if cut == 0 && !(done && started) {
            return None;
        }
        let raw: String = self.pending.drain(..cut).collect();
        let before = self.sent;
        self.sent += cut;
        let piece = match self.judge.judge(&self.full[..self.sent]) {
            Screened::Clean => Piece {
                text: raw,
                last: done,
            },
            // The masked copy has the same characters at the same places:
            // this piece is its part after what was sent.
            Screened::Masked(masked) => Piece {
                text: masked
                    .chars()
                    .skip(self.full[..before].chars().count())
                    .collect(),
                last: done,
            },
            Screened::Blocked if before == 0 => Piece {
                text: self.blocked_reply.to_string(),
                last: true,
            },
            Screened::Blocked => Piece {
                text: format!("\n{}", self.blocked_reply),
                last: true,
            },
        };
        Some(piece)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn settings() -> Settings {
        Settings::from_variables(|name| match name {
            "chatbot_robots" => {
                r#"[{"id": "@RBT#r", "providers": [{"kind": "openai", "model": "m"}]}]"#.into()
            }
            "chatbot_blocked_words" => "secret".into(),
            "llm_openai_url" => "http://llm".into(),
            _ => String::new(),
        })
        .unwrap()
    }

    #[test]
    fn flushes_at_the_last_word_boundary_once_enough_is_buffered() {
        let settings = settings();
        let judge = Judge::new(&settings, &settings.robots[0], None);
        let mut pieces = Pieces::new(&judge, "blocked");
        pieces.push(&"word ".repeat(10));
        pieces.push("unfinis");
        let first = pieces.next(false, false).unwrap();
        assert_eq!(first.text, "word ".repeat(10));
        assert!(!first.last);
        assert_eq!(pieces.next(false, true), None);
        pieces.push("hed");
        assert_eq!(
            pieces.next(true, true),
            Some(Piece {
                text: "unfinished".into(),
                last: true
            })
        );
        // Nothing left, but the message must still be finished.
        let mut empty = Pieces::new(&judge, "blocked");
        assert_eq!(
            empty.next(true, true),
            Some(Piece {
                text: String::new(),
                last: true
            })
        );
        assert_eq!(Pieces::new(&judge, "blocked").next(true, false), None);
    }

    #[test]
    fn a_word_split_across_pieces_is_masked_in_the_piece_still_to_send() {
        let settings = settings();
        let judge = Judge::new(&settings, &settings.robots[0], None);
        let mut pieces = Pieces::new(&judge, "blocked");
        let lead = "x".repeat(FLUSH_CHARS) + " sec";
        pieces.push(&lead);
        let first = pieces.next(false, false).unwrap();
        assert_eq!(first.text, "x".repeat(FLUSH_CHARS) + " ");
        pieces.push("ret");
        let second = pieces.next(true, true).unwrap();
        assert_eq!(second.text, "******");
    }

    #[test]
    fn a_blocked_answer_ends_the_stream_with_the_blocked_reply() {
        let settings = settings();
        let judge = Judge::new(&settings, &settings.robots[0], None);
        let mut pieces = Pieces::new(&judge, "no.");
        pieces.push(&("fine words ".repeat(5)));
        assert!(!pieces.next(false, false).unwrap().last);
        pieces.push("go kill yourself");
        assert_eq!(
            pieces.next(true, true),
            Some(Piece {
                text: "\nno.".into(),
                last: true
            })
        );
        let mut first = Pieces::new(&judge, "no.");
        first.push("go kill yourself");
        assert_eq!(
            first.next(true, false),
            Some(Piece {
                text: "no.".into(),
                last: true
            })
        );
    }
}
