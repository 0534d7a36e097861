//! `POST /zendesk/app`: the sidebar app's page. Zendesk loads it (manifest
//! `signedUrls: true`) with a form field `token` it signed for the agent;
//! the bridge checks it, asks Zendesk who that user is (an active agent,
//! and their name), and answers the panel with a session in it.

use crate::config::{Config, PanelSettings};
use crate::records::TOKEN_KEY;
use connector::reply::JsonResponse;
use connector::state::Records;
use http::StatusCode;
use zendesk::app::PanelSession;

/// How long a panel session lasts. Calls in its second half get a renewed
/// one, after Zendesk confirms the agent is still an active agent: a panel
/// left open stays signed in, a suspended agent is out within this.
pub const SESSION_SECS: u64 = 3600;

/// The page, its script and style, with placeholders filled per response.
const PAGE: &str = include_str!("../panel/page.html");
const SCRIPT: &str = include_str!("../panel/panel.js");
const STYLE: &str = include_str!("../panel/panel.css");

pub async fn handle(config: &Config, body: &[u8], now: u64) -> JsonResponse {
    let settings = match &config.panel {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("{message}");
            return notice(StatusCode::INTERNAL_SERVER_ERROR, message);
        }
    };
    let token = form_urlencoded::parse(body)
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned());
    let agent = match zendesk::app::verify_signed_url(
        token.as_deref(),
        &settings.public_key,
        &config.zendesk_base_url,
        settings.installation_id,
        now,
    ) {
        Ok(agent) => agent,
        Err(e) => {
            eprintln!("rejected Zendesk sidebar page: {e}");
            return notice(StatusCode::UNAUTHORIZED, &e.to_string());
        }
    };
    match start_session(config, settings, agent, now).await {
        Ok(session) => page(config, settings, &session),
        Err((status, message)) => notice(status, &message),
    }
}

/// A session for `agent` after Zendesk confirms they are an active agent.
pub async fn start_session(
    config: &Config,
    settings: &PanelSettings,
    agent: u64,
    now: u64,
) -> Result<String, (StatusCode, String)> {
    let records = Records::open().map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let token: Option<String> = records.get(TOKEN_KEY).ok().flatten();
    let mut zendesk = config.zendesk(token.clone());
    let user = zendesk.get_user(agent).await;
    if zendesk.token().map(String::from) != token
        && let Some(new_token) = zendesk.token()
    {
        let _ = records.put(TOKEN_KEY, &new_token);
    }
    let user = user.map_err(|e| match e {
        zendesk::api::ZendeskError::Api { status: 404, .. } => (
            StatusCode::FORBIDDEN,
            format!("Zendesk user {agent} is not an active agent (Zendesk has no such user)"),
        ),
        e => (
            StatusCode::BAD_GATEWAY,
            format!("Zendesk show user {agent} failed: {e}"),
        ),
    })?;
    if !user.is_active_agent() {
        return Err((
            StatusCode::FORBIDDEN,
            format!("Zendesk user {agent} is not an active agent"),
        ));
    }
    let name = if user.name.trim().is_empty() {
        format!("Agent {agent}")
    } else {
        user.name
    };
    Ok(PanelSession {
        agent,
        name,
        photo: user.photo,
        exp: now + SESSION_SECS,
    }
    .sign(&settings.session_secret))
}

fn page(config: &Config, settings: &PanelSettings, session: &str) -> JsonResponse {
    // The nonce only has to be unguessable for whoever could inject markup:
    // a digest of the session (signed with the bridge's secret) is.
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(session.as_bytes());
    let nonce: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let setup = serde_json::json!({
        "session": session,
        "api": "/zendesk/app",
        "poll_ms": 3000,
        "unassigned_may_read": settings.unassigned_may_read,
    });
    let setup = setup
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let html = PAGE
        .replace("{{style}}", STYLE)
        .replace("{{setup}}", &setup)
        .replace("{{script}}", SCRIPT)
        .replace("{{nonce}}", &nonce);
    let mut response = html_response(StatusCode::OK, html);
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}' https://static.zdassets.com; style-src 'nonce-{nonce}'; \
         connect-src 'self'; img-src https: http: data:; base-uri 'none'; form-action 'none'; \
         frame-ancestors https://*.zendesk.com {account}",
        account = config.zendesk_base_url
    );
    if let Ok(value) = csp.parse() {
        response
            .headers_mut()
            .insert("content-security-policy", value);
    }
    response
}

/// A page that only says what is wrong (the sidebar shows it to the agent).
fn notice(status: StatusCode, message: &str) -> JsonResponse {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let mut response = html_response(
        status,
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Switchboard Chat</title></head>\
             <body><p role=\"alert\" id=\"error\">Chat unavailable: {escaped}</p></body></html>"
        ),
    );
    if let Ok(value) = "default-src 'none'".parse() {
        response
            .headers_mut()
            .insert("content-security-policy", value);
    }
    response
}

fn html_response(status: StatusCode, html: String) -> JsonResponse {
    let mut response = http::Response::new(bytes::Bytes::from(html));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        "text/html; charset=utf-8"
            .parse()
            .expect("static header value"),
    );
    headers.insert(
        "cache-control",
        "no-store".parse().expect("static header value"),
    );
    headers.insert(
        "referrer-policy",
        "no-referrer".parse().expect("static header value"),
    );
    response
}
