//! Handing a user to people (see [`chatbot::handoff`]): the relay calls the
//! bridge's own `POST …/requests` as the user — with a UserSig it signs for
//! them with the app's key, exactly what the user's chat app presents — so
//! the ticket or Case gets the bridge's idempotency, rate limit and
//! requester binding, and the bridge stays deployable on its own. By
//! default the call is Spin service chaining to the bridge in the same
//! application; `handoff.url` points at a bridge deployed elsewhere.
//!
//! While the control record exists, the robot answers nothing of that user;
//! each message they send meanwhile asks the bridge for the user's open
//! request (`…/requests/open`), and once there is none the robot resumes
//! (when the robot's `handoff.resume` says so) and says so.

use crate::config::Config;
use chatbot::conversation::{Incoming, Memory};
use chatbot::handoff::{Control, Handoff, Trigger, fill, idempotency_key, transcript};
use chatbot::settings::Robot;
use connector::config::unix_now as now;
use connector::outbound::SpinHttp;
use connector::state::{Claim, Records};
use std::time::Duration;
use transport::{HttpRequest, Transport};

/// The bridge answers within its callers' budget (9 s); a little more for
/// the hop.
const BRIDGE_BUDGET: Duration = Duration::from_secs(10);
/// A UserSig signed for one call lives this long.
const USERSIG_SECS: u64 = 300;
/// How long one handoff in progress holds off another for the same user.
const CLAIM_SECS: u64 = 600;

/// Whether people own the conversation with the user.
pub enum WithPeople {
    /// No: the robot answers.
    No,
    /// Yes: the robot says nothing.
    Yes,
    /// Their request just closed: the robot answers again, and has said so.
    Resumed,
}

/// Checks the control state of `robot`'s `incoming` user, resuming when
/// their request has closed.
pub async fn with_people(
    config: &Config,
    robot: &Robot,
    handoff: &Handoff,
    records: &Records,
    incoming: &Incoming,
) -> WithPeople {
    let key = Control::key(&robot.id, &incoming.user);
    let control: Control = match records.get(&key) {
        Ok(Some(control)) => control,
        Ok(None) => return WithPeople::No,
        Err(e) => {
            // Without the state, answering could talk over an agent.
            eprintln!("chatbot: handoff state unavailable ({e}); staying quiet");
            return WithPeople::Yes;
        }
    };
    if !handoff.resume {
        return WithPeople::Yes;
    }
    match open_request(config, handoff, &incoming.user).await {
        Ok(true) => WithPeople::Yes,
        Ok(false) => {
            if let Err(e) = records.delete(&key) {
                eprintln!("chatbot: {e}");
                return WithPeople::Yes;
            }
            eprintln!(
                "chatbot: {} resumes with {} ({} {} closed)",
                robot.id,
                incoming.user,
                handoff.to.id_field(),
                control.id
            );
            crate::relay::send(config, robot, incoming, &handoff.resumed_reply).await;
            WithPeople::Resumed
        }
        Err(e) => {
            eprintln!(
                "chatbot: cannot tell whether {}'s request {} is open ({e}); staying quiet",
                incoming.user, control.id
            );
            WithPeople::Yes
        }
    }
}

/// Hands `incoming`'s user to people: one request per user at a time, told
/// to the user either way.
pub async fn hand_off(
    config: &Config,
    robot: &Robot,
    handoff: &Handoff,
    records: &Records,
    incoming: &Incoming,
    trigger: Trigger,
) {
    let key = Control::key(&robot.id, &incoming.user);
    if already_open(config, robot, handoff, records, incoming, &key).await {
        return;
    }
    let claim = Control::claim_name(&robot.id, &incoming.user);
    let until = now() + CLAIM_SECS;
    match records.claim(&claim, until) {
        // Looked at again under the claim: the handoff that held it before
        // may have finished between the first look and the claim.
        Ok(Claim::Won) => {
            if already_open(config, robot, handoff, records, incoming, &key).await {
                if let Err(e) = records.release(&claim, until) {
                    eprintln!("chatbot: {e}");
                }
                return;
            }
        }
        Ok(_) => {
            // Another message of the same user is handing off right now and
            // will tell them.
            eprintln!(
                "chatbot: {} is already being handed over; {} ignored",
                incoming.user, incoming.message_id
            );
            return;
        }
        Err(e) => {
            eprintln!("chatbot: {e}");
            crate::relay::send(config, robot, incoming, &handoff.failed_reply).await;
            return;
        }
    }
    let memory: Memory = records
        .get(&incoming.memory_key(robot))
        .ok()
        .flatten()
        .unwrap_or_default();
    // The message that triggered it, unless memory has it already (an
    // unsure answer hands off after the turn was remembered).
    let last = (trigger != Trigger::Unsure)
        .then(|| (incoming.text.as_str(), incoming.sent_at.unwrap_or_else(now)));
    let description = transcript(&memory, &robot.id, &incoming.user, last, trigger);
    let opened = open(config, handoff, robot, incoming, &description).await;
    let text = match opened {
        Ok((id, group_id)) => {
            let control = Control {
                desk: handoff.to,
                id: id.clone(),
                group_id,
                trigger,
                since: now(),
            };
            match records.put(&key, &control) {
                Ok(()) => {
                    eprintln!(
                        "chatbot: {} handed {} over to {:?} ({}: {id}; {})",
                        robot.id,
                        incoming.user,
                        handoff.to,
                        handoff.to.id_field(),
                        trigger.describe()
                    );
                    fill(&handoff.started_reply, &id)
                }
                Err(e) => {
                    // The request is open, and a retry of this message
                    // would find it by its idempotency key.
                    eprintln!("chatbot: handoff of {} not recorded: {e}", incoming.user);
                    fill(&handoff.started_reply, &id)
                }
            }
        }
        Err(e) => {
            eprintln!(
                "chatbot: {} could not hand {} over: {e}",
                robot.id, incoming.user
            );
            handoff.failed_reply.clone()
        }
    };
    if let Err(e) = records.release(&claim, until) {
        eprintln!("chatbot: {e}");
    }
    crate::relay::send(config, robot, incoming, &text).await;
}

/// Whether the user already has a request from a handoff: then they are
/// told where it is (or that it cannot be told now), and `true`.
async fn already_open(
    config: &Config,
    robot: &Robot,
    handoff: &Handoff,
    records: &Records,
    incoming: &Incoming,
    key: &str,
) -> bool {
    let text = match records.get::<Control>(key) {
        Ok(None) => return false,
        Ok(Some(control)) => fill(&handoff.already_reply, &control.id),
        Err(e) => {
            eprintln!("chatbot: handoff state unavailable: {e}");
            handoff.failed_reply.clone()
        }
    };
    crate::relay::send(config, robot, incoming, &text).await;
    true
}

/// The headers the bridge authenticates the user by.
fn as_user(config: &Config, user: &str) -> Vec<(String, String)> {
    let usersig = config.im.signer.generate(user, now(), USERSIG_SECS);
    vec![
        ("authorization".into(), format!("UserSig {usersig}")),
        (connector::auth::USER_HEADER.into(), user.into()),
        ("content-type".into(), "application/json".into()),
    ]
}

/// Opens the request: its id and IM group, or what went wrong (the
/// bridge's own error message; never a credential).
async fn open(
    config: &Config,
    handoff: &Handoff,
    robot: &Robot,
    incoming: &Incoming,
    description: &str,
) -> Result<(String, String), String> {
    let body = serde_json::json!({
        "subject": handoff.subject,
        "description": description,
        "name": incoming.user,
        "idempotency_key": idempotency_key(&robot.id, &incoming.message_id),
    });
    let response = SpinHttp::within(BRIDGE_BUDGET)
        .send(HttpRequest {
            method: "POST",
            url: handoff.requests_url().to_string(),
            headers: as_user(config, &incoming.user),
            body: body.to_string().into_bytes(),
            timeout: None,
        })
        .await?;
    let answer: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    if !(200..300).contains(&response.status) {
        return Err(format!(
            "the bridge answered {}: {}",
            response.status,
            answer["error"].as_str().unwrap_or("(no error message)")
        ));
    }
    let id = match &answer[handoff.to.id_field()] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => {
            return Err(format!(
                "the bridge's answer has no `{}`",
                handoff.to.id_field()
            ));
        }
    };
    let group_id = answer["group_id"].as_str().unwrap_or_default().to_string();
    Ok((id, group_id))
}

/// Whether the user has an open request at the bridge (`Ok(false)`: 404).
async fn open_request(config: &Config, handoff: &Handoff, user: &str) -> Result<bool, String> {
    let response = SpinHttp::within(BRIDGE_BUDGET)
        .send(HttpRequest {
            method: "POST",
            url: handoff.open_request_url(),
            headers: as_user(config, user),
            body: b"{}".to_vec(),
            timeout: None,
        })
        .await?;
    let answer: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    match response.status {
        200..=299 => Ok(true),
        // Only the bridge's own "no open request" answer names the user; a
        // 404 of a wrong URL must not end the handoff.
        404 if answer["user_id"] == user => Ok(false),
        status => Err(format!("the bridge's open-request route answered {status}")),
    }
}
