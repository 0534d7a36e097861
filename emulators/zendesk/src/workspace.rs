//! The agent workspace, as far as a `ticket_sidebar` app sees it.
//!
//! `GET /agent/tickets/{id}?agent={user id}` is the ticket page of the
//! signed-in agent `agent`. Its sidebar is an iframe loaded the way Zendesk
//! loads a `signedUrls` app: a form `POST` to the app's URL with
//! `?origin=…&app_guid=…` and the field `token`, a signed-URL token for the
//! agent. The page then plays Zendesk's side of the ZAF SDK's protocol
//! (JSON strings through `postMessage`, checked against the iframe's window
//! and origin):
//!
//! - `iframe.handshake` → `zaf.app.registered` with the metadata
//!   (installation id, settings) and context (account, location, ticket id);
//! - `{id, request: "get", params}` → `{id, result}` for `ticket`,
//!   `ticket.id`, `ticket.subject`, `ticket.assignee`, `currentUser`;
//!   unknown paths come back under `result.errors`, as Zendesk answers them;
//! - `invoke` (`resize`, …) → an empty result; anything else → an error.
//!
//! Opening the page as a user who is not an active agent gives 403, as
//! Zendesk does not let end users into the agent workspace.

use super::{Shared, now};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

/// The page for ticket `ticket` (the path's rest) and `query`.
pub(crate) fn page(shared: &Shared, ticket: &str, query: &str) -> Response<Full<Bytes>> {
    let agent_id = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "agent")
        .and_then(|(_, value)| value.parse::<u64>().ok());
    let config = shared.config();
    let Some(agent) = agent_id.and_then(|id| config.users.iter().find(|u| u.id == id)) else {
        return html(
            StatusCode::BAD_REQUEST,
            "<p>Say who is signed in: <code>?agent=&lt;user id&gt;</code>.</p>".into(),
        );
    };
    if !agent.active || agent.role == "end-user" {
        return html(
            StatusCode::FORBIDDEN,
            "<p>Only active agents can open the agent workspace.</p>".into(),
        );
    }
    let Some(ticket) = ticket
        .parse::<u64>()
        .ok()
        .and_then(|id| shared.state().tickets.get(&id).cloned())
        .filter(|t| !t.deleted)
    else {
        return html(StatusCode::NOT_FOUND, "<p>No such ticket.</p>".into());
    };
    let Some(app_url) = config.app_url.clone() else {
        return html(
            StatusCode::SERVICE_UNAVAILABLE,
            "<p>No sidebar app is installed (the emulator has no app URL).</p>".into(),
        );
    };
    let origin = shared.url();
    let app_guid = format!("app-guid-{}-{}", ticket.id, agent.id);
    let assignee = ticket
        .assignee_id
        .and_then(|id| config.users.iter().find(|u| u.id == id));
    let person = |u: &super::User| json!({ "id": u.id, "name": u.name, "email": u.email, "role": u.role, "locale": "en-US" });
    let values = json!({
        "ticket.id": ticket.id,
        "ticket.subject": ticket.subject,
        "ticket.status": ticket.status,
        "ticket.assignee": { "user": assignee.map(person) },
        "ticket": {
            "id": ticket.id, "subject": ticket.subject, "status": ticket.status,
            "assignee": { "user": assignee.map(person) },
        },
        "currentUser": person(agent),
    });
    let setup = json!({
        "action": format!("{app_url}?origin={}&app_guid={app_guid}", percent(&origin)),
        "token": shared.signed_url_token(agent.id, now()),
        "registered": {
            "metadata": {
                "appId": 1, "installationId": config.app_installation_id, "name": "Switchboard Chat",
                "version": "2.0.0", "settings": { "title": "Switchboard Chat" },
            },
            "context": {
                "product": "support", "location": "ticket_sidebar", "instanceGuid": app_guid,
                "account": { "subdomain": "emulator" }, "ticketId": ticket.id,
            },
        },
        "values": values,
    });
    let body = format!(
        r#"<header><strong>Ticket #{id}</strong> {subject} · {status} · assignee: {assignee} · signed in as {agent}</header>
<main><section class="conversation"><h2>Description</h2><p>{description}</p></section>
<aside><iframe name="sidebar" id="sidebar" title="Switchboard Chat"></iframe></aside></main>
<script id="zaf-setup" type="application/json">{setup}</script>
<script>{script}</script>"#,
        id = ticket.id,
        subject = escape(&ticket.subject),
        status = escape(&ticket.status),
        assignee = assignee.map_or("nobody".into(), |u| escape(&u.name)),
        agent = escape(&agent.name),
        description = escape(&ticket.description),
        setup = script_json(&setup),
        script = HOST_SCRIPT,
    );
    html(StatusCode::OK, body)
}

/// Zendesk's side of the ZAF SDK's `postMessage` protocol.
const HOST_SCRIPT: &str = r#"
const setup = JSON.parse(document.getElementById('zaf-setup').textContent);
const frame = document.getElementById('sidebar');
const appOrigin = new URL(setup.action).origin;
function reply(message) { frame.contentWindow.postMessage(JSON.stringify(message), appOrigin); }
window.addEventListener('message', (event) => {
  if (event.source !== frame.contentWindow || event.origin !== appOrigin) return;
  let data;
  try { data = typeof event.data === 'string' ? JSON.parse(event.data) : event.data; } catch (e) { return; }
  if (data.key === 'iframe.handshake') {
    reply({ key: 'zaf.app.registered', message: setup.registered });
  } else if (data.request === 'get') {
    const result = { errors: {} };
    for (const path of data.params) {
      if (Object.prototype.hasOwnProperty.call(setup.values, path)) result[path] = setup.values[path];
      else result.errors[path] = { name: 'InvalidPathError', message: 'Invalid path: ' + path };
    }
    reply({ id: data.id, result });
  } else if (data.request === 'invoke') {
    reply({ id: data.id, result: {} });
  } else if (data.id) {
    reply({ id: data.id, error: { name: 'NotEmulated', message: data.request + ' is not emulated' } });
  }
});
const form = document.createElement('form');
form.method = 'POST';
form.target = 'sidebar';
form.action = setup.action;
const field = document.createElement('input');
field.type = 'hidden';
field.name = 'token';
field.value = setup.token;
form.appendChild(field);
document.body.appendChild(form);
form.submit();
"#;

fn html(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Zendesk emulator: agent workspace</title>\
         <style>body{{font:14px system-ui,sans-serif;margin:0}}header{{padding:8px 12px;background:#03363d;color:#fff}}\
         main{{display:flex}}section{{flex:1;padding:12px}}aside{{width:380px;border-left:1px solid #ccc}}\
         iframe{{width:100%;height:640px;border:0}}</style></head><body>{body}</body></html>"
    );
    let mut response = Response::new(Full::new(Bytes::from(page)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JSON safe inside a `<script>` element.
fn script_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
