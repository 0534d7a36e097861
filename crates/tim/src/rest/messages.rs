//! Messages: sending to groups and one to one, system notifications,
//! recalling, reading a group's history.

use super::groups::validate_group_id_for_call;
use super::*;

const SEND_GROUP_MSG: Command = Command {
    path: "group_open_http_svc/send_group_msg",
    idempotent: false,
};

const SEND_GROUP_SYSTEM_NOTIFICATION: Command = Command {
    path: "group_open_http_svc/send_group_system_notification",
    idempotent: false,
};

const GROUP_MSG_RECALL: Command = Command {
    path: "group_open_http_svc/group_msg_recall",
    idempotent: true,
};

const SEND_MSG: Command = Command {
    path: "openim/sendmsg",
    idempotent: false,
};

const ADMIN_MSG_WITHDRAW: Command = Command {
    path: "openim/admin_msgwithdraw",
    idempotent: true,
};

const MODIFY_GROUP_MSG: Command = Command {
    path: "openim/modify_group_msg",
    idempotent: true,
};

const MODIFY_C2C_MSG: Command = Command {
    path: "openim/modify_c2c_msg",
    idempotent: true,
};

const GROUP_MSG_GET_SIMPLE: Command = Command {
    path: "group_open_http_svc/group_msg_get_simple",
    idempotent: true,
};

/// What `modify_group_msg` and `modify_c2c_msg` write over a delivered
/// message: a new body, new `CloudCustomData`, or both.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Replacement {
    /// The new `MsgBody`, if it changes.
    pub body: Option<Vec<MsgElement>>,
    /// The new `CloudCustomData`, if it changes.
    pub cloud_custom_data: Option<String>,
}

impl Replacement {
    fn request(&self) -> Result<Value, ImError> {
        if self.body.is_none() && self.cloud_custom_data.is_none() {
            return Err(ImError::InvalidRequest(
                "a modification needs MsgBody or CloudCustomData".into(),
            ));
        }
        let mut request = serde_json::json!({});
        if let Some(body) = &self.body {
            request["MsgBody"] = serde_json::json!(body);
        }
        if let Some(data) = &self.cloud_custom_data {
            request["CloudCustomData"] = data.as_str().into();
        }
        Ok(request)
    }
}

/// `@` mention in a group message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupAt {
    /// 1 for @all.
    #[serde(rename = "GroupAtAllFlag")]
    pub all: u8,
    /// The mentioned user.
    #[serde(rename = "GroupAt_Account", skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// `ForbidCallbackControl` values that stop a message from triggering the
/// before/after-send webhooks again (loop safety for bots).
pub const FORBID_SEND_CALLBACKS: [&str; 2] =
    ["ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"];

/// `send_group_msg` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SendGroupMsg {
    /// Group id.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// Random; IM discards a repeat of the same content and random within 5 min.
    #[serde(rename = "Random")]
    pub random: u32,
    /// Body.
    #[serde(rename = "MsgBody")]
    pub body: Vec<MsgElement>,
    /// Sender shown to members (default: the admin).
    #[serde(rename = "From_Account", skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Webhooks to suppress.
    #[serde(rename = "ForbidCallbackControl", skip_serializing_if = "is_empty_vec")]
    pub forbid_callback_control: Vec<String>,
    /// Mentions, in text order.
    #[serde(rename = "GroupAtInfo", skip_serializing_if = "is_empty_vec")]
    pub group_at: Vec<GroupAt>,
    /// `CloudCustomData`.
    #[serde(rename = "CloudCustomData", skip_serializing_if = "Option::is_none")]
    pub cloud_custom_data: Option<String>,
}

/// One message of a group's history (`group_msg_get_simple`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HistoryMessage {
    /// `MsgSeq`: the message's place in the group, oldest first.
    #[serde(rename = "MsgSeq")]
    pub seq: u64,
    /// Sender.
    #[serde(rename = "From_Account", default)]
    pub from: String,
    /// `MsgRandom`.
    #[serde(rename = "MsgRandom", default)]
    pub random: u64,
    /// Unix seconds.
    #[serde(rename = "MsgTimeStamp", default)]
    pub time: u64,
    /// 1 when the message expired, failed to be stored, or was deleted or
    /// recalled: only its place is left.
    #[serde(rename = "IsPlaceMsg", default)]
    pub is_place_msg: u8,
    /// Body (empty for a place message).
    #[serde(rename = "MsgBody", default)]
    pub body: Vec<MsgElement>,
}

/// A page of a group's history, newest first as IM returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GroupHistory {
    /// Messages.
    #[serde(rename = "RspMsgList", default)]
    pub messages: Vec<HistoryMessage>,
    /// 1 when every message up to the requested one was returned.
    #[serde(rename = "IsFinished", default)]
    pub is_finished: u8,
}

/// Identity of a sent group message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GroupMsgSent {
    /// `MsgSeq`: with the group id, identifies the message.
    #[serde(rename = "MsgSeq", default)]
    pub msg_seq: u64,
    /// `MsgTime`.
    #[serde(rename = "MsgTime", default)]
    pub msg_time: u64,
}

/// `openim/sendmsg` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SendMsg {
    /// 1 sync to sender's devices, 2 don't.
    #[serde(rename = "SyncOtherMachine", skip_serializing_if = "Option::is_none")]
    pub sync_other_machine: Option<u8>,
    /// Sender (default: the admin).
    #[serde(rename = "From_Account", skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Recipient.
    #[serde(rename = "To_Account")]
    pub to: String,
    /// Random.
    #[serde(rename = "MsgRandom")]
    pub random: u32,
    /// Body.
    #[serde(rename = "MsgBody")]
    pub body: Vec<MsgElement>,
    /// Webhooks to suppress.
    #[serde(rename = "ForbidCallbackControl", skip_serializing_if = "is_empty_vec")]
    pub forbid_callback_control: Vec<String>,
    /// `CloudCustomData`.
    #[serde(rename = "CloudCustomData", skip_serializing_if = "Option::is_none")]
    pub cloud_custom_data: Option<String>,
}

impl SendMsg {
    /// A one-to-one text from `from` (the administrator when `None`) that
    /// fires no send callback and is not synced to the sender's devices:
    /// what a service says to a user (a robot's answer, a moderator's
    /// notice).
    pub fn service_text(from: Option<String>, to: &str, text: impl Into<String>) -> Self {
        SendMsg {
            sync_other_machine: Some(2),
            from,
            to: to.to_string(),
            random: random_u32(),
            body: vec![MsgElement::text(text)],
            forbid_callback_control: FORBID_SEND_CALLBACKS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            cloud_custom_data: None,
        }
    }
}

/// Identity of a sent one-to-one message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct C2cMsgSent {
    /// `MsgKey`, needed to recall it.
    #[serde(rename = "MsgKey", default)]
    pub msg_key: String,
    /// `MsgTime`.
    #[serde(rename = "MsgTime", default)]
    pub msg_time: u64,
}

/// Per-message outcome of `group_msg_recall`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecallResult {
    /// The message.
    #[serde(rename = "MsgSeq")]
    pub msg_seq: u64,
    /// 0 recalled, else an error code.
    #[serde(rename = "RetCode")]
    pub ret_code: i64,
}

#[derive(Deserialize)]
struct RecallResponse {
    #[serde(rename = "RecallRetList", default)]
    results: Vec<RecallResult>,
}

impl<T: Transport> Client<T> {
    /// `send_group_msg`.
    pub async fn send_group_msg(&self, request: &SendGroupMsg) -> Result<GroupMsgSent, ImError> {
        validate_group_id_for_call(&request.group_id)?;
        self.call(SEND_GROUP_MSG, request).await
    }

    /// `send_group_system_notification` to all members (`to` empty) or some.
    pub async fn send_group_system_notification(
        &self,
        group_id: &str,
        content: &str,
        to: &[String],
    ) -> Result<(), ImError> {
        validate_group_id_for_call(group_id)?;
        let mut request = serde_json::json!({ "GroupId": group_id, "Content": content });
        if !to.is_empty() {
            request["ToMembers_Account"] = serde_json::json!(to);
        }
        let _: Empty = self.call(SEND_GROUP_SYSTEM_NOTIFICATION, &request).await?;
        Ok(())
    }

    /// `group_msg_recall`.
    pub async fn group_msg_recall(
        &self,
        group_id: &str,
        msg_seqs: &[u64],
    ) -> Result<Vec<RecallResult>, ImError> {
        validate_group_id_for_call(group_id)?;
        let list: Vec<Value> = msg_seqs
            .iter()
            .map(|s| serde_json::json!({ "MsgSeq": s }))
            .collect();
        let response: RecallResponse = self
            .call(
                GROUP_MSG_RECALL,
                &serde_json::json!({ "GroupId": group_id, "MsgSeqList": list }),
            )
            .await?;
        Ok(response.results)
    }

    /// `openim/sendmsg`.
    pub async fn send_msg(&self, request: &SendMsg) -> Result<C2cMsgSent, ImError> {
        if request.to.is_empty() {
            return Err(ImError::InvalidRequest("To_Account is empty".into()));
        }
        self.call(SEND_MSG, request).await
    }

    /// `openim/admin_msgwithdraw`.
    pub async fn admin_msg_withdraw(
        &self,
        from: &str,
        to: &str,
        msg_key: &str,
    ) -> Result<(), ImError> {
        let _: Empty = self
            .call(
                ADMIN_MSG_WITHDRAW,
                &serde_json::json!({ "From_Account": from, "To_Account": to, "MsgKey": msg_key }),
            )
            .await?;
        Ok(())
    }

    /// `openim/modify_group_msg`: overwrites a delivered group message's
    /// body and `CloudCustomData` (IM keeps no copy of the old ones). Not for
    /// AVChatRoom groups; `topic_id` names the topic of a community message.
    pub async fn modify_group_msg(
        &self,
        group_id: &str,
        seq: u64,
        topic_id: Option<&str>,
        replacement: &Replacement,
    ) -> Result<(), ImError> {
        validate_group_id_for_call(group_id)?;
        let mut request = replacement.request()?;
        request["GroupId"] = group_id.into();
        request["MsgSeq"] = seq.into();
        if let Some(topic) = topic_id {
            request["TopicId"] = topic.into();
        }
        let _: Empty = self.call(MODIFY_GROUP_MSG, &request).await?;
        Ok(())
    }

    /// `openim/modify_c2c_msg`: overwrites a delivered one-to-one message's
    /// body and `CloudCustomData`.
    pub async fn modify_c2c_msg(
        &self,
        from: &str,
        to: &str,
        msg_key: &str,
        replacement: &Replacement,
    ) -> Result<(), ImError> {
        let mut request = replacement.request()?;
        request["From_Account"] = from.into();
        request["To_Account"] = to.into();
        request["MsgKey"] = msg_key.into();
        let _: Empty = self.call(MODIFY_C2C_MSG, &request).await?;
        Ok(())
    }

    /// `group_msg_get_simple`: the `count` (1 to 20) newest messages of
    /// `group_id` up to `up_to_seq` (all of them when `None`), newest first.
    /// Page back by asking again up to the smallest `seq` minus one.
    pub async fn group_msg_get_simple(
        &self,
        group_id: &str,
        up_to_seq: Option<u64>,
        count: u32,
    ) -> Result<GroupHistory, ImError> {
        validate_group_id_for_call(group_id)?;
        if !(1..=20).contains(&count) {
            return Err(ImError::InvalidRequest(
                "group_msg_get_simple returns 1 to 20 messages".into(),
            ));
        }
        let mut request = serde_json::json!({ "GroupId": group_id, "ReqMsgNumber": count });
        if let Some(seq) = up_to_seq {
            request["ReqMsgSeq"] = serde_json::json!(seq);
        }
        self.call(GROUP_MSG_GET_SIMPLE, &request).await
    }
}
