//! `spin watch` rebuilds a component when a file its `build.watch` globs
//! match changes; a file the build reads but no glob matches leaves a stale
//! `.wasm` running. This checks, for every component `spin.toml` builds, that
//! each input of its build is watched: the `Cargo.toml`, `build.rs` and
//! `src/` of the component and of every crate it depends on by path
//! (directly or not, normal or build dependency), the workspace's
//! `Cargo.toml` and `Cargo.lock`, the files their sources
//! embed with `include_str!` / `include_bytes!`, and the files their build
//! scripts declare with `cargo:rerun-if-changed`.
//!
//! Globs are matched as Spin matches them (relative to the manifest's
//! directory, with `globset`), but stricter: `*` does not cross a `/`, so a
//! list that passes here passes in Spin too.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use switchboard_tests::root;

/// A workspace package as `cargo metadata` describes it: where it lives and
/// the workspace packages it needs to build.
struct Package {
    dir: PathBuf,
    path_dependencies: Vec<String>,
}

/// Every workspace package by name, from `cargo metadata --no-deps`.
fn workspace_packages() -> BTreeMap<String, Package> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .current_dir(root())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut packages = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
        let path_dependencies = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            // Dev-dependencies never reach the `.wasm`.
            .filter(|dependency| dependency["kind"].as_str() != Some("dev"))
            .filter(|dependency| dependency["path"].is_string())
            .map(|dependency| dependency["name"].as_str().unwrap().to_string())
            .collect();
        packages.insert(
            package["name"].as_str().unwrap().to_string(),
            Package {
                dir: manifest.parent().unwrap().to_path_buf(),
                path_dependencies,
            },
        );
    }
    packages
}

/// `package` and every workspace package it depends on, directly or not.
fn closure<'a>(package: &'a str, packages: &'a BTreeMap<String, Package>) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut pending = vec![package];
    while let Some(name) = pending.pop() {
        if !seen.insert(name) {
            continue;
        }
        let package = packages
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not a workspace package"));
        pending.extend(package.path_dependencies.iter().map(String::as_str));
    }
    seen
}

/// `path` with `.` and `..` resolved without touching the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The string literal of each `include_str!("…")` / `include_bytes!("…")`
/// in `source`, outside its test module: what is embedded there never
/// reaches the `.wasm`. (Every test module here is the file's last item,
/// opened by `#[cfg(test)]` at the start of a line.)
fn embedded_paths(source: &str) -> Vec<String> {
    let shipped = source.split("\n#[cfg(test)]").next().unwrap_or_default();
    let mut paths = Vec::new();
    for macro_name in ["include_str!(\"", "include_bytes!(\""] {
        for (at, _) in shipped.match_indices(macro_name) {
            let rest = &shipped[at + macro_name.len()..];
            if let Some(end) = rest.find('"') {
                paths.push(rest[..end].to_string());
            }
        }
    }
    paths
}

/// The files the package's build script declared with
/// `cargo:rerun-if-changed`, read from the outputs the components' build
/// (run by `tests/build.rs`) left: a cross build keeps a build script's
/// run under the target's directory.
fn build_script_inputs(name: &str) -> Vec<PathBuf> {
    let build_dir = root().join("target/components/wasm32-wasip2/release/build");
    let prefix = format!("{name}-");
    let mut outputs = Vec::new();
    for entry in std::fs::read_dir(&build_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", build_dir.display()))
        .flatten()
    {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        // `<name>-<hash>`: a package whose name extends this one's is not it.
        let is_this_package = file_name
            .strip_prefix(&prefix)
            .is_some_and(|hash| hash.chars().all(|c| c.is_ascii_hexdigit()));
        if is_this_package && entry.path().join("output").is_file() {
            outputs.push(entry.path().join("output"));
        }
    }
    assert!(
        !outputs.is_empty(),
        "{name} has a build script but no build output under {}: were the components built?",
        build_dir.display()
    );
    let mut inputs = Vec::new();
    for output in outputs {
        let text = std::fs::read_to_string(&output).unwrap();
        for line in text.lines() {
            if let Some(path) = line
                .strip_prefix("cargo:rerun-if-changed=")
                .or_else(|| line.strip_prefix("cargo::rerun-if-changed="))
            {
                let path = lexical(&output.parent().unwrap().join(path));
                // A directory stands for the files in it, listed one by one;
                // a file since removed is no input any more.
                if path.is_file() {
                    inputs.push(path);
                }
            }
        }
    }
    inputs
}

/// Every file whose change changes the package's part of a component build,
/// relative to the workspace root.
fn build_inputs(name: &str, package: &Package) -> BTreeSet<PathBuf> {
    let mut files = vec![package.dir.join("Cargo.toml")];
    let build_script = package.dir.join("build.rs");
    if build_script.is_file() {
        files.push(build_script);
        files.extend(build_script_inputs(name));
    }
    let mut sources = Vec::new();
    files_under(&package.dir.join("src"), &mut sources);
    for source in &sources {
        if source.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(source).unwrap();
            for embedded in embedded_paths(&text) {
                files.push(lexical(&source.parent().unwrap().join(embedded)));
            }
        }
    }
    files.extend(sources);
    let root = root();
    files
        .into_iter()
        .map(|file| {
            file.strip_prefix(&root)
                .unwrap_or_else(|_| panic!("{} is outside the workspace", file.display()))
                .to_path_buf()
        })
        .collect()
}

fn glob(pattern: &str) -> Glob {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .unwrap_or_else(|e| panic!("watch glob {pattern:?}: {e}"))
}

#[test]
fn every_input_of_every_component_build_is_watched() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("spin.toml")).unwrap()).unwrap();
    let packages = workspace_packages();
    let components = manifest["component"].as_table().unwrap();
    let mut unwatched = Vec::new();
    let mut checked = 0;
    for (id, component) in components {
        let Some(build) = component.get("build") else {
            continue;
        };
        let command = build["command"].as_str().unwrap();
        let words: Vec<&str> = command.split_whitespace().collect();
        let package = words
            .windows(2)
            .find(|pair| pair[0] == "-p")
            .map(|pair| pair[1])
            .unwrap_or_else(|| panic!("component {id}: no `-p <package>` in {command:?}"));
        let mut globs = GlobSetBuilder::new();
        for pattern in build
            .get("watch")
            .and_then(|watch| watch.as_array())
            .unwrap_or_else(|| panic!("component {id} has a build but no watch list"))
        {
            globs.add(glob(pattern.as_str().unwrap()));
        }
        let globs: GlobSet = globs.build().unwrap();
        // The workspace's manifest (dependency versions, the release
        // profile) and lock file shape every component's build too.
        let workspace = [PathBuf::from("Cargo.toml"), PathBuf::from("Cargo.lock")];
        let packages_inputs = closure(package, &packages)
            .into_iter()
            .flat_map(|name| build_inputs(name, &packages[name]));
        for file in workspace.into_iter().chain(packages_inputs) {
            checked += 1;
            if !globs.is_match(&file) {
                unwatched.push(format!("component {id}: {}", file.display()));
            }
        }
    }
    assert!(checked > 100, "only {checked} build inputs found");
    assert!(
        unwatched.is_empty(),
        "build inputs no `watch` glob matches (spin watch would keep a stale .wasm):\n  {}",
        unwatched.join("\n  ")
    );
}

/// The check itself: a glob list that misses an embedded asset or a crate
/// two levels down is caught.
#[test]
fn the_check_finds_what_a_watch_list_misses() {
    let packages = workspace_packages();
    let zendesk_bridge = closure("zendesk-bridge", &packages);
    assert!(zendesk_bridge.contains("tim"), "{zendesk_bridge:?}");
    let inputs = build_inputs("zendesk-bridge", &packages["zendesk-bridge"]);
    assert!(
        inputs.contains(Path::new("components/zendesk-bridge/panel/panel.js")),
        "{inputs:?}"
    );
    let only_sources = glob("components/zendesk-bridge/src/**/*.rs").compile_matcher();
    assert!(only_sources.is_match("components/zendesk-bridge/src/panel.rs"));
    assert!(!only_sources.is_match("components/zendesk-bridge/panel/panel.js"));
    // `*` stays inside one directory.
    assert!(
        !glob("crates/*.rs")
            .compile_matcher()
            .is_match("crates/tim/src/lib.rs")
    );
    // Test-only embeds are no build input.
    assert_eq!(
        embedded_paths(
            "const A: &str = include_str!(\"a.txt\");\n#[cfg(test)]\nmod tests { const B: &[u8] = include_bytes!(\"b.bin\"); }\n"
        ),
        ["a.txt"]
    );
}
