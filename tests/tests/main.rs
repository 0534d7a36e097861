//! The integration tests: the real `.wasm` components in the local host over
//! real HTTP, against the stateful emulators, the vendors' own clients and
//! a real browser. One module per file, all in one test binary (they share
//! the build of wasmtime and the host); run one file's tests with
//! `cargo test -p switchboard-tests --test integration <module>::`.

mod browser_origins;
mod chatbot_relay;
mod configuration_reference;
mod crm_clients;
mod demo;
mod handoff;
mod im_emulator;
mod im_gateway;
mod integrations;
mod llm_sdks;
mod moderator;
mod runner;
mod salesforce_bridge;
mod salesforce_chat;
mod security;
mod shared_state;
mod shipped_manifest;
mod spin_compat;
mod tencent_sdk;
mod watch_lists;
mod zendesk_bridge;
mod zendesk_panel;

/// Every file beside this one is a module of this binary: a file left out
/// of the list above would never run, and nothing else would say so.
#[test]
fn every_test_file_is_a_module() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let declared = include_str!("main.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&here).expect("tests/tests is readable") {
        let path = entry.expect("a directory entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs")
            && stem != "main"
            && !declared.contains(&format!("\nmod {stem};\n"))
        {
            missing.push(stem.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "add `mod <name>;` to tests/tests/main.rs for: {missing:?}"
    );
}
