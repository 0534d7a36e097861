//! The help desks' own Node clients are the reference for our Zendesk and
//! Salesforce emulators (issue 18, vendor clients): `node-zendesk` and
//! `jsforce` from npm, pinned in `tests/node/package-lock.json`, run as
//! `tests/node/crm-clients.mjs` against a fresh emulator. What a team's own
//! script would do must work, be refused as the vendor refuses it, and land
//! in the emulator's state.

use salesforce_emulator::{SalesforceConfig, SalesforceEmulator};
use serde_json::Value;
use zendesk_emulator::{ZendeskConfig, ZendeskEmulator};

/// Runs one call of `crm-clients.mjs`, off the runtime.
async fn client(call: &str, url: String, credentials: &[&str]) -> Value {
    let mut args = vec![call.to_string(), url];
    args.extend(credentials.iter().map(|c| c.to_string()));
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        switchboard_tests::node::run("crm-clients.mjs", &args, "")
    })
    .await
    .unwrap()
}

async fn zendesk() -> (ZendeskEmulator, ZendeskConfig) {
    let config = ZendeskConfig::default();
    let emulator = ZendeskEmulator::start(config.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (emulator, config)
}

async fn salesforce() -> (SalesforceEmulator, SalesforceConfig) {
    let config = SalesforceConfig::default();
    let emulator = SalesforceEmulator::start(config.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (emulator, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_zendesk_opens_and_reads_tickets_with_an_api_token_or_oauth() {
    let (emulator, config) = zendesk().await;
    let by_token = client(
        "zendesk-token",
        emulator.url(),
        &[&config.api_email, &config.api_token],
    )
    .await;
    assert!(by_token["refused"].is_null(), "{by_token}");
    let by_oauth = client(
        "zendesk-oauth",
        emulator.url(),
        &[&config.client_id, &config.client_secret],
    )
    .await;
    assert!(by_oauth["refused"].is_null(), "{by_oauth}");
    for answer in [&by_token, &by_oauth] {
        assert_eq!(
            (answer["subject"].as_str(), answer["status"].as_str()),
            (Some("From node-zendesk"), Some("new")),
            "{answer}"
        );
        assert_eq!(answer["agent"], "Ada Lovelace");
    }
    let state = emulator.state();
    assert_eq!(state.tickets.len(), 2);
    for answer in [&by_token, &by_oauth] {
        let ticket = &state.tickets[&answer["id"].as_u64().unwrap()];
        assert_eq!(
            (
                ticket.description.as_str(),
                ticket.requester_name.as_str(),
                ticket.requester_email.as_str()
            ),
            (
                "Opened with the official client.",
                "Nora Node",
                "nora@example.com"
            )
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_zendesk_with_a_wrong_token_is_refused_and_opens_nothing() {
    let (emulator, config) = zendesk().await;
    let refused = client(
        "zendesk-token",
        emulator.url(),
        &[&config.api_email, "not-the-token"],
    )
    .await;
    assert_eq!(refused["refused"], true, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("401"),
        "{refused}"
    );
    assert!(emulator.state().tickets.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsforce_logs_in_creates_reads_and_upserts_cases() {
    let (emulator, config) = salesforce().await;
    let answer = client(
        "salesforce-client-credentials",
        emulator.url(),
        &[&config.client_id, &config.client_secret],
    )
    .await;
    assert!(answer["refused"].is_null(), "{answer}");
    assert_eq!(answer["instance_url"], emulator.url());
    assert_eq!(
        (answer["created"].as_bool(), answer["subject"].as_str()),
        (Some(true), Some("From jsforce"))
    );
    // Upsert by External ID: created once, then the same record updated.
    assert_eq!(answer["upserted"], serde_json::json!([true, false]));
    assert_eq!(answer["upserted_id"][0], answer["upserted_id"][1]);
    let state = emulator.state();
    assert_eq!(state.logins, ["client_credentials"]);
    assert_eq!(state.cases.len(), 2);
    let upserted = &state.cases[answer["upserted_id"][0].as_str().unwrap()];
    assert_eq!(
        upserted.external_id,
        Some(("Switchboard_Request_Id__c".into(), "jsforce-1".into()))
    );
    assert_eq!(upserted.fields["Subject"], "Upserted again");

    let by_password = client(
        "salesforce-password",
        emulator.url(),
        &[
            &config.client_id,
            &config.client_secret,
            &config.username,
            &config.password,
        ],
    )
    .await;
    assert!(by_password["refused"].is_null(), "{by_password}");
    assert_eq!(emulator.state().logins, ["client_credentials", "password"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsforce_with_a_wrong_secret_is_refused_as_salesforce_refuses_it() {
    let (emulator, config) = salesforce().await;
    let refused = client(
        "salesforce-client-credentials",
        emulator.url(),
        &[&config.client_id, "not-the-secret"],
    )
    .await;
    assert_eq!(
        (refused["refused"].as_bool(), refused["code"].as_str()),
        (Some(true), Some("invalid_client")),
        "{refused}"
    );
    assert!(emulator.state().logins.is_empty());
    assert!(emulator.state().cases.is_empty());
}
