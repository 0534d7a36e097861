//! When a help desk's people work, so that a request opened outside those
//! hours is told when to expect them.
//!
//! Written as days, a daily window and the desk's UTC offset:
//!
//! ```
//! use connector::hours::BusinessHours;
//!
//! let hours = BusinessHours::parse("Mon-Fri 09:00-18:00 +08:00").unwrap().unwrap();
//! // Friday 2026-12-04 09:59:59 UTC is 17:59:59 in UTC+8: open.
//! assert!(hours.is_open(1_796_378_399));
//! // One second later it is 18:00 there: closed, and all weekend.
//! assert!(!hours.is_open(1_796_378_400));
//! assert!(!hours.is_open(1_796_378_400 + 86_400));
//! // Empty: always open.
//! assert!(BusinessHours::parse("").unwrap().is_none());
//! ```

/// Days (`Mon-Fri`, `Mon,Wed,Sat-Sun`), a daily window in local time
/// (`09:00-18:00`, closing after opening) and the UTC offset (`+08:00`,
/// `-05:00`, `Z`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    /// Open on these days, Monday first.
    days: [bool; 7],
    /// Opening and closing, minutes after local midnight.
    open: u32,
    close: u32,
    /// Local time minus UTC, in minutes.
    offset: i32,
    /// As written, for notices.
    text: String,
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// What is wrong with a business-hours setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("business hours `{text}`: {reason} (expected e.g. `Mon-Fri 09:00-18:00 +08:00`)")]
pub struct HoursError {
    /// The setting.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

impl BusinessHours {
    /// Parses a setting; `None` when it is empty (always open).
    pub fn parse(text: &str) -> Result<Option<Self>, HoursError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let error = |reason: &str| HoursError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [days, window, offset] = parts[..] else {
            return Err(error("write days, a time window and a UTC offset"));
        };
        // `Mon` or `Monday`, in any case.
        let day = |name: &str| {
            let lower = name.to_ascii_lowercase();
            DAYS.iter()
                .position(|day| lower == day[..3] || lower == *day)
                .ok_or_else(|| error(&format!("`{name}` is not a day")))
        };
        let mut open_days = [false; 7];
        for item in days.split(',') {
            match item.split_once('-') {
                Some((from, to)) => {
                    let (from, to) = (day(from)?, day(to)?);
                    let mut d = from;
                    loop {
                        open_days[d] = true;
                        if d == to {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => open_days[day(item)?] = true,
            }
        }
        let time = |hhmm: &str| {
            let (h, m) = hhmm
                .split_once(':')
                .ok_or_else(|| error(&format!("`{hhmm}` is not HH:MM")))?;
            match (h.parse::<u32>(), m.parse::<u32>()) {
                (Ok(h), Ok(m)) if (h < 24 && m < 60) || (h == 24 && m == 0) => Ok(h * 60 + m),
                _ => Err(error(&format!("`{hhmm}` is not HH:MM"))),
            }
        };
        let (open, close) = window
            .split_once('-')
            .ok_or_else(|| error("the window is HH:MM-HH:MM"))?;
        let (open, close) = (time(open)?, time(close)?);
        if close <= open {
            return Err(error("the window must close after it opens"));
        }
        let offset = if offset.eq_ignore_ascii_case("z") || offset.eq_ignore_ascii_case("utc") {
            0
        } else {
            let sign = match offset.chars().next() {
                Some('+') => 1,
                Some('-') => -1,
                _ => return Err(error("the UTC offset is +HH:MM or -HH:MM")),
            };
            let minutes = time(&offset[1..])
                .ok()
                .filter(|m| *m <= 14 * 60)
                .ok_or_else(|| error("the UTC offset is +HH:MM or -HH:MM, at most 14 hours"))?;
            sign * i32::try_from(minutes).unwrap_or(0)
        };
        Ok(Some(Self {
            days: open_days,
            open,
            close,
            offset,
            text: text.to_string(),
        }))
    }

    /// Whether the desk is open at `unix` (seconds).
    pub fn is_open(&self, unix: u64) -> bool {
        let local = i64::try_from(unix).unwrap_or(i64::MAX) + i64::from(self.offset) * 60;
        let days = local.div_euclid(86_400);
        let minute = u32::try_from(local.rem_euclid(86_400) / 60).unwrap_or(0);
        // 1970-01-01 was a Thursday (index 3, Monday first).
        let weekday = usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0);
        self.days[weekday] && minute >= self.open && minute < self.close
    }

    /// The setting as written, for a notice.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// What a bridge tells a requester when nobody can answer yet: the desk's
/// hours with an out-of-hours notice, and a notice after some minutes
/// without an agent. From the bridge's variables `<desk>_business_hours`,
/// `<desk>_out_of_hours_notice` (`{hours}` is replaced by the hours),
/// `<desk>_wait_notice_minutes` (0: never) and `<desk>_wait_notice`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    /// When agents work; `None`: always.
    pub hours: Option<BusinessHours>,
    out_of_hours_notice: String,
    /// Seconds without an agent before the wait notice; `None`: never.
    wait_after: Option<u64>,
    wait_notice: String,
}

impl Availability {
    /// Reads `desk`'s settings through `variable` (empty when unset); the
    /// error names the variable.
    pub fn from_variables(desk: &str, variable: impl Fn(&str) -> String) -> Result<Self, String> {
        let name = |what: &str| format!("{desk}_{what}");
        let hours = BusinessHours::parse(&variable(&name("business_hours")))
            .map_err(|e| format!("{}: {e}", name("business_hours")))?;
        let minutes = variable(&name("wait_notice_minutes"));
        let minutes: f64 = if minutes.trim().is_empty() {
            0.0
        } else {
            minutes
                .trim()
                .parse()
                .ok()
                .filter(|m: &f64| m.is_finite() && *m >= 0.0 && *m <= 10_080.0)
                .ok_or_else(|| {
                    format!(
                        "{} must be a number of minutes from 0 to 10080 (a week)",
                        name("wait_notice_minutes")
                    )
                })?
        };
        // Whole seconds; a fraction of a minute is allowed (`0.5`).
        let wait_secs = (minutes * 60.0).round() as u64;
        let out_of_hours_notice = variable(&name("out_of_hours_notice"));
        let wait_notice = variable(&name("wait_notice"));
        if hours.is_some() && out_of_hours_notice.trim().is_empty() {
            return Err(format!(
                "{} is empty while business hours are set",
                name("out_of_hours_notice")
            ));
        }
        if wait_secs > 0 && wait_notice.trim().is_empty() {
            return Err(format!(
                "{} is empty while the wait notice is on",
                name("wait_notice")
            ));
        }
        Ok(Self {
            hours,
            out_of_hours_notice,
            wait_after: (wait_secs > 0).then_some(wait_secs),
            wait_notice,
        })
    }

    /// The out-of-hours notice, when the desk is closed at `now`.
    pub fn out_of_hours_notice(&self, now: u64) -> Option<String> {
        let hours = self.hours.as_ref().filter(|h| !h.is_open(now))?;
        Some(self.out_of_hours_notice.replace("{hours}", hours.text()))
    }

    /// The wait notice, when a request opened at `opened_at` (Unix seconds;
    /// 0 when unknown) still has no agent at `now`, during business hours
    /// (out of them, the requester was told when agents are back).
    pub fn wait_notice(&self, opened_at: u64, now: u64) -> Option<&str> {
        let wait = self.wait_after?;
        let open = self.hours.as_ref().is_none_or(|h| h.is_open(now));
        (opened_at > 0 && now >= opened_at.saturating_add(wait) && open)
            .then_some(self.wait_notice.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-07 is a Monday; 00:00 UTC.
    const MONDAY: u64 = 1_796_601_600;

    fn hours(text: &str) -> BusinessHours {
        BusinessHours::parse(text).unwrap().unwrap()
    }

    #[test]
    fn days_windows_and_offsets() {
        let weekdays = hours("Mon-Fri 09:00-18:00 Z");
        assert!(!weekdays.is_open(MONDAY + 8 * 3600 + 3599));
        assert!(weekdays.is_open(MONDAY + 9 * 3600));
        assert!(!weekdays.is_open(MONDAY + 18 * 3600));
        assert!(weekdays.is_open(MONDAY + 4 * 86_400 + 10 * 3600), "Friday");
        assert!(
            !weekdays.is_open(MONDAY + 5 * 86_400 + 10 * 3600),
            "Saturday"
        );
        // New York is five hours behind: 09:00 there is 14:00 UTC.
        let new_york = hours("mon-fri 09:00-17:00 -05:00");
        assert!(!new_york.is_open(MONDAY + 13 * 3600));
        assert!(new_york.is_open(MONDAY + 14 * 3600));
        // Shanghai is eight hours ahead: Monday 08:00 there is Sunday 00:00 UTC.
        let shanghai = hours("Monday,Wed,Sat-Sun 08:00-24:00 +08:00");
        assert!(
            shanghai.is_open(MONDAY - 86_400 + 3600),
            "Monday morning there"
        );
        assert!(
            shanghai.is_open(MONDAY + 5 * 86_400),
            "Saturday 08:00 there"
        );
        assert!(!shanghai.is_open(MONDAY + 86_400), "Tuesday there");
        // A range may wrap the week.
        let weekend = hours("Sat-Mon 10:00-12:00 Z");
        assert!(weekend.is_open(MONDAY + 11 * 3600));
        assert!(!weekend.is_open(MONDAY + 86_400 + 11 * 3600));
    }

    #[test]
    fn notices_come_out_of_hours_and_after_the_wait() {
        let vars = |hours: &'static str, minutes: &'static str| {
            move |name: &str| match name {
                "zendesk_business_hours" => hours.to_string(),
                "zendesk_out_of_hours_notice" => "We work {hours}.".to_string(),
                "zendesk_wait_notice_minutes" => minutes.to_string(),
                "zendesk_wait_notice" => "Thanks for waiting.".to_string(),
                _ => String::new(),
            }
        };
        let a =
            Availability::from_variables("zendesk", vars("Mon-Fri 09:00-18:00 Z", "10")).unwrap();
        let (night, day) = (MONDAY + 3600, MONDAY + 10 * 3600);
        assert_eq!(
            a.out_of_hours_notice(night).as_deref(),
            Some("We work Mon-Fri 09:00-18:00 Z.")
        );
        assert_eq!(a.out_of_hours_notice(day), None);
        assert_eq!(a.wait_notice(day - 599, day), None, "not yet");
        assert_eq!(a.wait_notice(day - 600, day), Some("Thanks for waiting."));
        assert_eq!(a.wait_notice(night - 3600, night), None, "out of hours");
        assert_eq!(a.wait_notice(0, day), None, "opened before times were kept");
        let always = Availability::from_variables("zendesk", vars("", "0")).unwrap();
        assert_eq!(always.out_of_hours_notice(night), None);
        assert_eq!(always.wait_notice(1, day), None);
        let e = Availability::from_variables("zendesk", vars("Mon 9-5 Z", "0")).unwrap_err();
        assert!(e.starts_with("zendesk_business_hours: "), "{e}");
        let e = Availability::from_variables("zendesk", vars("", "ten")).unwrap_err();
        assert!(e.contains("zendesk_wait_notice_minutes"), "{e}");
    }

    #[test]
    fn mistakes_are_named() {
        for (text, reason) in [
            ("Mon-Fri 09:00-18:00", "write days"),
            ("Mon-Fry 09:00-18:00 Z", "not a day"),
            ("Mon-Fri 9-18 Z", "not HH:MM"),
            ("Mon-Fri 18:00-09:00 Z", "close after"),
            ("Mon-Fri 09:00-18:00 +15:00", "at most 14"),
            ("Mon-Fri 09:00-18:00 8", "UTC offset"),
        ] {
            let e = BusinessHours::parse(text).unwrap_err();
            assert!(e.to_string().contains(reason), "{text}: {e}");
        }
    }
}
