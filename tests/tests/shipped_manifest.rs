//! The shipped `spin.toml` loads in the runner and its routes answer.

use switchboard_tests::{Runner, config, root};

#[tokio::test]
async fn health_answers_with_the_configured_application_name() {
    let mut config = config(root().join("spin.toml"), "shipped");
    config
        .variables
        .add_command_line("application_name=acme-support")
        .unwrap();
    let runner = Runner::start(&config).await.unwrap();
    let (status, body) = runner.get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["application"], "acme-support");
    let (status, body) = runner
        .send(runner.client.post(format!("{}/health", runner.url)))
        .await;
    assert_eq!(status, 405);
    assert!(body["error"].as_str().unwrap().contains("GET"));
}
