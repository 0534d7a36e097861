//! `POST /im/webhook`: the one URL Tencent Cloud Chat sends every webhook of
//! the app to.
//!
//! Each call is verified once — our `SdkAppid`, the `Sign` over the callback
//! token and `RequestTime`, and `RequestTime` within the freshness window —
//! and then handed, by `CallbackCommand`, to the component that owns it
//! (service chaining, table in the `im_gateway_routes` variable). That
//! component's answer is IM's answer; an after-callback with several owners
//! is passed to each in turn, and IM gets the first owner's answer unless
//! one failed. Commands nobody owns are answered
//! `OK` so IM is never blocked. Forged or stale calls get 401 and are never
//! dispatched.

use connector::dispatch::DispatchTable;
use connector::edge::Request;
use connector::reply::{self, JsonResponse};
use http::{Method, StatusCode};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use tim::events::Answer;
use tim::webhook::{Verifier, WebhookQuery};

struct Settings {
    verifier: Verifier,
    table: DispatchTable,
}

fn settings() -> Result<Settings, String> {
    let app_id: u64 = connector::config::number("im_sdk_app_id", None)?;
    let token = connector::config::variable("im_callback_token")?;
    let window: u64 = connector::config::number("im_webhook_window_secs", None)?;
    let routes = connector::config::optional_variable("im_gateway_routes");
    let table = DispatchTable::parse(&routes)
        .map_err(|e| format!("configuration: im_gateway_routes: {e}"))?;
    Ok(Settings {
        verifier: Verifier::new(app_id, Some(token)).with_window(window),
        table,
    })
}

/// The longest query string accepted (IM's are far shorter).
const MAX_QUERY_BYTES: usize = 4 * 1024;

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    connector::edge::serve(req, out, webhook).await
}

async fn webhook(req: Request) -> JsonResponse {
    if req.method() != Method::POST {
        return reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "IM webhooks are POST requests",
        );
    }
    let settings = match settings() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("{message}");
            return reply::error(StatusCode::INTERNAL_SERVER_ERROR, message);
        }
    };
    let raw_query = req.uri().query().unwrap_or("").to_string();
    // IM's query is a few hundred bytes; a huge one is refused before it is
    // parsed, logged or copied into a dispatch URL.
    if raw_query.len() > MAX_QUERY_BYTES {
        return reply::error(
            StatusCode::URI_TOO_LONG,
            format!("the query string is over {MAX_QUERY_BYTES} bytes"),
        );
    }
    let query = match WebhookQuery::parse(&raw_query) {
        Ok(query) => query,
        Err(e) => return unauthorized(&e.to_string()),
    };
    if let Err(e) = settings
        .verifier
        .verify(&query, connector::config::unix_now())
    {
        return unauthorized(&e.to_string());
    }
    let (parts, body) = req.into_parts();
    let body =
        match connector::edge::read_body(&parts.headers, body, connector::im::MAX_WEBHOOK_BODY)
            .await
        {
            Ok(body) => body,
            // A before-callback needs a decision, and IM delivers on anything
            // but 200: a body nobody can screen is refused.
            Err(_) if query.callback_command.contains(".CallbackBefore") => {
                eprintln!(
                    "{}: the body is over {} bytes or unreadable; refused",
                    query.callback_command,
                    connector::im::MAX_WEBHOOK_BODY
                );
                return reply::raw_json(StatusCode::OK, Answer::reject().to_json());
            }
            Err(response) => return response,
        };
    // A routed command goes to its component whatever the body holds: a
    // moderation callback must get a decision, and the component knows what
    // its policy does with a body it cannot read.
    let Some(targets) = settings.table.lookup(&query.callback_command) else {
        let text = tim::events::lenient_json_text(&body);
        if serde_json::from_str::<serde_json::Value>(&text).is_err() {
            return reply::bad_field("body", "the webhook body is not JSON");
        }
        return reply::raw_json(StatusCode::OK, Answer::ok().to_json());
    };
    // Every owner of an after-callback is told, in order, even when one
    // fails; IM gets the first owner's answer, or the first failure.
    let mut answer = None;
    for target in targets {
        let told = tell(target, &raw_query, &body).await;
        let told = match told {
            Ok((status, body)) if (200..300).contains(&status) => reply::raw_json(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                body,
            ),
            Ok((status, body)) if targets.len() == 1 => reply::raw_json(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                body,
            ),
            Ok((status, _)) => dispatch_failed(
                &query.callback_command,
                &target.component,
                &format!("it answered {status}"),
            ),
            Err(e) => dispatch_failed(&query.callback_command, &target.component, &e),
        };
        let failed = !told.status().is_success();
        match &answer {
            None => answer = Some(told),
            Some(first) if failed && first.status().is_success() => answer = Some(told),
            Some(_) => {}
        }
    }
    answer.unwrap_or_else(|| reply::raw_json(StatusCode::OK, Answer::ok().to_json()))
}

/// Passes the verified webhook to one component: its status and body.
async fn tell(
    target: &connector::dispatch::Target,
    raw_query: &str,
    body: &[u8],
) -> Result<(u16, Vec<u8>), String> {
    let request = connector::outbound::HttpRequest {
        method: "POST",
        url: target.url(raw_query),
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: body.to_vec(),
        timeout: None,
    };
    let response = connector::outbound::SpinHttp::default()
        .open(request)
        .await?;
    let status = response.status;
    response
        .read(connector::im::MAX_WEBHOOK_BODY)
        .await
        .map(|body| (status, body.to_vec()))
}

fn unauthorized(reason: &str) -> JsonResponse {
    eprintln!("rejected IM webhook: {reason}");
    reply::error(StatusCode::UNAUTHORIZED, reason)
}

/// IM treats a non-200 answer as a failed callback and applies its own
/// default, which for a before-callback is to deliver: so a before-callback
/// whose component did not answer is refused here (fail closed), and any
/// other gets a 502 naming the component. The cause goes to the log only.
fn dispatch_failed(command: &str, component: &str, error: &str) -> JsonResponse {
    eprintln!("{command}: dispatch to `{component}` failed: {error}");
    if command.contains(".CallbackBefore") {
        return reply::raw_json(StatusCode::OK, Answer::reject().to_json());
    }
    reply::error(
        StatusCode::BAD_GATEWAY,
        format!("{command}: component `{component}` did not answer"),
    )
}
