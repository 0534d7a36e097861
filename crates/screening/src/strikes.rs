//! Strikes: a sender's violations counted in a sliding window, and the mute
//! that a number of them brings.
//!
//! The window is kept as [`BUCKETS`] counters, each covering a sixth of it:
//! a strike increments the current one (an atomic increment on the shared
//! store, so racing strikes each get their own count) and reads the five
//! before it. The sum is the sender's strikes in the last five sixths to
//! the whole of the window; a penalty is due when the sum *equals* its
//! threshold, so of any number of racing strikes exactly one imposes it.
//! Each counter expires a window after its own sixth ends.
//!
//! ```
//! use screening::strikes::Strikes;
//!
//! let strikes: Strikes = serde_json::from_str(
//!     r#"{"window_secs": 600, "penalties": [{"after": 3, "mute_secs": 300}]}"#,
//! ).unwrap();
//! let window = strikes.window(1_000_000);
//! assert_eq!(window.earlier.len(), 5);
//! assert_eq!(strikes.penalty_at(3).unwrap().mute_secs, 300);
//! assert!(strikes.penalty_at(4).is_none());
//! assert_eq!(
//!     strikes.notice(strikes.penalty_at(3).unwrap(), 3),
//!     "You cannot send messages here for 5 minutes: 3 of your messages broke the rules."
//! );
//! ```

use serde::Deserialize;

use crate::outcome::Outcome;

/// Counters per window.
pub const BUCKETS: u64 = 6;

/// IM's longest mute short of "forever" (`4294967295`).
pub const MAX_MUTE_SECS: u64 = 4_294_967_294;

/// `strikes` in `moderator_policy` (or in a scope).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Strikes {
    /// Which decisions are strikes: `reject` and `drop` unless listed (a
    /// masked message was delivered).
    pub count: Vec<Outcome>,
    /// How far back strikes count, in seconds.
    pub window_secs: u64,
    /// Mutes, by the number of strikes in the window that brings each.
    pub penalties: Vec<Penalty>,
    /// What the muted sender is told; `{duration}` and `{count}` are
    /// replaced.
    pub notice: String,
}

impl Default for Strikes {
    fn default() -> Self {
        Self {
            count: vec![Outcome::Reject, Outcome::Drop],
            window_secs: 3600,
            penalties: Vec::new(),
            notice: "You cannot send messages here for {duration}: {count} of your messages broke the rules.".into(),
        }
    }
}

/// One mute.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Penalty {
    /// Strikes in the window that bring it.
    pub after: u32,
    /// How long the sender is muted, in seconds; IM lifts it then.
    pub mute_secs: u64,
}

/// The counters a strike at one moment touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The current counter: its bucket number and the end of its life.
    pub current: (u64, u64),
    /// The earlier counters still in the window, newest first.
    pub earlier: Vec<(u64, u64)>,
}

impl Strikes {
    /// Whether strikes are on at all.
    pub fn enabled(&self) -> bool {
        !self.penalties.is_empty()
    }

    /// Whether a decision is a strike.
    pub fn counts(&self, outcome: Outcome) -> bool {
        self.enabled() && self.count.contains(&outcome)
    }

    fn bucket_secs(&self) -> u64 {
        (self.window_secs / BUCKETS).max(1)
    }

    /// The counters for a strike at `now` (Unix seconds).
    pub fn window(&self, now: u64) -> Window {
        let size = self.bucket_secs();
        let expires = |bucket: u64| (bucket + 1) * size + self.window_secs;
        let current = now / size;
        Window {
            current: (current, expires(current)),
            earlier: (1..BUCKETS)
                .filter_map(|back| current.checked_sub(back))
                .map(|bucket| (bucket, expires(bucket)))
                .collect(),
        }
    }

    /// The penalty due when the sender has just reached `strikes`.
    pub fn penalty_at(&self, strikes: i64) -> Option<&Penalty> {
        self.penalties
            .iter()
            .find(|p| i64::from(p.after) == strikes)
    }

    /// What the sender is told about `penalty`, reached at `strikes`.
    pub fn notice(&self, penalty: &Penalty, strikes: i64) -> String {
        self.notice
            .replace("{duration}", &duration(penalty.mute_secs))
            .replace("{count}", &strikes.to_string())
    }

    /// Checks the settings; `at` names them in the error.
    pub(crate) fn validate(&self, at: &str) -> Result<(), String> {
        if self.window_secs == 0 || self.window_secs > 30 * 86_400 {
            return Err(format!(
                "{at}.window_secs: {} must be 1 to 2592000 (30 days)",
                self.window_secs
            ));
        }
        // A flag is a trial of a rule, not a finding against the sender.
        if let Some(outcome) = self
            .count
            .iter()
            .find(|o| matches!(o, Outcome::Allow | Outcome::Flag))
        {
            return Err(format!(
                "{at}.count: `{}` cannot be a strike; use reject, drop or mask",
                outcome.name()
            ));
        }
        let mut previous = 0;
        for (i, penalty) in self.penalties.iter().enumerate() {
            if penalty.after <= previous {
                return Err(format!(
                    "{at}.penalties[{i}].after: {} must be above the previous threshold ({previous}) and at least 1",
                    penalty.after
                ));
            }
            if penalty.mute_secs == 0 || penalty.mute_secs > MAX_MUTE_SECS {
                return Err(format!(
                    "{at}.penalties[{i}].mute_secs: {} must be 1 to {MAX_MUTE_SECS}",
                    penalty.mute_secs
                ));
            }
            previous = penalty.after;
        }
        if self.enabled() && self.notice.trim().is_empty() {
            return Err(format!("{at}.notice: the muted sender must be told why"));
        }
        Ok(())
    }
}

/// `90 seconds`, `5 minutes`, `2 hours`, `1 day`: the largest whole unit.
fn duration(secs: u64) -> String {
    let (amount, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(size, _)| secs.is_multiple_of(*size))
        .map_or((secs, "second"), |(size, unit)| (secs / size, unit));
    format!("{amount} {unit}{}", if amount == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strikes(json: &str) -> Strikes {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_window_is_six_counters_that_outlive_their_sixth_by_a_window() {
        let s = strikes(r#"{"window_secs": 60, "penalties": [{"after": 2, "mute_secs": 5}]}"#);
        let w = s.window(1_000);
        assert_eq!(w.current, (100, 1_010 + 60));
        assert_eq!(
            w.earlier,
            [
                (99, 1_060),
                (98, 1_050),
                (97, 1_040),
                (96, 1_030),
                (95, 1_020)
            ]
        );
        // The same sixth, the same counter.
        assert_eq!(s.window(1_009).current, w.current);
        assert_eq!(s.window(1_010).current.0, 101);
        // Near the epoch there are fewer earlier counters, never an underflow.
        assert_eq!(s.window(25).earlier, [(1, 80), (0, 70)]);
        // A window shorter than six seconds counts by the second.
        assert_eq!(strikes(r#"{"window_secs": 3}"#).window(7).current, (7, 11));
    }

    #[test]
    fn only_the_exact_threshold_brings_a_penalty() {
        let s = strikes(
            r#"{"penalties": [{"after": 3, "mute_secs": 600}, {"after": 5, "mute_secs": 86400}]}"#,
        );
        let due: Vec<_> = (1..=7)
            .map(|n| s.penalty_at(n).map(|p| p.mute_secs))
            .collect();
        assert_eq!(due, [None, None, Some(600), None, Some(86_400), None, None]);
        assert!(s.counts(Outcome::Reject) && s.counts(Outcome::Drop));
        assert!(!s.counts(Outcome::Mask) && !s.counts(Outcome::Allow));
        assert!(
            !Strikes::default().counts(Outcome::Reject),
            "no penalty: off"
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        for (secs, text) in [
            (1, "1 second"),
            (90, "90 seconds"),
            (300, "5 minutes"),
            (3_600, "1 hour"),
            (7_200, "2 hours"),
            (86_400, "1 day"),
            (5_400, "90 minutes"),
        ] {
            assert_eq!(duration(secs), text);
        }
    }

    #[test]
    fn bad_settings_name_their_field() {
        for (json, says) in [
            (r#"{"window_secs": 0}"#, "s.window_secs: 0"),
            (r#"{"count": ["allow"]}"#, "s.count: `allow`"),
            (
                r#"{"count": ["reject", "flag"]}"#,
                "s.count: `flag` cannot be a strike",
            ),
            (
                r#"{"penalties": [{"after": 3, "mute_secs": 60}, {"after": 3, "mute_secs": 90}]}"#,
                "s.penalties[1].after: 3",
            ),
            (
                r#"{"penalties": [{"after": 0, "mute_secs": 60}]}"#,
                "s.penalties[0].after: 0",
            ),
            (
                r#"{"penalties": [{"after": 1, "mute_secs": 0}]}"#,
                "s.penalties[0].mute_secs: 0",
            ),
            (
                r#"{"penalties": [{"after": 1, "mute_secs": 60}], "notice": " "}"#,
                "s.notice",
            ),
        ] {
            let error = strikes(json).validate("s").unwrap_err();
            assert!(error.starts_with(says), "{json}: {error}");
        }
    }
}
