//! `switchboard demo` against the shipped application and its emulators,
//! as a newcomer runs it after `switchboard up`.

use switchboard::demo::{Targets, run};
use switchboard_tests::Stack;

fn targets(stack: &Stack) -> Targets {
    let backends = &stack.backends;
    Targets {
        app: stack.runner.url.clone(),
        im: backends.im.as_ref().unwrap().url(),
        zendesk: backends.zendesk.as_ref().unwrap().url(),
        salesforce: backends.salesforce.as_ref().unwrap().url(),
    }
}

#[tokio::test]
async fn the_demo_passes_end_to_end_and_can_run_twice() {
    let stack = Stack::start("demo", &[]).await;
    for attempt in 0..2 {
        let mut out = Vec::new();
        let passed = run(&targets(&stack), &mut out).await.unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(passed, "attempt {attempt}:\n{out}");
        for step in 1..=6 {
            assert!(out.contains(&format!("✓ {step}. ")), "step {step}:\n{out}");
        }
        assert!(!out.contains('✗'), "{out}");
        assert!(out.contains("all steps passed"), "{out}");
    }
    // Evidence comes from the emulators: the moderation step saw IM's
    // delivered texts, the chatbot step the robot's replies.
    let state = stack.im().state();
    assert!(
        state
            .groups
            .values()
            .filter(|g| g.id.starts_with("demo-moderation-"))
            .all(|g| g.messages.len() == 5),
        "clean + four masked delivered, rejected and dropped not"
    );
}

#[tokio::test]
async fn a_broken_step_fails_the_demo() {
    // A policy that lets everything through: the moderation step must fail.
    let stack = Stack::start(
        "demo-broken",
        &[r#"moderator_policy={"rules": [{"category": "*", "action": "allow"}]}"#],
    )
    .await;
    let mut out = Vec::new();
    let passed = run(&targets(&stack), &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(!passed, "{out}");
    assert!(out.contains("✗ 5. "), "{out}");
    assert!(out.contains("✓ 1. "), "{out}");
    assert!(out.contains("SOME STEPS FAILED"), "{out}");
}

#[tokio::test]
async fn nothing_running_is_a_clear_error() {
    let targets = Targets::from_app_url("http://127.0.0.1:9").unwrap();
    let error = run(&targets, &mut Vec::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("start `switchboard up`"), "{error}");
}
