//! `tim`: the server side of Tencent Cloud Chat ("IM", formerly TIM), in
//! Rust, with no I/O of its own so the same code runs natively and inside
//! Spin components (`wasm32-wasip2`).
//!
//! - [`events`]: typed webhook bodies and the answers IM expects.
//! - [`message`]: message bodies (`MsgBody`) and splitting long text.
//! - [`shown`]: every text a client shows for a message body, for screening.
//! - [`rest`]: the REST API client, over any [`transport::Transport`].
//! - [`usersig`]: generate and verify UserSigs (TLS sig API v2).
//! - [`webhook`]: verify that a webhook call comes from IM (`Sign`,
//!   `RequestTime`, `SdkAppid`).

#![warn(missing_docs)]

pub mod events;
pub mod message;
pub mod rest;
pub mod shown;
pub mod usersig;
pub mod webhook;

/// Outside input never panics a parser: IM webhook bodies and queries,
/// message elements, UserSigs. Run with every `cargo test`; a bounded fuzz.
#[cfg(test)]
mod no_panic {
    use proptest::prelude::*;

    /// Text made of JSON's own characters, so many cases get far into the
    /// parsers instead of failing at the first byte.
    fn jsonish() -> impl Strategy<Value = String> {
        proptest::string::string_regex(
            r#"[\[\]{}",:0-9a-zA-Z \\u\-\.]{0,200}|\[\{"MsgType":"TIM[A-Za-z]{0,12}Elem","MsgContent":[\[\]{}",:0-9a-zA-Z \\u]{0,120}\}\]"#,
        )
        .unwrap()
    }

    const COMMANDS: [&str; 8] = [
        "Group.CallbackBeforeSendMsg",
        "C2C.CallbackBeforeSendMsg",
        "Group.CallbackAfterSendMsg",
        "Bot.OnC2CMessage",
        "Group.CallbackBeforeCreateGroup",
        "Group.CallbackAfterNewMemberJoin",
        "State.StateChange",
        "Other.Command",
    ];

    proptest! {
        #[test]
        fn webhook_bodies(bytes in proptest::collection::vec(any::<u8>(), 0..400), text in jsonish(), i in 0usize..8) {
            let _ = crate::events::Event::parse(COMMANDS[i], &bytes);
            let _ = crate::events::Event::parse(COMMANDS[i], text.as_bytes());
            let lenient = crate::events::lenient_json_text(text.as_bytes());
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&lenient) {
                let body = value.get("MsgBody").cloned().unwrap_or(value);
                // Each on a fresh copy: replacing a raw `Data` moves the
                // texts shown from inside its JSON.
                for s in crate::shown::shown_texts(&body) {
                    prop_assert!(crate::shown::replace_at(&mut body.clone(), &s.path, "*"));
                }
                let _ = serde_json::from_value::<Vec<crate::message::MsgElement>>(body);
            }
        }

        #[test]
        fn queries_and_usersigs(query in ".{0,300}", sig in "[A-Za-z0-9*_\\-]{0,300}") {
            let _ = crate::webhook::WebhookQuery::parse(&query);
            let _ = crate::usersig::decode(&sig);
            let _ = crate::usersig::decode(&query);
            let signer = crate::usersig::Signer::new(1, "k");
            let _ = signer.verify("u", &sig, 0);
        }
    }
}
