//! Groups: creating, dissolving and describing them, their members, muting
//! a member.

use super::*;

const CREATE_GROUP: Command = Command {
    path: "group_open_http_svc/create_group",
    idempotent: true,
};

const ADD_GROUP_MEMBER: Command = Command {
    path: "group_open_http_svc/add_group_member",
    idempotent: true,
};

const DELETE_GROUP_MEMBER: Command = Command {
    path: "group_open_http_svc/delete_group_member",
    idempotent: true,
};

const DESTROY_GROUP: Command = Command {
    path: "group_open_http_svc/destroy_group",
    idempotent: true,
};

const GET_GROUP_INFO: Command = Command {
    path: "group_open_http_svc/get_group_info",
    idempotent: true,
};

const MODIFY_GROUP_BASE_INFO: Command = Command {
    path: "group_open_http_svc/modify_group_base_info",
    idempotent: true,
};

const FORBID_SEND_MSG: Command = Command {
    path: "group_open_http_svc/forbid_send_msg",
    idempotent: true,
};

/// Checks a custom group id: printable ASCII, at most 48 bytes, not starting
/// with `@TGS#` (IM's own ids).
pub fn validate_group_id(group_id: &str) -> Result<(), ImError> {
    if group_id.is_empty() {
        return Err(ImError::InvalidRequest("group id is empty".into()));
    }
    if group_id.len() > 48 {
        return Err(ImError::InvalidRequest(format!(
            "group id `{group_id}` is {} bytes; IM allows at most 48",
            group_id.len()
        )));
    }
    if let Some(c) = group_id.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(ImError::InvalidRequest(format!(
            "group id `{group_id}` contains {c:?}; only printable ASCII is allowed"
        )));
    }
    if group_id.starts_with("@TGS#") {
        return Err(ImError::InvalidRequest(format!(
            "group id `{group_id}` must not start with `@TGS#` (reserved for IM-assigned ids)"
        )));
    }
    Ok(())
}

/// A member to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberAccount {
    /// User id.
    #[serde(rename = "Member_Account")]
    pub account: String,
}

/// `create_group` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateGroup {
    /// `Public`, `Private`/`Work`, `ChatRoom`/`Meeting`, `AVChatRoom`, `Community`.
    #[serde(rename = "Type")]
    pub group_type: String,
    /// Name (≤ 30 bytes).
    #[serde(rename = "Name")]
    pub name: String,
    /// Custom group id.
    #[serde(rename = "GroupId", skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Owner.
    #[serde(rename = "Owner_Account", skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Introduction.
    #[serde(rename = "Introduction", skip_serializing_if = "Option::is_none")]
    pub introduction: Option<String>,
    /// `FreeAccess`, `NeedPermission`, `DisableApply`.
    #[serde(rename = "ApplyJoinOption", skip_serializing_if = "Option::is_none")]
    pub apply_join_option: Option<String>,
    /// Initial members.
    #[serde(rename = "MemberList", skip_serializing_if = "is_empty_vec")]
    pub members: Vec<MemberAccount>,
}

#[derive(Deserialize)]
struct CreateGroupResponse {
    #[serde(rename = "GroupId")]
    group_id: String,
}

/// Per-member outcome of `add_group_member`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AddResult {
    /// User id.
    #[serde(rename = "Member_Account")]
    pub account: String,
    /// 0 failed, 1 added, 2 already a member, 3 awaiting approval.
    #[serde(rename = "Result")]
    pub result: i64,
}

#[derive(Deserialize)]
struct AddGroupMemberResponse {
    #[serde(rename = "MemberList", default)]
    members: Vec<AddResult>,
}

/// The texts a client shows for a group, as `modify_group_base_info`
/// sets them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupTexts {
    /// `Name`.
    pub name: Option<String>,
    /// `Introduction`.
    pub introduction: Option<String>,
    /// `Notification`.
    pub notification: Option<String>,
}

/// One group from `get_group_info`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GroupInfo {
    /// Group id.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// Per-group error code (10010 / 10015 for a missing group).
    #[serde(rename = "ErrorCode", default)]
    pub error_code: i64,
    /// Per-group error text.
    #[serde(rename = "ErrorInfo", default)]
    pub error_info: String,
    /// Type.
    #[serde(rename = "Type", default)]
    pub group_type: Option<String>,
    /// Name.
    #[serde(rename = "Name", default)]
    pub name: Option<String>,
    /// Owner.
    #[serde(rename = "Owner_Account", default)]
    pub owner: Option<String>,
    /// Member count.
    #[serde(rename = "MemberNum", default)]
    pub member_num: Option<u64>,
    /// Members (when not filtered out).
    #[serde(rename = "MemberList", default)]
    pub members: Vec<MemberAccount>,
}

#[derive(Deserialize)]
struct GetGroupInfoResponse {
    #[serde(rename = "GroupInfo", default)]
    groups: Vec<GroupInfo>,
}

impl<T: Transport> Client<T> {
    /// `create_group`; returns the group id.
    pub async fn create_group(&self, request: &CreateGroup) -> Result<String, ImError> {
        if let Some(id) = &request.group_id {
            validate_group_id(id)?;
        }
        if request.name.is_empty() || request.name.len() > 30 {
            return Err(ImError::InvalidRequest(format!(
                "group name must be 1 to 30 bytes, got {}",
                request.name.len()
            )));
        }
        let response: CreateGroupResponse = self.call(CREATE_GROUP, request).await?;
        Ok(response.group_id)
    }

    /// Creates the group with its custom id unless it exists: 10021 and
    /// 10025 ("already used") count as existing.
    pub async fn ensure_group(&self, request: &CreateGroup) -> Result<Outcome, ImError> {
        if request.group_id.is_none() {
            return Err(ImError::InvalidRequest(
                "ensure_group needs an explicit group id".into(),
            ));
        }
        match self.create_group(request).await {
            Ok(_) => Ok(Outcome::Done),
            Err(e) if matches!(e.code(), Some(10021 | 10025)) => Ok(Outcome::AlreadyDone),
            Err(e) => Err(e),
        }
    }

    /// `add_group_member`, returning each member's `Result`.
    pub async fn add_group_member(
        &self,
        group_id: &str,
        accounts: &[String],
        silence: bool,
    ) -> Result<Vec<AddResult>, ImError> {
        validate_group_id_for_call(group_id)?;
        let request = serde_json::json!({
            "GroupId": group_id,
            "Silence": u8::from(silence),
            "MemberList": accounts.iter().map(|a| MemberAccount { account: a.clone() }).collect::<Vec<_>>(),
        });
        let response: AddGroupMemberResponse = self.call(ADD_GROUP_MEMBER, &request).await?;
        Ok(response.members)
    }

    /// Adds one member; already being a member (`Result` 2) counts as done.
    pub async fn ensure_member(&self, group_id: &str, account: &str) -> Result<Outcome, ImError> {
        let results = self
            .add_group_member(group_id, &[account.to_string()], false)
            .await?;
        match results
            .iter()
            .find(|r| r.account == account)
            .map(|r| r.result)
        {
            Some(1) | Some(3) => Ok(Outcome::Done),
            Some(2) => Ok(Outcome::AlreadyDone),
            other => Err(ImError::Api {
                command: ADD_GROUP_MEMBER.path,
                code: 10013,
                info: format!("member `{account}` was not added (Result {other:?})"),
            }),
        }
    }

    /// `delete_group_member` (succeeds for users not in the group).
    pub async fn delete_group_member(
        &self,
        group_id: &str,
        accounts: &[String],
        silence: bool,
    ) -> Result<(), ImError> {
        validate_group_id_for_call(group_id)?;
        let request = serde_json::json!({
            "GroupId": group_id,
            "Silence": u8::from(silence),
            "MemberToDel_Account": accounts,
        });
        let _: Empty = self.call(DELETE_GROUP_MEMBER, &request).await?;
        Ok(())
    }

    /// `destroy_group`.
    pub async fn destroy_group(&self, group_id: &str) -> Result<(), ImError> {
        validate_group_id_for_call(group_id)?;
        let _: Empty = self
            .call(DESTROY_GROUP, &serde_json::json!({ "GroupId": group_id }))
            .await?;
        Ok(())
    }

    /// Destroys the group; 10010 (already gone) counts as done.
    pub async fn dissolve_group(&self, group_id: &str) -> Result<Outcome, ImError> {
        match self.destroy_group(group_id).await {
            Ok(()) => Ok(Outcome::Done),
            Err(e) if e.code() == Some(10010) => Ok(Outcome::AlreadyDone),
            Err(e) => Err(e),
        }
    }

    /// `get_group_info`; check each group's own `error_code`.
    pub async fn get_group_info(&self, group_ids: &[String]) -> Result<Vec<GroupInfo>, ImError> {
        if group_ids.is_empty() || group_ids.len() > 50 {
            return Err(ImError::InvalidRequest(
                "get_group_info takes 1 to 50 group ids".into(),
            ));
        }
        let response: GetGroupInfoResponse = self
            .call(
                GET_GROUP_INFO,
                &serde_json::json!({ "GroupIdList": group_ids }),
            )
            .await?;
        Ok(response.groups)
    }

    /// `modify_group_base_info`: sets the given texts of a group (`None`
    /// leaves a field as it is). As an administrator's change, it fires
    /// `Group.CallbackAfterGroupInfoChanged` with `Operator_Account` set
    /// to the administrator.
    pub async fn modify_group_base_info(
        &self,
        group_id: &str,
        texts: &GroupTexts,
    ) -> Result<(), ImError> {
        validate_group_id_for_call(group_id)?;
        let mut request = serde_json::json!({ "GroupId": group_id });
        for (field, value) in [
            ("Name", &texts.name),
            ("Introduction", &texts.introduction),
            ("Notification", &texts.notification),
        ] {
            if let Some(value) = value {
                request[field] = value.as_str().into();
            }
        }
        let _: Empty = self.call(MODIFY_GROUP_BASE_INFO, &request).await?;
        Ok(())
    }

    /// `forbid_send_msg`: mutes members of a group for `mute_secs` (IM
    /// lifts it then; 0 lifts it now). At most 500 members; work groups
    /// (`Private`) cannot mute members.
    pub async fn forbid_send_msg(
        &self,
        group_id: &str,
        members: &[String],
        mute_secs: u64,
    ) -> Result<(), ImError> {
        validate_group_id_for_call(group_id)?;
        if members.is_empty() || members.len() > 500 {
            return Err(ImError::InvalidRequest(
                "forbid_send_msg takes 1 to 500 members".into(),
            ));
        }
        let _: Empty = self
            .call(
                FORBID_SEND_MSG,
                &serde_json::json!({ "GroupId": group_id, "Members_Account": members, "MuteTime": mute_secs }),
            )
            .await?;
        Ok(())
    }
}

/// Ids passed to calls on existing groups may be IM-assigned (`@TGS#…`), so
/// only the length and character rules apply.
pub(super) fn validate_group_id_for_call(group_id: &str) -> Result<(), ImError> {
    if group_id.starts_with("@TGS#") && group_id.len() <= 48 {
        return Ok(());
    }
    validate_group_id(group_id)
}
