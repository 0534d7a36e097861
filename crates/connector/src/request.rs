//! The support request an end user's chat app sends to a bridge: the same
//! shape for Salesforce and Zendesk, checked the same way.

use serde::{Deserialize, Serialize};

/// A checked request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportRequest {
    /// Short summary.
    pub subject: String,
    /// What happened.
    pub description: String,
    /// The user's name.
    pub name: String,
    /// The user's e-mail, when they gave one: optional, because the user is
    /// known by their UserSig (a chat the assistant hands over has none).
    pub email: Option<String>,
    /// Makes retries safe: the same key gives the same answer.
    pub idempotency_key: Option<String>,
}

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    /// The field (`body` when the body itself is wrong).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
struct Input {
    subject: Option<serde_json::Value>,
    description: Option<serde_json::Value>,
    name: Option<serde_json::Value>,
    email: Option<serde_json::Value>,
    idempotency_key: Option<serde_json::Value>,
}

/// Length limits (characters) of each field.
pub const MAX_SUBJECT: usize = 150;
/// Description limit.
pub const MAX_DESCRIPTION: usize = 30_000;
/// Name limit (Salesforce `SuppliedName` is 80).
pub const MAX_NAME: usize = 80;
/// E-mail limit (Salesforce `SuppliedEmail` is 80).
pub const MAX_EMAIL: usize = 80;
/// Idempotency key limit.
pub const MAX_KEY: usize = 128;

fn text(
    value: Option<serde_json::Value>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, FieldError> {
    let error = |message: String| FieldError { field, message };
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => {
            let s = s.trim().to_string();
            if s.chars().count() > max {
                return Err(error(format!("`{field}` is longer than {max} characters")));
            }
            Ok((!s.is_empty()).then_some(s))
        }
        Some(_) => Err(error(format!("`{field}` must be a string"))),
    }
}

fn required(value: Option<String>, field: &'static str) -> Result<String, FieldError> {
    value.ok_or_else(|| FieldError {
        field,
        message: format!("`{field}` is required"),
    })
}

impl SupportRequest {
    /// Parses and checks a JSON body; `key_required` makes `idempotency_key`
    /// mandatory.
    pub fn parse(body: &[u8], key_required: bool) -> Result<Self, FieldError> {
        let input: Input = serde_json::from_slice(body).map_err(|e| FieldError {
            field: "body",
            message: format!("the body is not the expected JSON object: {e}"),
        })?;
        let subject = required(text(input.subject, "subject", MAX_SUBJECT)?, "subject")?;
        let description = required(
            text(input.description, "description", MAX_DESCRIPTION)?,
            "description",
        )?;
        let name = required(text(input.name, "name", MAX_NAME)?, "name")?;
        let email = text(input.email, "email", MAX_EMAIL)?;
        let valid_email = |email: &str| {
            email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }) && !email.contains(char::is_whitespace)
        };
        if let Some(email) = &email
            && !valid_email(email)
        {
            return Err(FieldError {
                field: "email",
                message: format!("`{email}` is not an e-mail address"),
            });
        }
        let idempotency_key = text(input.idempotency_key, "idempotency_key", MAX_KEY)?;
        if let Some(key) = &idempotency_key
            && !key.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(FieldError {
                field: "idempotency_key",
                message: "use printable ASCII without spaces".into(),
            });
        }
        if key_required && idempotency_key.is_none() {
            return Err(FieldError {
                field: "idempotency_key",
                message: "`idempotency_key` is required".into(),
            });
        }
        Ok(Self {
            subject,
            description,
            name,
            email,
            idempotency_key,
        })
    }

    /// The request's content, to tell a retry from another request that
    /// reuses a key.
    pub fn fingerprint(&self) -> String {
        serde_json::json!([self.subject, self.description, self.name, self.email]).to_string()
    }

    /// The description as agents read it: the user's text, then who filed
    /// it — the IM user, verified by their UserSig — and the contact
    /// details, marked as given by the user and not verified (anyone can
    /// type any name and e-mail).
    ///
    /// ```
    /// use connector::request::SupportRequest;
    /// let r = SupportRequest::parse(
    ///     br#"{"subject":"s","description":"It broke.","name":"Alice","email":"a@b.co"}"#,
    ///     false,
    /// ).unwrap();
    /// let text = r.description_for_agents("alice");
    /// assert!(text.starts_with("It broke.\n"));
    /// assert!(text.contains("IM user `alice` (verified)"));
    /// assert!(text.contains("not verified: Alice <a@b.co>"));
    /// ```
    pub fn description_for_agents(&self, user: &str) -> String {
        let contact = match &self.email {
            Some(email) => format!("{} <{email}>", self.name),
            None => format!("{} (no e-mail given)", self.name),
        };
        format!(
            "{}\n\n---\nOpened from chat by IM user `{user}` (verified).\n\
             Contact details given by the user, not verified: {contact}",
            self.description
        )
    }

    /// A stable id for this user's request, safe in URLs and External ID
    /// fields: from the idempotency key, or — without one — from the
    /// content, so an identical retry is still recognised.
    pub fn request_id(&self, user: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(user.as_bytes());
        hasher.update([0]);
        match &self.idempotency_key {
            Some(key) => hasher.update(key.as_bytes()),
            None => hasher.update(self.fingerprint().as_bytes()),
        }
        let digest = hasher.finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A request's progress, as stored: the steps both bridges share, and the
/// bridge's own `steps` (the ticket or Case id, a greeting), stored beside
/// them in one JSON object.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Progress<S> {
    /// The request's content as first seen ([`SupportRequest::fingerprint`]),
    /// to refuse a name reused for another request; empty until then.
    pub fingerprint: String,
    /// The group exists with the requester in it.
    pub group_ready: bool,
    /// The bridge's own steps.
    #[serde(flatten)]
    pub steps: S,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    #[test]
    fn valid_and_invalid() {
        let ok = serde_json::json!({"subject": " Help ", "description": "d", "name": "n", "email": "a@b.co"});
        let r = SupportRequest::parse(&body(ok.clone()), false).unwrap();
        assert_eq!((r.subject.as_str(), r.idempotency_key), ("Help", None));
        assert_eq!(
            SupportRequest::parse(&body(ok.clone()), true)
                .unwrap_err()
                .field,
            "idempotency_key"
        );
        for (field, value) in [
            ("subject", serde_json::json!("")),
            ("subject", serde_json::json!("x".repeat(151))),
            ("description", serde_json::json!(null)),
            ("name", serde_json::json!(5)),
            ("email", serde_json::json!("a@b")),
            ("email", serde_json::json!("a b@c.de")),
            ("idempotency_key", serde_json::json!("has space")),
        ] {
            let mut v = ok.clone();
            v[field] = value;
            assert_eq!(
                SupportRequest::parse(&body(v), false).unwrap_err().field,
                field
            );
        }
        assert_eq!(
            SupportRequest::parse(b"[1]", false).unwrap_err().field,
            "body"
        );
        let mut no_email = ok.clone();
        no_email.as_object_mut().unwrap().remove("email");
        let r = SupportRequest::parse(&body(no_email), false).unwrap();
        assert_eq!(r.email, None);
        assert!(
            r.description_for_agents("alice")
                .ends_with("n (no e-mail given)")
        );
    }

    #[test]
    fn request_ids() {
        let with_key = |k: &str| {
            SupportRequest::parse(format!(r#"{{"subject":"s","description":"d","name":"n","email":"a@b.co","idempotency_key":"{k}"}}"#).as_bytes(), true).unwrap()
        };
        let a = with_key("1");
        assert_eq!(a.request_id("alice"), with_key("1").request_id("alice"));
        assert_ne!(a.request_id("alice"), with_key("2").request_id("alice"));
        assert_ne!(a.request_id("alice"), a.request_id("bob"));
        assert_eq!(a.request_id("alice").len(), 32);
        let keyless = SupportRequest::parse(
            br#"{"subject":"s","description":"d","name":"n","email":"a@b.co"}"#,
            false,
        )
        .unwrap();
        assert_eq!(
            keyless.request_id("alice"),
            keyless.clone().request_id("alice")
        );
    }

    #[test]
    fn fingerprint_ignores_the_key() {
        let a = SupportRequest::parse(br#"{"subject":"s","description":"d","name":"n","email":"a@b.co","idempotency_key":"1"}"#, true).unwrap();
        let b = SupportRequest::parse(br#"{"subject":"s","description":"d","name":"n","email":"a@b.co","idempotency_key":"2"}"#, true).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn progress_is_one_json_object_with_the_bridge_steps_beside_the_shared_ones() {
        #[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        struct Steps {
            ticket_id: Option<u64>,
            greeted: bool,
        }
        let progress = Progress {
            fingerprint: "f".into(),
            group_ready: true,
            steps: Steps {
                ticket_id: Some(42),
                greeted: false,
            },
        };
        let json = serde_json::to_value(&progress).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"fingerprint": "f", "group_ready": true, "ticket_id": 42, "greeted": false})
        );
        // A record written before a step existed still reads.
        let old: Progress<Steps> =
            serde_json::from_value(serde_json::json!({"fingerprint": "f", "group_ready": false}))
                .unwrap();
        assert_eq!(old.steps, Steps::default());
    }
}
