//! The moderator's variables: the policy (see [`screening::policy`]) and
//! the external moderation service.

use connector::reply::optional_variable;
use llm::moderations::ModerationApi;
use screening::policy::Policy;

/// Everything a request needs.
pub struct Config {
    /// The policy.
    pub policy: Policy,
    /// The external service, when a key is configured.
    pub api: Option<ModerationApi>,
}

impl Config {
    /// Reads the variables; the error names the one at fault.
    pub fn load() -> Result<Self, String> {
        let policy = Policy::parse(&optional_variable("moderator_policy"))?;
        let key = optional_variable("moderation_api_key");
        let api = if key.is_empty() {
            None
        } else {
            let url = optional_variable("moderation_api_url");
            let path = optional_variable("moderation_api_path");
            Some(ModerationApi {
                base_url: format!("{}{}", url.trim_end_matches('/'), path),
                api_key: key,
                model: policy.external.model.clone(),
            })
        };
        Ok(Self { policy, api })
    }
}
