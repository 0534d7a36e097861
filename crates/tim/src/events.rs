//! Typed webhook bodies and the answers IM expects.
//!
//! Parsing is lenient, as IM's payloads are: numbers may arrive as strings
//! (`EventTime` does in the samples), fields go missing, new fields appear.
//! Commands this module does not type parse as raw JSON.

use crate::message::MsgElement;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Accepts a number or a numeric string; anything else (or absence) is `None`.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// `{"Member_Account": ..}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The user id.
    #[serde(rename = "Member_Account", default)]
    pub account: String,
}

/// Group message events: `Group.CallbackBeforeSendMsg`,
/// `Group.CallbackAfterSendMsg` and `Bot.OnGroupMessage`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct GroupMessage {
    /// `GroupId`.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// `Type` (group type).
    #[serde(rename = "Type")]
    pub group_type: Option<String>,
    /// `From_Account`.
    #[serde(rename = "From_Account")]
    pub from: String,
    /// `Operator_Account`.
    #[serde(rename = "Operator_Account")]
    pub operator: Option<String>,
    /// `Random`.
    #[serde(rename = "Random", deserialize_with = "lenient_u64")]
    pub random: Option<u64>,
    /// `MsgSeq` (after-send and bot events).
    #[serde(rename = "MsgSeq", deserialize_with = "lenient_u64")]
    pub msg_seq: Option<u64>,
    /// `MsgTime` in seconds.
    #[serde(rename = "MsgTime", deserialize_with = "lenient_u64")]
    pub msg_time: Option<u64>,
    /// `MsgBody`.
    #[serde(rename = "MsgBody")]
    pub body: Vec<MsgElement>,
    /// `CloudCustomData`.
    #[serde(rename = "CloudCustomData")]
    pub cloud_custom_data: Option<String>,
    /// `AtRobots_Account` (bot events).
    #[serde(rename = "AtRobots_Account")]
    pub at_robots: Vec<String>,
    /// `TopicId` (communities).
    #[serde(rename = "TopicId")]
    pub topic_id: Option<String>,
    /// `EventTime` in milliseconds.
    #[serde(rename = "EventTime", deserialize_with = "lenient_u64")]
    pub event_time: Option<u64>,
}

/// One-to-one message events: `C2C.CallbackBeforeSendMsg`,
/// `C2C.CallbackAfterSendMsg` and `Bot.OnC2CMessage`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct C2cMessage {
    /// `From_Account`.
    #[serde(rename = "From_Account")]
    pub from: String,
    /// `To_Account`.
    #[serde(rename = "To_Account")]
    pub to: String,
    /// `MsgSeq`.
    #[serde(rename = "MsgSeq", deserialize_with = "lenient_u64")]
    pub msg_seq: Option<u64>,
    /// `MsgRandom`.
    #[serde(rename = "MsgRandom", deserialize_with = "lenient_u64")]
    pub msg_random: Option<u64>,
    /// `MsgTime` in seconds.
    #[serde(rename = "MsgTime", deserialize_with = "lenient_u64")]
    pub msg_time: Option<u64>,
    /// `MsgKey`, the message's identity (for recall and deduplication).
    #[serde(rename = "MsgKey")]
    pub msg_key: Option<String>,
    /// `MsgBody`.
    #[serde(rename = "MsgBody")]
    pub body: Vec<MsgElement>,
    /// `CloudCustomData`.
    #[serde(rename = "CloudCustomData")]
    pub cloud_custom_data: Option<String>,
    /// `SendMsgResult` (after-send): 0 delivered.
    #[serde(rename = "SendMsgResult", deserialize_with = "lenient_u64")]
    pub send_msg_result: Option<u64>,
    /// `EventTime` in milliseconds.
    #[serde(rename = "EventTime", deserialize_with = "lenient_u64")]
    pub event_time: Option<u64>,
}

/// `Group.CallbackBeforeCreateGroup`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct BeforeCreateGroup {
    /// `Operator_Account`.
    #[serde(rename = "Operator_Account")]
    pub operator: String,
    /// `Owner_Account`.
    #[serde(rename = "Owner_Account")]
    pub owner: Option<String>,
    /// `Type`.
    #[serde(rename = "Type")]
    pub group_type: Option<String>,
    /// `Name`.
    #[serde(rename = "Name")]
    pub name: String,
    /// `Introduction`, when the creator set one.
    #[serde(rename = "Introduction")]
    pub introduction: Option<String>,
    /// `Notification`, when the creator set one.
    #[serde(rename = "Notification")]
    pub notification: Option<String>,
    /// `MemberList`.
    #[serde(rename = "MemberList")]
    pub members: Vec<Member>,
    /// `EventTime` in milliseconds.
    #[serde(rename = "EventTime", deserialize_with = "lenient_u64")]
    pub event_time: Option<u64>,
}

/// `Group.CallbackAfterGroupInfoChanged` (fired after a client or the REST
/// API changed a group's name, introduction, notification or face URL;
/// only the fields that changed are present, with their new values).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct GroupInfoChanged {
    /// `GroupId`.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// `Type`.
    #[serde(rename = "Type")]
    pub group_type: Option<String>,
    /// `Operator_Account`: who changed it.
    #[serde(rename = "Operator_Account")]
    pub operator: String,
    /// `Name`, when it changed.
    #[serde(rename = "Name")]
    pub name: Option<String>,
    /// `Introduction`, when it changed.
    #[serde(rename = "Introduction")]
    pub introduction: Option<String>,
    /// `Notification`, when it changed.
    #[serde(rename = "Notification")]
    pub notification: Option<String>,
    /// `FaceUrl`, when it changed.
    #[serde(rename = "FaceUrl")]
    pub face_url: Option<String>,
    /// `EventTime` in milliseconds.
    #[serde(rename = "EventTime", deserialize_with = "lenient_u64")]
    pub event_time: Option<u64>,
}

/// `Group.CallbackAfterGroupDestroyed`: only the group is read (the rest
/// of the body is not relied on).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct GroupDestroyed {
    /// `GroupId`.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// `EventTime` in milliseconds.
    #[serde(rename = "EventTime", deserialize_with = "lenient_u64")]
    pub event_time: Option<u64>,
}

/// `Group.CallbackAfterNewMemberJoin` and `Group.CallbackAfterMemberExit`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MembershipChange {
    /// `GroupId`.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// `Type`.
    #[serde(rename = "Type")]
    pub group_type: Option<String>,
    /// `JoinType` (`Apply`/`Invited`) or `ExitType` (`Kicked`/`Quit`).
    #[serde(alias = "JoinType", alias = "ExitType")]
    pub how: Option<String>,
    /// `Operator_Account`.
    #[serde(rename = "Operator_Account")]
    pub operator: Option<String>,
    /// `NewMemberList` or `ExitMemberList`.
    #[serde(alias = "NewMemberList", alias = "ExitMemberList")]
    pub members: Vec<Member>,
    /// `EventTime` in milliseconds.
    #[serde(rename = "EventTime", deserialize_with = "lenient_u64")]
    pub event_time: Option<u64>,
}

/// `State.StateChange`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StateChange {
    /// `Info`.
    #[serde(rename = "Info")]
    pub info: StateInfo,
    /// `EventTime` in milliseconds.
    #[serde(rename = "EventTime", deserialize_with = "lenient_u64")]
    pub event_time: Option<u64>,
}

/// `State.StateChange` `Info`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StateInfo {
    /// `Login`, `Logout` or `Disconnect`.
    #[serde(rename = "Action")]
    pub action: String,
    /// The user.
    #[serde(rename = "To_Account")]
    pub account: String,
    /// `Register`, `Unregister`, `LinkClose`, `TimeOut`.
    #[serde(rename = "Reason")]
    pub reason: Option<String>,
}

/// A parsed webhook body.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `Group.CallbackBeforeSendMsg`.
    GroupBeforeSendMsg(GroupMessage),
    /// `Group.CallbackAfterSendMsg`.
    GroupAfterSendMsg(GroupMessage),
    /// `C2C.CallbackBeforeSendMsg`.
    C2cBeforeSendMsg(C2cMessage),
    /// `C2C.CallbackAfterSendMsg`.
    C2cAfterSendMsg(C2cMessage),
    /// `Bot.OnC2CMessage`.
    BotC2cMessage(C2cMessage),
    /// `Bot.OnGroupMessage`.
    BotGroupMessage(GroupMessage),
    /// `Group.CallbackBeforeCreateGroup`.
    GroupBeforeCreate(BeforeCreateGroup),
    /// `Group.CallbackAfterGroupInfoChanged`.
    GroupInfoChanged(GroupInfoChanged),
    /// `Group.CallbackAfterNewMemberJoin`.
    GroupMemberJoined(MembershipChange),
    /// `Group.CallbackAfterMemberExit`.
    GroupMemberExited(MembershipChange),
    /// `Group.CallbackAfterGroupDestroyed`.
    GroupDestroyed(GroupDestroyed),
    /// `State.StateChange`.
    StateChange(StateChange),
    /// Any other command, as raw JSON.
    Other {
        /// `CallbackCommand`.
        command: String,
        /// The body.
        body: Value,
    },
}

/// A webhook body as JSON text that `serde_json` accepts whenever a client
/// could have sent it: invalid UTF-8 becomes U+FFFD, and so does a lone
/// surrogate escape (`"\ud800"`, which JavaScript clients produce and
/// `serde_json` refuses). Everything else is left as it is.
pub fn lenient_json_text(body: &[u8]) -> std::borrow::Cow<'_, str> {
    let text = String::from_utf8_lossy(body);
    if !text.contains("\\u") {
        return text;
    }
    let bytes = text.as_bytes();
    let escape_at = |at: usize| -> Option<u16> {
        let digits = bytes.get(at..at + 6)?;
        if digits[0] != b'\\' || digits[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&digits[2..]).ok()?, 16).ok()
    };
    let mut out = Vec::with_capacity(bytes.len());
    let (mut at, mut in_string) = (0, false);
    while at < bytes.len() {
        let byte = bytes[at];
        if !in_string {
            in_string = byte == b'"';
            out.push(byte);
            at += 1;
            continue;
        }
        match byte {
            b'"' => in_string = false,
            b'\\' => {
                let width = match escape_at(at) {
                    Some(0xD800..=0xDBFF) if matches!(escape_at(at + 6), Some(0xDC00..=0xDFFF)) => {
                        12
                    }
                    Some(0xD800..=0xDFFF) => {
                        out.extend_from_slice(b"\\ufffd");
                        at += 6;
                        continue;
                    }
                    Some(_) => 6,
                    None => 2,
                };
                let end = (at + width).min(bytes.len());
                out.extend_from_slice(&bytes[at..end]);
                at = end;
                continue;
            }
            _ => {}
        }
        out.push(byte);
        at += 1;
    }
    // Only ASCII was inserted, at character boundaries.
    std::borrow::Cow::Owned(
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

impl Event {
    /// Parses the body of a webhook whose `CallbackCommand` is `command`,
    /// after [`lenient_json_text`].
    pub fn parse(command: &str, body: &[u8]) -> Result<Self, serde_json::Error> {
        let text = lenient_json_text(body);
        let body = text.as_bytes();
        Ok(match command {
            "Group.CallbackBeforeSendMsg" => {
                Self::GroupBeforeSendMsg(serde_json::from_slice(body)?)
            }
            "Group.CallbackAfterSendMsg" => Self::GroupAfterSendMsg(serde_json::from_slice(body)?),
            "C2C.CallbackBeforeSendMsg" => Self::C2cBeforeSendMsg(serde_json::from_slice(body)?),
            "C2C.CallbackAfterSendMsg" => Self::C2cAfterSendMsg(serde_json::from_slice(body)?),
            "Bot.OnC2CMessage" => Self::BotC2cMessage(serde_json::from_slice(body)?),
            "Bot.OnGroupMessage" => Self::BotGroupMessage(serde_json::from_slice(body)?),
            "Group.CallbackBeforeCreateGroup" => {
                Self::GroupBeforeCreate(serde_json::from_slice(body)?)
            }
            "Group.CallbackAfterGroupInfoChanged" => {
                Self::GroupInfoChanged(serde_json::from_slice(body)?)
            }
            "Group.CallbackAfterGroupDestroyed" => {
                Self::GroupDestroyed(serde_json::from_slice(body)?)
            }
            "Group.CallbackAfterNewMemberJoin" => {
                Self::GroupMemberJoined(serde_json::from_slice(body)?)
            }
            "Group.CallbackAfterMemberExit" => {
                Self::GroupMemberExited(serde_json::from_slice(body)?)
            }
            "State.StateChange" => Self::StateChange(serde_json::from_slice(body)?),
            _ => Self::Other {
                command: command.to_string(),
                body: serde_json::from_slice(body)?,
            },
        })
    }
}

/// The JSON answer to a webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// `OK` or `FAIL`.
    #[serde(rename = "ActionStatus")]
    pub action_status: String,
    /// Message for the client on rejection.
    #[serde(rename = "ErrorInfo")]
    pub error_info: String,
    /// 0 allow, 1 reject, 2 silent drop, or a custom code.
    #[serde(rename = "ErrorCode")]
    pub error_code: i64,
    /// Replacement body (before-send callbacks, with `ErrorCode` 0).
    #[serde(rename = "MsgBody", skip_serializing_if = "Option::is_none")]
    pub msg_body: Option<Vec<MsgElement>>,
    /// Replacement `CloudCustomData`.
    #[serde(rename = "CloudCustomData", skip_serializing_if = "Option::is_none")]
    pub cloud_custom_data: Option<String>,
}

/// Which before-callback a custom rejection code is for; the allowed ranges
/// differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Group callbacks: custom codes 10100–10200.
    Group,
    /// One-to-one callbacks: custom codes 120001–130000.
    C2c,
}

impl Scope {
    /// The scope of a callback whose answer is a decision (the
    /// before-callbacks), `None` for the callbacks whose answer IM ignores.
    ///
    /// ```
    /// use tim::events::Scope;
    /// assert_eq!(Scope::deciding("C2C.CallbackBeforeSendMsg"), Some(Scope::C2c));
    /// assert_eq!(Scope::deciding("Group.CallbackAfterSendMsg"), None);
    /// ```
    pub fn deciding(command: &str) -> Option<Self> {
        match command {
            "Group.CallbackBeforeSendMsg" | "Group.CallbackBeforeCreateGroup" => Some(Scope::Group),
            "C2C.CallbackBeforeSendMsg" => Some(Scope::C2c),
            _ => None,
        }
    }

    /// The range of custom codes IM passes to the client.
    pub fn custom_codes(self) -> std::ops::RangeInclusive<i64> {
        match self {
            Scope::Group => 10100..=10200,
            Scope::C2c => 120001..=130000,
        }
    }
}

/// A custom code outside the documented range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("custom error code {code} is outside {start}..={end} for this callback")]
pub struct CodeOutOfRange {
    /// The code asked for.
    pub code: i64,
    /// Range start.
    pub start: i64,
    /// Range end.
    pub end: i64,
}

impl Answer {
    fn with(code: i64, info: &str) -> Self {
        Self {
            action_status: "OK".into(),
            error_info: info.into(),
            error_code: code,
            msg_body: None,
            cloud_custom_data: None,
        }
    }

    /// `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`: acknowledge / allow.
    pub fn ok() -> Self {
        Self::with(0, "")
    }

    /// Reject (`ErrorCode` 1): the sender gets 10016 (group) or 20006 (C2C).
    pub fn reject() -> Self {
        Self::with(1, "")
    }

    /// Drop silently (`ErrorCode` 2): the sender believes it was sent.
    pub fn silent_drop() -> Self {
        Self::with(2, "")
    }

    /// Reject with a custom code and message the client sees.
    pub fn reject_with(scope: Scope, code: i64, info: &str) -> Result<Self, CodeOutOfRange> {
        let range = scope.custom_codes();
        if !range.contains(&code) {
            return Err(CodeOutOfRange {
                code,
                start: *range.start(),
                end: *range.end(),
            });
        }
        Ok(Self::with(code, info))
    }

    /// Allow, delivering `body` instead of the original.
    pub fn replace(body: Vec<MsgElement>) -> Self {
        Self {
            msg_body: Some(body),
            ..Self::ok()
        }
    }

    /// As JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an answer always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_and_bad_utf8_are_replaced_not_refused() {
        let body = br#"{"MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "go kill yourself\ud800 \udc00 \ud83d\ude00 \\ud800 \n"}}], "X": "\u00e9?"}"#;
        let body = &body.map(|b| if b == b'?' { 0xff } else { b });
        assert!(serde_json::from_slice::<serde_json::Value>(body).is_err());
        let text = lenient_json_text(body);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["MsgBody"][0]["MsgContent"]["Text"],
            "go kill yourself\u{fffd} \u{fffd} 😀 \\ud800 \n"
        );
        assert_eq!(value["X"], "é\u{fffd}");
        let clean = br#"{"a": "\u00e9"}"#;
        assert_eq!(lenient_json_text(clean), r#"{"a": "\u00e9"}"#);
    }

    #[test]
    fn group_before_send_with_string_event_time_and_unknown_fields() {
        let body = br#"{"CallbackCommand":"Group.CallbackBeforeSendMsg","GroupId":"@TGS#2J4SZEAEL","Type":"Public",
            "From_Account":"jared","Operator_Account":"admin","Random":123456,"OnlineOnlyFlag":1,
            "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}],
            "CloudCustomData":"your cloud custom data","EventTime":"1670574414123","Brand":"new"}"#;
        let Event::GroupBeforeSendMsg(msg) =
            Event::parse("Group.CallbackBeforeSendMsg", body).unwrap()
        else {
            panic!()
        };
        assert_eq!(msg.group_id, "@TGS#2J4SZEAEL");
        assert_eq!(msg.event_time, Some(1670574414123));
        assert_eq!(msg.random, Some(123456));
        assert_eq!(msg.body[0].as_text(), Some("red packet"));
    }

    #[test]
    fn c2c_and_bot_events() {
        let body = br#"{"CallbackCommand":"C2C.CallbackBeforeSendMsg","From_Account":"jared","To_Account":"Jonh",
            "MsgSeq":48374,"MsgRandom":2837546,"MsgTime":1557481126,"MsgKey":"48374_2837546_1557481126",
            "OnlineOnlyFlag":1,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}],"EventTime":1670574414123}"#;
        let Event::C2cBeforeSendMsg(msg) = Event::parse("C2C.CallbackBeforeSendMsg", body).unwrap()
        else {
            panic!()
        };
        assert_eq!(msg.msg_key.as_deref(), Some("48374_2837546_1557481126"));
        assert_eq!(msg.event_time, Some(1670574414123));

        let body = br#"{"CallbackCommand":"Bot.OnGroupMessage","GroupId":"g1","Type":"Public","From_Account":"u",
            "Random":1,"MsgSeq":7,"MsgTime":1,"AtRobots_Account":["@RBT#001"],
            "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"@@RBT#001 hello"}}]}"#;
        let Event::BotGroupMessage(msg) = Event::parse("Bot.OnGroupMessage", body).unwrap() else {
            panic!()
        };
        assert_eq!(msg.at_robots, ["@RBT#001"]);
        assert_eq!(msg.msg_seq, Some(7));

        let body = br#"{"CallbackCommand":"Bot.OnC2CMessage","From_Account":"u","To_Account":"@RBT#001","MsgKey":"k"}"#;
        assert!(matches!(
            Event::parse("Bot.OnC2CMessage", body).unwrap(),
            Event::BotC2cMessage(_)
        ));
    }

    #[test]
    fn membership_state_create_and_unknown() {
        let join = br#"{"GroupId":"g","JoinType":"Invited","NewMemberList":[{"Member_Account":"a"}],"EventTime":1}"#;
        let Event::GroupMemberJoined(c) =
            Event::parse("Group.CallbackAfterNewMemberJoin", join).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (c.how.as_deref(), c.members[0].account.as_str()),
            (Some("Invited"), "a")
        );
        let exit =
            br#"{"GroupId":"g","ExitType":"Quit","ExitMemberList":[{"Member_Account":"b"}]}"#;
        let Event::GroupMemberExited(c) =
            Event::parse("Group.CallbackAfterMemberExit", exit).unwrap()
        else {
            panic!()
        };
        assert_eq!(c.members[0].account, "b");
        let state = br#"{"EventTime":1670574414123,"Info":{"Action":"Login","To_Account":"u","Reason":"Register"},"KickedDevice":[{"Platform":"IOS"}]}"#;
        let Event::StateChange(s) = Event::parse("State.StateChange", state).unwrap() else {
            panic!()
        };
        assert_eq!(s.info.action, "Login");
        let create = br#"{"Operator_Account":"u","Name":"bad name","MemberList":[]}"#;
        assert!(matches!(
            Event::parse("Group.CallbackBeforeCreateGroup", create).unwrap(),
            Event::GroupBeforeCreate(BeforeCreateGroup { ref name, .. }) if name == "bad name"
        ));
        // The documented sample (1047/34378): only what changed is there.
        let changed = br#"{"CallbackCommand":"Group.CallbackAfterGroupInfoChanged","GroupId":"@TGS#2J4SZEAEL",
            "Type":"Public","Operator_Account":"leckie","Notification":"NewNotification","EventTime":"1670574414123"}"#;
        let Event::GroupInfoChanged(c) =
            Event::parse("Group.CallbackAfterGroupInfoChanged", changed).unwrap()
        else {
            panic!()
        };
        assert_eq!(c.notification.as_deref(), Some("NewNotification"));
        assert_eq!((c.name, c.introduction), (None, None));
        assert_eq!(c.event_time, Some(1670574414123));
        let other = Event::parse("Sns.CallbackFriendAdd", br#"{"x":1}"#).unwrap();
        assert!(
            matches!(other, Event::Other { ref command, .. } if command == "Sns.CallbackFriendAdd")
        );
    }

    #[test]
    fn answers() {
        assert_eq!(
            String::from_utf8(Answer::ok().to_json()).unwrap(),
            r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#
        );
        assert_eq!(Answer::reject().error_code, 1);
        assert_eq!(Answer::silent_drop().error_code, 2);
        assert_eq!(
            Answer::reject_with(Scope::Group, 10100, "no")
                .unwrap()
                .error_code,
            10100
        );
        assert!(Answer::reject_with(Scope::Group, 120001, "no").is_err());
        assert!(Answer::reject_with(Scope::C2c, 120001, "no").is_ok());
        let replaced = Answer::replace(vec![MsgElement::text("***")]);
        let json: Value = serde_json::from_slice(&replaced.to_json()).unwrap();
        assert_eq!(json["MsgBody"][0]["MsgContent"]["Text"], "***");
        assert_eq!(json["ErrorCode"], 0);
    }
}
