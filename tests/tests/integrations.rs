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
    json("integrations/zendesk/sidebar-app/manifest.json");
}
