//! What the AI chatbot relay decides, apart from how it talks to Spin, IM
//! and the LLM providers, so every rule here is unit-tested natively.
//!
//! - [`settings`]: the robots (`chatbot_robots`), the blocked words and the
//!   moderation policy, read from the variables the component is given.
//! - [`conversation`]: a message to a robot, what the robot remembers of a
//!   conversation, and the keys those are stored under.
//! - [`handoff`]: when a robot hands the conversation to people (Zendesk
//!   or Salesforce), the transcript agents read first, and the state that
//!   keeps the robot quiet meanwhile.
//! - [`judge`]: what may be sent of an answer: the moderation policy, then
//!   the blocked words.
//! - [`stream`]: a streamed answer cut into the pieces sent to IM, each
//!   judged as part of everything sent before it.
//!
//! ```
//! use chatbot::judge::{Judge, Screened};
//! use chatbot::settings::Settings;
//!
//! let robots = r#"[{"id": "@RBT#helper", "providers": [{"kind": "openai", "model": "m"}]}]"#;
//! let settings = Settings::from_variables(|name| match name {
//!     "chatbot_robots" => robots.to_string(),
//!     "chatbot_blocked_words" => "secret".to_string(),
//!     "llm_openai_url" => "https://api.openai.com".to_string(),
//!     _ => String::new(),
//! })
//! .unwrap();
//! let robot = settings.robot("@RBT#helper").unwrap();
//! let judge = Judge::new(&settings, robot, None);
//! assert_eq!(judge.judge("the secret is out"), Screened::Masked("the ****** is out".into()));
//! ```

#![warn(missing_docs)]

pub mod conversation;
pub mod handoff;
pub mod judge;
pub mod settings;
pub mod stream;
