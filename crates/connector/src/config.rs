//! Reading the components' configuration: Spin variables, the whole
//! numbers some of them hold, and the clock every freshness window and
//! expiry of the components is measured with.
//!
//! Every error names the variable at fault, and how to set it, so a
//! misconfigured deployment answers with the one thing to fix.
//!
//! ```
//! use connector::config::parse_number;
//!
//! assert_eq!(parse_number::<u64>("im_webhook_window_secs", " 90 ", Some(60)), Ok(90));
//! assert_eq!(parse_number::<u64>("im_webhook_window_secs", "", Some(60)), Ok(60));
//! let error = parse_number::<u64>("im_webhook_window_secs", "a minute", Some(60)).unwrap_err();
//! assert!(error.contains("`im_webhook_window_secs`") && error.contains("whole number"));
//! ```

use std::str::FromStr;

pub use transport::unix_now;

/// `raw`, the value of variable `name`, as a whole number; an empty value is
/// `default`, or an error naming the variable when there is none.
pub fn parse_number<T: FromStr>(name: &str, raw: &str, default: Option<T>) -> Result<T, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return default.ok_or_else(|| empty(name));
    }
    raw.parse()
        .map_err(|_| format!("configuration: variable `{name}` is `{raw}`, not a whole number"))
}

fn empty(name: &str) -> String {
    format!(
        "configuration: variable `{name}` is empty (set SPIN_VARIABLE_{})",
        name.to_ascii_uppercase()
    )
}

/// Reads a Spin variable, empty allowed; trimmed.
#[cfg(feature = "spin")]
pub fn optional_variable(name: &str) -> String {
    spin_sdk::variables::get(name)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Reads a required Spin variable, explaining how to set it when it is
/// missing or empty.
#[cfg(feature = "spin")]
pub fn variable(name: &str) -> Result<String, String> {
    match spin_sdk::variables::get(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        Ok(_) => Err(empty(name)),
        Err(e) => Err(format!("configuration: variable `{name}`: {e:?}")),
    }
}

/// Reads a variable holding a whole number ([`parse_number`]).
#[cfg(feature = "spin")]
pub fn number<T: FromStr>(name: &str, default: Option<T>) -> Result<T, String> {
    parse_number(name, &optional_variable(name), default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_with_their_default_and_refused_by_name() {
        assert_eq!(parse_number::<u32>("n", "10", None), Ok(10));
        assert_eq!(parse_number::<u32>("n", "  ", Some(3)), Ok(3));
        let missing = parse_number::<u32>("im_sdk_app_id", "", None).unwrap_err();
        assert!(missing.contains("SPIN_VARIABLE_IM_SDK_APP_ID"), "{missing}");
        for bad in ["-1", "1.5", "ten", "99999999999"] {
            let error =
                parse_number::<u32>("requests_per_user_per_hour", bad, Some(10)).unwrap_err();
            assert!(
                error.contains("`requests_per_user_per_hour`") && error.contains(bad),
                "{error}"
            );
        }
    }

    #[test]
    fn the_clock_is_unix_seconds() {
        let now = unix_now();
        // 2025-01-01 .. 2100-01-01.
        assert!((1_735_689_600..4_102_444_800).contains(&now), "{now}");
    }
}
