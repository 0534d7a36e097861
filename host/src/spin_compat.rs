//! Which Spin this host stands in for, and whether a component would load
//! there.
//!
//! Each target is a profile read from Spin's own source and kept as data in
//! `runner/spin-profiles/` (every file says where its lines were read): the
//! interfaces the host links, the HTTP handler exports it accepts, Spin's own
//! refusal text, and whether a WASIp3 handler can chain to another component.
//! The host refuses at start-up what that Spin would refuse, with Spin's
//! reason; the test suite decodes every built `.wasm` and checks it against
//! every profile, so a component that would not deploy fails CI by name.
//!
//! ```
//! use spin_local_host::spin_compat::SpinTarget;
//! let profile = SpinTarget::V4_0.profile();
//! assert_eq!(profile.name(), "Spin 4.0.2");
//! assert!(profile.provides("wasi:http/types@0.2.4"));
//! // A pre-release only links to itself:
//! assert!(!profile.provides("wasi:http/types@0.3.0"));
//! assert!(profile.accepts_export("wasi:http/incoming-handler@0.2.6"));
//! assert!(!profile.accepts_export("wasi:http/handler@0.3.0"));
//! ```

use anyhow::{Context, Result, bail};

/// The Spin release whose behaviour the host reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpinTarget {
    /// Spin 4.0.x, the newest release (4.0.2): the default.
    #[default]
    V4_0,
    /// Spin's main branch (4.1.0-pre): adds WASI 0.3.0 and chaining from
    /// WASIp3 handlers.
    Main,
    /// SpinKube's containerd-shim-spin (Spin 3.0.0 crates): WASI 0.2 only.
    SpinKube,
}

impl SpinTarget {
    /// Every target, for checks that must hold on all of them.
    pub const ALL: [SpinTarget; 3] = [SpinTarget::V4_0, SpinTarget::Main, SpinTarget::SpinKube];

    /// The profile of this target.
    pub fn profile(self) -> &'static Profile {
        static PROFILES: std::sync::OnceLock<[Profile; 3]> = std::sync::OnceLock::new();
        let profiles = PROFILES.get_or_init(|| {
            let parse = |text: &str, file: &str| {
                Profile::parse(text).unwrap_or_else(|e| panic!("spin-profiles/{file}: {e:#}"))
            };
            [
                parse(include_str!("../spin-profiles/v4.0.2.txt"), "v4.0.2.txt"),
                parse(include_str!("../spin-profiles/main.txt"), "main.txt"),
                parse(
                    include_str!("../spin-profiles/spinkube.txt"),
                    "spinkube.txt",
                ),
            ]
        });
        match self {
            SpinTarget::V4_0 => &profiles[0],
            SpinTarget::Main => &profiles[1],
            SpinTarget::SpinKube => &profiles[2],
        }
    }
}

impl std::str::FromStr for SpinTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "4.0" | "4.0.x" | "4.0.2" => Ok(SpinTarget::V4_0),
            "main" => Ok(SpinTarget::Main),
            "spinkube" => Ok(SpinTarget::SpinKube),
            other => Err(format!(
                "unknown Spin target `{other}`: use 4.0 (the newest release), main or spinkube"
            )),
        }
    }
}

/// One host's interfaces and handler exports (a file in `spin-profiles/`).
#[derive(Debug)]
pub struct Profile {
    name: String,
    imports: Vec<String>,
    exports: Vec<String>,
    refusal: String,
    chaining_from_wasip3: bool,
}

/// How a component would be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `wasi:http/incoming-handler@0.2.x`: a fresh instance per request.
    Wasip2,
    /// `wasi:http/handler@0.3.x` (or its release candidate): reused instances.
    Wasip3,
    /// Any other accepted export (`fermyon:spin/inbound-http`, the 2023
    /// release candidates), which this host does not implement.
    Other,
}

/// The interface-level facts of a component binary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interfaces {
    /// Top-level import names (`wasi:http/types@0.2.0`, …).
    pub imports: Vec<String>,
    /// Top-level export names.
    pub exports: Vec<String>,
}

impl Interfaces {
    /// Decodes the top-level imports and exports of a component binary.
    pub fn decode(wasm: &[u8]) -> Result<Self> {
        use wasmparser::{Parser, Payload};
        let mut found = Self::default();
        let mut depth = 0usize;
        let mut is_component = false;
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.context("not a valid WebAssembly binary")? {
                Payload::Version { encoding, .. } => {
                    depth += 1;
                    if depth == 1 {
                        is_component = encoding == wasmparser::Encoding::Component;
                    }
                }
                Payload::End(_) => depth = depth.saturating_sub(1),
                Payload::ComponentImportSection(reader) if depth == 1 => {
                    for import in reader {
                        found.imports.push(import?.name.name.to_string());
                    }
                }
                Payload::ComponentExportSection(reader) if depth == 1 => {
                    for export in reader {
                        found.exports.push(export?.name.name.to_string());
                    }
                }
                _ => {}
            }
        }
        if !is_component {
            bail!(
                "this is a core WebAssembly module, not a component: Spin's HTTP trigger loads components"
            );
        }
        Ok(found)
    }
}

/// `(interface, version)` of `ns:pkg/iface@version`.
fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('@') {
        Some((interface, version)) => (interface, Some(version)),
        None => (name, None),
    }
}

/// The part of a version two names must share to link, as Wasmtime decides
/// it: `0.2` for `0.2.6`, `1` for `1.4.0`; a pre-release (or a `0.0.x`) only
/// matches itself.
fn compatibility_key(version: &str) -> String {
    let mut parts = version.splitn(3, '.');
    let (major, minor, rest) = (parts.next(), parts.next(), parts.next());
    match (major, minor, rest) {
        (Some(major), Some(minor), Some(patch))
            if !patch.contains(['-', '+'])
                && [major, minor, patch]
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            if major != "0" {
                major.to_string()
            } else if minor != "0" {
                format!("0.{minor}")
            } else {
                version.to_string()
            }
        }
        _ => version.to_string(),
    }
}

fn links_to(import: &str, provided: &str) -> bool {
    if import == provided {
        return true;
    }
    match (split_version(import), split_version(provided)) {
        ((a, Some(va)), (b, Some(vb))) if a == b => compatibility_key(va) == compatibility_key(vb),
        _ => false,
    }
}

impl Profile {
    fn parse(text: &str) -> Result<Self> {
        let mut name = None;
        let mut refusal = None;
        let mut chaining = None;
        let (mut imports, mut exports) = (Vec::new(), Vec::new());
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once(' ')
                .with_context(|| format!("line {}: `{line}` has no value", number + 1))?;
            match key {
                "name" => name = Some(value.to_string()),
                "refusal" => refusal = Some(value.to_string()),
                "import" => imports.push(value.to_string()),
                "export" => exports.push(value.to_string()),
                "chaining-from-wasip3" => chaining = Some(value == "yes"),
                other => bail!("line {}: unknown key `{other}`", number + 1),
            }
        }
        Ok(Self {
            name: name.context("no `name` line")?,
            refusal: refusal.context("no `refusal` line")?,
            chaining_from_wasip3: chaining.context("no `chaining-from-wasip3` line")?,
            imports,
            exports,
        })
    }

    /// The host's name, e.g. `Spin 4.0.2`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether an import of `name` links on this host.
    pub fn provides(&self, name: &str) -> bool {
        self.imports.iter().any(|provided| links_to(name, provided))
    }

    /// Whether this host serves a component exporting `name`.
    pub fn accepts_export(&self, name: &str) -> bool {
        self.exports
            .iter()
            .any(|accepted| match accepted.strip_suffix('*') {
                Some(prefix) => name.strip_prefix(prefix).is_some_and(|patch| {
                    !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())
                }),
                None => accepted == name,
            })
    }

    /// Whether a WASIp3 handler's `http://<component>.spin.internal`
    /// requests reach the component.
    pub fn chaining_from_wasip3(&self) -> bool {
        self.chaining_from_wasip3
    }

    /// Checks a component as this host would load it: every import must
    /// link and exactly one export must be an HTTP handler it accepts. The
    /// error is the host's own reason.
    pub fn check(&self, interfaces: &Interfaces) -> Result<Handler> {
        // Spin links first, so a missing import is its first complaint; the
        // export check follows, and both are said when both fail.
        let mut reasons: Vec<String> = interfaces
            .imports
            .iter()
            .find(|import| !self.provides(import))
            .map(|import| {
                format!(
                    "component imports instance `{import}`, but a matching implementation was \
                     not found in the linker"
                )
            })
            .into_iter()
            .collect();
        let handlers: Vec<&String> = interfaces
            .exports
            .iter()
            .filter(|e| self.accepts_export(e))
            .collect();
        let handler = match handlers.as_slice() {
            [] => {
                reasons.push(self.refusal.clone());
                None
            }
            [one] => Some(
                if one.starts_with("wasi:http/incoming-handler@0.2.") && !one.contains("-rc-") {
                    Handler::Wasip2
                } else if one.starts_with("wasi:http/handler@0.3.") {
                    Handler::Wasip3
                } else {
                    Handler::Other
                },
            ),
            _ => {
                reasons.push(
                    "component exports multiple different handlers but it's expected to export \
                     only one"
                        .into(),
                );
                None
            }
        };
        match handler {
            Some(handler) if reasons.is_empty() => Ok(handler),
            _ => bail!(
                "{} would refuse it: {}",
                self.name,
                reasons.join("; then: ")
            ),
        }
    }
}

/// `switchboard check`: one line per component and target; `false` when a
/// target would refuse a component (or its file cannot be read).
pub fn report(
    manifest: &crate::manifest::LoadedManifest,
    out: &mut impl std::io::Write,
) -> Result<bool> {
    let mut all_load = true;
    for id in manifest.manifest.component.keys() {
        let path = manifest.component_source(id)?;
        let interfaces = std::fs::read(&path)
            .with_context(|| format!("{}: run `switchboard build` first", path.display()))
            .and_then(|wasm| Interfaces::decode(&wasm));
        let interfaces = match interfaces {
            Ok(interfaces) => interfaces,
            Err(e) => {
                writeln!(out, "✗ {id}: {e:#}")?;
                all_load = false;
                continue;
            }
        };
        writeln!(
            out,
            "{id}: exports {}; imports {}",
            interfaces.exports.join(", "),
            interfaces.imports.join(", ")
        )?;
        for target in SpinTarget::ALL {
            let profile = target.profile();
            match profile.check(&interfaces) {
                Ok(handler) => writeln!(out, "  ✓ {} loads it ({handler:?})", profile.name())?,
                Err(e) => {
                    all_load = false;
                    writeln!(out, "  ✗ {e}")?;
                }
            }
        }
    }
    Ok(all_load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_link_as_wasmtime_links_them() {
        assert!(links_to("wasi:io/poll@0.2.12", "wasi:io/poll@0.2.6"));
        assert!(links_to("wasi:io/poll@0.2.0", "wasi:io/poll@0.2.6"));
        assert!(!links_to("wasi:io/poll@0.3.0", "wasi:io/poll@0.2.6"));
        assert!(!links_to(
            "wasi:http/types@0.3.0",
            "wasi:http/types@0.3.0-rc-2026-03-15"
        ));
        assert!(links_to(
            "wasi:http/types@0.3.0-rc-2026-03-15",
            "wasi:http/types@0.3.0-rc-2026-03-15"
        ));
        assert!(links_to(
            "spin:postgres/postgres@4.0.0",
            "spin:postgres/postgres@4.2.0"
        ));
        assert!(!links_to("wasi:io/poll@0.2.0", "wasi:io/streams@0.2.0"));
    }

    #[test]
    fn every_profile_parses_and_knows_the_wasi_0_2_handler() {
        for target in SpinTarget::ALL {
            let profile = target.profile();
            assert!(profile.accepts_export("wasi:http/incoming-handler@0.2.0"));
            assert!(profile.provides("fermyon:spin/key-value@2.0.0"));
            assert!(profile.provides("fermyon:spin/variables@2.0.0"));
        }
    }

    #[test]
    fn wasi_0_3_final_only_on_main() {
        let p3 = Interfaces {
            imports: vec!["wasi:http/types@0.3.0".into()],
            exports: vec!["wasi:http/handler@0.3.0".into()],
        };
        let refused = SpinTarget::V4_0
            .profile()
            .check(&p3)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("`wasi:http/types@0.3.0`"), "{refused}");
        let exports_only = Interfaces {
            imports: vec![],
            exports: p3.exports.clone(),
        };
        let refused = SpinTarget::V4_0
            .profile()
            .check(&exports_only)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("Expected component to export one of"),
            "{refused}"
        );
        assert_eq!(
            SpinTarget::Main.profile().check(&p3).unwrap(),
            Handler::Wasip3
        );
    }

    #[test]
    fn spinkube_matches_export_names_exactly() {
        let profile = SpinTarget::SpinKube.profile();
        assert!(profile.accepts_export("wasi:http/incoming-handler@0.2.1"));
        assert!(!profile.accepts_export("wasi:http/incoming-handler@0.2.6"));
    }

    #[test]
    fn two_handlers_are_refused() {
        let both = Interfaces {
            imports: vec![],
            exports: vec![
                "wasi:http/incoming-handler@0.2.0".into(),
                "wasi:http/handler@0.3.0-rc-2026-03-15".into(),
            ],
        };
        assert!(
            SpinTarget::V4_0
                .profile()
                .check(&both)
                .unwrap_err()
                .to_string()
                .contains("multiple different handlers")
        );
    }
}
