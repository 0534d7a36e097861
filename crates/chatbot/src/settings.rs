//! Robots and providers, from the component's variables.
//!
//! `chatbot_robots` is a JSON array, one object per robot account:
//! `{"id": "@RBT#assistant", "providers": [{"kind": "openai", "model": "gpt-4o-mini"}, …], …}`.
//! Provider kinds name a configured endpoint — `openai`, `compat` (a second
//! OpenAI-compatible endpoint: DeepSeek, Qwen, Ollama, …), `anthropic`,
//! `minimax` — whose URL and key are variables (`llm_<kind>_url`,
//! `llm_<kind>_path`, `llm_<kind>_api_key`), so `allowed_outbound_hosts`
//! can name them and keys stay secret variables.

use llm::{Provider, ProviderKind};
use serde::Deserialize;

/// How conversation memory is keyed in groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupMemory {
    /// One conversation per (robot, group, user).
    User,
    /// One shared conversation per (robot, group).
    Group,
}

/// Conversation memory bounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryConfig {
    /// Group memory scope.
    pub group_scope: GroupMemory,
    /// Messages kept (user and assistant), oldest dropped first.
    pub max_messages: usize,
    /// Characters kept in all.
    pub max_chars: usize,
    /// Forget after this much idle time.
    pub idle_secs: u64,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            group_scope: GroupMemory::User,
            max_messages: 20,
            max_chars: 8_000,
            idle_secs: 1_800,
        }
    }
}

/// Per-user token bucket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateConfig {
    /// Burst size.
    pub capacity: f64,
    /// Tokens added per minute.
    pub per_minute: f64,
}

impl Default for RateConfig {
    fn default() -> Self {
        Self {
            capacity: 5.0,
            per_minute: 10.0,
        }
    }
}

/// What to do with an answer the moderation policy does not allow as it is,
/// or that contains a blocked word. An answer the policy drops or rejects
/// is always replaced by `blocked_reply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Screening {
    /// Mask what the policy masks and the blocked words with `*`.
    Mask,
    /// Replace the whole answer with `blocked_reply` on any finding.
    Block,
    /// Send as is (the operator's explicit choice: the robot's messages
    /// skip IM's before-send callback, so nothing else screens them).
    Off,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderRef {
    kind: String,
    model: String,
}

fn default_max_tokens() -> u32 {
    1024
}
fn default_timeout() -> u64 {
    30
}
fn default_clear() -> String {
    "/reset".into()
}
fn default_screening() -> Screening {
    Screening::Mask
}
fn default_hint() -> String {
    "I can only read text messages. Please type your question.".into()
}
fn default_apology() -> String {
    "Sorry, I can't answer right now. Please try again in a moment.".into()
}
fn default_rate_reply() -> String {
    "You're sending messages faster than I can answer. Please wait a moment.".into()
}
fn default_cleared() -> String {
    "Okay, I've forgotten our conversation.".into()
}
fn default_blocked() -> String {
    "Sorry, I can't share that answer.".into()
}

/// One robot, as `chatbot_robots` describes it, with its providers'
/// endpoints resolved.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Robot {
    /// Its IM account (`@RBT#…`).
    pub id: String,
    /// The providers as configured: a kind and a model each.
    #[serde(rename = "providers")]
    provider_refs: Vec<ProviderRef>,
    /// The providers to ask, in order: the next when one fails.
    #[serde(skip)]
    pub providers: Vec<Provider>,
    /// The system prompt, if any.
    #[serde(default)]
    pub system_prompt: Option<String>,
    /// The most tokens an answer may have.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Sampling temperature, when set.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// How long one provider attempt (or a whole stream) may take.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// What it remembers.
    #[serde(default)]
    pub memory: MemoryConfig,
    /// How often one user may ask it.
    #[serde(default)]
    pub rate_limit: RateConfig,
    /// The text that makes it forget the conversation.
    #[serde(default = "default_clear")]
    pub clear_command: String,
    /// Stream answers in one-to-one chats.
    #[serde(default)]
    pub stream: bool,
    /// What a finding in an answer leads to.
    #[serde(default = "default_screening")]
    pub screening: Screening,
    /// The reply to a message with no text.
    #[serde(default = "default_hint")]
    pub non_text_hint: String,
    /// The reply when no provider could answer.
    #[serde(default = "default_apology")]
    pub apology: String,
    /// The reply to a user over the rate limit.
    #[serde(default = "default_rate_reply")]
    pub rate_limited_reply: String,
    /// The reply to `clear_command`.
    #[serde(default = "default_cleared")]
    pub cleared_reply: String,
    /// What is sent instead of a blocked answer.
    #[serde(default = "default_blocked")]
    pub blocked_reply: String,
    /// Handing the conversation to people, when set.
    #[serde(default)]
    pub handoff: Option<crate::handoff::Handoff>,
}

/// A configuration the relay cannot run with; the message names the
/// variable and what is wrong with it (never a value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct SettingsError(String);

/// Everything the relay decides with, apart from how to reach IM.
pub struct Settings {
    /// The robots, by account.
    pub robots: Vec<Robot>,
    /// `chatbot_blocked_words`, compiled with the built-in lexicon's
    /// normalization (so `S E C R E T` is found as `secret` is).
    pub blocked_words: moderation::Lexicon,
    /// The moderator's policy (`moderator_policy`), applied to answers too.
    pub policy: screening::policy::Policy,
}

/// The provider kinds a robot may name, each a configured endpoint.
const KINDS: &str = "openai, compat, anthropic, minimax";

fn endpoint(
    kind: &str,
    variable: &impl Fn(&str) -> String,
) -> Result<(ProviderKind, String, String), SettingsError> {
    let wire = match kind {
        "openai" | "compat" => ProviderKind::OpenAi,
        "anthropic" => ProviderKind::Anthropic,
        "minimax" => ProviderKind::MiniMax,
        other => {
            return Err(SettingsError(format!(
                "chatbot_robots: unknown provider kind `{other}` ({KINDS})"
            )));
        }
    };
    let url = variable(&format!("llm_{kind}_url"));
    if url.is_empty() {
        return Err(SettingsError(format!("variable `llm_{kind}_url` is empty")));
    }
    let path = variable(&format!("llm_{kind}_path"));
    let key = variable(&format!("llm_{kind}_api_key"));
    Ok((wire, format!("{}{}", url.trim_end_matches('/'), path), key))
}

impl Settings {
    /// Reads and checks everything from `variable` (a variable's value,
    /// empty when unset); the error names what is wrong.
    pub fn from_variables(variable: impl Fn(&str) -> String) -> Result<Self, SettingsError> {
        let raw = variable("chatbot_robots");
        let inputs: Vec<Robot> = if raw.is_empty() {
            Vec::new()
        } else {
            serde_json::from_str(&raw)
                .map_err(|e| SettingsError(format!("chatbot_robots is not valid: {e}")))?
        };
        let mut robots: Vec<Robot> = Vec::new();
        for mut input in inputs {
            let fail =
                |what: &str| SettingsError(format!("chatbot_robots: robot `{}`{what}", input.id));
            if !input.id.starts_with("@RBT#") {
                return Err(SettingsError(format!(
                    "chatbot_robots: robot id `{}` must start with @RBT#",
                    input.id
                )));
            }
            if robots.iter().any(|r| r.id == input.id) {
                return Err(fail(" is listed twice"));
            }
            if input.provider_refs.is_empty() {
                return Err(fail(" has no providers"));
            }
            if input.memory.max_messages == 0
                || input.rate_limit.capacity < 1.0
                || input.timeout_secs == 0
            {
                return Err(fail(
                    ": memory.max_messages, rate_limit.capacity and timeout_secs must be positive",
                ));
            }
            if let Some(handoff) = &input.handoff {
                handoff.check().map_err(|e| fail(&format!(": {e}")))?;
                if input.stream && handoff.unsure_marker.is_some() {
                    // A streamed answer is sent before its mark could be
                    // taken out.
                    return Err(fail(
                        ": handoff.unsure_marker does not work with stream: true",
                    ));
                }
            }
            let mut providers = Vec::new();
            for p in &input.provider_refs {
                let (kind, base_url, api_key) = endpoint(&p.kind, &variable)?;
                providers.push(Provider {
                    kind,
                    base_url,
                    api_key,
                    model: p.model.clone(),
                });
            }
            input.providers = providers;
            robots.push(input);
        }
        let terms = variable("chatbot_blocked_words")
            .split([',', '\n'])
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(|w| moderation::Term::new(w, BLOCKED_WORD, 1))
            .collect();
        let blocked_words =
            moderation::Lexicon::with_options(terms, Vec::new(), *screening::builtin().options())
                .map_err(|e| SettingsError(format!("chatbot_blocked_words: {e}")))?;
        let policy = screening::policy::Policy::parse(&variable("moderator_policy"))
            .map_err(|e| SettingsError(e.to_string()))?;
        Ok(Self {
            robots,
            blocked_words,
            policy,
        })
    }

    /// The robot with this account id.
    pub fn robot(&self, id: &str) -> Option<&Robot> {
        self.robots.iter().find(|r| r.id == id)
    }
}

/// The category of a blocked word's hits, in logs.
pub const BLOCKED_WORD: &str = "blocked_word";

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(robots: &str) -> Result<Settings, SettingsError> {
        Settings::from_variables(|name| match name {
            "chatbot_robots" => robots.to_string(),
            "llm_openai_url" => "http://llm/".into(),
            "llm_openai_path" => "/v1/chat/completions".into(),
            "llm_openai_api_key" => "sk-never-shown".into(),
            _ => String::new(),
        })
    }

    fn error(robots: &str) -> String {
        parse(robots).err().expect("must be refused").to_string()
    }

    #[test]
    fn defaults_fill_what_a_robot_leaves_out() {
        let settings =
            parse(r#"[{"id": "@RBT#a", "providers": [{"kind": "openai", "model": "m"}]}]"#)
                .unwrap();
        let robot = settings.robot("@RBT#a").unwrap();
        assert_eq!(
            robot.providers[0].base_url,
            "http://llm/v1/chat/completions"
        );
        assert_eq!(robot.providers[0].api_key, "sk-never-shown");
        assert_eq!((robot.max_tokens, robot.timeout_secs), (1024, 30));
        assert_eq!(robot.memory.max_messages, 20);
        assert_eq!(robot.screening, Screening::Mask);
        assert_eq!(robot.clear_command, "/reset");
        assert!(settings.robot("@RBT#b").is_none());
        assert!(parse("").unwrap().robots.is_empty());
    }

    #[test]
    fn each_mistake_is_named_and_no_key_is_quoted() {
        let one = |extra: &str| {
            format!(
                r#"[{{"id": "@RBT#a", "providers": [{{"kind": "openai", "model": "m"}}]{extra}}}]"#
            )
        };
        assert!(error("{").starts_with("configuration: chatbot_robots is not valid"));
        assert!(
            error(r#"[{"id": "bot", "providers": []}]"#).contains("`bot` must start with @RBT#")
        );
        assert!(
            error(r#"[{"id": "@RBT#a", "providers": []}]"#).contains("`@RBT#a` has no providers")
        );
        assert!(error(&one(r#", "timeout_secs": 0"#)).contains("must be positive"));
        assert!(error(&one(r#", "colour": "red""#)).contains("unknown field `colour`"));
        let twice = format!(
            "[{}, {}]",
            &one("")[1..one("").len() - 1],
            &one("")[1..one("").len() - 1]
        );
        assert!(error(&twice).contains("`@RBT#a` is listed twice"));
        let unknown = error(r#"[{"id": "@RBT#a", "providers": [{"kind": "gpt", "model": "m"}]}]"#);
        assert!(unknown.contains("unknown provider kind `gpt`"), "{unknown}");
        let no_url =
            error(r#"[{"id": "@RBT#a", "providers": [{"kind": "anthropic", "model": "m"}]}]"#);
        assert_eq!(
            no_url,
            "configuration: variable `llm_anthropic_url` is empty"
        );
        for message in [unknown, no_url] {
            assert!(!message.contains("sk-never-shown"));
        }
    }
}
