//! The relay's configuration from Spin variables: how to reach IM, and the
//! robots, blocked words and policy (parsed and checked by
//! [`chatbot::settings`]).

use chatbot::settings::Settings;
use connector::im::ImSettings;

/// Everything the relay needs.
pub struct Config {
    /// IM's REST API, as the administrator.
    pub im: ImSettings,
    /// The robots and how their answers are screened.
    pub chatbot: Settings,
}

impl Config {
    /// Reads and checks everything; the error names what is wrong.
    pub fn load() -> Result<Self, String> {
        Ok(Self {
            im: ImSettings::load()?,
            chatbot: Settings::from_variables(connector::config::optional_variable)
                .map_err(|e| e.to_string())?,
        })
    }
}

impl Config {
    /// The robot with this account id.
    pub fn robot(&self, id: &str) -> Option<&chatbot::settings::Robot> {
        self.chatbot.robot(id)
    }

    /// `robot`'s screening for one answer, with the moderator's run-time
    /// overlay read from the key-value store (once per instance, unless it
    /// changed).
    pub fn judge<'a>(&'a self, robot: &'a chatbot::settings::Robot) -> chatbot::judge::Judge<'a> {
        let overlay = if chatbot::judge::Judge::screens(robot) {
            screening::stored::overlay().unwrap_or_else(|e| {
                eprintln!("chatbot: {e}; screening with the built-in lexicon only");
                None
            })
        } else {
            None
        };
        chatbot::judge::Judge::new(&self.chatbot, robot, overlay)
    }
}
