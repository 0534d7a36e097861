//! What may be sent of a robot's answer. The robot's messages skip IM's
//! before-send callback, so this is where they are screened: first by the
//! moderator's policy over the built-in lexicon and the run-time overlay,
//! then by the relay's own blocked words.

use crate::settings::{Robot, Screening, Settings};
use screening::policy::Outcome;
use std::sync::Arc;

/// What the robot's screening makes of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screened {
    /// Nothing found: send it as it is.
    Clean,
    /// Send this instead: the same text, matched characters masked one
    /// `*` per character (so character offsets are unchanged).
    Masked(String),
    /// Do not send it: the robot's `blocked_reply` goes instead.
    Blocked,
}

/// One robot's screening, ready to judge the texts of one answer.
pub struct Judge<'a> {
    settings: &'a Settings,
    robot: &'a Robot,
    overlay: Option<Arc<moderation::Lexicon>>,
}

impl<'a> Judge<'a> {
    /// Judges for `robot`, with the moderator's run-time `overlay` if there
    /// is one (its terms must not come back in the robot's answers either).
    pub fn new(
        settings: &'a Settings,
        robot: &'a Robot,
        overlay: Option<Arc<moderation::Lexicon>>,
    ) -> Self {
        Self {
            settings,
            robot,
            overlay,
        }
    }

    /// Whether this robot screens at all (when not, the caller need not
    /// read the overlay).
    pub fn screens(robot: &Robot) -> bool {
        robot.screening != Screening::Off
    }

    /// Whether the moderation policy would refuse `text` (drop or reject
    /// it), over the built-in lexicon and the overlay, whatever the robot's
    /// own `screening`: for a user's message, which a robot with
    /// `handoff.on_rejected_message` hands to people.
    pub fn refuses(&self, text: &str) -> bool {
        let layers = screening::verdict::Layers {
            builtin: screening::builtin(),
            overlay: self.overlay.as_deref(),
        };
        let (verdict, _) = layers.text(&self.settings.policy, text);
        verdict.outcome > Outcome::Mask
    }

    /// Judges `text`: anything the policy drops or rejects blocks the
    /// answer; what it masks and the blocked words are masked, or block
    /// the answer when the robot says `screening: block`.
    pub fn judge(&self, text: &str) -> Screened {
        let (settings, robot) = (self.settings, self.robot);
        if !Self::screens(robot) {
            return Screened::Clean;
        }
        let layers = screening::verdict::Layers {
            builtin: screening::builtin(),
            overlay: self.overlay.as_deref(),
        };
        let (verdict, masked) = layers.text(&settings.policy, text);
        if let Some(finding) = verdict.findings.first() {
            eprintln!(
                "chatbot: {} answer screened: {} ({}, {})",
                robot.id,
                verdict.outcome.name(),
                finding.category,
                finding.rule
            );
        }
        if verdict.outcome > Outcome::Mask {
            return Screened::Blocked;
        }
        let words = settings.blocked_words.scan(&masked);
        let masked = moderation::mask(&masked, &words);
        match (
            verdict.outcome == Outcome::Mask || !words.is_empty(),
            robot.screening,
        ) {
            (true, Screening::Block) => Screened::Blocked,
            (true, _) => Screened::Masked(masked),
            (false, _) => Screened::Clean,
        }
    }

    /// The answer as it may be sent: itself, masked, or the robot's
    /// `blocked_reply`.
    pub fn screen(&self, text: &str) -> String {
        match self.judge(text) {
            Screened::Clean => text.to_string(),
            Screened::Masked(masked) => masked,
            Screened::Blocked => self.robot.blocked_reply.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(screening: &str, policy: &str) -> Settings {
        let robots = format!(
            r#"[{{"id": "@RBT#r", "providers": [{{"kind": "openai", "model": "m"}}], "screening": "{screening}"}}]"#
        );
        Settings::from_variables(|name| match name {
            "chatbot_robots" => robots.clone(),
            "chatbot_blocked_words" => "darn, 坏词\nsecret".into(),
            "llm_openai_url" => "http://llm".into(),
            "moderator_policy" => policy.into(),
            _ => String::new(),
        })
        .unwrap()
    }

    fn judge(screening: &str, text: &str) -> Screened {
        let settings = settings(screening, "");
        Judge::new(&settings, &settings.robots[0], None).judge(text)
    }

    #[test]
    fn blocked_words_are_masked_one_star_per_character() {
        assert_eq!(
            judge("mask", "Well DARN it 😀, 坏词!"),
            Screened::Masked("Well **** it 😀, **!".into())
        );
        assert_eq!(
            judge("mask", "darndarn"),
            Screened::Masked("********".into())
        );
        assert_eq!(judge("mask", "all clean here"), Screened::Clean);
    }

    #[test]
    fn blocked_words_are_found_through_the_evasions_the_engine_undoes() {
        // Full-width letters and spacing are what word filters miss.
        let Screened::Masked(masked) = judge("mask", "the ｓｅｃｒｅｔ is out") else {
            panic!("full-width letters must not hide a blocked word");
        };
        assert!(!masked.contains('ｓ'), "{masked}");
    }

    #[test]
    fn screening_block_replaces_any_finding_and_off_sends_everything() {
        assert_eq!(judge("block", "a secret"), Screened::Blocked);
        assert_eq!(judge("off", "a secret"), Screened::Clean);
        let settings = settings("block", "");
        let judge = Judge::new(&settings, &settings.robots[0], None);
        assert_eq!(judge.screen("a secret"), settings.robots[0].blocked_reply);
        assert_eq!(judge.screen("fine"), "fine");
    }

    #[test]
    fn what_the_policy_rejects_is_blocked_even_when_the_robot_masks() {
        // The built-in lexicon rejects incitement to self-harm (see the
        // screening crate's example).
        assert_eq!(judge("mask", "go kill yourself"), Screened::Blocked);
    }
}
