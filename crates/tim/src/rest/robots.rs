//! Robots: creating robot accounts and streaming their answers.

use super::*;

const CREATE_ROBOT: Command = Command {
    path: "openim_robot_http_svc/create_robot",
    idempotent: true,
};

const SEND_STREAM_MSG: Command = Command {
    path: "openim_robot_http_svc/send_stream_msg",
    idempotent: false,
};

impl<T: Transport> Client<T> {
    /// `openim_robot_http_svc/send_stream_msg`: the first chunk (no
    /// `msg_key`) starts a robot's streamed one-to-one reply and returns its
    /// `MsgKey`; later chunks pass it; `finish` marks the last.
    pub async fn send_stream_msg(
        &self,
        robot: &str,
        to: &str,
        chunk: &str,
        msg_key: Option<&str>,
        finish: bool,
    ) -> Result<String, ImError> {
        let mut request =
            serde_json::json!({ "From_Account": robot, "To_Account": to, "Chunk": chunk });
        if let Some(key) = msg_key {
            request["MsgKey"] = serde_json::json!(key);
        }
        if finish {
            request["Finish"] = serde_json::json!(1);
        }
        #[derive(Deserialize)]
        struct Sent {
            #[serde(rename = "MsgKey", default)]
            msg_key: String,
        }
        let sent: Sent = self.call(SEND_STREAM_MSG, &request).await?;
        Ok(if sent.msg_key.is_empty() {
            msg_key.unwrap_or_default().to_string()
        } else {
            sent.msg_key
        })
    }

    /// `create_robot`; robot ids start with `@RBT#`.
    pub async fn create_robot(&self, user_id: &str, nick: Option<&str>) -> Result<(), ImError> {
        if !user_id.starts_with("@RBT#") || user_id.len() > 32 {
            return Err(ImError::InvalidRequest(format!(
                "robot id `{user_id}` must start with `@RBT#` and be at most 32 bytes"
            )));
        }
        let mut request = serde_json::json!({ "UserID": user_id });
        if let Some(nick) = nick {
            request["Nick"] = serde_json::json!(nick);
        }
        let _: Empty = self.call(CREATE_ROBOT, &request).await?;
        Ok(())
    }
}
