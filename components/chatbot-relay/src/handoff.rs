//! Handing a user to people (see [`chatbot::handoff`]): the relay calls the
//! bridge's own `POST …/requests` as the user — with a UserSig it signs for
//! them with the app's key, exactly what the user's chat app presents — so
//! the ticket or Case gets the bridge's idempotency, rate limit and
//! requester binding, and the bridge stays deployable on its own. By
//! default the call is Spin service chaining to the bridge in the same
//! application; `handoff.url` points at a bridge deployed elsewhere.
//!
//! While the control record exists, the robot answers nothing of that user.
//! The request's end reaches the relay through IM itself: the bridge
//! dissolves the group when the ticket or Case closes, and IM's
//! `Group.CallbackAfterGroupDestroyed` (routed to the relay) makes the robot
//! resume at once and say so (when its `handoff.resume` says so). In case
//! that callback is off or lost, each message the user sends meanwhile asks
//! the bridge for the user's open request (`…/requests/open`), and none
//! resumes too.

use crate::config::Config;
use chatbot::conversation::{Incoming, Memory};
use chatbot::handoff::{Control, HandedOver, Handoff, Trigger, fill, idempotency_key, transcript};
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
            match resume(config, robot, handoff, records, &incoming.user, &control).await {
                Ok(()) => WithPeople::Resumed,
                Err(e) => {
                    eprintln!("chatbot: {e}");
                    WithPeople::Yes
                }
            }
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

/// Ends `control`, the handoff of `robot`'s `user` whose request closed,
/// and tells the user where they asked for a person — once, whichever
/// noticed first: IM saying the request's group is gone, or the user
/// writing again.
async fn resume(
    config: &Config,
    robot: &Robot,
    handoff: &Handoff,
    records: &Records,
    user: &str,
    control: &Control,
) -> Result<(), String> {
    let claim = format!("bot:resumed:{}:{user}:{}", robot.id, control.since);
    let until = control.since.saturating_add(RESUMED_SECS);
    if records.claim(&claim, until)? == Claim::Taken {
        return Ok(());
    }
    let done = records
        .delete(&Control::key(&robot.id, user))
        .and_then(|()| records.delete(&HandedOver::key(&control.group_id)));
    if let Err(e) = done {
        let _ = records.release(&claim, until);
        return Err(e);
    }
    eprintln!(
        "chatbot: {} resumes with {user} ({} {} closed)",
        robot.id,
        handoff.to.id_field(),
        control.id
    );
    let origin = Incoming {
        robot: robot.id.clone(),
        user: user.to_string(),
        group: control.origin_group.clone(),
        message_id: format!("resume:{}", control.id),
        sent_at: None,
        text: String::new(),
        shown: String::new(),
        non_text: false,
    };
    crate::relay::send(config, robot, &origin, &handoff.resumed_reply).await;
    Ok(())
}

/// How long the "resumed" mark of one handoff is kept.
const RESUMED_SECS: u64 = 90 * 24 * 3600;

/// IM says `group_id` is gone (`Group.CallbackAfterGroupDestroyed`): a
/// bridge dissolves a request's group when the ticket or Case closes, so a
/// robot that handed its user into it resumes at once and says so.
pub async fn group_destroyed(config: &Config, records: &Records, group_id: &str) {
    let handed: HandedOver = match records.get(&HandedOver::key(group_id)) {
        Ok(Some(handed)) => handed,
        Ok(None) => return,
        Err(e) => return eprintln!("chatbot: {e}"),
    };
    let Some(robot) = config.robot(&handed.robot) else {
        return;
    };
    let Some(handoff) = robot.handoff.as_ref().filter(|h| h.resume) else {
        return;
    };
    let control = match records.get::<Control>(&Control::key(&robot.id, &handed.user)) {
        Ok(Some(control)) if control.group_id == group_id => control,
        // Resumed already, or handed over again since into another group.
        Ok(_) => return,
        Err(e) => return eprintln!("chatbot: {e}"),
    };
    if let Err(e) = resume(config, robot, handoff, records, &handed.user, &control).await {
        eprintln!("chatbot: {e}");
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
                origin_group: incoming.group.clone(),
                trigger,
                since: now(),
            };
            let index = HandedOver {
                robot: robot.id.clone(),
                user: incoming.user.clone(),
            };
            let stored = records
                .put(&key, &control)
                .and_then(|()| records.put(&HandedOver::key(&control.group_id), &index));
            match stored {
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
