//! IM webhook bodies for every command the components handle, read the
//! way they read them (lenient text first), then every text a client shows
//! of the message body, and the moderator's verdict on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use screening::policy::Policy;
use screening::verdict::Layers;

const COMMANDS: [&str; 11] = [
    "Group.CallbackBeforeSendMsg",
    "Group.CallbackAfterSendMsg",
    "C2C.CallbackBeforeSendMsg",
    "C2C.CallbackAfterSendMsg",
    "Bot.OnC2CMessage",
    "Bot.OnGroupMessage",
    "Group.CallbackBeforeCreateGroup",
    "Group.CallbackAfterGroupInfoChanged",
    "Group.CallbackAfterNewMemberJoin",
    "State.StateChange",
    "Other.Command",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let command = COMMANDS[usize::from(selector) % COMMANDS.len()];
    let _ = tim::events::Event::parse(command, body);
    let lenient = tim::events::lenient_json_text(body);
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&lenient) else {
        return;
    };
    let message = value.get("MsgBody").cloned().unwrap_or(value);
    // Every shown text's path leads to a string. (Replacements are each
    // made on a fresh copy: the raw `Data` and the texts inside its JSON
    // are both shown, and replacing the first moves the others.)
    for text in tim::shown::shown_texts(&message) {
        assert!(tim::shown::replace_at(
            &mut message.clone(),
            &text.path,
            "*"
        ));
    }
    if let Ok(elements) = serde_json::from_value::<Vec<tim::message::MsgElement>>(message) {
        let layers = Layers {
            builtin: screening::builtin(),
            overlay: None,
        };
        let verdict = layers.message(&Policy::default(), &elements);
        let _ = tim::message::joined_text(&elements);
        if let Some(masked) = verdict.masked {
            let _ = serde_json::to_vec(&masked);
        }
    }
});
