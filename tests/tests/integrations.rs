//! What users install on the other side stays in step with the code.

use switchboard_tests::root;

fn json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn zendesk_webhook_subscribes_to_exactly_the_events_the_bridge_handles() {
    let webhook = json("integrations/zendesk/webhook.json");
    let subscriptions = webhook["webhook"]["subscriptions"].as_array().unwrap();
    assert_eq!(webhook["webhook"]["request_format"], "json");
    assert!(
        webhook["webhook"]["endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/zendesk/webhook")
    );
    for event in subscriptions {
        let body = serde_json::json!({
            "detail": {"id": "1", "status": "CLOSED", "assignee_id": "2"},
            "event": {"comment": {"id": "3", "body": "b", "is_public": true, "author": {"id": "2", "is_staff": true}}},
            "id": "e", "type": event, "zendesk_event_version": "2022-11-06"
        });
        let parsed = zendesk::webhook::parse_event(body.to_string().as_bytes());
        assert!(parsed.is_ok(), "{event}: {parsed:?}");
    }
}

#[test]
fn zendesk_trigger_body_is_understood() {
    let trigger = json("integrations/zendesk/trigger.json");
    let template = trigger["trigger"]["actions"][0]["value"][1]
        .as_str()
        .unwrap();
    let rendered = template
        .replace("{{ticket.id}}", "42")
        .replace("{{ticket.assignee.id}}", "7")
        .replace("{{ticket.status}}", "Closed");
    let event = zendesk::webhook::parse_event(rendered.as_bytes()).unwrap();
    assert_eq!(event.ticket_id, "42");
    assert_eq!(
        event.changes,
        [
            zendesk::webhook::Change::Assigned(Some("7".into())),
            zendesk::webhook::Change::Status("closed".into())
        ]
    );
    json("integrations/zendesk/trigger-webhook.json");
}

/// The sidebar app is a complete ZAF package for a signed server-side app
/// whose page is the bridge's `/zendesk/app`.
#[test]
fn zendesk_sidebar_app_is_a_complete_signed_server_side_app() {
    let app = "integrations/zendesk/sidebar-app";
    let manifest = json(&format!("{app}/manifest.json"));
    assert_eq!(manifest["signedUrls"], true, "identity comes from Zendesk");
    assert_eq!(manifest["frameworkVersion"], "2.0");
    let url = manifest["location"]["support"]["ticket_sidebar"]["url"]
        .as_str()
        .unwrap();
    assert!(
        url.starts_with("https://") && url.ends_with("/zendesk/app"),
        "{url}"
    );
    assert!(
        manifest["parameters"].as_array().unwrap().is_empty(),
        "no secret lives in the app's settings any more"
    );
    let locale = manifest["defaultLocale"].as_str().unwrap();
    let translations = json(&format!("{app}/translations/{locale}.json"));
    for field in [
        "name",
        "short_description",
        "long_description",
        "installation_instructions",
    ] {
        assert!(
            translations["app"][field]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "translations/{locale}.json: app.{field}"
        );
    }
    // Zendesk's sizes: logo.png 320×320, logo-small.png 128×128.
    for (file, side) in [("logo.png", 320u32), ("logo-small.png", 128)] {
        let bytes = std::fs::read(root().join(format!("{app}/assets/{file}"))).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{file} is a PNG");
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert_eq!((width, height), (side, side), "{file}");
    }
}
