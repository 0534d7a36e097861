//! `switchboard usersig gen|verify` as a user runs them.

use std::process::Command;

fn switchboard(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("SPIN_VARIABLE_IM_SDK_APP_ID", "1400000000")
        .env("SPIN_VARIABLE_IM_SECRET_KEY", "test-secret-key")
        .output()
        .expect("cannot run switchboard")
}

#[test]
fn generated_usersig_verifies_and_prints_only_the_sig() {
    let out = switchboard(&["usersig", "gen", "--user", "alice", "--expire", "600"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sig = String::from_utf8(out.stdout).unwrap();
    let sig = sig.trim_end();
    assert!(!sig.contains(char::is_whitespace));
    let claims = tim::usersig::Signer::new(1400000000, "test-secret-key")
        .verify("alice", sig, tim_now())
        .unwrap();
    assert_eq!(claims.expire, 600);

    let out = switchboard(&["usersig", "verify", "--user", "alice", sig]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("TLS.identifier: alice") && text.contains("valid"),
        "{text}"
    );
}

#[test]
fn verify_says_why_and_exits_non_zero() {
    let out = switchboard(&["usersig", "gen", "--user", "alice"]);
    let sig = String::from_utf8(out.stdout).unwrap();
    let out = switchboard(&["usersig", "verify", "--user", "bob", sig.trim()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("issued for user `alice`, not `bob`"));

    let out = switchboard(&[
        "usersig",
        "verify",
        "--user",
        "alice",
        "--key",
        "other-key",
        sig.trim(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature does not match"));
}

#[test]
fn missing_key_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["usersig", "gen", "--user", "a", "--sdkappid", "1"])
        .env_remove("SPIN_VARIABLE_IM_SECRET_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SPIN_VARIABLE_IM_SECRET_KEY"));
}

fn tim_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
