//! End users' browser apps calling the bridges' request routes directly
//! (CORS, `cors_allowed_origins`), and "my open request".

use serde_json::{Value, json};
use switchboard_tests::{Stack, usersig};

const APP: &str = "https://chat.example.com";

async fn call(
    stack: &Stack,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = stack
        .runner
        .client
        .request(method, format!("{}{path}", stack.runner.url));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn support_request(key: &str) -> Value {
    json!({
        "subject": "Where is my parcel?", "description": "Ordered a week ago.",
        "name": "Alice Example", "email": "alice@example.com", "idempotency_key": key,
    })
}

#[tokio::test]
async fn named_origins_get_in_and_others_are_refused_before_anything_happens() {
    let stack = Stack::start(
        "cors",
        &[&format!(
            "cors_allowed_origins={APP}, http://127.0.0.1:5173"
        )],
    )
    .await;
    let sig = usersig("alice");
    let auth = format!("UserSig {sig}");
    for path in [
        "/zendesk/requests",
        "/salesforce/requests",
        "/zendesk/requests/open",
    ] {
        let (status, headers, _) = call(
            &stack,
            reqwest::Method::OPTIONS,
            path,
            &[
                ("origin", APP),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization, content-type, x-im-user-id",
                ),
            ],
            None,
        )
        .await;
        assert_eq!(status, 204, "{path}");
        assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));
        assert_eq!(
            header(&headers, "access-control-allow-methods"),
            Some("POST")
        );
        assert!(
            header(&headers, "access-control-allow-headers")
                .unwrap()
                .contains("authorization")
        );
        assert_eq!(
            header(&headers, "access-control-allow-credentials"),
            None,
            "never credentials"
        );

        let (status, headers, answer) = call(
            &stack,
            reqwest::Method::OPTIONS,
            path,
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "POST"),
            ],
            None,
        )
        .await;
        assert_eq!(status, 403, "{path}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("https://evil.example")
        );
        assert_eq!(header(&headers, "access-control-allow-origin"), None);
    }

    // The real call from the app: created, and readable by it.
    let (status, headers, answer) = call(
        &stack,
        reqwest::Method::POST,
        "/zendesk/requests",
        &[
            ("origin", APP),
            ("authorization", &auth),
            ("x-im-user-id", "alice"),
        ],
        Some(support_request("cors-1")),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(header(&headers, "vary"), Some("origin"));
    // Its errors too: the app can say what went wrong.
    let (status, headers, answer) = call(
        &stack,
        reqwest::Method::POST,
        "/zendesk/requests",
        &[
            ("origin", APP),
            ("authorization", "UserSig forged"),
            ("x-im-user-id", "alice"),
        ],
        Some(support_request("cors-2")),
    )
    .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));

    // Another site's page making the same call with a stolen UserSig:
    // refused, and no ticket.
    let tickets = stack.zendesk().state().tickets.len();
    let (status, headers, answer) = call(
        &stack,
        reqwest::Method::POST,
        "/zendesk/requests",
        &[
            ("origin", "https://evil.example"),
            ("authorization", &auth),
            ("x-im-user-id", "alice"),
        ],
        Some(support_request("cors-3")),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    assert_eq!(stack.zendesk().state().tickets.len(), tickets);

    // Servers (no Origin) are not browsers: unaffected.
    let (status, answer) = stack
        .runner
        .post_as_user(
            "/salesforce/requests",
            "alice",
            Some(&sig),
            &support_request("cors-4"),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
}

#[tokio::test]
async fn no_origin_is_let_in_by_default_and_a_wildcard_is_a_configuration_error() {
    let stack = Stack::start("cors-default", &[]).await;
    let (status, _, answer) = call(
        &stack,
        reqwest::Method::OPTIONS,
        "/zendesk/requests",
        &[("origin", APP), ("access-control-request-method", "POST")],
        None,
    )
    .await;
    assert_eq!(status, 403, "{answer}");

    let stack = Stack::start("cors-wildcard", &["cors_allowed_origins=*"]).await;
    let (status, _, answer) = call(
        &stack,
        reqwest::Method::OPTIONS,
        "/salesforce/requests",
        &[("origin", APP), ("access-control-request-method", "POST")],
        None,
    )
    .await;
    assert_eq!(status, 500, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("cors_allowed_origins")
    );
}

#[tokio::test]
async fn a_returning_user_finds_their_open_request_until_its_chat_ends() {
    let stack = Stack::start("open-request", &[]).await;
    let sig = usersig("alice");
    let open = |path: &'static str, user: &'static str, sig: String| {
        let stack = &stack;
        async move {
            stack
                .runner
                .post_as_user(path, user, Some(&sig), &json!({}))
                .await
        }
    };
    let (status, answer) = open("/zendesk/requests/open", "alice", sig.clone()).await;
    assert_eq!(status, 404, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("no open request")
    );

    let (_, created) = stack
        .runner
        .post_as_user(
            "/zendesk/requests",
            "alice",
            Some(&sig),
            &support_request("open-1"),
        )
        .await;
    let (status, found) = open("/zendesk/requests/open", "alice", sig.clone()).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(
        (&found["ticket_id"], &found["group_id"]),
        (&created["ticket_id"], &created["group_id"])
    );
    // Someone else's is not theirs; a forged UserSig gets nothing.
    let (status, _) = open("/zendesk/requests/open", "bob", usersig("bob")).await;
    assert_eq!(status, 404);
    let (status, _) = open("/zendesk/requests/open", "alice", "forged".into()).await;
    assert_eq!(status, 401);

    // Closed in Zendesk: the group is dissolved, nothing to continue.
    let ticket = created["ticket_id"].as_u64().unwrap();
    let delivery = stack.zendesk().set_status(ticket, "closed").await.unwrap();
    assert_eq!(delivery.status, Some(200), "{:?}", delivery.answer);
    let (status, _) = open("/zendesk/requests/open", "alice", sig.clone()).await;
    assert_eq!(status, 404);

    let (_, case) = stack
        .runner
        .post_as_user(
            "/salesforce/requests",
            "alice",
            Some(&sig),
            &support_request("open-2"),
        )
        .await;
    let (status, found) = open("/salesforce/requests/open", "alice", sig.clone()).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["case_id"], case["case_id"]);
}
