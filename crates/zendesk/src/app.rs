//! Who is using the Zendesk sidebar app, proven by Zendesk and not by the
//! browser.
//!
//! A `signedUrls` app (`"signedUrls": true` in its `manifest.json`) is a
//! page the bridge serves. Zendesk loads it with a `POST` whose form field
//! `token` is a JWT Zendesk signs RS256 with the app's key: its `aud` names
//! the account and the app installation, its `sub` the signed-in agent. The
//! app's JavaScript never composes it, so an agent cannot act as another.
//! [`verify_signed_url`] checks it.
//!
//! The token comes with the first page load only, so the bridge then starts
//! its own short-lived [`PanelSession`] (HS256, the bridge's secret), which
//! the page sends with each chat call ([`PanelSession::verify`]).
//!
//! ```
//! use zendesk::app::{PanelSession, SessionError};
//! let session = PanelSession { agent: 7001, name: "Ada".into(), photo: None, exp: 2_000_000_000 };
//! let token = session.sign("a secret of the bridge, 32 bytes or more");
//! let back = PanelSession::verify(&token, "a secret of the bridge, 32 bytes or more", 1_900_000_000);
//! assert_eq!(back, Ok(session));
//! assert_eq!(
//!     PanelSession::verify(&token, "another secret", 1_900_000_000),
//!     Err(SessionError::BadSignature)
//! );
//! ```

use serde::{Deserialize, Serialize};

/// Why a signed-URL token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedUrlError {
    /// The page was requested without the form field `token`.
    #[error(
        "no signed-URL token: open this page from the Zendesk sidebar app (manifest `signedUrls: true`)"
    )]
    Missing,
    /// The configured public key is not an RSA public key in PEM.
    #[error("zendesk_app_public_key is not an RSA public key in PEM")]
    BadKey,
    /// Not signed with the app's key, or altered.
    #[error("the signed-URL token is not signed with the app's key")]
    BadSignature,
    /// Past `exp`.
    #[error("the signed-URL token expired: reload the ticket")]
    Expired,
    /// Signed for another account or app installation.
    #[error("the signed-URL token is for another installation (aud is not {expected})")]
    WrongAudience {
        /// The audience this bridge expects.
        expected: String,
    },
    /// Issued by another account.
    #[error("the signed-URL token is from another Zendesk account (iss is not {expected})")]
    WrongIssuer {
        /// The issuer this bridge expects.
        expected: String,
    },
    /// Anything else: not a JWT, another algorithm, a claim missing or not
    /// naming a user.
    #[error("invalid signed-URL token: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct SignedUrlClaims {
    sub: serde_json::Value,
}

/// The audience of an installation's signed-URL tokens:
/// `{account_url}/api/v2/apps/installations/{installation_id}.json`.
pub fn installation_audience(account_url: &str, installation_id: u64) -> String {
    format!(
        "{}/api/v2/apps/installations/{installation_id}.json",
        account_url.trim_end_matches('/')
    )
}

/// Verifies the token Zendesk posts to a `signedUrls` app's page and returns
/// the Zendesk user id of the agent it names.
///
/// `account_url` is `https://{subdomain}.zendesk.com`; the issuer may be
/// that URL or its host. `sub` may be the user's id or the user's API URL
/// (`…/api/v2/users/{id}.json`). `exp` is required, with 30 s of leeway.
pub fn verify_signed_url(
    token: Option<&str>,
    public_key_pem: &str,
    account_url: &str,
    installation_id: u64,
    now: u64,
) -> Result<u64, SignedUrlError> {
    use jsonwebtoken::errors::ErrorKind;
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(SignedUrlError::Missing)?;
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
        .map_err(|_| SignedUrlError::BadKey)?;
    let account_url = account_url.trim_end_matches('/');
    let host = account_url
        .split_once("://")
        .map_or(account_url, |(_, rest)| rest);
    let audience = installation_audience(account_url, installation_id);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[&audience]);
    validation.set_issuer(&[host, account_url]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    validation.leeway = 30;
    // Checked against `now` below, so tests and the host's clock agree.
    validation.validate_exp = false;
    let data =
        jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).map_err(|e| match e
            .kind()
        {
            ErrorKind::InvalidSignature => SignedUrlError::BadSignature,
            ErrorKind::InvalidAudience => SignedUrlError::WrongAudience { expected: audience },
            ErrorKind::InvalidIssuer => SignedUrlError::WrongIssuer {
                expected: host.to_string(),
            },
            _ => SignedUrlError::Invalid(e.to_string()),
        })?;
    let exp = data.claims["exp"]
        .as_u64()
        .ok_or_else(|| SignedUrlError::Invalid("`exp` is not a number".into()))?;
    if exp + 30 < now {
        return Err(SignedUrlError::Expired);
    }
    let claims: SignedUrlClaims =
        serde_json::from_value(data.claims).map_err(|e| SignedUrlError::Invalid(e.to_string()))?;
    user_id_of(&claims.sub)
        .ok_or_else(|| SignedUrlError::Invalid("`sub` does not name a Zendesk user".into()))
}

/// `7001`, `"7001"` or `"https://x.zendesk.com/api/v2/users/7001.json"`.
fn user_id_of(sub: &serde_json::Value) -> Option<u64> {
    match sub {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => {
            let id = match s.rsplit_once("/users/") {
                Some((_, tail)) => tail.strip_suffix(".json").unwrap_or(tail),
                None => s.as_str(),
            };
            (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                .then(|| id.parse().ok())
                .flatten()
        }
        _ => None,
    }
    .filter(|id| *id > 0)
}

/// Signs signed-URL claims RS256 as Zendesk does (for the emulator and
/// tests). `sub` is the user's API URL, as Zendesk puts it.
pub fn sign_signed_url(
    private_key_pem: &str,
    account_url: &str,
    installation_id: u64,
    user_id: u64,
    now: u64,
    lifetime_secs: u64,
) -> Result<String, String> {
    let account_url = account_url.trim_end_matches('/');
    let host = account_url
        .split_once("://")
        .map_or(account_url, |(_, rest)| rest);
    let claims = serde_json::json!({
        "iss": host,
        "aud": installation_audience(account_url, installation_id),
        "sub": format!("{account_url}/api/v2/users/{user_id}.json"),
        "iat": now,
        "exp": now + lifetime_secs,
    });
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.as_bytes())
        .map_err(|e| format!("not an RSA private key in PEM: {e}"))?;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .map_err(|e| e.to_string())
}

/// The sidebar panel's session: who the agent is (as Zendesk proved on page
/// load) until `exp`. Signed by the bridge, so the browser holds it but
/// cannot change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelSession {
    /// The agent's Zendesk user id.
    pub agent: u64,
    /// The agent's name in Zendesk (their nickname in the chat).
    pub name: String,
    /// Their Zendesk photo's URL, when they have one (their chat avatar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    /// Expiry, Unix seconds.
    pub exp: u64,
}

/// Why a panel session was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// No `Authorization: Bearer` header.
    #[error("missing `Authorization: Bearer <session>`: reload the ticket to sign in again")]
    Missing,
    /// Not signed by this bridge, or altered.
    #[error("the panel session is not signed by this bridge")]
    BadSignature,
    /// Past `exp`.
    #[error("the panel session expired: reload the ticket to sign in again")]
    Expired,
    /// Not a session of this bridge.
    #[error("invalid panel session: {0}")]
    Invalid(String),
}

/// What sessions are issued for, so no other token of the same secret can
/// pass as one.
const SESSION_AUDIENCE: &str = "switchboard:zendesk-panel";

#[derive(Serialize, Deserialize)]
struct SessionClaims {
    aud: String,
    #[serde(flatten)]
    session: PanelSession,
}

impl PanelSession {
    /// The session as a token for the page.
    pub fn sign(&self, secret: &str) -> String {
        let claims = SessionClaims {
            aud: SESSION_AUDIENCE.into(),
            session: self.clone(),
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("HS256 signing of plain claims cannot fail")
    }

    /// Reads a session token (`Bearer` prefix optional) signed with
    /// `secret` and not expired at `now`.
    pub fn verify(token: &str, secret: &str, now: u64) -> Result<Self, SessionError> {
        use jsonwebtoken::errors::ErrorKind;
        let token = token.trim();
        let token = token
            .strip_prefix("Bearer ")
            .or_else(|| token.strip_prefix("bearer "))
            .unwrap_or(token)
            .trim();
        if token.is_empty() {
            return Err(SessionError::Missing);
        }
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&[SESSION_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.validate_exp = false;
        let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
        let data =
            jsonwebtoken::decode::<SessionClaims>(token, &key, &validation).map_err(|e| match e
                .kind()
            {
                ErrorKind::InvalidSignature => SessionError::BadSignature,
                _ => SessionError::Invalid(e.to_string()),
            })?;
        if data.claims.session.exp < now {
            return Err(SessionError::Expired);
        }
        Ok(data.claims.session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &str = include_str!("../../../emulators/zendesk/testdata/zaf-signing-key.pem");
    const PUBLIC: &str =
        include_str!("../../../emulators/zendesk/testdata/zaf-signing-key.pub.pem");
    const OTHER_PUBLIC: &str = include_str!("../../salesforce/testdata/jwt-test-key.pub.pem");
    const OTHER_PRIVATE: &str = include_str!("../../salesforce/testdata/jwt-test-key.pem");
    const ACCOUNT: &str = "https://acme.zendesk.com";
    const NOW: u64 = 1_800_000_000;

    fn token(key: &str, account: &str, installation: u64, user: u64, now: u64) -> String {
        sign_signed_url(key, account, installation, user, now, 300).unwrap()
    }

    #[test]
    fn a_token_zendesk_signed_names_the_agent() {
        let t = token(PRIVATE, ACCOUNT, 42, 7001, NOW);
        assert_eq!(
            verify_signed_url(Some(&t), PUBLIC, ACCOUNT, 42, NOW + 10),
            Ok(7001)
        );
        // A trailing slash on the configured URL changes nothing.
        assert_eq!(
            verify_signed_url(Some(&t), PUBLIC, "https://acme.zendesk.com/", 42, NOW),
            Ok(7001)
        );
    }

    #[test]
    fn forged_foreign_expired_and_missing_tokens_are_refused() {
        let forged = token(OTHER_PRIVATE, ACCOUNT, 42, 7001, NOW);
        assert_eq!(
            verify_signed_url(Some(&forged), PUBLIC, ACCOUNT, 42, NOW),
            Err(SignedUrlError::BadSignature)
        );
        let good = token(PRIVATE, ACCOUNT, 42, 7001, NOW);
        assert!(matches!(
            verify_signed_url(Some(&good), PUBLIC, ACCOUNT, 43, NOW),
            Err(SignedUrlError::WrongAudience { .. })
        ));
        let other_account = token(PRIVATE, "https://evil.zendesk.com", 42, 7001, NOW);
        assert!(matches!(
            verify_signed_url(Some(&other_account), PUBLIC, ACCOUNT, 42, NOW),
            // Both its `iss` and its `aud` name the other account.
            Err(SignedUrlError::WrongIssuer { .. } | SignedUrlError::WrongAudience { .. })
        ));
        assert_eq!(
            verify_signed_url(Some(&good), PUBLIC, ACCOUNT, 42, NOW + 400),
            Err(SignedUrlError::Expired)
        );
        assert_eq!(
            verify_signed_url(None, PUBLIC, ACCOUNT, 42, NOW),
            Err(SignedUrlError::Missing)
        );
        assert_eq!(
            verify_signed_url(Some(&good), "not a key", ACCOUNT, 42, NOW),
            Err(SignedUrlError::BadKey)
        );
        assert_eq!(
            verify_signed_url(Some(&good), OTHER_PUBLIC, ACCOUNT, 42, NOW),
            Err(SignedUrlError::BadSignature)
        );
        // An HS256 token "signed" with the public key as a secret (the
        // classic algorithm confusion) is not RS256 and is refused.
        let confused = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &serde_json::json!({"iss": "acme.zendesk.com", "aud": installation_audience(ACCOUNT, 42), "sub": 7001, "exp": NOW + 300}),
            &jsonwebtoken::EncodingKey::from_secret(PUBLIC.as_bytes()),
        )
        .unwrap();
        assert!(matches!(
            verify_signed_url(Some(&confused), PUBLIC, ACCOUNT, 42, NOW),
            Err(SignedUrlError::Invalid(_))
        ));
    }

    #[test]
    fn sub_names_a_user_by_id_or_api_url() {
        use serde_json::json;
        assert_eq!(user_id_of(&json!(7001)), Some(7001));
        assert_eq!(user_id_of(&json!("7001")), Some(7001));
        assert_eq!(
            user_id_of(&json!("https://a.zendesk.com/api/v2/users/7001.json")),
            Some(7001)
        );
        for bad in [
            json!("https://a.zendesk.com/api/v2/users/.json"),
            json!("7001x"),
            json!(""),
            json!(0),
            json!(-1),
            json!(null),
            json!(["7001"]),
        ] {
            assert_eq!(user_id_of(&bad), None, "{bad}");
        }
    }

    #[test]
    fn sessions_expire_and_cannot_be_altered() {
        let secret = "0123456789abcdef0123456789abcdef";
        let session = PanelSession {
            agent: 7001,
            name: "Ada".into(),
            photo: Some("https://acme.zendesk.com/photos/ada.png".into()),
            exp: NOW + 60,
        };
        let token = session.sign(secret);
        assert_eq!(
            PanelSession::verify(&format!("Bearer {token}"), secret, NOW),
            Ok(session.clone())
        );
        assert_eq!(
            PanelSession::verify(&token, secret, NOW + 61),
            Err(SessionError::Expired)
        );
        assert_eq!(
            PanelSession::verify("", secret, NOW),
            Err(SessionError::Missing)
        );
        // Another agent's id spliced into the payload breaks the signature.
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        use base64::Engine as _;
        let forged_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            serde_json::json!({"aud": SESSION_AUDIENCE, "agent": 7002, "name": "Ada", "exp": NOW + 60})
                .to_string(),
        );
        assert_eq!(
            PanelSession::verify(&format!("{head}.{forged_payload}.{signature}"), secret, NOW),
            Err(SessionError::BadSignature)
        );
        // A JWT of the same secret made for something else is not a session.
        let other = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &serde_json::json!({"aud": "elsewhere", "agent": 7001, "name": "Ada", "exp": NOW + 60}),
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        assert!(matches!(
            PanelSession::verify(&other, secret, NOW),
            Err(SessionError::Invalid(_))
        ));
    }
}
