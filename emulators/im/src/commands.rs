//! The REST commands and the end-user send paths, with IM's checks and
//! error codes.

use crate::Shared;
use crate::state::{C2cMessage, Group, GroupMessage, now};
use crate::webhooks::{self, Verdict};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

fn ok(extra: Value) -> Value {
    let mut answer = json!({ "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "" });
    if let (Some(map), Value::Object(extra)) = (answer.as_object_mut(), extra) {
        map.extend(extra);
    }
    answer
}

fn fail(code: i64, info: impl Into<String>) -> Value {
    json!({ "ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info.into() })
}

const GROUP_TYPES: [&str; 7] = [
    "Public",
    "Private",
    "Work",
    "ChatRoom",
    "Meeting",
    "AVChatRoom",
    "Community",
];
const MAX_MESSAGE_BYTES: usize = 12 * 1024;

/// Checks the query string: app id, admin identifier and its UserSig.
fn authenticate(shared: &Shared, query: &str) -> Result<String, Value> {
    let config = shared.config();
    let mut params = std::collections::HashMap::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        params.insert(k.into_owned(), v.into_owned());
    }
    let Some(app) = params.get("sdkappid") else {
        return Err(fail(60012, "missing sdkappid"));
    };
    if app.parse::<u64>().ok() != Some(config.sdk_app_id) {
        return Err(fail(60006, format!("invalid sdkappid {app}")));
    }
    let Some(identifier) = params.get("identifier").filter(|i| !i.is_empty()) else {
        return Err(fail(60005, "missing identifier"));
    };
    let Some(usersig) = params.get("usersig").filter(|s| !s.is_empty()) else {
        return Err(fail(70002, "empty usersig"));
    };
    if params
        .get("random")
        .and_then(|r| r.parse::<u32>().ok())
        .is_none()
    {
        return Err(fail(60002, "random must be a 32-bit unsigned integer"));
    }
    if params.get("contenttype").map(String::as_str) != Some("json") {
        return Err(fail(60002, "contenttype must be json"));
    }
    let signer = tim::usersig::Signer::new(config.sdk_app_id, &config.secret_key);
    use tim::usersig::VerifyError as E;
    match signer.verify(identifier, usersig, now()) {
        Ok(_) => {}
        Err(E::Expired { .. }) => return Err(fail(70001, "usersig expired")),
        Err(E::BadSignature) => return Err(fail(70009, "usersig verification failed: wrong key")),
        Err(E::IdentifierMismatch { .. }) => {
            return Err(fail(70013, "usersig identifier mismatch"));
        }
        Err(E::AppIdMismatch { .. }) => return Err(fail(70014, "usersig sdkappid mismatch")),
        Err(E::Malformed(m)) => return Err(fail(70003, format!("invalid usersig: {m}"))),
    }
    if !config.admins.iter().any(|a| a == identifier) {
        return Err(fail(60010, format!("`{identifier}` is not an app admin")));
    }
    Ok(identifier.clone())
}

/// Handles `POST /v4/<command>`.
pub(crate) async fn rest(shared: &Arc<Shared>, command: &str, query: &str, body: &[u8]) -> Value {
    let answer = match authenticate(shared, query) {
        Err(answer) => answer,
        Ok(_) if let Some(code) = shared.faults.take() => fail(code, "injected failure"),
        Ok(identifier) => match serde_json::from_slice::<Value>(body) {
            Err(_) if command.starts_with("openim/") => fail(90001, "JSON parse error"),
            Err(_) => fail(60003, "JSON parse error"),
            Ok(request) if !request.is_object() => fail(60003, "body must be a JSON object"),
            Ok(request) => dispatch(shared, command, &identifier, request).await,
        },
    };
    let code = answer["ErrorCode"].as_i64().unwrap_or(0);
    shared.state().calls.push((command.to_string(), code));
    answer
}

async fn dispatch(shared: &Arc<Shared>, command: &str, identifier: &str, req: Value) -> Value {
    match command {
        "group_open_http_svc/create_group" => create_group(shared, identifier, &req),
        "group_open_http_svc/add_group_member" => add_group_member(shared, &req),
        "group_open_http_svc/delete_group_member" => delete_group_member(shared, &req),
        "group_open_http_svc/destroy_group" => destroy_group(shared, &req),
        "group_open_http_svc/get_group_info" => get_group_info(shared, &req),
        "group_open_http_svc/modify_group_base_info" => {
            change_group_info(shared, identifier, &req, "RESTAPI")
        }
        "group_open_http_svc/send_group_msg" => send_group_msg(shared, identifier, &req).await,
        "group_open_http_svc/send_group_system_notification" => system_notification(shared, &req),
        "group_open_http_svc/group_msg_recall" => group_msg_recall(shared, &req),
        "group_open_http_svc/forbid_send_msg" => forbid_send_msg(shared, &req),
        "openconfigsvr/setnospeaking" => set_no_speaking(shared, &req),
        "openim/sendmsg" => sendmsg(shared, identifier, &req).await,
        "openim/admin_msgwithdraw" => admin_msgwithdraw(shared, &req),
        "openim/modify_group_msg" => modify_group_msg(shared, &req),
        "openim/modify_c2c_msg" => modify_c2c_msg(shared, &req),
        "im_open_login_svc/account_import" => account_import(shared, &req),
        "group_open_http_svc/group_msg_get_simple" => group_msg_get_simple(shared, &req),
        "profile/portrait_get" => portrait_get(shared, &req),
        "openim_robot_http_svc/create_robot" => create_robot(shared, &req),
        "openim_robot_http_svc/send_stream_msg" => send_stream_msg(shared, &req),
        _ => fail(60009, format!("unknown command {command}")),
    }
}

fn str_field<'a>(req: &'a Value, name: &str) -> Option<&'a str> {
    req.get(name).and_then(Value::as_str)
}

pub(crate) fn accounts_of(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|m| {
                    if key.is_empty() {
                        m.as_str()
                    } else {
                        m[key].as_str()
                    }
                })
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn check_group_id(id: &str) -> Result<(), Value> {
    if id.is_empty() || id.len() > 48 || !id.chars().all(|c| (' '..='~').contains(&c)) {
        return Err(fail(10015, format!("invalid GroupId `{id}`")));
    }
    Ok(())
}

fn create_group(shared: &Shared, identifier: &str, req: &Value) -> Value {
    let admins = shared.config().admins;
    let group_type = str_field(req, "Type").unwrap_or("");
    if !GROUP_TYPES.contains(&group_type) {
        return fail(10004, format!("invalid Type `{group_type}`"));
    }
    let name = str_field(req, "Name").unwrap_or("");
    if name.is_empty() || name.len() > 30 {
        return fail(10004, "Name must be 1 to 30 bytes");
    }
    let members = accounts_of(&req["MemberList"], "Member_Account");
    if group_type == "AVChatRoom" && !members.is_empty() {
        return fail(10007, "AVChatRoom does not accept MemberList");
    }
    if members.len() > 100 {
        return fail(10005, "more than 100 members");
    }
    let mut state = shared.state();
    let owner = str_field(req, "Owner_Account").map(String::from);
    for account in owner.iter().chain(&members) {
        if !state.exists(account, &admins) {
            return fail(10019, format!("account `{account}` does not exist"));
        }
    }
    let id = match str_field(req, "GroupId") {
        Some(id) => {
            if let Err(e) = check_group_id(id) {
                return e;
            }
            if id.starts_with("@TGS#") && group_type != "Community" {
                return fail(10004, "custom GroupId must not start with @TGS#");
            }
            if let Some(existing) = state.groups.get(id) {
                return if existing.created_by == identifier {
                    fail(10025, "you have already used this group ID")
                } else {
                    fail(10021, "the group ID has already been used by another user")
                };
            }
            id.to_string()
        }
        None => {
            state.next_auto_group += 1;
            format!("@TGS#EMU{:06}", state.next_auto_group)
        }
    };
    let mut all_members: Vec<String> = owner.iter().cloned().collect();
    for m in members {
        if !all_members.contains(&m) {
            all_members.push(m);
        }
    }
    state.groups.insert(
        id.clone(),
        Group {
            id: id.clone(),
            group_type: group_type.to_string(),
            name: name.to_string(),
            introduction: str_field(req, "Introduction").unwrap_or("").to_string(),
            notification: str_field(req, "Notification").unwrap_or("").to_string(),
            owner,
            created_by: identifier.to_string(),
            members: all_members,
            messages: Vec::new(),
            notifications: Vec::new(),
            next_seq: 1,
            muted_until: BTreeMap::new(),
        },
    );
    ok(json!({ "GroupId": id }))
}

fn add_group_member(shared: &Shared, req: &Value) -> Value {
    let admins = shared.config().admins;
    let id = str_field(req, "GroupId").unwrap_or("");
    if let Err(e) = check_group_id(id) {
        return e;
    }
    let accounts = accounts_of(&req["MemberList"], "Member_Account");
    if accounts.is_empty() {
        return fail(10004, "MemberList is empty");
    }
    if accounts.len() > 300 {
        return fail(10005, "more than 300 members");
    }
    let mut state = shared.state();
    if let Some(missing) = accounts.iter().find(|a| !state.exists(a, &admins)) {
        return fail(10019, format!("account `{missing}` does not exist"));
    }
    let Some(group) = state.groups.get_mut(id) else {
        return fail(10010, format!("group `{id}` does not exist"));
    };
    if group.group_type == "AVChatRoom" {
        return fail(10007, "AVChatRoom members join through the SDK");
    }
    let results: Vec<Value> = accounts
        .iter()
        .map(|a| {
            let result = if group.members.contains(a) {
                2
            } else {
                group.members.push(a.clone());
                1
            };
            json!({ "Member_Account": a, "Result": result })
        })
        .collect();
    ok(json!({ "MemberList": results }))
}

fn delete_group_member(shared: &Shared, req: &Value) -> Value {
    let id = str_field(req, "GroupId").unwrap_or("");
    if let Err(e) = check_group_id(id) {
        return e;
    }
    let accounts = accounts_of(&req["MemberToDel_Account"], "");
    let mut state = shared.state();
    let Some(group) = state.groups.get_mut(id) else {
        return fail(10010, format!("group `{id}` does not exist"));
    };
    group.members.retain(|m| !accounts.contains(m));
    ok(json!({}))
}

/// Destroys the group; `Group.CallbackAfterGroupDestroyed` follows,
/// asynchronously as IM delivers it.
fn destroy_group(shared: &Arc<Shared>, req: &Value) -> Value {
    let id = str_field(req, "GroupId").unwrap_or("");
    if let Err(e) = check_group_id(id) {
        return e;
    }
    let event = {
        let mut state = shared.state();
        let Some(group) = state.groups.remove(id) else {
            return fail(
                10010,
                format!("group `{id}` does not exist or was already destroyed"),
            );
        };
        state.destroyed_groups.push(id.to_string());
        json!({
            "CallbackCommand": "Group.CallbackAfterGroupDestroyed",
            "GroupId": id,
            "Type": group.group_type,
            "Owner_Account": group.owner,
            "Name": group.name,
            "MemberList": group.members.iter().map(|m| json!({ "Member_Account": m })).collect::<Vec<_>>(),
            "EventTime": now() * 1000,
        })
    };
    spawn_after(
        shared,
        Some(("Group.CallbackAfterGroupDestroyed", event)),
        "RESTAPI",
    );
    ok(json!({}))
}

fn get_group_info(shared: &Shared, req: &Value) -> Value {
    let ids = accounts_of(&req["GroupIdList"], "");
    if ids.is_empty() || ids.len() > 50 {
        return fail(10004, "GroupIdList must have 1 to 50 ids");
    }
    let state = shared.state();
    let infos: Vec<Value> = ids
        .iter()
        .map(|id| match state.groups.get(id) {
            Some(g) => json!({
                "GroupId": id, "ErrorCode": 0, "ErrorInfo": "", "Type": g.group_type, "Name": g.name,
                "Introduction": g.introduction, "Notification": g.notification,
                "Owner_Account": g.owner.clone().unwrap_or_default(), "MemberNum": g.members.len(),
                "NextMsgSeq": g.next_seq,
                "MemberList": g.members.iter().map(|m| json!({
                    "Member_Account": m,
                    "MuteUntil": g.muted_until.get(m).copied().unwrap_or(0).min(u64::from(u32::MAX)),
                })).collect::<Vec<_>>(),
            }),
            None => json!({ "GroupId": id, "ErrorCode": 10010, "ErrorInfo": "group does not exist" }),
        })
        .collect();
    ok(json!({ "GroupInfo": infos }))
}

/// The group texts `modify_group_base_info` may set, with IM's limits in
/// bytes.
const GROUP_TEXTS: [(&str, usize); 3] =
    [("Name", 30), ("Introduction", 240), ("Notification", 300)];

/// `modify_group_base_info` by `operator` (an administrator through REST,
/// or a member from the SDK): sets the texts present in `req`.
fn modify_group_info(shared: &Shared, operator: &str, req: &Value) -> Value {
    let id = str_field(req, "GroupId").unwrap_or("");
    if let Err(e) = check_group_id(id) {
        return e;
    }
    for (field, limit) in GROUP_TEXTS {
        match &req[field] {
            Value::Null => {}
            Value::String(text) if text.len() <= limit && !(field == "Name" && text.is_empty()) => {
            }
            _ => {
                return fail(
                    10004,
                    format!("{field} must be a string of at most {limit} bytes (Name not empty)"),
                );
            }
        }
    }
    let admins = shared.config().admins;
    let mut state = shared.state();
    let Some(group) = state.groups.get_mut(id) else {
        return fail(10010, "group does not exist");
    };
    if !admins.iter().any(|a| a == operator) && !group.members.iter().any(|m| m == operator) {
        return fail(10007, "only members may change the group's profile");
    }
    for (field, _) in GROUP_TEXTS {
        if let Some(text) = req[field].as_str() {
            let slot = match field {
                "Name" => &mut group.name,
                "Introduction" => &mut group.introduction,
                _ => &mut group.notification,
            };
            *slot = text.to_string();
        }
    }
    ok(json!({}))
}

/// The `Group.CallbackAfterGroupInfoChanged` body for a change `req` made
/// by `operator`: only the fields that were set, as IM sends it.
fn info_changed_event(
    shared: &Shared,
    operator: &str,
    req: &Value,
) -> Option<(&'static str, Value)> {
    let group_type = str_field(req, "GroupId")
        .and_then(|id| shared.state().groups.get(id).map(|g| g.group_type.clone()))
        .unwrap_or_default();
    let mut event = json!({
        "CallbackCommand": "Group.CallbackAfterGroupInfoChanged",
        "GroupId": req["GroupId"], "Type": group_type, "Operator_Account": operator,
        "EventTime": (now() * 1000).to_string(),
    });
    for (field, _) in GROUP_TEXTS {
        if req[field].is_string() {
            event[field] = req[field].clone();
        }
    }
    Some(("Group.CallbackAfterGroupInfoChanged", event))
}

/// A member changes the group's name, introduction or notification from
/// the SDK (`texts` holds the fields to set); the after-callback follows.
pub(crate) fn client_modify_group(
    shared: &Arc<Shared>,
    operator: &str,
    group_id: &str,
    texts: &Value,
) -> Value {
    let mut request = texts.clone();
    request["GroupId"] = json!(group_id);
    change_group_info(shared, operator, &request, "Web")
}

/// A change of group texts by `operator` from `platform`, then (when it
/// took effect) `Group.CallbackAfterGroupInfoChanged`, as IM fires it for
/// REST and SDK changes alike.
fn change_group_info(
    shared: &Arc<Shared>,
    operator: &str,
    req: &Value,
    platform: &'static str,
) -> Value {
    let answer = modify_group_info(shared, operator, req);
    if answer["ErrorCode"] == 0 {
        spawn_after(shared, info_changed_event(shared, operator, req), platform);
    }
    answer
}

fn body_error(body: &Value, too_long: i64, bad_body: i64) -> Option<Value> {
    match body.as_array() {
        Some(elements) if !elements.is_empty() => {
            if body.to_string().len() > MAX_MESSAGE_BYTES {
                Some(fail(too_long, "message longer than 12 KB"))
            } else {
                None
            }
        }
        _ => Some(fail(bad_body, "MsgBody must be a non-empty array")),
    }
}

fn forbidden(req: &Value, which: &str) -> bool {
    req["ForbidCallbackControl"]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i == which))
}

async fn send_group_msg(shared: &Arc<Shared>, identifier: &str, req: &Value) -> Value {
    let from = str_field(req, "From_Account")
        .unwrap_or(identifier)
        .to_string();
    let group_id = str_field(req, "GroupId").unwrap_or("").to_string();
    if req.get("Random").and_then(Value::as_u64).is_none() {
        return fail(10004, "Random must be an integer");
    }
    let at = accounts_of(&req["GroupAtInfo"], "GroupAt_Account");
    group_send(
        shared,
        GroupSend {
            from,
            group_id,
            body: req["MsgBody"].clone(),
            random: req["Random"].as_u64().unwrap_or(0),
            at,
            run_before: !forbidden(req, "ForbidBeforeSendMsgCallback"),
            run_after: !forbidden(req, "ForbidAfterSendMsgCallback"),
            platform: "RESTAPI",
        },
    )
    .await
}

/// A group message on its way in.
struct GroupSend {
    from: String,
    group_id: String,
    body: Value,
    random: u64,
    at: Vec<String>,
    run_before: bool,
    run_after: bool,
    platform: &'static str,
}

async fn group_send(shared: &Arc<Shared>, send: GroupSend) -> Value {
    let admins = shared.config().admins;
    if let Err(e) = check_group_id(&send.group_id) {
        return e;
    }
    if let Some(error) = body_error(&send.body, 80002, 10004) {
        return error;
    }
    let group_type = {
        let state = shared.state();
        if !state.exists(&send.from, &admins) {
            return fail(10019, format!("account `{}` does not exist", send.from));
        }
        let Some(group) = state.groups.get(&send.group_id) else {
            return fail(10010, format!("group `{}` does not exist", send.group_id));
        };
        if !admins.contains(&send.from) && !group.members.contains(&send.from) {
            return fail(
                10007,
                format!("`{}` is not a member of the group", send.from),
            );
        }
        // A muted sender is refused before any callback, as IM does.
        if !admins.contains(&send.from) && state.muted_in_group(&send.group_id, &send.from, now()) {
            return fail(10017, format!("`{}` is muted", send.from));
        }
        group.group_type.clone()
    };
    let mut body = send.body.clone();
    let event = json!({
        "GroupId": send.group_id, "Type": group_type, "From_Account": send.from,
        "Operator_Account": send.from, "Random": send.random, "OnlineOnlyFlag": 0,
        "MsgBody": body, "EventTime": (now() * 1000).to_string(),
    });
    if send.run_before {
        match webhooks::before_send(
            shared,
            "Group.CallbackBeforeSendMsg",
            event.clone(),
            send.platform,
        )
        .await
        {
            Verdict::Deliver(Some(replacement)) => body = replacement,
            Verdict::Deliver(None) => {}
            Verdict::Drop => return ok(json!({ "MsgTime": now(), "MsgSeq": 0 })),
            Verdict::Reject(1, info) => {
                return fail(
                    10016,
                    if info.is_empty() {
                        "rejected by webhook".into()
                    } else {
                        info
                    },
                );
            }
            Verdict::Reject(code, info) => return fail(code, info),
        }
    }
    let time = now();
    let (seq, robots) = {
        let mut state = shared.state();
        let robots: Vec<String> = state.robots.iter().cloned().collect();
        let Some(group) = state.groups.get_mut(&send.group_id) else {
            return fail(10010, "group was destroyed while sending");
        };
        let seq = group.next_seq;
        group.next_seq += 1;
        group.messages.push(GroupMessage {
            seq,
            from: send.from.clone(),
            body: body.clone(),
            random: send.random,
            time,
            recalled: false,
            at: send.at.clone(),
            cloud_custom_data: None,
        });
        let text = crate::state::text_of(&body);
        let mentioned: Vec<String> = robots
            .into_iter()
            .filter(|r| *r != send.from && group.members.contains(r))
            .filter(|r| send.at.contains(r) || text.contains(&format!("@{r}")))
            .collect();
        (seq, mentioned)
    };
    let mut after = event;
    after["MsgBody"] = body;
    after["MsgSeq"] = json!(seq);
    after["MsgTime"] = json!(time);
    spawn_after(
        shared,
        send.run_after
            .then_some(("Group.CallbackAfterSendMsg", after.clone())),
        send.platform,
    );
    if !robots.is_empty() {
        let mut bot = after;
        bot["AtRobots_Account"] = json!(robots);
        spawn_after(shared, Some(("Bot.OnGroupMessage", bot)), send.platform);
    }
    ok(json!({ "MsgTime": time, "MsgSeq": seq }))
}

/// After-events are delivered asynchronously, as IM does.
fn spawn_after(shared: &Arc<Shared>, event: Option<(&'static str, Value)>, platform: &'static str) {
    if let Some((command, body)) = event {
        let shared = shared.clone();
        tokio::spawn(async move {
            webhooks::deliver(&shared, command, body, platform).await;
        });
    }
}

fn system_notification(shared: &Shared, req: &Value) -> Value {
    let id = str_field(req, "GroupId").unwrap_or("");
    if let Err(e) = check_group_id(id) {
        return e;
    }
    let Some(content) = str_field(req, "Content").filter(|c| !c.is_empty()) else {
        return fail(10004, "Content is required");
    };
    let to = accounts_of(&req["ToMembers_Account"], "");
    let mut state = shared.state();
    let Some(group) = state.groups.get_mut(id) else {
        return fail(10010, format!("group `{id}` does not exist"));
    };
    group.notifications.push((to, content.to_string()));
    ok(json!({}))
}

fn group_msg_recall(shared: &Shared, req: &Value) -> Value {
    let id = str_field(req, "GroupId").unwrap_or("");
    if let Err(e) = check_group_id(id) {
        return e;
    }
    let seqs: Vec<u64> = req["MsgSeqList"]
        .as_array()
        .map(|l| l.iter().filter_map(|s| s["MsgSeq"].as_u64()).collect())
        .unwrap_or_default();
    if seqs.is_empty() || seqs.len() > 10 {
        return fail(10004, "MsgSeqList must have 1 to 10 entries");
    }
    let mut state = shared.state();
    let Some(group) = state.groups.get_mut(id) else {
        return fail(10010, format!("group `{id}` does not exist"));
    };
    let results: Vec<Value> = seqs
        .iter()
        .map(
            |seq| match group.messages.iter_mut().find(|m| m.seq == *seq) {
                Some(message) => {
                    message.recalled = true;
                    json!({ "MsgSeq": seq, "RetCode": 0 })
                }
                None => json!({ "MsgSeq": seq, "RetCode": 10030 }),
            },
        )
        .collect();
    ok(json!({ "RecallRetList": results }))
}

/// The end of a mute of `secs` from now: 0 none, `u32::MAX` for ever.
fn mute_end(secs: u64) -> u64 {
    match secs {
        0 => 0,
        4_294_967_295.. => u64::MAX,
        secs => now() + secs,
    }
}

fn forbid_send_msg(shared: &Shared, req: &Value) -> Value {
    let id = str_field(req, "GroupId").unwrap_or("");
    if let Err(e) = check_group_id(id) {
        return e;
    }
    let members = accounts_of(&req["Members_Account"], "");
    if members.is_empty() || members.len() > 500 {
        return fail(10004, "Members_Account must hold 1 to 500 accounts");
    }
    let Some(secs) = req.get("MuteTime").and_then(Value::as_u64) else {
        return fail(10004, "MuteTime must be a non-negative integer");
    };
    let mut state = shared.state();
    let Some(group) = state.groups.get_mut(id) else {
        return fail(10010, format!("group `{id}` does not exist"));
    };
    if group.group_type == "Private" {
        return fail(10004, "work groups (Private) cannot mute members");
    }
    let end = mute_end(secs);
    for member in members {
        if end == 0 {
            group.muted_until.remove(&member);
        } else {
            group.muted_until.insert(member, end);
        }
    }
    ok(json!({}))
}

fn set_no_speaking(shared: &Shared, req: &Value) -> Value {
    let Some(account) = str_field(req, "Set_Account").filter(|a| !a.is_empty()) else {
        return fail(130004, "Set_Account is missing");
    };
    let c2c = req.get("C2CmsgNospeakingTime").map(Value::as_u64);
    let group = req.get("GroupmsgNospeakingTime").map(Value::as_u64);
    if c2c.is_none() && group.is_none() {
        return fail(
            130008,
            "neither GroupmsgNospeakingTime nor C2CmsgNospeakingTime is given",
        );
    }
    if c2c == Some(None) || group == Some(None) {
        return fail(130001, "muting times must be non-negative integers");
    }
    let admins = shared.config().admins;
    let mut state = shared.state();
    if !state.exists(account, &admins) {
        return fail(130005, format!("Set_Account `{account}` is not registered"));
    }
    let entry = state.no_speaking.entry(account.to_string()).or_default();
    if let Some(Some(secs)) = c2c {
        entry.c2c_until = mute_end(secs);
    }
    if let Some(Some(secs)) = group {
        entry.group_until = mute_end(secs);
    }
    ok(json!({}))
}

async fn sendmsg(shared: &Arc<Shared>, identifier: &str, req: &Value) -> Value {
    let Some(to) = str_field(req, "To_Account") else {
        return fail(90003, "To_Account missing or not a string");
    };
    let Some(random) = req.get("MsgRandom").and_then(Value::as_u64) else {
        return fail(90005, "MsgRandom missing or not an integer");
    };
    if !req["MsgBody"].is_array() {
        return fail(90007, "MsgBody is not an array");
    }
    c2c_send(
        shared,
        C2cSend {
            from: str_field(req, "From_Account")
                .unwrap_or(identifier)
                .to_string(),
            to: to.to_string(),
            body: req["MsgBody"].clone(),
            random,
            run_before: !forbidden(req, "ForbidBeforeSendMsgCallback"),
            run_after: !forbidden(req, "ForbidAfterSendMsgCallback"),
            platform: "RESTAPI",
        },
    )
    .await
}

/// A one-to-one message on its way in.
struct C2cSend {
    from: String,
    to: String,
    body: Value,
    random: u64,
    run_before: bool,
    run_after: bool,
    platform: &'static str,
}

async fn c2c_send(shared: &Arc<Shared>, send: C2cSend) -> Value {
    let admins = shared.config().admins;
    if let Some(error) = body_error(&send.body, 93000, 90002) {
        return error;
    }
    let (seq, to_robot) = {
        let mut state = shared.state();
        if !state.exists(&send.from, &admins) {
            return fail(90048, format!("account `{}` does not exist", send.from));
        }
        if !state.exists(&send.to, &admins) {
            return fail(90012, format!("To_Account `{}` is not registered", send.to));
        }
        if !admins.contains(&send.from) && state.muted_c2c(&send.from, now()) {
            return fail(20012, format!("`{}` is muted", send.from));
        }
        state.next_c2c_seq += 1;
        (state.next_c2c_seq, state.robots.contains(&send.to))
    };
    let time = now();
    let key = format!("{seq}_{}_{time}", send.random);
    let mut body = send.body.clone();
    let event = json!({
        "From_Account": send.from, "To_Account": send.to, "MsgSeq": seq, "MsgRandom": send.random,
        "MsgTime": time, "MsgKey": key, "OnlineOnlyFlag": 0, "MsgBody": body, "EventTime": time * 1000,
    });
    if send.run_before {
        match webhooks::before_send(
            shared,
            "C2C.CallbackBeforeSendMsg",
            event.clone(),
            send.platform,
        )
        .await
        {
            Verdict::Deliver(Some(replacement)) => body = replacement,
            Verdict::Deliver(None) => {}
            Verdict::Drop => return ok(json!({ "MsgTime": time, "MsgKey": key })),
            Verdict::Reject(1, info) => {
                return fail(
                    20006,
                    if info.is_empty() {
                        "rejected by webhook".into()
                    } else {
                        info
                    },
                );
            }
            Verdict::Reject(code, info) => return fail(code, info),
        }
    }
    shared.state().c2c.push(C2cMessage {
        key: key.clone(),
        from: send.from.clone(),
        to: send.to.clone(),
        body: body.clone(),
        time,
        recalled: false,
        stream: None,
        cloud_custom_data: None,
    });
    let mut after = event;
    after["MsgBody"] = body;
    after["SendMsgResult"] = json!(0);
    after["ErrorInfo"] = json!("send msg succeed");
    after["UnreadMsgNum"] = json!(1);
    spawn_after(
        shared,
        send.run_after
            .then_some(("C2C.CallbackAfterSendMsg", after.clone())),
        send.platform,
    );
    if to_robot && send.from != send.to {
        spawn_after(shared, Some(("Bot.OnC2CMessage", after)), send.platform);
    }
    ok(json!({ "MsgTime": time, "MsgKey": key }))
}

/// A robot's streamed reply: the first chunk creates the message (and its
/// `MsgKey`), later ones append, `Finish: 1` closes it.
fn send_stream_msg(shared: &Shared, req: &Value) -> Value {
    let (Some(from), Some(to)) = (str_field(req, "From_Account"), str_field(req, "To_Account"))
    else {
        return fail(90001, "From_Account and To_Account are required");
    };
    let chunk = str_field(req, "Chunk").unwrap_or("");
    let finish = req["Finish"].as_u64() == Some(1);
    let mut state = shared.state();
    if !state.robots.contains(from) {
        return fail(90001, format!("`{from}` is not a robot"));
    }
    match str_field(req, "MsgKey") {
        None => {
            if !state.exists(to, &shared.config().admins) {
                return fail(90012, format!("To_Account `{to}` is not registered"));
            }
            state.next_c2c_seq += 1;
            let time = now();
            let key = format!("{}_{}_{time}", state.next_c2c_seq, tim::rest::random_u32());
            state.c2c.push(C2cMessage {
                key: key.clone(),
                from: from.to_string(),
                to: to.to_string(),
                body: json!([{ "MsgType": "TIMTextElem", "MsgContent": { "Text": chunk } }]),
                time,
                recalled: false,
                stream: Some((1, finish)),
                cloud_custom_data: None,
            });
            ok(json!({ "MsgKey": key, "MsgTime": time }))
        }
        Some(key) => match state
            .c2c
            .iter_mut()
            .find(|m| m.key == key && m.from == from)
        {
            None => fail(20022, "no such stream message"),
            Some(m) if m.stream.is_some_and(|(_, done)| done) => {
                fail(20023, "the stream is already finished")
            }
            Some(m) => {
                let text = format!(
                    "{}{chunk}",
                    m.body[0]["MsgContent"]["Text"].as_str().unwrap_or("")
                );
                m.body[0]["MsgContent"]["Text"] = json!(text);
                let chunks = m.stream.map(|(n, _)| n).unwrap_or(0) + 1;
                m.stream = Some((chunks, finish));
                ok(json!({ "MsgKey": key }))
            }
        },
    }
}

fn admin_msgwithdraw(shared: &Shared, req: &Value) -> Value {
    on_c2c_message(shared, req, |m| {
        m.recalled = true;
        ok(json!({}))
    })
}

/// Hands the one-to-one message that `From_Account`, `To_Account` and
/// `MsgKey` name to `change`, unless it is missing or recalled.
fn on_c2c_message(
    shared: &Shared,
    req: &Value,
    change: impl FnOnce(&mut C2cMessage) -> Value,
) -> Value {
    let (Some(from), Some(to), Some(key)) = (
        str_field(req, "From_Account"),
        str_field(req, "To_Account"),
        str_field(req, "MsgKey"),
    ) else {
        return fail(90008, "From_Account, To_Account and MsgKey are required");
    };
    let mut state = shared.state();
    match state
        .c2c
        .iter_mut()
        .find(|m| m.key == key && m.from == from && m.to == to)
    {
        None => fail(20022, "no such message"),
        Some(m) if m.recalled => fail(20023, "message already recalled"),
        Some(m) => change(m),
    }
}

/// What a modification writes: a new `MsgBody` (a non-empty array), new
/// `CloudCustomData`, or both.
struct Replacement {
    body: Option<Value>,
    data: Option<String>,
}

impl Replacement {
    fn read(req: &Value) -> Result<Self, Value> {
        let body = match req.get("MsgBody") {
            None => None,
            Some(body) if body.as_array().is_some_and(|b| !b.is_empty()) => Some(body.clone()),
            Some(_) => return Err(fail(90005, "MsgBody must be a non-empty array")),
        };
        let data = match req.get("CloudCustomData") {
            None => None,
            Some(Value::String(data)) => Some(data.clone()),
            Some(_) => return Err(fail(90005, "CloudCustomData must be a string")),
        };
        if body.is_none() && data.is_none() {
            return Err(fail(90008, "MsgBody or CloudCustomData is required"));
        }
        Ok(Self { body, data })
    }

    /// Overwrites what it replaces of a stored message; the success answer.
    fn apply(self, body: &mut Value, data: &mut Option<String>) -> Value {
        if let Some(new) = self.body {
            *body = new;
        }
        if self.data.is_some() {
            *data = self.data;
        }
        ok(json!({}))
    }
}

/// `openim/modify_group_msg`: overwrites a group message's body and
/// custom data; AVChatRoom messages and recalled ones cannot be modified.
/// (The error codes for those two are the emulator's choice.)
fn modify_group_msg(shared: &Shared, req: &Value) -> Value {
    let id = str_field(req, "GroupId").unwrap_or("");
    if let Err(e) = check_group_id(id) {
        return e;
    }
    let Some(seq) = req["MsgSeq"].as_u64() else {
        return fail(90008, "MsgSeq is required");
    };
    let replacement = match Replacement::read(req) {
        Ok(replacement) => replacement,
        Err(e) => return e,
    };
    let mut state = shared.state();
    let Some(group) = state.groups.get_mut(id) else {
        return fail(10010, format!("group `{id}` does not exist"));
    };
    if group.group_type == "AVChatRoom" {
        return fail(10004, "AVChatRoom messages cannot be modified");
    }
    match group.messages.iter_mut().find(|m| m.seq == seq) {
        None => fail(10030, format!("group `{id}` has no message {seq}")),
        Some(m) if m.recalled => fail(10030, format!("message {seq} was recalled")),
        Some(m) => replacement.apply(&mut m.body, &mut m.cloud_custom_data),
    }
}

/// `openim/modify_c2c_msg`: overwrites a one-to-one message's body and
/// custom data.
fn modify_c2c_msg(shared: &Shared, req: &Value) -> Value {
    match Replacement::read(req) {
        Ok(replacement) => on_c2c_message(shared, req, |m| {
            replacement.apply(&mut m.body, &mut m.cloud_custom_data)
        }),
        Err(e) => e,
    }
}

fn account_import(shared: &Shared, req: &Value) -> Value {
    let Some(user) = str_field(req, "UserID").filter(|u| !u.is_empty() && u.len() <= 32) else {
        return fail(70402, "UserID must be 1 to 32 bytes");
    };
    let mut state = shared.state();
    state.accounts.insert(user.to_string());
    if let Some(nick) = str_field(req, "Nick") {
        state.nicks.insert(user.to_string(), nick.to_string());
    }
    if let Some(face) = str_field(req, "FaceUrl") {
        state.faces.insert(user.to_string(), face.to_string());
    }
    ok(json!({}))
}

/// `group_msg_get_simple`: the `ReqMsgNumber` (at most 20) newest messages
/// with a seq up to `ReqMsgSeq`, newest first; recalled ones as place
/// messages (`IsPlaceMsg: 1`, no body). `IsFinished` is 1 when nothing older
/// is left below the page.
fn group_msg_get_simple(shared: &Shared, req: &Value) -> Value {
    let id = str_field(req, "GroupId").unwrap_or("");
    if let Err(e) = check_group_id(id) {
        return e;
    }
    let Some(number) = req["ReqMsgNumber"]
        .as_u64()
        .filter(|n| (1..=20).contains(n))
    else {
        return fail(10004, "ReqMsgNumber must be 1 to 20");
    };
    let state = shared.state();
    let Some(group) = state.groups.get(id) else {
        return fail(10010, format!("group `{id}` does not exist"));
    };
    if group.group_type == "AVChatRoom" {
        return fail(10007, "AVChatRoom groups keep no history");
    }
    let up_to = req["ReqMsgSeq"].as_u64().unwrap_or(u64::MAX);
    let page: Vec<&crate::state::GroupMessage> = group
        .messages
        .iter()
        .rev()
        .filter(|m| m.seq <= up_to)
        .take(number as usize)
        .collect();
    let finished = page
        .last()
        .is_none_or(|oldest| !group.messages.iter().any(|m| m.seq < oldest.seq));
    let list: Vec<Value> = page
        .iter()
        .map(|m| {
            json!({
                "From_Account": m.from, "MsgSeq": m.seq, "MsgRandom": m.random,
                "MsgTimeStamp": m.time, "MsgPriority": 1, "IsPlaceMsg": u8::from(m.recalled),
                "MsgBody": if m.recalled { json!([]) } else { m.body.clone() },
            })
        })
        .collect();
    ok(json!({ "GroupId": id, "IsFinished": u8::from(finished), "RspMsgList": list }))
}

/// `portrait_get` of the nickname and picture tags.
fn portrait_get(shared: &Shared, req: &Value) -> Value {
    let accounts = accounts_of(&req["To_Account"], "");
    if accounts.is_empty() || accounts.len() > 100 {
        return fail(40001, "To_Account must have 1 to 100 accounts");
    }
    let state = shared.state();
    let items: Vec<Value> = accounts
        .iter()
        .filter(|a| state.accounts.contains(*a))
        .map(|a| {
            json!({
                "To_Account": a, "ResultCode": 0, "ResultInfo": "",
                "ProfileItem": [
                    { "Tag": "Tag_Profile_IM_Nick", "Value": state.nicks.get(a).cloned().unwrap_or_default() },
                    { "Tag": "Tag_Profile_IM_Image", "Value": state.faces.get(a).cloned().unwrap_or_default() },
                ],
            })
        })
        .collect();
    let missing: Vec<&String> = accounts
        .iter()
        .filter(|a| !state.accounts.contains(*a))
        .collect();
    ok(json!({ "UserProfileItem": items, "Fail_Account": missing }))
}

fn create_robot(shared: &Shared, req: &Value) -> Value {
    let Some(user) = str_field(req, "UserID").filter(|u| u.starts_with("@RBT#") && u.len() <= 32)
    else {
        return fail(
            10004,
            "UserID must start with @RBT# and be at most 32 bytes",
        );
    };
    let mut state = shared.state();
    if !state.robots.contains(user) && state.robots.len() >= 20 {
        return fail(10008, "robot limit (20) reached");
    }
    state.robots.insert(user.to_string());
    ok(json!({}))
}

/// An end user's one-to-one send from the SDK: same checks and callbacks,
/// platform `Web`.
pub(crate) async fn client_send_c2c(
    shared: &Arc<Shared>,
    from: &str,
    to: &str,
    body: Value,
) -> Value {
    c2c_send(
        shared,
        C2cSend {
            from: from.to_string(),
            to: to.to_string(),
            body,
            random: u64::from(tim::rest::random_u32()),
            run_before: true,
            run_after: true,
            platform: "Web",
        },
    )
    .await
}

/// An end user's group send from the SDK.
pub(crate) async fn client_send_group(
    shared: &Arc<Shared>,
    from: &str,
    group_id: &str,
    body: Value,
    at: Vec<String>,
) -> Value {
    group_send(
        shared,
        GroupSend {
            from: from.to_string(),
            group_id: group_id.to_string(),
            body,
            random: u64::from(tim::rest::random_u32()),
            at,
            run_before: true,
            run_after: true,
            platform: "Web",
        },
    )
    .await
}

/// An end user creates a group from the SDK: `Group.CallbackBeforeCreateGroup`
/// runs first, and a non-zero `ErrorCode` refuses the creation (10016), as
/// IM does.
pub(crate) async fn client_create_group(
    shared: &Arc<Shared>,
    owner: &str,
    group_id: Option<&str>,
    name: &str,
    group_type: &str,
) -> Value {
    let event = json!({
        "Operator_Account": owner, "Owner_Account": owner, "Type": group_type,
        "Name": name, "CreateGroupNum": 0, "MemberList": [{"Member_Account": owner}],
        "EventTime": (now() * 1000).to_string(),
    });
    match webhooks::before_send(shared, "Group.CallbackBeforeCreateGroup", event, "Web").await {
        Verdict::Deliver(_) => {}
        Verdict::Drop | Verdict::Reject(..) => {
            return fail(10016, "the app backend refused the group in its callback");
        }
    }
    let mut request = json!({ "Owner_Account": owner, "Type": group_type, "Name": name });
    if let Some(id) = group_id {
        request["GroupId"] = json!(id);
    }
    create_group(shared, owner, &request)
}
