//! Verifying that a webhook call really comes from IM.
//!
//! IM appends `SdkAppid`, `CallbackCommand`, `contenttype`, `ClientIP`,
//! `OptPlatform` and, with webhook authentication on, `Sign` and
//! `RequestTime` to the configured URL, where
//! `Sign = lowercase hex(SHA-256(token + RequestTime))` — a plain hash, not an
//! HMAC, and the body is not covered (TLS protects it). A call is accepted
//! only when it names our app, and, when a token is configured, carries the
//! right signature for a `RequestTime` within the freshness window.
//!
//! ```
//! use tim::webhook::{WebhookQuery, Verifier, sign};
//!
//! let verifier = Verifier::new(1400000000, Some("xxxxyyyy".into()));
//! let query = format!(
//!     "SdkAppid=1400000000&CallbackCommand=Bot.OnC2CMessage&contenttype=json\
//!      &Sign={}&RequestTime=1669872112",
//!     sign("xxxxyyyy", "1669872112"),
//! );
//! let query = WebhookQuery::parse(&query).unwrap();
//! assert!(verifier.verify(&query, 1669872130).is_ok());
//! assert!(verifier.verify(&query, 1669872112 + 61).is_err()); // stale
//! ```

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How far `RequestTime` may be from now, in seconds, by default.
pub const DEFAULT_WINDOW_SECS: u64 = 60;

/// Why a webhook call was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A required query parameter is absent.
    #[error("missing query parameter `{0}`")]
    MissingParameter(&'static str),
    /// `SdkAppid` is not a number or not ours. The message quotes what the
    /// call said (escaped: it cannot forge a log line) and never our own id.
    #[error("webhook is for another application (SdkAppid {found:?})")]
    WrongApp {
        /// Our app id.
        expected: u64,
        /// What the call said.
        found: String,
    },
    /// A token is configured but the call is unsigned.
    #[error("webhook is not signed (no `Sign`/`RequestTime`) but a callback token is configured")]
    Unsigned,
    /// `RequestTime` is not a Unix time.
    #[error("`RequestTime` {0:?} is not a Unix time in seconds")]
    InvalidRequestTime(String),
    /// Outside the freshness window.
    #[error("webhook `RequestTime` {request_time} is {skew} s away from now (allowed: {window} s)")]
    Stale {
        /// The call's `RequestTime`.
        request_time: u64,
        /// Distance from now in seconds.
        skew: u64,
        /// The window.
        window: u64,
    },
    /// The signature does not match.
    #[error("webhook `Sign` does not match the configured callback token")]
    BadSignature,
}

/// The query parameters IM puts on a webhook URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookQuery {
    /// `SdkAppid`.
    pub sdk_app_id: String,
    /// `CallbackCommand`, e.g. `Group.CallbackBeforeSendMsg`.
    pub callback_command: String,
    /// `contenttype` (always `json`).
    pub content_type: Option<String>,
    /// `ClientIP`.
    pub client_ip: Option<String>,
    /// `OptPlatform` (`RESTAPI`, `Web`, `Android`, `iOS`, …).
    pub opt_platform: Option<String>,
    /// `Sign`, with webhook authentication on.
    pub sign: Option<String>,
    /// `RequestTime`, with webhook authentication on.
    pub request_time: Option<String>,
}

impl WebhookQuery {
    /// Parses a URL query string (without the `?`).
    pub fn parse(query: &str) -> Result<Self, WebhookError> {
        let mut out = WebhookQuery::default();
        let mut app = None;
        let mut command = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "SdkAppid" => app = Some(value),
                "CallbackCommand" => command = Some(value),
                "contenttype" => out.content_type = Some(value),
                "ClientIP" => out.client_ip = Some(value),
                "OptPlatform" => out.opt_platform = Some(value),
                "Sign" => out.sign = Some(value),
                "RequestTime" => out.request_time = Some(value),
                _ => {}
            }
        }
        out.sdk_app_id = app.ok_or(WebhookError::MissingParameter("SdkAppid"))?;
        out.callback_command = command.ok_or(WebhookError::MissingParameter("CallbackCommand"))?;
        Ok(out)
    }
}

/// `lowercase hex(SHA-256(token + request_time))`.
pub fn sign(token: &str, request_time: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(token.as_bytes());
    hasher.update(request_time.as_bytes());
    hex::encode(hasher.finalize())
}

/// Checks webhook calls for one app.
#[derive(Clone)]
pub struct Verifier {
    sdk_app_id: u64,
    token: Option<String>,
    window_secs: u64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("token", &self.token.as_ref().map(|_| "<secret>"))
            .field("window_secs", &self.window_secs)
            .finish()
    }
}

impl Verifier {
    /// A verifier for `sdk_app_id`; with `token`, signatures are required.
    pub fn new(sdk_app_id: u64, token: Option<String>) -> Self {
        Self {
            sdk_app_id,
            token: token.filter(|t| !t.is_empty()),
            window_secs: DEFAULT_WINDOW_SECS,
        }
    }

    /// Changes the freshness window.
    pub fn with_window(mut self, window_secs: u64) -> Self {
        self.window_secs = window_secs;
        self
    }

    /// Accepts the call or says exactly why not. `now` is Unix seconds.
    pub fn verify(&self, query: &WebhookQuery, now: u64) -> Result<(), WebhookError> {
        if query.sdk_app_id.parse::<u64>().ok() != Some(self.sdk_app_id) {
            return Err(WebhookError::WrongApp {
                expected: self.sdk_app_id,
                found: query.sdk_app_id.chars().take(64).collect(),
            });
        }
        let Some(token) = &self.token else {
            return Ok(());
        };
        let (Some(presented), Some(request_time)) = (&query.sign, &query.request_time) else {
            return Err(WebhookError::Unsigned);
        };
        let time: u64 = request_time
            .parse()
            .map_err(|_| WebhookError::InvalidRequestTime(request_time.clone()))?;
        let skew = now.abs_diff(time);
        if skew > self.window_secs {
            return Err(WebhookError::Stale {
                request_time: time,
                skew,
                window: self.window_secs,
            });
        }
        let expected = sign(token, request_time);
        let presented = presented.to_ascii_lowercase();
        if expected.as_bytes().ct_eq(presented.as_bytes()).into() {
            Ok(())
        } else {
            Err(WebhookError::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_test_vector() {
        assert_eq!(
            sign("xxxxyyyy", "1669872112"),
            "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
        );
    }

    fn query(app: &str, sign: Option<&str>, time: Option<&str>) -> WebhookQuery {
        WebhookQuery {
            sdk_app_id: app.into(),
            callback_command: "Group.CallbackBeforeSendMsg".into(),
            sign: sign.map(str::to_string),
            request_time: time.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn accepts_a_valid_signed_call() {
        let v = Verifier::new(1400000000, Some("xxxxyyyy".into()));
        let s = sign("xxxxyyyy", "1669872112");
        assert_eq!(
            v.verify(
                &query("1400000000", Some(&s), Some("1669872112")),
                1669872112
            ),
            Ok(())
        );
        // Upper-case hex is the same signature.
        let upper = s.to_uppercase();
        assert_eq!(
            v.verify(
                &query("1400000000", Some(&upper), Some("1669872112")),
                1669872100
            ),
            Ok(())
        );
    }

    #[test]
    fn rejections() {
        let v = Verifier::new(1400000000, Some("xxxxyyyy".into()));
        let s = sign("xxxxyyyy", "1669872112");
        assert!(matches!(
            v.verify(
                &query("1400000001", Some(&s), Some("1669872112")),
                1669872112
            ),
            Err(WebhookError::WrongApp { .. })
        ));
        assert_eq!(
            v.verify(&query("1400000000", None, None), 1669872112),
            Err(WebhookError::Unsigned)
        );
        assert_eq!(
            v.verify(
                &query("1400000000", Some(&s), Some("1669872112")),
                1669872112 + 61
            ),
            Err(WebhookError::Stale {
                request_time: 1669872112,
                skew: 61,
                window: 60
            })
        );
        // Also stale when from the future.
        assert!(
            v.verify(
                &query("1400000000", Some(&s), Some("1669872112")),
                1669872112 - 61
            )
            .is_err()
        );
        let forged = sign("wrong-token", "1669872112");
        assert_eq!(
            v.verify(
                &query("1400000000", Some(&forged), Some("1669872112")),
                1669872112
            ),
            Err(WebhookError::BadSignature)
        );
        // A signature for another time does not carry over.
        assert_eq!(
            v.verify(
                &query("1400000000", Some(&s), Some("1669872113")),
                1669872112
            ),
            Err(WebhookError::BadSignature)
        );
        assert!(matches!(
            v.verify(&query("1400000000", Some(&s), Some("soon")), 1669872112),
            Err(WebhookError::InvalidRequestTime(_))
        ));
    }

    #[test]
    fn without_a_token_only_the_app_is_checked() {
        let v = Verifier::new(1400000000, None);
        assert_eq!(v.verify(&query("1400000000", None, None), 0), Ok(()));
        assert!(v.verify(&query("1", None, None), 0).is_err());
    }

    #[test]
    fn parses_the_query() {
        let q = WebhookQuery::parse(
            "SdkAppid=1400000000&CallbackCommand=State.StateChange&contenttype=json&ClientIP=1.2.3.4&OptPlatform=IOS&Sign=ab&RequestTime=1",
        )
        .unwrap();
        assert_eq!(q.callback_command, "State.StateChange");
        assert_eq!(q.opt_platform.as_deref(), Some("IOS"));
        assert_eq!(q.sign.as_deref(), Some("ab"));
        assert_eq!(
            WebhookQuery::parse("CallbackCommand=x"),
            Err(WebhookError::MissingParameter("SdkAppid"))
        );
    }
}
