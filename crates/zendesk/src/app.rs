//! Requests from the Zendesk sidebar app (ZAF) reach the backend through
//! Zendesk's proxy with `Authorization: Bearer <JWT>`, signed HS256 with a
//! shared secret kept in the app's secure settings. The JWT proves the call
//! came through this installation; the agent id is taken from its `sub`.

use serde::{Deserialize, Serialize};

/// Claims the shipped app puts in its JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppClaims {
    /// The agent's Zendesk user id.
    pub sub: String,
    /// `https://{subdomain}.zendesk.com`.
    pub iss: String,
    /// This backend's URL.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
}

/// Why an app JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppAuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing `Authorization: Bearer <jwt>` header")]
    Missing,
    /// Signed with another secret, or altered.
    #[error("app JWT signature does not match the shared secret")]
    BadSignature,
    /// Past `exp`.
    #[error("app JWT expired")]
    Expired,
    /// Wrong `iss`.
    #[error("app JWT issuer is not {expected}")]
    WrongIssuer {
        /// The expected issuer.
        expected: String,
    },
    /// Wrong `aud`.
    #[error("app JWT audience is not {expected}")]
    WrongAudience {
        /// The expected audience.
        expected: String,
    },
    /// Anything else (not a JWT, wrong algorithm, missing claim).
    #[error("invalid app JWT: {0}")]
    Invalid(String),
}

/// Verifies `Authorization` header value `header` (`Bearer <jwt>`).
pub fn verify(
    header: Option<&str>,
    secret: &str,
    issuer: &str,
    audience: &str,
) -> Result<AppClaims, AppAuthError> {
    use jsonwebtoken::errors::ErrorKind;
    let token = header
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AppAuthError::Missing)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 30;
    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
    match jsonwebtoken::decode::<AppClaims>(token, &key, &validation) {
        Ok(data) if data.claims.sub.is_empty() => {
            Err(AppAuthError::Invalid("empty `sub` claim".into()))
        }
        Ok(data) => Ok(data.claims),
        Err(e) => Err(match e.kind() {
            ErrorKind::InvalidSignature => AppAuthError::BadSignature,
            ErrorKind::ExpiredSignature => AppAuthError::Expired,
            ErrorKind::InvalidIssuer => AppAuthError::WrongIssuer {
                expected: issuer.into(),
            },
            ErrorKind::InvalidAudience => AppAuthError::WrongAudience {
                expected: audience.into(),
            },
            _ => AppAuthError::Invalid(e.to_string()),
        }),
    }
}

/// Signs app claims (what Zendesk's proxy does; used by tests and tools).
pub fn sign(claims: &AppClaims, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> AppClaims {
        AppClaims {
            sub: "7001".into(),
            iss: "https://acme.zendesk.com".into(),
            aud: "https://connector.example".into(),
            exp,
        }
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn accepts_and_rejects() {
        let (iss, aud) = ("https://acme.zendesk.com", "https://connector.example");
        let good = format!("Bearer {}", sign(&claims(now() + 600), "s3cret"));
        assert_eq!(verify(Some(&good), "s3cret", iss, aud).unwrap().sub, "7001");
        assert_eq!(
            verify(Some(&good), "other", iss, aud),
            Err(AppAuthError::BadSignature)
        );
        assert!(matches!(
            verify(Some(&good), "s3cret", "https://evil.zendesk.com", aud),
            Err(AppAuthError::WrongIssuer { .. })
        ));
        assert!(matches!(
            verify(Some(&good), "s3cret", iss, "https://elsewhere"),
            Err(AppAuthError::WrongAudience { .. })
        ));
        let expired = format!("Bearer {}", sign(&claims(now() - 3600), "s3cret"));
        assert_eq!(
            verify(Some(&expired), "s3cret", iss, aud),
            Err(AppAuthError::Expired)
        );
        assert_eq!(verify(None, "s3cret", iss, aud), Err(AppAuthError::Missing));
        assert!(matches!(
            verify(Some("Bearer abc.def.ghi"), "s3cret", iss, aud),
            Err(AppAuthError::Invalid(_))
        ));
    }
}
