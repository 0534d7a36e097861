//! Vendors' official Node SDKs (from npm, pinned in
//! `tests/node/package-lock.json`), installed once and run as scripts of
//! `tests/node/` that print one JSON document.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `tests/node`.
pub fn dir() -> PathBuf {
    crate::root().join("tests/node")
}

/// Installs the SDKs (`npm ci`: exactly the lock) unless every package
/// `package.json` names is there already; once per test binary.
pub fn installed() -> PathBuf {
    static INSTALL: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let dir = dir();
    INSTALL.get_or_init(|| {
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).unwrap())
                .unwrap();
        let missing = manifest["dependencies"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(name, _)| !dir.join("node_modules").join(name).is_dir());
        if !missing {
            return;
        }
        npm_ci(&dir);
    });
    dir
}

/// `npm ci` in `dir`: installs exactly what its `package-lock.json` pins.
pub fn npm_ci(dir: &Path) {
    let status = Command::new("npm")
        .args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
        ])
        .arg(dir)
        .status()
        .expect("npm is needed to install packages from npm (Debian: apt-get install npm)");
    assert!(status.success(), "npm ci --prefix {} failed", dir.display());
}

/// Runs `node tests/node/<script> <args>` with `stdin` as its input and
/// parses what it prints; panics with its stderr if it fails.
pub fn run(script: &str, args: &[&str], stdin: &str) -> Value {
    use std::io::Write;
    let dir = installed();
    let mut child = Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node is needed (Debian: apt-get install nodejs)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "node {script} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "node {script} {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
