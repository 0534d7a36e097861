//! Zendesk ticket bridge (routes under `/zendesk/`).
//!
//! | route | caller | authentication |
//! |---|---|---|
//! | `POST /zendesk/requests` | the end user's chat app (browsers: `cors_allowed_origins`) | the user's IM UserSig |
//! | `POST /zendesk/requests/open` | the same: the user's open ticket, to continue it | the user's IM UserSig |
//! | `POST /zendesk/webhook` | Zendesk webhooks (ticket changes; agents' public replies go to the chat) | `x-zendesk-webhook-signature` |
//! | `POST /zendesk/im` | IM's after-send callbacks, passed on by the gateway: the chat copied into the ticket | IM's `Sign` over `im_callback_token` |
//! | `POST /zendesk/app` | Zendesk, loading the sidebar app's page | signed-URL token (RS256, the app's key) |
//! | `POST /zendesk/app/join`, `/app/history`, `/app/send` | the sidebar panel | the panel session the page was given |

#![allow(
    clippy::result_large_err,
    reason = "handlers return a ready HTTP response as their error; it is built once per request, not on a hot path"
)]

mod agent_chat;
mod chat;
mod config;
mod create;
mod panel;
mod records;
mod webhook;

use connector::edge::Request;
use connector::reply::JsonResponse;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

/// Bodies above this are refused before parsing.
const MAX_BODY: usize = 128 * 1024;

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    connector::edge::serve(req, out, bridge).await
}

async fn bridge(req: Request) -> JsonResponse {
    let routes = [
        "/requests",
        "/requests/open",
        "/webhook",
        "/im",
        "/app",
        "/app/join",
        "/app/history",
        "/app/send",
    ];
    let routes = connector::bridge::Routes {
        prefix: "/zendesk",
        all: &routes,
        end_user: &["/requests", "/requests/open"],
        max_body: MAX_BODY,
    };
    let prepared = connector::bridge::prepare(
        req,
        &routes,
        config::Config::load,
        |config: &config::Config| &config.im.signer,
    )
    .await;
    let p = match prepared {
        Ok(p) => p,
        Err(response) => return response,
    };
    let cors_origin = p.cors_origin.clone();
    match (p.route.as_str(), p.user) {
        ("/requests/open", Some(user)) => {
            connector::bridge::with_cors(create::open_request(&user), cors_origin.as_ref())
        }
        ("/requests", Some(user)) => connector::bridge::with_cors(
            create::handle(&p.config, &user, &p.body).await,
            cors_origin.as_ref(),
        ),
        ("/webhook", _) => webhook::handle(&p.config, &p.headers, &p.body, p.now).await,
        ("/im", _) => chat::from_im(&p.config, &p.query, &p.body, p.now),
        ("/app", _) => panel::handle(&p.config, &p.body, p.now).await,
        (route, _) => agent_chat::handle(route, &p.config, &p.headers, &p.body, p.now).await,
    }
}
