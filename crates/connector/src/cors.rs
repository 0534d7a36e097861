//! Cross-origin access to the routes end users' browsers call (a bridge's
//! `/requests`): the origins named in the variable `cors_allowed_origins`,
//! and no other.
//!
//! End users authenticate with a header (their UserSig), never a cookie, so
//! no credentials are ever allowed and no wildcard is accepted: a browser
//! app must be named to be let in. A request from any other origin is
//! refused with 403 saying so; a call with no `Origin` (a server, `curl`)
//! is not a browser's and is unaffected.
//!
//! ```
//! use connector::cors::{AllowedOrigins, Preflight};
//! let allowed = AllowedOrigins::parse("https://chat.example.com, http://localhost:5173").unwrap();
//! assert!(allowed.allows("https://chat.example.com"));
//! assert!(!allowed.allows("https://evil.example"));
//! assert_eq!(
//!     allowed.preflight(Some("https://chat.example.com"), Some("POST"), Some("authorization, content-type")),
//!     Preflight::Allowed
//! );
//! assert!(AllowedOrigins::parse("*").is_err());
//! ```

/// Request headers a browser app may send.
pub const ALLOWED_HEADERS: &str = "authorization, content-type, x-im-user-id";
/// Response headers a browser app may read besides the simple ones.
pub const EXPOSED_HEADERS: &str = "retry-after";
/// How long a browser may cache a preflight answer, in seconds.
pub const MAX_AGE_SECS: u32 = 600;

/// The origins let in, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

/// What a preflight (`OPTIONS`) gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preflight {
    /// Answer 204 with the CORS headers for the origin.
    Allowed,
    /// Answer 403 with this reason.
    Refused(String),
}

impl AllowedOrigins {
    /// Reads a comma-separated list of origins (`scheme://host[:port]`, no
    /// path, no wildcard); the error names the entry at fault.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let origin = entry.trim_end_matches('/').to_ascii_lowercase();
            let valid = match origin.split_once("://") {
                Some(("https" | "http", host)) => {
                    !host.is_empty()
                        && host.bytes().all(|b| {
                            b.is_ascii_alphanumeric()
                                || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                        })
                }
                _ => false,
            };
            if !valid {
                return Err(format!(
                    "configuration: cors_allowed_origins: `{entry}` is not an origin like https://chat.example.com (no path, no wildcard)"
                ));
            }
            origins.push(origin);
        }
        Ok(Self(origins))
    }

    /// Whether `origin` (an `Origin` header's value) is let in. Origins
    /// compare as browsers send them: scheme and host lowercase.
    pub fn allows(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        self.0.contains(&origin)
    }

    /// The answer to a preflight from `origin` asking for `method` and
    /// `headers` (`Access-Control-Request-Method` / `-Headers`).
    pub fn preflight(
        &self,
        origin: Option<&str>,
        method: Option<&str>,
        headers: Option<&str>,
    ) -> Preflight {
        let Some(origin) = origin else {
            return Preflight::Refused("a preflight needs an `Origin` header".into());
        };
        if !self.allows(origin) {
            return Preflight::Refused(refusal(origin));
        }
        if method.is_some_and(|m| !m.trim().eq_ignore_ascii_case("POST")) {
            return Preflight::Refused("only POST is allowed".into());
        }
        let allowed: Vec<&str> = ALLOWED_HEADERS.split(", ").collect();
        let unknown: Vec<String> = headers
            .unwrap_or("")
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty() && !allowed.contains(&h.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Preflight::Refused(format!(
                "request headers not allowed: {} (allowed: {ALLOWED_HEADERS})",
                unknown.join(", ")
            ));
        }
        Preflight::Allowed
    }
}

/// Why `origin` is refused.
pub fn refusal(origin: &str) -> String {
    format!("origin `{origin}` is not in cors_allowed_origins")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_named_origins_and_never_a_wildcard() {
        let allowed =
            AllowedOrigins::parse(" https://Chat.Example.com/ ,http://127.0.0.1:5173").unwrap();
        assert!(allowed.allows("https://chat.example.com"));
        assert!(allowed.allows("HTTPS://CHAT.EXAMPLE.COM"));
        assert!(allowed.allows("http://127.0.0.1:5173"));
        assert!(
            !allowed.allows("http://chat.example.com"),
            "the scheme counts"
        );
        assert!(!allowed.allows("https://chat.example.com.evil.io"));
        assert!(!allowed.allows("null"));
        for bad in [
            "*",
            "https://*.example.com",
            "chat.example.com",
            "https://a.example/path",
            "ftp://a.example",
        ] {
            let error = AllowedOrigins::parse(bad).unwrap_err();
            assert!(error.contains(bad), "{error}");
        }
        assert_eq!(
            AllowedOrigins::parse("").unwrap(),
            AllowedOrigins::default()
        );
        assert!(!AllowedOrigins::default().allows("https://chat.example.com"));
    }

    #[test]
    fn preflights_name_what_is_refused() {
        let allowed = AllowedOrigins::parse("https://chat.example.com").unwrap();
        let origin = Some("https://chat.example.com");
        assert_eq!(
            allowed.preflight(origin, Some("POST"), None),
            Preflight::Allowed
        );
        assert_eq!(
            allowed.preflight(
                origin,
                Some("post"),
                Some("Authorization, Content-Type, X-IM-User-Id")
            ),
            Preflight::Allowed
        );
        let refused = |p: Preflight| match p {
            Preflight::Refused(reason) => reason,
            Preflight::Allowed => panic!("allowed"),
        };
        assert!(refused(allowed.preflight(origin, Some("DELETE"), None)).contains("POST"));
        assert!(
            refused(allowed.preflight(origin, Some("POST"), Some("x-evil"))).contains("x-evil")
        );
        assert!(
            refused(allowed.preflight(Some("https://evil.example"), Some("POST"), None))
                .contains("cors_allowed_origins")
        );
        assert!(refused(allowed.preflight(None, Some("POST"), None)).contains("Origin"));
    }
}
