//! Accounts: importing users, reading their nicknames and photos, muting a
//! user everywhere.

use super::*;

const SET_NO_SPEAKING: Command = Command {
    path: "openconfigsvr/setnospeaking",
    idempotent: true,
};

const ACCOUNT_IMPORT: Command = Command {
    path: "im_open_login_svc/account_import",
    idempotent: true,
};

const PORTRAIT_GET: Command = Command {
    path: "profile/portrait_get",
    idempotent: true,
};

#[derive(Deserialize)]
struct PortraitGetResponse {
    #[serde(rename = "UserProfileItem", default)]
    items: Vec<PortraitItem>,
}

#[derive(Deserialize)]
struct PortraitItem {
    #[serde(rename = "To_Account", default)]
    account: String,
    #[serde(rename = "ProfileItem", default)]
    profile: Vec<ProfileTag>,
}

#[derive(Deserialize)]
struct ProfileTag {
    #[serde(rename = "Tag", default)]
    tag: String,
    #[serde(rename = "Value", default)]
    value: Value,
}

impl<T: Transport> Client<T> {
    /// `openconfigsvr/setnospeaking`: mutes an account's one-to-one and/or
    /// group messages everywhere for the given seconds (`u32::MAX` forever,
    /// 0 lifts it); `None` leaves that side as it is.
    pub async fn set_no_speaking(
        &self,
        account: &str,
        c2c_secs: Option<u64>,
        group_secs: Option<u64>,
    ) -> Result<(), ImError> {
        if c2c_secs.is_none() && group_secs.is_none() {
            return Err(ImError::InvalidRequest(
                "setnospeaking needs a one-to-one or a group muting time".into(),
            ));
        }
        let mut request = serde_json::json!({ "Set_Account": account });
        for (field, secs) in [
            ("C2CmsgNospeakingTime", c2c_secs),
            ("GroupmsgNospeakingTime", group_secs),
        ] {
            if let Some(secs) = secs {
                request[field] = secs.min(u64::from(u32::MAX)).into();
            }
        }
        let _: Empty = self.call(SET_NO_SPEAKING, &request).await?;
        Ok(())
    }

    /// `account_import` (idempotent on IM's side).
    pub async fn account_import(&self, user_id: &str, nick: Option<&str>) -> Result<(), ImError> {
        self.import_account(user_id, nick, None).await
    }

    /// `account_import` with a profile picture (`FaceUrl`) as well as a
    /// nickname.
    pub async fn account_import_with_face(
        &self,
        user_id: &str,
        nick: &str,
        face_url: Option<&str>,
    ) -> Result<(), ImError> {
        self.import_account(user_id, Some(nick), face_url).await
    }

    async fn import_account(
        &self,
        user_id: &str,
        nick: Option<&str>,
        face_url: Option<&str>,
    ) -> Result<(), ImError> {
        if user_id.is_empty() || user_id.len() > 32 {
            return Err(ImError::InvalidRequest(format!(
                "user id `{user_id}` must be 1 to 32 bytes"
            )));
        }
        let mut request = serde_json::json!({ "UserID": user_id });
        if let Some(nick) = nick {
            request["Nick"] = serde_json::json!(nick);
        }
        if let Some(url) = face_url {
            request["FaceUrl"] = serde_json::json!(url);
        }
        let _: Empty = self.call(ACCOUNT_IMPORT, &request).await?;
        Ok(())
    }

    /// `portrait_get`: the nickname (`Tag_Profile_IM_Nick`) of each of
    /// `accounts` (1 to 100) that has one.
    pub async fn nicknames(
        &self,
        accounts: &[String],
    ) -> Result<std::collections::BTreeMap<String, String>, ImError> {
        if accounts.is_empty() || accounts.len() > 100 {
            return Err(ImError::InvalidRequest(
                "portrait_get takes 1 to 100 accounts".into(),
            ));
        }
        let response: PortraitGetResponse = self
            .call(
                PORTRAIT_GET,
                &serde_json::json!({ "To_Account": accounts, "TagList": ["Tag_Profile_IM_Nick"] }),
            )
            .await?;
        Ok(response
            .items
            .into_iter()
            .filter_map(|item| {
                let nick = item
                    .profile
                    .into_iter()
                    .find(|t| t.tag == "Tag_Profile_IM_Nick")?
                    .value
                    .as_str()?
                    .to_string();
                (!nick.is_empty()).then_some((item.account, nick))
            })
            .collect())
    }
}
