//! The moderator's variables: the policy (see [`screening::policy`]) and
//! the external moderation service it names.

use crate::external::External;
use connector::config::optional_variable;
use llm::moderations::ModerationApi;
use screening::policy::{Policy, Provider};
use tencent_cloud::TencentModeration;
use tencent_cloud::tc3::Credential;

/// Everything a request needs.
pub struct Config {
    /// The policy.
    pub policy: Policy,
    /// The external service, when its key is configured.
    pub api: Option<External>,
}

impl Config {
    /// Reads the variables; the error names the one at fault.
    pub fn load() -> Result<Self, String> {
        let policy = Policy::parse(&optional_variable("moderator_policy"))?;
        let api = match policy.external.provider {
            Provider::OpenAi => {
                let key = optional_variable("moderation_api_key");
                (!key.is_empty()).then(|| {
                    let url = optional_variable("moderation_api_url");
                    let path = optional_variable("moderation_api_path");
                    External::OpenAi(ModerationApi {
                        base_url: format!("{}{}", url.trim_end_matches('/'), path),
                        api_key: key,
                        model: policy.external.model.clone(),
                    })
                })
            }
            Provider::Tencent => {
                let secret_key = optional_variable("tencent_secret_key");
                let secret_id = optional_variable("tencent_secret_id");
                if !secret_key.is_empty() && secret_id.is_empty() {
                    return Err("tencent_secret_key is set but tencent_secret_id is not".into());
                }
                (!secret_key.is_empty()).then(|| {
                    External::Tencent(TencentModeration {
                        credential: Credential {
                            secret_id,
                            secret_key,
                        },
                        region: optional_variable("tencent_region"),
                        tms_url: optional_variable("tencent_tms_url"),
                        ims_url: optional_variable("tencent_ims_url"),
                        ams_url: optional_variable("tencent_ams_url"),
                        biz_type: optional_variable("tencent_biz_type"),
                    })
                })
            }
        };
        Ok(Self { policy, api })
    }
}
