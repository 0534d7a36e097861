//! The Case chat component's calls, made by Apex
//! (`SwitchboardAgentChatController`) through the Named Credential and
//! signed like every Apex call. The agent is Apex's running user, read with
//! `UserInfo` on the Salesforce side, never a field the browser fills in;
//! Apex also reads the Case's owner with the user's sharing, so a Case they
//! cannot see never gets here.
//!
//! Every body has `user_id` (005…), `user_name`, optionally
//! `user_photo_url`, `case_id` (500…) and `case_owner_id` (005… or a queue,
//! or null), and:
//!
//! - `POST /salesforce/chat/join`: an agent of the Case (its owner, or one
//!   an Omni-Channel acceptance added) joins its group, imported with their
//!   Salesforce name and photo; the answer says what they may do and who
//!   is in the chat (`members`: account, nickname, who they are).
//! - `POST /salesforce/chat/history` `{after?, before?}`: the chat, newest
//!   page, or what came after the cursor `after`, or the page up to `before`.
//! - `POST /salesforce/chat/send` `{text, client_id}`: sends as the agent's
//!   IM account, through IM's callbacks like anyone's (moderation applies);
//!   a retry of one `client_id` is sent once.

use crate::config::Config;
use crate::records::{CaseRecord, case_key};
use connector::agent_chat::Roles;
use connector::agent_panel::{self, Chat, Cursor, Outgoing, Sender};
use connector::outbound::SpinHttp;
use connector::reply::{self, JsonResponse};
use connector::state::Records;
use http::StatusCode;
use salesforce::events::is_salesforce_id;
use serde_json::{Value, json};

/// Calls one agent may make per minute to each route: the component polls
/// every 3 s (20 a minute); more is a stuck or hostile client.
const CALLS_PER_MINUTE: i64 = 60;
/// Messages one agent may send per minute.
const SENDS_PER_MINUTE: i64 = 20;
/// The longest Salesforce user name (`Name` is 121 characters).
const MAX_NAME_CHARS: usize = 121;

/// The running user, as Apex names them.
struct Agent {
    name: String,
    photo_url: Option<String>,
    /// Their IM account.
    account: String,
    /// The prefix of their marks in the store.
    key: String,
}

/// One call: who, which Case, and what the bridge knows of it.
struct Call {
    agent: Agent,
    case_id: String,
    case: CaseRecord,
    /// Whether the agent works the Case: its owner, or added to its group.
    is_agent: bool,
}

impl Call {
    fn chat<'a>(&'a self, config: &'a Config, im: &'a tim::rest::Client<SpinHttp>) -> Chat<'a> {
        Chat {
            im,
            group_id: &self.case.group_id,
            roles: Roles {
                viewer: &self.agent.account,
                requester: Some(self.case.requester.as_str()).filter(|r| !r.is_empty()),
                agent_prefix: &config.user_prefix,
                admin: &config.im.admin,
            },
        }
    }

    fn can_send(&self) -> bool {
        self.is_agent && !self.case.dissolved
    }
}

/// Answers `route` (`/chat/join`, `/chat/history` or `/chat/send`) of an
/// authenticated Apex call.
pub async fn handle(
    route: &str,
    config: &Config,
    records: &Records,
    body: &[u8],
    now: u64,
) -> JsonResponse {
    let input: Value = match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => value,
        _ => return reply::bad_field("body", "the body must be a JSON object"),
    };
    let call = match read_call(config, records, &input) {
        Ok(call) => call,
        Err(response) => return response,
    };
    let limit = if route == "/chat/send" {
        SENDS_PER_MINUTE
    } else {
        CALLS_PER_MINUTE
    };
    if let Err(response) = agent_panel::within_limit(records, &call.agent.key, route, limit, now) {
        return response;
    }
    // Others may look (when configured), never send.
    let reading = route != "/chat/send";
    let allowed = call.is_agent || (reading && config.chat_unassigned_may_read);
    if !allowed {
        return not_yours(&call.case_id);
    }
    let im = config.im.client();
    match route {
        "/chat/join" => join(config, &im, &call).await,
        "/chat/history" => history(config, &im, &call, &input).await,
        _ => send(config, &im, records, &call, &input, now).await,
    }
}

fn read_call(config: &Config, records: &Records, input: &Value) -> Result<Call, JsonResponse> {
    let id_field = |field: &str, prefixes: &[&str], what: &str| {
        input[field]
            .as_str()
            .filter(|id| prefixes.iter().any(|p| is_salesforce_id(id, p)))
            .map(String::from)
            .ok_or_else(|| {
                reply::bad_field(
                    field,
                    format!("`{field}` must be {what} (15 or 18 characters)"),
                )
            })
    };
    let user_id = id_field("user_id", &["005"], "a Salesforce User id (005…)")?;
    let case_id = id_field("case_id", &["500"], "a Case id (500…)")?;
    let case_owner_id = match &input["case_owner_id"] {
        Value::Null => None,
        _ => Some(id_field(
            "case_owner_id",
            &["005", "00G"],
            "the Case's OwnerId (a User 005… or a queue 00G…), or null",
        )?),
    };
    let name = input["user_name"].as_str().map(str::trim).unwrap_or("");
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(reply::bad_field(
            "user_name",
            format!("`user_name` must be the user's name, 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    let photo_url = match &input["user_photo_url"] {
        Value::Null => None,
        Value::String(url) if url.starts_with("https://") && url.len() <= 1024 => Some(url.clone()),
        _ => {
            return Err(reply::bad_field(
                "user_photo_url",
                "`user_photo_url` must be an https:// URL of at most 1024 bytes, or null",
            ));
        }
    };
    let case: CaseRecord = match records.get(&case_key(&case_id)) {
        Ok(Some(case)) => case,
        Ok(None) => {
            return Err(reply::error(
                StatusCode::NOT_FOUND,
                format!("Case {case_id} was not opened from chat"),
            ));
        }
        Err(e) => return Err(reply::error(StatusCode::INTERNAL_SERVER_ERROR, e)),
    };
    let is_agent =
        case_owner_id.as_deref() == Some(user_id.as_str()) || case.agents.contains(&user_id);
    Ok(Call {
        agent: Agent {
            account: config.agent_account(&user_id),
            key: format!("sf:agent:{user_id}"),
            name: name.to_string(),
            photo_url,
        },
        case_id,
        case,
        is_agent,
    })
}

fn not_yours(case_id: &str) -> JsonResponse {
    reply::error(
        StatusCode::FORBIDDEN,
        format!(
            "Case {case_id} is not yours: own it or accept it in Omni-Channel to join its chat"
        ),
    )
}

/// Makes sure the agent is in the group, named as in Salesforce. The Case
/// record is not written here: the events keep it, and a concurrent
/// removal (the Case changed owner) must not be undone by this call.
async fn seat(im: &tim::rest::Client<SpinHttp>, call: &Call) -> Result<(), JsonResponse> {
    let agent = &call.agent;
    agent_panel::import_agent(im, &agent.account, &agent.name, agent.photo_url.as_deref()).await?;
    im.ensure_member(&call.case.group_id, &agent.account)
        .await
        .map(|_| ())
        .map_err(|e| reply::upstream("IM join", e))
}

async fn join(config: &Config, im: &tim::rest::Client<SpinHttp>, call: &Call) -> JsonResponse {
    if call.can_send()
        && let Err(response) = seat(im, call).await
    {
        return response;
    }
    let members = match agent_panel::members(call.chat(config, im)).await {
        Ok(members) => members,
        Err(response) => return response,
    };
    reply::json(
        StatusCode::OK,
        &json!({
            "case_id": call.case_id,
            "group_id": call.case.group_id,
            "you": call.agent.account,
            "you_name": call.agent.name,
            "assigned": call.is_agent,
            "dissolved": call.case.dissolved,
            "can_send": call.can_send(),
            "members": members,
        }),
    )
}

async fn history(
    config: &Config,
    im: &tim::rest::Client<SpinHttp>,
    call: &Call,
    input: &Value,
) -> JsonResponse {
    let cursor = match Cursor::from_body(input) {
        Ok(cursor) => cursor,
        Err(response) => return response,
    };
    match agent_panel::history(call.chat(config, im), cursor).await {
        Ok(page) => {
            let mut answer = page.to_json();
            answer["can_send"] = json!(call.can_send());
            answer["dissolved"] = json!(call.case.dissolved);
            reply::json(StatusCode::OK, &answer)
        }
        Err(response) => response,
    }
}

async fn send(
    config: &Config,
    im: &tim::rest::Client<SpinHttp>,
    records: &Records,
    call: &Call,
    input: &Value,
    now: u64,
) -> JsonResponse {
    let message = match Outgoing::from_body(input) {
        Ok(message) => message,
        Err(response) => return response,
    };
    if call.case.dissolved {
        return reply::error(
            StatusCode::CONFLICT,
            format!("the chat of Case {} has ended", call.case_id),
        );
    }
    let sender = Sender {
        key: &call.agent.key,
        account: &call.agent.account,
        name: &call.agent.name,
    };
    agent_panel::send_once(
        call.chat(config, im),
        records,
        sender,
        &message,
        seat(im, call),
        now,
    )
    .await
}
