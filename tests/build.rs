//! Builds every component (shipped ones under `components/` and test ones
//! under `tests/components/`) for `wasm32-wasip2`, so that `cargo test` alone
//! is enough on a fresh machine.
//!
//! The nested cargo uses its own target directory (`target/components`, the
//! same one `spin.toml`'s build commands use) so it never waits on the lock
//! the outer cargo holds.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for watched in [
        "components",
        "crates",
        "emulators",
        "wit",
        "tests/components",
        "lexicons",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=SWITCHBOARD_SKIP_WASM_BUILD");
    println!("cargo:rustc-env=SWITCHBOARD_ROOT={}", root.display());
    if std::env::var_os("SWITCHBOARD_SKIP_WASM_BUILD").is_some() {
        return;
    }

    let mut packages = Vec::new();
    for dir in ["components", "tests/components"] {
        packages.extend(component_packages(&root.join(dir)));
    }
    if packages.is_empty() {
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(root.join("target/components"));
    if std::env::var_os("SWITCHBOARD_LOCKED").is_some() {
        command.arg("--locked");
    }
    for package in &packages {
        command.args(["-p", package]);
    }
    // Settings meant for the outer (native) build must not leak into the
    // wasm build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    let status = command
        .status()
        .expect("cannot run cargo to build the components");
    if !status.success() {
        panic!(
            "building the wasm components failed ({status}); if the error says the \
             `wasm32-wasip2` target is missing, run `rustup target add wasm32-wasip2`"
        );
    }
}

/// Package names of the crates directly under `dir`.
fn component_packages(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let parsed: toml::Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        if let Some(name) = parsed
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
        {
            names.push(name.to_string());
        }
    }
    names.sort();
    names
}
