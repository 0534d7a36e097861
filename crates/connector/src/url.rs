//! What outbound code may do with a URL: say it in an error (never its
//! query string, where IM's UserSig travels), and send credentials to it
//! (never over plain http to a remote host by accident).

/// What an error may say about a URL: scheme, host and path. Query strings
/// carry credentials (IM's `usersig`), so they never reach a message.
pub fn redacted(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}

/// Whether `url` may be sent: `https://` always; plain `http://` only to
/// loopback (local emulators, a model server on the same machine), to
/// `*.spin.internal` (service chaining), or when the operator set the
/// variable `allow_insecure_http` to `true`. Credentials go in these
/// requests, so they never cross a network in clear by accident.
pub fn check_scheme(url: &str, allow_http: bool) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Ok(());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().unwrap_or("").trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or("")
    };
    let local = host.eq_ignore_ascii_case("localhost")
        || host.ends_with(".spin.internal")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if local || allow_http {
        Ok(())
    } else {
        Err(format!(
            "{}: plain http to a remote host is refused; use https, or set allow_insecure_http=true",
            redacted(url)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_show_a_query_string() {
        assert_eq!(
            redacted("https://im.example/v4/x?sdkappid=1&usersig=eJw"),
            "https://im.example/v4/x"
        );
        assert_eq!(redacted("https://a.example/p"), "https://a.example/p");
    }

    #[test]
    fn plain_http_goes_only_to_loopback_and_spin_internal() {
        for ok in [
            "https://api.openai.com/v1",
            "http://127.0.0.1:3001/v4",
            "http://localhost:11434/v1",
            "http://[::1]:8080/",
            "http://moderator.spin.internal/x?y",
        ] {
            assert!(check_scheme(ok, false).is_ok(), "{ok}");
        }
        for refused in [
            "http://api.example.com/v1?key=secret",
            "http://10.0.0.5:8080/",
            "http://127.0.0.1.evil.example/",
            "http://user@evil.example/",
        ] {
            let error = check_scheme(refused, false).unwrap_err();
            assert!(!error.contains("secret"), "{error}");
            assert!(check_scheme(refused, true).is_ok());
        }
    }
}
