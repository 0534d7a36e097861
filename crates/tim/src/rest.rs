//! The IM REST API client.
//!
//! Every call is `POST https://{domain}/v4/{service}/{command}?sdkappid=..&identifier=<admin>&usersig=..&random=<u32>&contenttype=json`
//! with a JSON body, answered with HTTP 200 and an envelope
//! `{ActionStatus, ErrorCode, ErrorInfo, ..}`. Non-zero codes become
//! [`ImError::Api`] with the code and text kept.
//!
//! The client does no I/O itself: it runs over a [`Transport`], so the same
//! code works over Spin's outbound HTTP in components and over any native
//! HTTP client in tests and tools.
//!
//! Retries are bounded and only where safe: rate-limit rejections
//! (60007/60018/60019: the request was not executed) are retried for every
//! command; network failures only for commands that are idempotent by
//! construction (group creation with an explicit id, membership changes,
//! reads, recalls, imports). Sends are never retried after a network failure,
//! since the message may have gone out.

use crate::message::MsgElement;
use crate::usersig::Signer;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Mutex;
use std::time::Duration;

/// IM's backend gives up after 3 s; the client waits longer than that.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A failed transport-level exchange (no envelope was received).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// How the client reaches IM: one JSON POST, and a way to wait between
/// retries.
///
/// Futures need not be `Send`: components run single-threaded.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// POSTs `body` to `url` and returns the response body of a 2xx answer.
    async fn post_json(
        &self,
        url: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError>;
    /// Waits before a retry.
    async fn sleep(&self, duration: Duration);
}

/// IM data-center regions and their REST domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// `console.tim.qq.com`.
    China,
    /// `adminapisgp.im.qcloud.com`.
    Singapore,
    /// `adminapikr.im.qcloud.com`.
    Seoul,
    /// `adminapijpn.im.qcloud.com`.
    Tokyo,
    /// `adminapiger.im.qcloud.com`.
    Frankfurt,
    /// `adminapiusa.im.qcloud.com`.
    SiliconValley,
    /// `adminapiidn.im.qcloud.com`.
    Jakarta,
}

impl Region {
    /// `https://<domain>`.
    pub fn base_url(self) -> &'static str {
        match self {
            Region::China => "https://console.tim.qq.com",
            Region::Singapore => "https://adminapisgp.im.qcloud.com",
            Region::Seoul => "https://adminapikr.im.qcloud.com",
            Region::Tokyo => "https://adminapijpn.im.qcloud.com",
            Region::Frankfurt => "https://adminapiger.im.qcloud.com",
            Region::SiliconValley => "https://adminapiusa.im.qcloud.com",
            Region::Jakarta => "https://adminapiidn.im.qcloud.com",
        }
    }

    /// Parses a region name (`china`, `singapore`, `seoul`, `tokyo`,
    /// `frankfurt`, `silicon-valley`, `jakarta`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(
            match name.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "china" | "cn" => Region::China,
                "singapore" | "sgp" => Region::Singapore,
                "seoul" | "kr" => Region::Seoul,
                "tokyo" | "jpn" => Region::Tokyo,
                "frankfurt" | "ger" => Region::Frankfurt,
                "silicon-valley" | "usa" => Region::SiliconValley,
                "jakarta" | "idn" => Region::Jakarta,
                _ => return None,
            },
        )
    }
}

/// Why a REST call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImError {
    /// The request was not sent: it breaks one of IM's rules.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No answer (network, timeout, non-2xx).
    #[error("IM {command}: transport failed: {error}")]
    Transport {
        /// `service/command`.
        command: &'static str,
        /// What went wrong.
        error: TransportError,
    },
    /// IM answered with a non-zero `ErrorCode`.
    #[error("IM {command} failed: ErrorCode {code}: {info}")]
    Api {
        /// `service/command`.
        command: &'static str,
        /// `ErrorCode`.
        code: i64,
        /// `ErrorInfo`.
        info: String,
    },
    /// The answer was not the expected JSON.
    #[error("IM {command}: unexpected response: {detail}")]
    Decode {
        /// `service/command`.
        command: &'static str,
        /// What was wrong.
        detail: String,
    },
}

impl ImError {
    /// The IM `ErrorCode`, when IM answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            ImError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Rate-limit codes: the request was refused before it ran.
const RATE_LIMITED: [i64; 3] = [60007, 60018, 60019];

/// Bounded exponential backoff.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the first retry; doubles each time.
    pub base_delay: Duration,
    /// Upper bound on one wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        }
    }
}

/// One REST command.
#[derive(Debug, Clone, Copy)]
struct Command {
    path: &'static str,
    /// Safe to send again after a network failure.
    idempotent: bool,
}

const CREATE_GROUP: Command = Command {
    path: "group_open_http_svc/create_group",
    idempotent: true,
};
const ADD_GROUP_MEMBER: Command = Command {
    path: "group_open_http_svc/add_group_member",
    idempotent: true,
};
const DELETE_GROUP_MEMBER: Command = Command {
    path: "group_open_http_svc/delete_group_member",
    idempotent: true,
};
const DESTROY_GROUP: Command = Command {
    path: "group_open_http_svc/destroy_group",
    idempotent: true,
};
const GET_GROUP_INFO: Command = Command {
    path: "group_open_http_svc/get_group_info",
    idempotent: true,
};
const MODIFY_GROUP_BASE_INFO: Command = Command {
    path: "group_open_http_svc/modify_group_base_info",
    idempotent: true,
};
const SEND_GROUP_MSG: Command = Command {
    path: "group_open_http_svc/send_group_msg",
    idempotent: false,
};
const SEND_GROUP_SYSTEM_NOTIFICATION: Command = Command {
    path: "group_open_http_svc/send_group_system_notification",
    idempotent: false,
};
const GROUP_MSG_RECALL: Command = Command {
    path: "group_open_http_svc/group_msg_recall",
    idempotent: true,
};
const FORBID_SEND_MSG: Command = Command {
    path: "group_open_http_svc/forbid_send_msg",
    idempotent: true,
};
const SET_NO_SPEAKING: Command = Command {
    path: "openconfigsvr/setnospeaking",
    idempotent: true,
};
const SEND_MSG: Command = Command {
    path: "openim/sendmsg",
    idempotent: false,
};
const ADMIN_MSG_WITHDRAW: Command = Command {
    path: "openim/admin_msgwithdraw",
    idempotent: true,
};
const ACCOUNT_IMPORT: Command = Command {
    path: "im_open_login_svc/account_import",
    idempotent: true,
};
const GROUP_MSG_GET_SIMPLE: Command = Command {
    path: "group_open_http_svc/group_msg_get_simple",
    idempotent: true,
};
const PORTRAIT_GET: Command = Command {
    path: "profile/portrait_get",
    idempotent: true,
};
const CREATE_ROBOT: Command = Command {
    path: "openim_robot_http_svc/create_robot",
    idempotent: true,
};
const SEND_STREAM_MSG: Command = Command {
    path: "openim_robot_http_svc/send_stream_msg",
    idempotent: false,
};

/// Connection settings.
#[derive(Clone)]
pub struct ImConfig {
    /// `https://<domain>` (see [`Region::base_url`]) or any base URL (an emulator).
    pub base_url: String,
    /// The admin account the calls are made as.
    pub admin: String,
    /// Signs the admin UserSig.
    pub signer: Signer,
    /// Per-call timeout.
    pub timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for ImConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImConfig")
            .field("base_url", &self.base_url)
            .field("admin", &self.admin)
            .field("signer", &self.signer)
            .finish()
    }
}

/// How long a generated admin UserSig lives, and how much of that is left
/// when it is renewed.
const ADMIN_SIG_LIFETIME: u64 = 7 * 86_400;
const ADMIN_SIG_RENEW_BEFORE: u64 = 86_400;

/// A REST client for one app.
pub struct Client<T> {
    transport: T,
    config: ImConfig,
    admin_sig: Mutex<Option<(String, u64)>>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "ActionStatus", default)]
    action_status: String,
    #[serde(rename = "ErrorCode", default)]
    error_code: i64,
    #[serde(rename = "ErrorInfo", default)]
    error_info: String,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A random `u32` (IM's `random`, `Random` and `MsgRandom`).
pub fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the platform provides randomness");
    u32::from_le_bytes(bytes)
}

impl<T: Transport> Client<T> {
    /// A client over `transport`.
    pub fn new(transport: T, config: ImConfig) -> Self {
        Self {
            transport,
            config,
            admin_sig: Mutex::new(None),
        }
    }

    /// The settings.
    pub fn config(&self) -> &ImConfig {
        &self.config
    }

    /// The admin UserSig, generated once and renewed a day before it expires.
    fn admin_usersig(&self) -> String {
        let now = now();
        let mut cached = self.admin_sig.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some((sig, expires)) if now + ADMIN_SIG_RENEW_BEFORE < *expires => sig.clone(),
            _ => {
                let sig = self
                    .config
                    .signer
                    .generate(&self.config.admin, now, ADMIN_SIG_LIFETIME);
                *cached = Some((sig.clone(), now + ADMIN_SIG_LIFETIME));
                sig
            }
        }
    }

    fn url(&self, command: Command) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("sdkappid", &self.config.signer.sdk_app_id().to_string())
            .append_pair("identifier", &self.config.admin)
            .append_pair("usersig", &self.admin_usersig())
            .append_pair("random", &random_u32().to_string())
            .append_pair("contenttype", "json");
        format!(
            "{}/v4/{}?{}",
            self.config.base_url.trim_end_matches('/'),
            command.path,
            query.finish()
        )
    }

    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        command: Command,
        request: &Req,
    ) -> Result<Resp, ImError> {
        let body =
            serde_json::to_vec(request).map_err(|e| ImError::InvalidRequest(e.to_string()))?;
        let retry = self.config.retry;
        let mut attempt = 1;
        loop {
            let outcome = self.call_once(command, body.clone()).await;
            let retryable = match &outcome {
                Err(ImError::Api { code, .. }) => RATE_LIMITED.contains(code),
                Err(ImError::Transport { .. }) => command.idempotent,
                _ => false,
            };
            if !retryable || attempt >= retry.max_attempts {
                return outcome;
            }
            let delay = retry
                .base_delay
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(retry.max_delay);
            self.transport.sleep(delay).await;
            attempt += 1;
        }
    }

    async fn call_once<Resp: DeserializeOwned>(
        &self,
        command: Command,
        body: Vec<u8>,
    ) -> Result<Resp, ImError> {
        let response = self
            .transport
            .post_json(&self.url(command), body, self.config.timeout)
            .await
            .map_err(|error| ImError::Transport {
                command: command.path,
                error,
            })?;
        let envelope: Envelope =
            serde_json::from_slice(&response).map_err(|e| ImError::Decode {
                command: command.path,
                detail: e.to_string(),
            })?;
        if envelope.error_code != 0 || envelope.action_status == "FAIL" {
            return Err(ImError::Api {
                command: command.path,
                code: envelope.error_code,
                info: envelope.error_info,
            });
        }
        serde_json::from_slice(&response).map_err(|e| ImError::Decode {
            command: command.path,
            detail: e.to_string(),
        })
    }
}

/// Checks a custom group id: printable ASCII, at most 48 bytes, not starting
/// with `@TGS#` (IM's own ids).
pub fn validate_group_id(group_id: &str) -> Result<(), ImError> {
    if group_id.is_empty() {
        return Err(ImError::InvalidRequest("group id is empty".into()));
    }
    if group_id.len() > 48 {
        return Err(ImError::InvalidRequest(format!(
            "group id `{group_id}` is {} bytes; IM allows at most 48",
            group_id.len()
        )));
    }
    if let Some(c) = group_id.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(ImError::InvalidRequest(format!(
            "group id `{group_id}` contains {c:?}; only printable ASCII is allowed"
        )));
    }
    if group_id.starts_with("@TGS#") {
        return Err(ImError::InvalidRequest(format!(
            "group id `{group_id}` must not start with `@TGS#` (reserved for IM-assigned ids)"
        )));
    }
    Ok(())
}

fn is_empty_vec<T>(v: &[T]) -> bool {
    v.is_empty()
}

/// A member to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberAccount {
    /// User id.
    #[serde(rename = "Member_Account")]
    pub account: String,
}

/// `create_group` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateGroup {
    /// `Public`, `Private`/`Work`, `ChatRoom`/`Meeting`, `AVChatRoom`, `Community`.
    #[serde(rename = "Type")]
    pub group_type: String,
    /// Name (≤ 30 bytes).
    #[serde(rename = "Name")]
    pub name: String,
    /// Custom group id.
    #[serde(rename = "GroupId", skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Owner.
    #[serde(rename = "Owner_Account", skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Introduction.
    #[serde(rename = "Introduction", skip_serializing_if = "Option::is_none")]
    pub introduction: Option<String>,
    /// `FreeAccess`, `NeedPermission`, `DisableApply`.
    #[serde(rename = "ApplyJoinOption", skip_serializing_if = "Option::is_none")]
    pub apply_join_option: Option<String>,
    /// Initial members.
    #[serde(rename = "MemberList", skip_serializing_if = "is_empty_vec")]
    pub members: Vec<MemberAccount>,
}

#[derive(Deserialize)]
struct CreateGroupResponse {
    #[serde(rename = "GroupId")]
    group_id: String,
}

/// Per-member outcome of `add_group_member`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AddResult {
    /// User id.
    #[serde(rename = "Member_Account")]
    pub account: String,
    /// 0 failed, 1 added, 2 already a member, 3 awaiting approval.
    #[serde(rename = "Result")]
    pub result: i64,
}

#[derive(Deserialize)]
struct AddGroupMemberResponse {
    #[serde(rename = "MemberList", default)]
    members: Vec<AddResult>,
}

/// The texts a client shows for a group, as `modify_group_base_info`
/// sets them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupTexts {
    /// `Name`.
    pub name: Option<String>,
    /// `Introduction`.
    pub introduction: Option<String>,
    /// `Notification`.
    pub notification: Option<String>,
}

/// One group from `get_group_info`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GroupInfo {
    /// Group id.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// Per-group error code (10010 / 10015 for a missing group).
    #[serde(rename = "ErrorCode", default)]
    pub error_code: i64,
    /// Per-group error text.
    #[serde(rename = "ErrorInfo", default)]
    pub error_info: String,
    /// Type.
    #[serde(rename = "Type", default)]
    pub group_type: Option<String>,
    /// Name.
    #[serde(rename = "Name", default)]
    pub name: Option<String>,
    /// Owner.
    #[serde(rename = "Owner_Account", default)]
    pub owner: Option<String>,
    /// Member count.
    #[serde(rename = "MemberNum", default)]
    pub member_num: Option<u64>,
    /// Members (when not filtered out).
    #[serde(rename = "MemberList", default)]
    pub members: Vec<MemberAccount>,
}

#[derive(Deserialize)]
struct GetGroupInfoResponse {
    #[serde(rename = "GroupInfo", default)]
    groups: Vec<GroupInfo>,
}

/// `@` mention in a group message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupAt {
    /// 1 for @all.
    #[serde(rename = "GroupAtAllFlag")]
    pub all: u8,
    /// The mentioned user.
    #[serde(rename = "GroupAt_Account", skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// `ForbidCallbackControl` values that stop a message from triggering the
/// before/after-send webhooks again (loop safety for bots).
pub const FORBID_SEND_CALLBACKS: [&str; 2] =
    ["ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"];

/// `send_group_msg` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SendGroupMsg {
    /// Group id.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// Random; IM discards a repeat of the same content and random within 5 min.
    #[serde(rename = "Random")]
    pub random: u32,
    /// Body.
    #[serde(rename = "MsgBody")]
    pub body: Vec<MsgElement>,
    /// Sender shown to members (default: the admin).
    #[serde(rename = "From_Account", skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Webhooks to suppress.
    #[serde(rename = "ForbidCallbackControl", skip_serializing_if = "is_empty_vec")]
    pub forbid_callback_control: Vec<String>,
    /// Mentions, in text order.
    #[serde(rename = "GroupAtInfo", skip_serializing_if = "is_empty_vec")]
    pub group_at: Vec<GroupAt>,
    /// `CloudCustomData`.
    #[serde(rename = "CloudCustomData", skip_serializing_if = "Option::is_none")]
    pub cloud_custom_data: Option<String>,
}

/// One message of a group's history (`group_msg_get_simple`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HistoryMessage {
    /// `MsgSeq`: the message's place in the group, oldest first.
    #[serde(rename = "MsgSeq")]
    pub seq: u64,
    /// Sender.
    #[serde(rename = "From_Account", default)]
    pub from: String,
    /// `MsgRandom`.
    #[serde(rename = "MsgRandom", default)]
    pub random: u64,
    /// Unix seconds.
    #[serde(rename = "MsgTimeStamp", default)]
    pub time: u64,
    /// 1 when the message expired, failed to be stored, or was deleted or
    /// recalled: only its place is left.
    #[serde(rename = "IsPlaceMsg", default)]
    pub is_place_msg: u8,
    /// Body (empty for a place message).
    #[serde(rename = "MsgBody", default)]
    pub body: Vec<MsgElement>,
}

/// A page of a group's history, newest first as IM returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GroupHistory {
    /// Messages.
    #[serde(rename = "RspMsgList", default)]
    pub messages: Vec<HistoryMessage>,
    /// 1 when every message up to the requested one was returned.
    #[serde(rename = "IsFinished", default)]
    pub is_finished: u8,
}

#[derive(Deserialize)]
struct PortraitGetResponse {
    #[serde(rename = "UserProfileItem", default)]
    items: Vec<PortraitItem>,
}

#[derive(Deserialize)]
struct PortraitItem {
    #[serde(rename = "To_Account", default)]
    account: String,
    #[serde(rename = "ProfileItem", default)]
    profile: Vec<ProfileTag>,
}

#[derive(Deserialize)]
struct ProfileTag {
    #[serde(rename = "Tag", default)]
    tag: String,
    #[serde(rename = "Value", default)]
    value: Value,
}

/// Identity of a sent group message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GroupMsgSent {
    /// `MsgSeq`: with the group id, identifies the message.
    #[serde(rename = "MsgSeq", default)]
    pub msg_seq: u64,
    /// `MsgTime`.
    #[serde(rename = "MsgTime", default)]
    pub msg_time: u64,
}

/// `openim/sendmsg` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SendMsg {
    /// 1 sync to sender's devices, 2 don't.
    #[serde(rename = "SyncOtherMachine", skip_serializing_if = "Option::is_none")]
    pub sync_other_machine: Option<u8>,
    /// Sender (default: the admin).
    #[serde(rename = "From_Account", skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Recipient.
    #[serde(rename = "To_Account")]
    pub to: String,
    /// Random.
    #[serde(rename = "MsgRandom")]
    pub random: u32,
    /// Body.
    #[serde(rename = "MsgBody")]
    pub body: Vec<MsgElement>,
    /// Webhooks to suppress.
    #[serde(rename = "ForbidCallbackControl", skip_serializing_if = "is_empty_vec")]
    pub forbid_callback_control: Vec<String>,
    /// `CloudCustomData`.
    #[serde(rename = "CloudCustomData", skip_serializing_if = "Option::is_none")]
    pub cloud_custom_data: Option<String>,
}

impl SendMsg {
    /// A one-to-one text from `from` (the administrator when `None`) that
    /// fires no send callback and is not synced to the sender's devices:
    /// what a service says to a user (a robot's answer, a moderator's
    /// notice).
    pub fn service_text(from: Option<String>, to: &str, text: impl Into<String>) -> Self {
        SendMsg {
            sync_other_machine: Some(2),
            from,
            to: to.to_string(),
            random: random_u32(),
            body: vec![MsgElement::text(text)],
            forbid_callback_control: FORBID_SEND_CALLBACKS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            cloud_custom_data: None,
        }
    }
}

/// Identity of a sent one-to-one message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct C2cMsgSent {
    /// `MsgKey`, needed to recall it.
    #[serde(rename = "MsgKey", default)]
    pub msg_key: String,
    /// `MsgTime`.
    #[serde(rename = "MsgTime", default)]
    pub msg_time: u64,
}

/// Per-message outcome of `group_msg_recall`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecallResult {
    /// The message.
    #[serde(rename = "MsgSeq")]
    pub msg_seq: u64,
    /// 0 recalled, else an error code.
    #[serde(rename = "RetCode")]
    pub ret_code: i64,
}

#[derive(Deserialize)]
struct RecallResponse {
    #[serde(rename = "RecallRetList", default)]
    results: Vec<RecallResult>,
}

#[derive(Deserialize)]
struct Empty {}

/// Whether an idempotent helper did the work or found it already done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This call did it.
    Done,
    /// It was already so.
    AlreadyDone,
}

impl<T: Transport> Client<T> {
    /// `create_group`; returns the group id.
    pub async fn create_group(&self, request: &CreateGroup) -> Result<String, ImError> {
        if let Some(id) = &request.group_id {
            validate_group_id(id)?;
        }
        if request.name.is_empty() || request.name.len() > 30 {
            return Err(ImError::InvalidRequest(format!(
                "group name must be 1 to 30 bytes, got {}",
                request.name.len()
            )));
        }
        let response: CreateGroupResponse = self.call(CREATE_GROUP, request).await?;
        Ok(response.group_id)
    }

    /// Creates the group with its custom id unless it exists: 10021 and
    /// 10025 ("already used") count as existing.
    pub async fn ensure_group(&self, request: &CreateGroup) -> Result<Outcome, ImError> {
        if request.group_id.is_none() {
            return Err(ImError::InvalidRequest(
                "ensure_group needs an explicit group id".into(),
            ));
        }
        match self.create_group(request).await {
            Ok(_) => Ok(Outcome::Done),
            Err(e) if matches!(e.code(), Some(10021 | 10025)) => Ok(Outcome::AlreadyDone),
            Err(e) => Err(e),
        }
    }

    /// `add_group_member`, returning each member's `Result`.
    pub async fn add_group_member(
        &self,
        group_id: &str,
        accounts: &[String],
        silence: bool,
    ) -> Result<Vec<AddResult>, ImError> {
        validate_group_id_for_call(group_id)?;
        let request = serde_json::json!({
            "GroupId": group_id,
            "Silence": u8::from(silence),
            "MemberList": accounts.iter().map(|a| MemberAccount { account: a.clone() }).collect::<Vec<_>>(),
        });
        let response: AddGroupMemberResponse = self.call(ADD_GROUP_MEMBER, &request).await?;
        Ok(response.members)
    }

    /// Adds one member; already being a member (`Result` 2) counts as done.
    pub async fn ensure_member(&self, group_id: &str, account: &str) -> Result<Outcome, ImError> {
        let results = self
            .add_group_member(group_id, &[account.to_string()], false)
            .await?;
        match results
            .iter()
            .find(|r| r.account == account)
            .map(|r| r.result)
        {
            Some(1) | Some(3) => Ok(Outcome::Done),
            Some(2) => Ok(Outcome::AlreadyDone),
            other => Err(ImError::Api {
                command: ADD_GROUP_MEMBER.path,
                code: 10013,
                info: format!("member `{account}` was not added (Result {other:?})"),
            }),
        }
    }

    /// `delete_group_member` (succeeds for users not in the group).
    pub async fn delete_group_member(
        &self,
        group_id: &str,
        accounts: &[String],
        silence: bool,
    ) -> Result<(), ImError> {
        validate_group_id_for_call(group_id)?;
        let request = serde_json::json!({
            "GroupId": group_id,
            "Silence": u8::from(silence),
            "MemberToDel_Account": accounts,
        });
        let _: Empty = self.call(DELETE_GROUP_MEMBER, &request).await?;
        Ok(())
    }

    /// `destroy_group`.
    pub async fn destroy_group(&self, group_id: &str) -> Result<(), ImError> {
        validate_group_id_for_call(group_id)?;
        let _: Empty = self
            .call(DESTROY_GROUP, &serde_json::json!({ "GroupId": group_id }))
            .await?;
        Ok(())
    }

    /// Destroys the group; 10010 (already gone) counts as done.
    pub async fn dissolve_group(&self, group_id: &str) -> Result<Outcome, ImError> {
        match self.destroy_group(group_id).await {
            Ok(()) => Ok(Outcome::Done),
            Err(e) if e.code() == Some(10010) => Ok(Outcome::AlreadyDone),
            Err(e) => Err(e),
        }
    }

    /// `get_group_info`; check each group's own `error_code`.
    pub async fn get_group_info(&self, group_ids: &[String]) -> Result<Vec<GroupInfo>, ImError> {
        if group_ids.is_empty() || group_ids.len() > 50 {
            return Err(ImError::InvalidRequest(
                "get_group_info takes 1 to 50 group ids".into(),
            ));
        }
        let response: GetGroupInfoResponse = self
            .call(
                GET_GROUP_INFO,
                &serde_json::json!({ "GroupIdList": group_ids }),
            )
            .await?;
        Ok(response.groups)
    }

    /// `modify_group_base_info`: sets the given texts of a group (`None`
    /// leaves a field as it is). As an administrator's change, it fires
    /// `Group.CallbackAfterGroupInfoChanged` with `Operator_Account` set
    /// to the administrator.
    pub async fn modify_group_base_info(
        &self,
        group_id: &str,
        texts: &GroupTexts,
    ) -> Result<(), ImError> {
        validate_group_id_for_call(group_id)?;
        let mut request = serde_json::json!({ "GroupId": group_id });
        for (field, value) in [
            ("Name", &texts.name),
            ("Introduction", &texts.introduction),
            ("Notification", &texts.notification),
        ] {
            if let Some(value) = value {
                request[field] = value.as_str().into();
            }
        }
        let _: Empty = self.call(MODIFY_GROUP_BASE_INFO, &request).await?;
        Ok(())
    }

    /// `send_group_msg`.
    pub async fn send_group_msg(&self, request: &SendGroupMsg) -> Result<GroupMsgSent, ImError> {
        validate_group_id_for_call(&request.group_id)?;
        self.call(SEND_GROUP_MSG, request).await
    }

    /// `send_group_system_notification` to all members (`to` empty) or some.
    pub async fn send_group_system_notification(
        &self,
        group_id: &str,
        content: &str,
        to: &[String],
    ) -> Result<(), ImError> {
        validate_group_id_for_call(group_id)?;
        let mut request = serde_json::json!({ "GroupId": group_id, "Content": content });
        if !to.is_empty() {
            request["ToMembers_Account"] = serde_json::json!(to);
        }
        let _: Empty = self.call(SEND_GROUP_SYSTEM_NOTIFICATION, &request).await?;
        Ok(())
    }

    /// `group_msg_recall`.
    pub async fn group_msg_recall(
        &self,
        group_id: &str,
        msg_seqs: &[u64],
    ) -> Result<Vec<RecallResult>, ImError> {
        validate_group_id_for_call(group_id)?;
        let list: Vec<Value> = msg_seqs
            .iter()
            .map(|s| serde_json::json!({ "MsgSeq": s }))
            .collect();
        let response: RecallResponse = self
            .call(
                GROUP_MSG_RECALL,
                &serde_json::json!({ "GroupId": group_id, "MsgSeqList": list }),
            )
            .await?;
        Ok(response.results)
    }

    /// `forbid_send_msg`: mutes members of a group for `mute_secs` (IM
    /// lifts it then; 0 lifts it now). At most 500 members; work groups
    /// (`Private`) cannot mute members.
    pub async fn forbid_send_msg(
        &self,
        group_id: &str,
        members: &[String],
        mute_secs: u64,
    ) -> Result<(), ImError> {
        validate_group_id_for_call(group_id)?;
        if members.is_empty() || members.len() > 500 {
            return Err(ImError::InvalidRequest(
                "forbid_send_msg takes 1 to 500 members".into(),
            ));
        }
        let _: Empty = self
            .call(
                FORBID_SEND_MSG,
                &serde_json::json!({ "GroupId": group_id, "Members_Account": members, "MuteTime": mute_secs }),
            )
            .await?;
        Ok(())
    }

    /// `openconfigsvr/setnospeaking`: mutes an account's one-to-one and/or
    /// group messages everywhere for the given seconds (`u32::MAX` forever,
    /// 0 lifts it); `None` leaves that side as it is.
    pub async fn set_no_speaking(
        &self,
        account: &str,
        c2c_secs: Option<u64>,
        group_secs: Option<u64>,
    ) -> Result<(), ImError> {
        if c2c_secs.is_none() && group_secs.is_none() {
            return Err(ImError::InvalidRequest(
                "setnospeaking needs a one-to-one or a group muting time".into(),
            ));
        }
        let mut request = serde_json::json!({ "Set_Account": account });
        for (field, secs) in [
            ("C2CmsgNospeakingTime", c2c_secs),
            ("GroupmsgNospeakingTime", group_secs),
        ] {
            if let Some(secs) = secs {
                request[field] = secs.min(u64::from(u32::MAX)).into();
            }
        }
        let _: Empty = self.call(SET_NO_SPEAKING, &request).await?;
        Ok(())
    }

    /// `openim/sendmsg`.
    pub async fn send_msg(&self, request: &SendMsg) -> Result<C2cMsgSent, ImError> {
        if request.to.is_empty() {
            return Err(ImError::InvalidRequest("To_Account is empty".into()));
        }
        self.call(SEND_MSG, request).await
    }

    /// `openim/admin_msgwithdraw`.
    pub async fn admin_msg_withdraw(
        &self,
        from: &str,
        to: &str,
        msg_key: &str,
    ) -> Result<(), ImError> {
        let _: Empty = self
            .call(
                ADMIN_MSG_WITHDRAW,
                &serde_json::json!({ "From_Account": from, "To_Account": to, "MsgKey": msg_key }),
            )
            .await?;
        Ok(())
    }

    /// `account_import` (idempotent on IM's side).
    pub async fn account_import(&self, user_id: &str, nick: Option<&str>) -> Result<(), ImError> {
        self.import_account(user_id, nick, None).await
    }

    /// `account_import` with a profile picture (`FaceUrl`) as well as a
    /// nickname.
    pub async fn account_import_with_face(
        &self,
        user_id: &str,
        nick: &str,
        face_url: Option<&str>,
    ) -> Result<(), ImError> {
        self.import_account(user_id, Some(nick), face_url).await
    }

    async fn import_account(
        &self,
        user_id: &str,
        nick: Option<&str>,
        face_url: Option<&str>,
    ) -> Result<(), ImError> {
        if user_id.is_empty() || user_id.len() > 32 {
            return Err(ImError::InvalidRequest(format!(
                "user id `{user_id}` must be 1 to 32 bytes"
            )));
        }
        let mut request = serde_json::json!({ "UserID": user_id });
        if let Some(nick) = nick {
            request["Nick"] = serde_json::json!(nick);
        }
        if let Some(url) = face_url {
            request["FaceUrl"] = serde_json::json!(url);
        }
        let _: Empty = self.call(ACCOUNT_IMPORT, &request).await?;
        Ok(())
    }

    /// `group_msg_get_simple`: the `count` (1 to 20) newest messages of
    /// `group_id` up to `up_to_seq` (all of them when `None`), newest first.
    /// Page back by asking again up to the smallest `seq` minus one.
    pub async fn group_msg_get_simple(
        &self,
        group_id: &str,
        up_to_seq: Option<u64>,
        count: u32,
    ) -> Result<GroupHistory, ImError> {
        validate_group_id_for_call(group_id)?;
        if !(1..=20).contains(&count) {
            return Err(ImError::InvalidRequest(
                "group_msg_get_simple returns 1 to 20 messages".into(),
            ));
        }
        let mut request = serde_json::json!({ "GroupId": group_id, "ReqMsgNumber": count });
        if let Some(seq) = up_to_seq {
            request["ReqMsgSeq"] = serde_json::json!(seq);
        }
        self.call(GROUP_MSG_GET_SIMPLE, &request).await
    }

    /// `portrait_get`: the nickname (`Tag_Profile_IM_Nick`) of each of
    /// `accounts` (1 to 100) that has one.
    pub async fn nicknames(
        &self,
        accounts: &[String],
    ) -> Result<std::collections::BTreeMap<String, String>, ImError> {
        if accounts.is_empty() || accounts.len() > 100 {
            return Err(ImError::InvalidRequest(
                "portrait_get takes 1 to 100 accounts".into(),
            ));
        }
        let response: PortraitGetResponse = self
            .call(
                PORTRAIT_GET,
                &serde_json::json!({ "To_Account": accounts, "TagList": ["Tag_Profile_IM_Nick"] }),
            )
            .await?;
        Ok(response
            .items
            .into_iter()
            .filter_map(|item| {
                let nick = item
                    .profile
                    .into_iter()
                    .find(|t| t.tag == "Tag_Profile_IM_Nick")?
                    .value
                    .as_str()?
                    .to_string();
                (!nick.is_empty()).then_some((item.account, nick))
            })
            .collect())
    }

    /// `openim_robot_http_svc/send_stream_msg`: the first chunk (no
    /// `msg_key`) starts a robot's streamed one-to-one reply and returns its
    /// `MsgKey`; later chunks pass it; `finish` marks the last.
    pub async fn send_stream_msg(
        &self,
        robot: &str,
        to: &str,
        chunk: &str,
        msg_key: Option<&str>,
        finish: bool,
    ) -> Result<String, ImError> {
        let mut request =
            serde_json::json!({ "From_Account": robot, "To_Account": to, "Chunk": chunk });
        if let Some(key) = msg_key {
            request["MsgKey"] = serde_json::json!(key);
        }
        if finish {
            request["Finish"] = serde_json::json!(1);
        }
        #[derive(Deserialize)]
        struct Sent {
            #[serde(rename = "MsgKey", default)]
            msg_key: String,
        }
        let sent: Sent = self.call(SEND_STREAM_MSG, &request).await?;
        Ok(if sent.msg_key.is_empty() {
            msg_key.unwrap_or_default().to_string()
        } else {
            sent.msg_key
        })
    }

    /// `create_robot`; robot ids start with `@RBT#`.
    pub async fn create_robot(&self, user_id: &str, nick: Option<&str>) -> Result<(), ImError> {
        if !user_id.starts_with("@RBT#") || user_id.len() > 32 {
            return Err(ImError::InvalidRequest(format!(
                "robot id `{user_id}` must start with `@RBT#` and be at most 32 bytes"
            )));
        }
        let mut request = serde_json::json!({ "UserID": user_id });
        if let Some(nick) = nick {
            request["Nick"] = serde_json::json!(nick);
        }
        let _: Empty = self.call(CREATE_ROBOT, &request).await?;
        Ok(())
    }
}

/// Ids passed to calls on existing groups may be IM-assigned (`@TGS#…`), so
/// only the length and character rules apply.
fn validate_group_id_for_call(group_id: &str) -> Result<(), ImError> {
    if group_id.starts_with("@TGS#") && group_id.len() <= 48 {
        return Ok(());
    }
    validate_group_id(group_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    /// Answers from a script and records what was sent.
    struct Scripted {
        answers: RefCell<VecDeque<Result<Value, TransportError>>>,
        sent: RefCell<Vec<(String, Value)>>,
        slept: RefCell<Vec<Duration>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Value, TransportError>>) -> Self {
            Self {
                answers: RefCell::new(answers.into()),
                sent: RefCell::default(),
                slept: RefCell::default(),
            }
        }
    }

    impl Transport for &Scripted {
        async fn post_json(
            &self,
            url: &str,
            body: Vec<u8>,
            _: Duration,
        ) -> Result<Vec<u8>, TransportError> {
            self.sent
                .borrow_mut()
                .push((url.to_string(), serde_json::from_slice(&body).unwrap()));
            let answer = self
                .answers
                .borrow_mut()
                .pop_front()
                .expect("no scripted answer left")?;
            Ok(serde_json::to_vec(&answer).unwrap())
        }
        async fn sleep(&self, duration: Duration) {
            self.slept.borrow_mut().push(duration);
        }
    }

    fn client(t: &Scripted) -> Client<&Scripted> {
        Client::new(
            t,
            ImConfig {
                base_url: "http://im.test/".into(),
                admin: "administrator".into(),
                signer: Signer::new(1400000000, "key"),
                timeout: DEFAULT_TIMEOUT,
                retry: RetryPolicy::default(),
            },
        )
    }

    fn ok(extra: Value) -> Result<Value, TransportError> {
        let mut v = serde_json::json!({"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""});
        if let Value::Object(map) = extra {
            v.as_object_mut().unwrap().extend(map);
        }
        Ok(v)
    }

    fn fail(code: i64, info: &str) -> Result<Value, TransportError> {
        Ok(serde_json::json!({"ActionStatus":"FAIL","ErrorCode":code,"ErrorInfo":info}))
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        // The scripted transport never pends, so one poll completes it.
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("pending"),
        }
    }

    #[test]
    fn url_and_body_follow_the_convention() {
        let t = Scripted::new(vec![ok(serde_json::json!({"GroupId":"CASE#1"}))]);
        let c = client(&t);
        let request = CreateGroup {
            group_type: "Public".into(),
            name: "Case 1".into(),
            group_id: Some("CASE#1".into()),
            members: vec![MemberAccount {
                account: "alice".into(),
            }],
            ..Default::default()
        };
        assert_eq!(block_on(c.create_group(&request)).unwrap(), "CASE#1");
        let (url, body) = &t.sent.borrow()[0];
        assert!(url.starts_with("http://im.test/v4/group_open_http_svc/create_group?sdkappid=1400000000&identifier=administrator&usersig="));
        assert!(url.contains("&random=") && url.ends_with("&contenttype=json"));
        assert_eq!(body["MemberList"][0]["Member_Account"], "alice");
        assert!(body.get("Owner_Account").is_none());
        // The admin UserSig in the URL verifies.
        let sig = url
            .split("usersig=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let sig: String = form_urlencoded::parse(format!("s={sig}").as_bytes())
            .next()
            .unwrap()
            .1
            .into();
        assert!(
            Signer::new(1400000000, "key")
                .verify("administrator", &sig, now())
                .is_ok()
        );
    }

    #[test]
    fn errors_keep_code_and_text_and_idempotent_helpers_absorb_done_states() {
        let t = Scripted::new(vec![
            fail(10021, "group id used"),
            fail(10010, "group not found"),
            fail(10007, "no permission"),
            ok(serde_json::json!({"MemberList":[{"Member_Account":"bob","Result":2}]})),
        ]);
        let c = client(&t);
        let request = CreateGroup {
            group_type: "Public".into(),
            name: "n".into(),
            group_id: Some("G1".into()),
            ..Default::default()
        };
        assert_eq!(block_on(c.ensure_group(&request)), Ok(Outcome::AlreadyDone));
        assert_eq!(block_on(c.dissolve_group("G1")), Ok(Outcome::AlreadyDone));
        assert_eq!(
            block_on(c.destroy_group("G1")),
            Err(ImError::Api {
                command: "group_open_http_svc/destroy_group",
                code: 10007,
                info: "no permission".into()
            })
        );
        assert_eq!(
            block_on(c.ensure_member("G1", "bob")),
            Ok(Outcome::AlreadyDone)
        );
    }

    #[test]
    fn rate_limits_are_retried_with_backoff_sends_are_not_retried_after_network_errors() {
        let t = Scripted::new(vec![
            fail(60018, "busy"),
            fail(60007, "busy"),
            ok(serde_json::json!({})),
        ]);
        let c = client(&t);
        assert!(block_on(c.destroy_group("G1")).is_ok());
        assert_eq!(
            *t.slept.borrow(),
            [Duration::from_millis(200), Duration::from_millis(400)]
        );

        let t = Scripted::new(vec![Err(TransportError("reset".into()))]);
        let c = client(&t);
        let send = SendMsg {
            to: "bob".into(),
            random: 1,
            body: vec![MsgElement::text("hi")],
            ..Default::default()
        };
        assert!(matches!(
            block_on(c.send_msg(&send)),
            Err(ImError::Transport { .. })
        ));
        assert_eq!(t.sent.borrow().len(), 1);

        let t = Scripted::new(vec![
            Err(TransportError("reset".into())),
            Err(TransportError("reset".into())),
            Err(TransportError("reset".into())),
        ]);
        let c = client(&t);
        assert!(matches!(
            block_on(c.destroy_group("G1")),
            Err(ImError::Transport { .. })
        ));
        assert_eq!(t.sent.borrow().len(), 3, "bounded at max_attempts");
    }

    #[test]
    fn group_id_rules() {
        assert!(validate_group_id("ZENDESK#5158").is_ok());
        assert!(validate_group_id(&"x".repeat(48)).is_ok());
        assert!(validate_group_id(&"x".repeat(49)).is_err());
        assert!(validate_group_id("@TGS#abc").is_err());
        assert!(validate_group_id("caf\u{e9}").is_err());
        assert!(validate_group_id("").is_err());
        // Nothing is sent for an invalid id.
        let t = Scripted::new(vec![]);
        let request = CreateGroup {
            group_type: "Public".into(),
            name: "n".into(),
            group_id: Some("@TGS#x".into()),
            ..Default::default()
        };
        assert!(matches!(
            block_on(client(&t).create_group(&request)),
            Err(ImError::InvalidRequest(_))
        ));
        assert!(t.sent.borrow().is_empty());
    }

    #[test]
    fn regions() {
        assert_eq!(
            Region::from_name("Singapore").unwrap().base_url(),
            "https://adminapisgp.im.qcloud.com"
        );
        assert_eq!(
            Region::from_name("silicon_valley"),
            Some(Region::SiliconValley)
        );
        assert_eq!(Region::from_name("mars"), None);
    }
}
