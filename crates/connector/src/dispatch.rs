//! Which component handles which IM webhook command.
//!
//! The table is configuration (a Spin variable), one entry per line or
//! comma: `Command=component[/path]`. A command ending in `*` matches every
//! command with that prefix (`Bot.*=chatbot-relay`); an exact entry beats a
//! prefix, and a longer prefix beats a shorter one. The path defaults to
//! `/im/callback`.
//!
//! An after-callback (an exact `….CallbackAfter…` command) may go to
//! several components, joined by `+`: each is told, in order
//! (`Group.CallbackAfterSendMsg=moderator+zendesk-bridge/zendesk/im`). A
//! before-callback's answer is IM's decision, so it has one owner.
//!
//! ```
//! use connector::dispatch::DispatchTable;
//!
//! let table = DispatchTable::parse(
//!     "Group.CallbackBeforeSendMsg=moderator, Bot.*=chatbot-relay/bot, \
//!      Group.CallbackAfterSendMsg=moderator+zendesk-bridge/zendesk/im",
//! ).unwrap();
//! let bot = &table.lookup("Bot.OnC2CMessage").unwrap()[0];
//! assert_eq!((bot.component.as_str(), bot.path.as_str()), ("chatbot-relay", "/bot"));
//! let after: Vec<&str> = table.lookup("Group.CallbackAfterSendMsg").unwrap()
//!     .iter().map(|t| t.path.as_str()).collect();
//! assert_eq!(after, ["/im/callback", "/zendesk/im"]);
//! assert!(table.lookup("State.StateChange").is_none());
//! assert!(DispatchTable::parse("Group.CallbackBeforeSendMsg=moderator+other").is_err());
//! ```

/// Where a command goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Component id (reached as `http://<component>.spin.internal`).
    pub component: String,
    /// Path on that component.
    pub path: String,
}

impl Target {
    /// The service-chaining URL for this target, with `query` appended.
    pub fn url(&self, query: &str) -> String {
        if query.is_empty() {
            format!("http://{}.spin.internal{}", self.component, self.path)
        } else {
            format!(
                "http://{}.spin.internal{}?{query}",
                self.component, self.path
            )
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    Prefix(String),
}

/// A parsed dispatch table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchTable {
    entries: Vec<(Pattern, Vec<Target>)>,
}

/// A table entry that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dispatch table entry `{entry}`: {reason}")]
pub struct TableError {
    /// The entry as written.
    pub entry: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The path used when an entry names none.
pub const DEFAULT_PATH: &str = "/im/callback";

impl DispatchTable {
    /// Parses the table text.
    pub fn parse(text: &str) -> Result<Self, TableError> {
        let mut entries = Vec::new();
        for entry in text
            .split([',', '\n', ';'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let error = |reason: &str| TableError {
                entry: entry.to_string(),
                reason: reason.to_string(),
            };
            let (command, target) = entry
                .split_once('=')
                .ok_or_else(|| error("expected Command=component[/path]"))?;
            let (command, target) = (command.trim(), target.trim());
            if command.is_empty() || command.contains(char::is_whitespace) {
                return Err(error("the command is empty or contains spaces"));
            }
            let pattern = match command.strip_suffix('*') {
                Some(prefix) if !prefix.contains('*') => Pattern::Prefix(prefix.to_string()),
                Some(_) => return Err(error("`*` may only end the command")),
                None if command.contains('*') => return Err(error("`*` may only end the command")),
                None => Pattern::Exact(command.to_string()),
            };
            let mut targets = Vec::new();
            for target in target.split('+').map(str::trim) {
                let (component, path) = match target.split_once('/') {
                    Some((component, path)) => (component, format!("/{path}")),
                    None => (target, DEFAULT_PATH.to_string()),
                };
                let valid_id = !component.is_empty()
                    && component.split('-').all(|p| {
                        !p.is_empty()
                            && p.chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    });
                if !valid_id {
                    return Err(error("the component id must be lowercase kebab-case"));
                }
                targets.push(Target {
                    component: component.to_string(),
                    path,
                });
            }
            let after_callback =
                matches!(&pattern, Pattern::Exact(c) if c.contains(".CallbackAfter"));
            if targets.len() > 1 && !after_callback {
                return Err(error(
                    "only an after-callback (an exact ….CallbackAfter… command) may go to \
                     several components: a before-callback's answer is IM's decision",
                ));
            }
            if entries.iter().any(|(p, _)| *p == pattern) {
                return Err(error("the command appears twice"));
            }
            entries.push((pattern, targets));
        }
        Ok(Self { entries })
    }

    /// The targets for `command` (one, or several for an after-callback),
    /// if any entry matches.
    pub fn lookup(&self, command: &str) -> Option<&[Target]> {
        let exact = self.entries.iter().find_map(|(p, t)| match p {
            Pattern::Exact(c) if c == command => Some(t),
            _ => None,
        });
        exact
            .or_else(|| {
                self.entries
                    .iter()
                    .filter_map(|(p, t)| match p {
                        Pattern::Prefix(prefix) if command.starts_with(prefix.as_str()) => {
                            Some((prefix.len(), t))
                        }
                        _ => None,
                    })
                    .max_by_key(|(len, _)| *len)
                    .map(|(_, t)| t)
            })
            .map(Vec::as_slice)
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_beats_prefix_and_longer_prefix_wins() {
        let t = DispatchTable::parse(
            "Group.*=groups\nGroup.CallbackBeforeSendMsg=moderator\nGroup.CallbackBefore*=before/x/y",
        )
        .unwrap();
        assert_eq!(
            t.lookup("Group.CallbackBeforeSendMsg").unwrap()[0].component,
            "moderator"
        );
        let before = &t.lookup("Group.CallbackBeforeCreateGroup").unwrap()[0];
        assert_eq!(
            (before.component.as_str(), before.path.as_str()),
            ("before", "/x/y")
        );
        assert_eq!(
            t.lookup("Group.CallbackAfterSendMsg").unwrap()[0].component,
            "groups"
        );
        assert_eq!(t.lookup("C2C.CallbackAfterSendMsg"), None);
        assert_eq!(
            t.lookup("Group.CallbackBeforeSendMsg").unwrap()[0].path,
            DEFAULT_PATH
        );
    }

    #[test]
    fn urls() {
        let t = Target {
            component: "moderator".into(),
            path: "/im/callback".into(),
        };
        assert_eq!(
            t.url("a=1"),
            "http://moderator.spin.internal/im/callback?a=1"
        );
        assert_eq!(t.url(""), "http://moderator.spin.internal/im/callback");
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in [
            "Bot.*",
            "=x",
            "Bot.*=Chatbot",
            "B*t=x",
            "A=x, A=y",
            "A B=x",
            "Group.*=a+b",
            "C2C.CallbackBeforeSendMsg=a+b",
            "Group.CallbackAfterSendMsg=a+",
        ] {
            let err = DispatchTable::parse(bad).unwrap_err();
            assert!(!err.reason.is_empty(), "{bad}");
        }
        assert!(DispatchTable::parse("  \n, ").unwrap().is_empty());
    }
}
