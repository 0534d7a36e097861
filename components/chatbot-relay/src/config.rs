//! Robots and providers, from Spin variables.
//!
//! `chatbot_robots` is a JSON array, one object per robot account:
//! `{"id": "@RBT#assistant", "providers": [{"kind": "openai", "model": "gpt-4o-mini"}, …], …}`.
//! Provider kinds name a configured endpoint — `openai`, `compat` (a second
//! OpenAI-compatible endpoint: DeepSeek, Qwen, Ollama, …), `anthropic`,
//! `minimax` — whose URL and key are variables (`llm_<kind>_url`,
//! `llm_<kind>_path`, `llm_<kind>_api_key`), so `allowed_outbound_hosts`
//! can name them and keys stay secret variables.

use connector::config::optional_variable as optional;
use connector::im::ImSettings;
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RobotInput {
    id: String,
    providers: Vec<ProviderRef>,
    #[serde(default)]
    system_prompt: Option<String>,
    #[serde(default = "default_max_tokens")]
    max_tokens: u32,
    #[serde(default)]
    temperature: Option<f32>,
    #[serde(default = "default_timeout")]
    timeout_secs: u64,
    #[serde(default)]
    memory: MemoryConfig,
    #[serde(default)]
    rate_limit: RateConfig,
    #[serde(default = "default_clear")]
    clear_command: String,
    #[serde(default)]
    stream: bool,
    #[serde(default = "default_screening")]
    screening: Screening,
    #[serde(default = "default_hint")]
    non_text_hint: String,
    #[serde(default = "default_apology")]
    apology: String,
    #[serde(default = "default_rate_reply")]
    rate_limited_reply: String,
    #[serde(default = "default_cleared")]
    cleared_reply: String,
    #[serde(default = "default_blocked")]
    blocked_reply: String,
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

/// One robot, ready to use.
#[derive(Debug, Clone)]
pub struct Robot {
    pub id: String,
    pub providers: Vec<Provider>,
    pub system_prompt: Option<String>,
    pub max_tokens: u32,
    pub temperature: Option<f32>,
    pub timeout_secs: u64,
    pub memory: MemoryConfig,
    pub rate_limit: RateConfig,
    pub clear_command: String,
    pub stream: bool,
    pub screening: Screening,
    pub non_text_hint: String,
    pub apology: String,
    pub rate_limited_reply: String,
    pub cleared_reply: String,
    pub blocked_reply: String,
}

/// Everything the relay needs.
pub struct Config {
    pub im: ImSettings,
    pub robots: Vec<Robot>,
    pub blocked_words: Vec<String>,
    /// The moderator's policy, applied to answers too.
    pub policy: screening::policy::Policy,
}

fn endpoint(kind: &str) -> Result<(ProviderKind, String, String), String> {
    let wire = match kind {
        "openai" | "compat" => ProviderKind::OpenAi,
        "anthropic" => ProviderKind::Anthropic,
        "minimax" => ProviderKind::MiniMax,
        other => {
            return Err(format!(
                "configuration: chatbot_robots: unknown provider kind `{other}` (openai, compat, anthropic, minimax)"
            ));
        }
    };
    let url = optional(&format!("llm_{kind}_url"));
    if url.is_empty() {
        return Err(format!("configuration: variable `llm_{kind}_url` is empty"));
    }
    let path = optional(&format!("llm_{kind}_path"));
    let key = optional(&format!("llm_{kind}_api_key"));
    Ok((wire, format!("{}{}", url.trim_end_matches('/'), path), key))
}

impl Config {
    /// Reads and checks everything; the error names what is wrong.
    pub fn load() -> Result<Self, String> {
        let raw = optional("chatbot_robots");
        let inputs: Vec<RobotInput> = if raw.is_empty() {
            Vec::new()
        } else {
            serde_json::from_str(&raw)
                .map_err(|e| format!("configuration: chatbot_robots is not valid: {e}"))?
        };
        let mut robots = Vec::new();
        for input in inputs {
            if !input.id.starts_with("@RBT#") {
                return Err(format!(
                    "configuration: chatbot_robots: robot id `{}` must start with @RBT#",
                    input.id
                ));
            }
            if input.providers.is_empty() {
                return Err(format!(
                    "configuration: chatbot_robots: robot `{}` has no providers",
                    input.id
                ));
            }
            if input.memory.max_messages == 0
                || input.rate_limit.capacity < 1.0
                || input.timeout_secs == 0
            {
                return Err(format!(
                    "configuration: chatbot_robots: robot `{}`: memory.max_messages, rate_limit.capacity and timeout_secs must be positive",
                    input.id
                ));
            }
            let mut providers = Vec::new();
            for p in &input.providers {
                let (kind, base_url, api_key) = endpoint(&p.kind)?;
                providers.push(Provider {
                    kind,
                    base_url,
                    api_key,
                    model: p.model.clone(),
                });
            }
            robots.push(Robot {
                id: input.id,
                providers,
                system_prompt: input.system_prompt,
                max_tokens: input.max_tokens,
                temperature: input.temperature,
                timeout_secs: input.timeout_secs,
                memory: input.memory,
                rate_limit: input.rate_limit,
                clear_command: input.clear_command,
                stream: input.stream,
                screening: input.screening,
                non_text_hint: input.non_text_hint,
                apology: input.apology,
                rate_limited_reply: input.rate_limited_reply,
                cleared_reply: input.cleared_reply,
                blocked_reply: input.blocked_reply,
            });
        }
        let blocked_words = optional("chatbot_blocked_words")
            .split([',', '\n'])
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty())
            .collect();
        let policy = screening::policy::Policy::parse(&optional("moderator_policy"))
            .map_err(|e| format!("configuration: {e}"))?;
        Ok(Self {
            im: ImSettings::load()?,
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
