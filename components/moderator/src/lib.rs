//! Sensitive-content moderator, reached from the IM gateway (private route:
//! the gateway has verified the webhook).
//!
//! - `Group.CallbackBeforeSendMsg`, `C2C.CallbackBeforeSendMsg`: every text
//!   a client shows (see [`screening::verdict`]) against the lexicons →
//!   allow, mask (a replacement `MsgBody`), drop silently (`ErrorCode 2`) or
//!   reject (`ErrorCode 1` or a custom code); optionally the external service
//!   too, within a time budget, failing open or closed.
//! - `Group.CallbackBeforeCreateGroup`: the group's name, introduction and
//!   notification; a match refuses the group.
//! - `Group.CallbackAfterGroupInfoChanged`: the same texts changed later.
//!   IM has no before-callback for that, so a match is scrubbed after the
//!   answer: `modify_group_base_info` sets each offending field to itself
//!   with every hit masked.
//! - `Group.CallbackAfterSendMsg`, `C2C.CallbackAfterSendMsg`: images and
//!   video thumbnails go to the external service after the answer; flagged
//!   messages are recalled.
//!
//! Each message is judged by the policy of its conversation (the first of
//! the policy's scopes that covers it, see [`screening::scopes`]); exempt
//! senders pass unscreened; a decision that is a strike is counted after the
//! answer, and the strike reaching a penalty mutes the sender (see
//! [`strikes`]).
//!
//! IM delivers whenever a before-callback answers anything but 200, so
//! these always answer 200 with a decision: a body that does not parse, an
//! unreadable overlay or a broken policy get the policy's `on_error`
//! (`reject` unless the policy says otherwise, and always when the policy
//! itself is what is broken).
//!
//! Every non-allow decision is one JSON line on stdout: message key,
//! category, outcome, rule id — the matched text only if the policy asks;
//! it is also kept for review and sent as a signed event (see
//! [`decisions`]). A `flag` delivers the message untouched and records it.

mod config;
mod decisions;
mod external;
mod media;
mod strikes;

use config::Config;
use connector::edge::Request;
use connector::reply::{self, JsonResponse};
use http::StatusCode;
use screening::media::Subject;
use screening::policy::{ExternalAnswer, Outcome, Policy, TextCheck};
use screening::review::{DecisionLog, Origin, log_decision};
use screening::scopes::{Conversation, Kind};
use screening::verdict::{Finding, Layers, Verdict};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use std::time::Duration;
use strikes::{Place, Strike};
use tim::events::{Answer, Event, Scope};
use tim::message::{MsgElement, joined_text};

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    connector::edge::serve(req, out, moderate).await
}

async fn moderate(req: Request) -> JsonResponse {
    let query = req.uri().query().unwrap_or("").to_string();
    let command = tim::webhook::WebhookQuery::parse(&query)
        .map(|q| q.callback_command)
        .unwrap_or_default();
    let scope = Scope::deciding(&command);
    let config = match Config::load() {
        Ok(config) => config,
        Err(message) => {
            eprintln!(
                "moderator: configuration: {message}; every message is refused until it is fixed"
            );
            let why = format!("configuration: {message}");
            return unscreened(&command, scope, &Policy::default(), &why);
        }
    };
    let (parts, body) = req.into_parts();
    let body =
        match connector::edge::read_body(&parts.headers, body, connector::im::MAX_WEBHOOK_BODY)
            .await
        {
            Ok(body) => body,
            Err(_) if scope.is_some() => {
                return unscreened(
                    &command,
                    scope,
                    &config.policy,
                    "the body is too large or unreadable",
                );
            }
            Err(response) => return response,
        };
    let event = match Event::parse(&command, &body) {
        Ok(event) => event,
        Err(e) => {
            let why = format!("not a {command} body: {e}");
            return unscreened(&command, scope, &config.policy, &why);
        }
    };
    // Only the callbacks judged by the lexicons read the overlay.
    let overlay = if scope.is_some() || command == INFO_CHANGED {
        match screening::stored::overlay() {
            Ok(overlay) => overlay,
            Err(message) => {
                eprintln!("moderator: {message}");
                return unscreened(&command, scope, &config.policy, &message);
            }
        }
    } else {
        None
    };
    let layers = Layers {
        builtin: screening::builtin(),
        overlay: overlay.as_deref(),
    };
    let answer = match event {
        Event::GroupBeforeSendMsg(m) => {
            let sent = Sent {
                key: format!("group:{}:{}", m.group_id, m.random.unwrap_or(0)),
                scope: Scope::Group,
                sender: &m.from,
                to: None,
                conversation: Conversation {
                    kind: Kind::of_group(m.group_type.as_deref()),
                    group_id: Some(&m.group_id),
                },
                body: &m.body,
                event_time_ms: m.event_time,
            };
            before_send(&config, &layers, &command, sent).await
        }
        Event::C2cBeforeSendMsg(m) => {
            let sent = Sent {
                key: m.msg_key.clone().map_or_else(
                    || format!("c2c:{}:{}:{}", m.from, m.to, m.msg_random.unwrap_or(0)),
                    |k| format!("c2c:{k}"),
                ),
                scope: Scope::C2c,
                sender: &m.from,
                to: Some(&m.to),
                conversation: Conversation {
                    kind: Some(Kind::C2c),
                    group_id: None,
                },
                body: &m.body,
                event_time_ms: m.event_time,
            };
            before_send(&config, &layers, &command, sent).await
        }
        Event::GroupBeforeCreate(g) if config.policy.group_names => {
            let texts: Vec<&str> = [
                Some(&g.name),
                g.introduction.as_ref(),
                g.notification.as_ref(),
            ]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
            let verdict = layers.unmaskable(&config.policy, &texts);
            let key = format!("new-group:{}", g.operator);
            log_verdict(&config.policy, &command, &key, &verdict);
            let origin = Origin {
                command: &command,
                key: &key,
                event_time_ms: g.event_time,
                sender: &g.operator,
                group_id: None,
                to: None,
                scope: None,
            };
            decisions::record(&config.policy, origin, &verdict, None);
            config.policy.answer(verdict.outcome, Scope::Group, None)
        }
        Event::GroupInfoChanged(c) if config.policy.group_names => {
            info_changed(&config, &layers, &c);
            Answer::ok()
        }
        Event::GroupAfterSendMsg(m) => {
            if let Some(seq) = m.msg_seq {
                let delivered = connector::removal::Delivered::Group {
                    group_id: m.group_id.clone(),
                    seq,
                    group_type: m.group_type.clone(),
                    topic_id: m.topic_id.clone(),
                };
                after_send(config, delivered, m.body);
            }
            Answer::ok()
        }
        Event::C2cAfterSendMsg(m) => {
            if let Some(msg_key) = m.msg_key.clone() {
                let delivered = connector::removal::Delivered::C2c {
                    from: m.from.clone(),
                    to: m.to.clone(),
                    msg_key,
                };
                after_send(config, delivered, m.body);
            }
            Answer::ok()
        }
        _ => Answer::ok(),
    };
    reply::raw_json(StatusCode::OK, answer.to_json())
}

const INFO_CHANGED: &str = "Group.CallbackAfterGroupInfoChanged";

/// Screens a group's changed texts and, when one does not pass, sets it to
/// its scrubbed copy after the answer. Changes made by the IM administrator
/// (our own scrubbing among them) are trusted, so a scrub never loops.
fn info_changed(config: &Config, layers: &Layers<'_>, change: &tim::events::GroupInfoChanged) {
    let im = match connector::im::ImSettings::load() {
        Ok(im) => im,
        Err(e) => {
            eprintln!(
                "moderator: group {}: cannot scrub its texts: {e}",
                change.group_id
            );
            return;
        }
    };
    if change.operator == im.admin {
        return;
    }
    let key = format!("group-info:{}", change.group_id);
    let mut scrubbed = tim::rest::GroupTexts::default();
    let mut any = false;
    let mut all = Verdict::allow();
    for (text, slot) in [
        (&change.name, &mut scrubbed.name),
        (&change.introduction, &mut scrubbed.introduction),
        (&change.notification, &mut scrubbed.notification),
    ] {
        let Some(text) = text else { continue };
        let (verdict, clean) = layers.scrub(&config.policy, text);
        if let Some(worst) = verdict.findings.iter().max_by_key(|f| f.outcome) {
            // A flag only records: the text stays.
            let scrub = worst.outcome > Outcome::Flag;
            log_decision(&DecisionLog {
                key: &key,
                command: INFO_CHANGED,
                outcome: if scrub { "scrub" } else { "flag" },
                category: &worst.category,
                rule: &worst.rule,
                severity: worst.severity,
                score: None,
                excerpt: config.policy.log_text.then_some(text.as_str()),
                error: None,
                scope: None,
            });
            if scrub {
                *slot = Some(clean);
                any = true;
            }
        }
        for finding in verdict.findings {
            all.add(finding);
        }
    }
    let origin = Origin {
        command: INFO_CHANGED,
        key: &key,
        event_time_ms: change.event_time,
        sender: &change.operator,
        group_id: Some(&change.group_id),
        to: None,
        scope: None,
    };
    decisions::record(&config.policy, origin, &all, any.then_some("scrub"));
    if !any {
        return;
    }
    let group_id = change.group_id.clone();
    connector::edge::after_response(async move {
        if let Err(e) = im
            .client()
            .modify_group_base_info(&group_id, &scrubbed)
            .await
        {
            eprintln!("moderator: group {group_id}: scrubbing its texts failed: {e}");
        }
    });
}

/// The decision on a callback whose text could not be screened: the
/// policy's `on_error`, logged with the reason.
fn unscreened(command: &str, scope: Option<Scope>, policy: &Policy, why: &str) -> JsonResponse {
    log_decision(&DecisionLog {
        key: "-",
        command,
        outcome: policy.on_error.name(),
        category: "unscreened",
        rule: "on_error",
        severity: 0,
        score: None,
        excerpt: None,
        error: Some(why),
        scope: None,
    });
    let answer = match scope {
        Some(scope) => policy.answer(policy.on_error, scope, None),
        None => Answer::ok(),
    };
    reply::raw_json(StatusCode::OK, answer.to_json())
}

/// A message on its way, as the before-send callbacks describe it.
struct Sent<'a> {
    /// Its identity, for logs and strikes.
    key: String,
    /// Group or one-to-one, for the answer's codes.
    scope: Scope,
    /// `From_Account`.
    sender: &'a str,
    /// `To_Account`, one-to-one.
    to: Option<&'a str>,
    /// Where it goes, for the policy's scopes.
    conversation: Conversation<'a>,
    /// `MsgBody`.
    body: &'a [MsgElement],
    /// `EventTime` (milliseconds), which tells a redelivery from a new
    /// message with the same key.
    event_time_ms: Option<u64>,
}

/// The policy of the message's conversation; exempt senders pass
/// unscreened. Then the lexicons; then, if the policy asks and nothing
/// already stops the message, the external service within its budget. A
/// decision that is a strike is counted after the answer.
async fn before_send(
    config: &Config,
    layers: &Layers<'_>,
    command: &str,
    sent: Sent<'_>,
) -> Answer {
    let policy = config.policy.for_conversation(&sent.conversation);
    if exempt(&policy, sent.sender) {
        return Answer::ok();
    }
    let mut verdict = layers.message(&policy, sent.body);
    let text = joined_text(sent.body);
    if policy.asks_external(verdict.outcome, &text)
        && let Some(api) = &config.api
    {
        let budget = Duration::from_millis(policy.external.budget_ms);
        let answer = api
            .judge(
                &[Subject::Text(text)],
                &sent.key,
                &policy.external.thresholds,
                budget,
            )
            .await;
        let said = match &answer {
            Ok(Some(flagged)) => ExternalAnswer::Flagged(&flagged.category),
            Ok(None) => ExternalAnswer::Passed,
            Err(e) => {
                let how = if policy.external.text == TextCheck::FailClosed {
                    "closed"
                } else {
                    "open"
                };
                eprintln!("moderator: {}: {e}; failing {how}", sent.key);
                ExternalAnswer::Unavailable
            }
        };
        if let Some(finding) = Finding::of_external(&policy, said) {
            verdict.add(finding);
        }
    }
    log_verdict(&policy, command, &sent.key, &verdict);
    let origin = Origin {
        command,
        key: &sent.key,
        event_time_ms: sent.event_time_ms,
        sender: sent.sender,
        group_id: sent.conversation.group_id,
        to: sent.to,
        scope: policy.scope.as_deref(),
    };
    decisions::record(&policy, origin, &verdict, None);
    let place = match sent.conversation.group_id {
        Some(group_id) => Place::Group(group_id.to_string()),
        None => Place::C2c,
    };
    if let Some(strike) = Strike::of(&policy, &sent.key, sent.sender, place, verdict.outcome) {
        connector::edge::after_response(strike.record(connector::config::unix_now()));
    }
    policy.answer(verdict.outcome, sent.scope, verdict.masked)
}

/// Whether the policy exempts `sender`; the IM administrator's name is
/// read only when the policy exempts administrators.
fn exempt(policy: &Policy, sender: &str) -> bool {
    let admin = if policy.exempt.admins {
        // Only the name: the IM credentials are not needed to judge.
        match connector::config::variable("im_admin") {
            Ok(admin) => admin,
            Err(e) => {
                eprintln!("moderator: cannot tell the IM administrator: {e}");
                String::new()
            }
        }
    } else {
        String::new()
    };
    !sender.is_empty() && policy.exempt.covers(sender, &admin)
}

/// Starts the media check after the answer, when there is rich media and
/// a service to ask.
fn after_send(config: Config, delivered: connector::removal::Delivered, body: Vec<MsgElement>) {
    if config.policy.external.media && config.api.is_some() && media::has_media(&body) {
        connector::edge::after_response(media::check_and_recall(config, delivered, body));
    }
}

fn log_verdict(policy: &Policy, command: &str, key: &str, verdict: &Verdict) {
    let Some(deciding) = verdict
        .findings
        .iter()
        .find(|f| f.outcome == verdict.outcome)
    else {
        return;
    };
    let excerpt = policy.log_text.then(|| {
        verdict
            .findings
            .iter()
            .map(|f| f.excerpt.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    });
    log_decision(&DecisionLog {
        key,
        command,
        outcome: verdict.outcome.name(),
        category: &deciding.category,
        rule: &deciding.rule,
        severity: deciding.severity,
        score: None,
        excerpt: excerpt.as_deref(),
        error: None,
        scope: policy.scope.as_deref(),
    });
}
