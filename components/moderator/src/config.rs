//! The moderator's variables: the policy (see [`screening::policy`]) and
//! the external moderation service it names.

use crate::external::External;
use connector::config::optional_variable;
use llm::moderations::ModerationApi;
use screening::policy::{Policy, Provider};
use tencent_cloud::tc3::Credential;
use tencent_cloud::{TencentModeration, VideoCallback};

/// Everything a request needs.
pub struct Config {
    /// The policy.
    pub policy: Policy,
    /// The external service, when its key is configured.
    pub api: Option<External>,
    /// Where Tencent Cloud posts video results, when configured
    /// (`tencent_video_callback_url` and `tencent_callback_seed`).
    pub video_callback: Option<VideoCallback>,
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
                        vm_url: optional_variable("tencent_vm_url"),
                        biz_type: optional_variable("tencent_biz_type"),
                    })
                })
            }
        };
        let video_callback = video_callback(
            optional_variable("tencent_video_callback_url"),
            optional_variable("tencent_callback_seed"),
        )?;
        Ok(Self {
            policy,
            api,
            video_callback,
        })
    }
}

/// Both or neither: a callback URL without a seed would accept results
/// anyone could forge, and a seed without a URL would never be used.
fn video_callback(url: String, seed: String) -> Result<Option<VideoCallback>, String> {
    match (url.trim(), seed.is_empty()) {
        ("", true) => Ok(None),
        ("", false) => {
            Err("tencent_callback_seed is set but tencent_video_callback_url is not".into())
        }
        (_, true) => {
            Err("tencent_video_callback_url is set but tencent_callback_seed is not".into())
        }
        // The value is not quoted: a URL may carry a credential.
        (url, false) if !(url.starts_with("https://") || url.starts_with("http://")) => {
            Err("tencent_video_callback_url must start with https:// (or http://)".into())
        }
        (url, false) => Ok(Some(VideoCallback {
            url: url.to_string(),
            seed,
        })),
    }
}
