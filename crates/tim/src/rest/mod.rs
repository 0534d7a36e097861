//! The IM REST API client.
//!
//! Every call is `POST https://{domain}/v4/{service}/{command}?sdkappid=..&identifier=<admin>&usersig=..&random=<u32>&contenttype=json`
//! with a JSON body, answered with HTTP 200 and an envelope
//! `{ActionStatus, ErrorCode, ErrorInfo, ..}`. Non-zero codes become
//! [`ImError::Api`] with the code and text kept.
//!
//! The client does no I/O itself: it runs over a [`transport::Transport`],
//! the one every upstream client of the components uses, so the same code
//! works over Spin's outbound HTTP in components and over any native HTTP
//! client in tests and tools. Each call asks the transport for at most
//! [`ImConfig::timeout`].
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
use transport::unix_now as now;
use transport::{HttpRequest, Transport};

mod accounts;
mod groups;
mod messages;
mod robots;

pub use groups::{AddResult, CreateGroup, GroupInfo, GroupTexts, MemberAccount, validate_group_id};
pub use messages::{
    C2cMsgSent, FORBID_SEND_CALLBACKS, GroupAt, GroupHistory, GroupMsgSent, HistoryMessage,
    RecallResult, Replacement, SendGroupMsg, SendMsg,
};

/// IM's backend gives up after 3 s; the client waits longer than that.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A failed transport-level exchange: no answer, or an HTTP status other
/// than 2xx, so no envelope was received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

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
        let request = HttpRequest {
            method: "POST",
            url: self.url(command),
            headers: vec![("content-type".into(), "application/json".into())],
            body,
            timeout: Some(self.config.timeout),
        };
        let transport_error = |error: String| ImError::Transport {
            command: command.path,
            error: TransportError(error),
        };
        let answer = self
            .transport
            .send(request)
            .await
            .map_err(transport_error)?;
        if !(200..300).contains(&answer.status) {
            return Err(transport_error(format!(
                "IM answered HTTP {}",
                answer.status
            )));
        }
        let response = answer.body;
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

fn is_empty_vec<T>(v: &[T]) -> bool {
    v.is_empty()
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
        async fn send(
            &self,
            request: transport::HttpRequest,
        ) -> Result<transport::HttpResponse, String> {
            assert_eq!(request.method, "POST");
            assert_eq!(request.timeout, Some(DEFAULT_TIMEOUT));
            self.sent
                .borrow_mut()
                .push((request.url, serde_json::from_slice(&request.body).unwrap()));
            let answer = self
                .answers
                .borrow_mut()
                .pop_front()
                .expect("no scripted answer left")
                .map_err(|TransportError(error)| error)?;
            Ok(transport::HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: serde_json::to_vec(&answer).unwrap(),
            })
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
    fn a_modification_sends_only_what_it_replaces() {
        let t = Scripted::new(vec![ok(Value::Null), ok(Value::Null)]);
        let c = client(&t);
        let notice = Replacement {
            body: Some(vec![crate::message::MsgElement::text("removed")]),
            cloud_custom_data: None,
        };
        block_on(c.modify_group_msg("@TGS#1", 23, Some("@TGS#1@TOPIC#a"), &notice)).unwrap();
        let data_only = Replacement {
            body: None,
            cloud_custom_data: Some("{}".into()),
        };
        block_on(c.modify_c2c_msg("alice", "bob", "1_2_3", &data_only)).unwrap();
        let nothing = block_on(c.modify_c2c_msg("alice", "bob", "1_2_3", &Replacement::default()));
        assert!(
            matches!(nothing, Err(ImError::InvalidRequest(_))),
            "refused before any call"
        );
        let sent = t.sent.borrow();
        assert!(
            sent[0]
                .0
                .starts_with("http://im.test/v4/openim/modify_group_msg?")
        );
        assert_eq!(
            sent[0].1,
            serde_json::json!({"GroupId": "@TGS#1", "MsgSeq": 23, "TopicId": "@TGS#1@TOPIC#a",
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "removed"}}]})
        );
        assert!(
            sent[1]
                .0
                .starts_with("http://im.test/v4/openim/modify_c2c_msg?")
        );
        assert_eq!(
            sent[1].1,
            serde_json::json!({"From_Account": "alice", "To_Account": "bob", "MsgKey": "1_2_3",
                "CloudCustomData": "{}"})
        );
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
