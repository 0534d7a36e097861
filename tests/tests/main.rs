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
