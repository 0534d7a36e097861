//! The Spin application manifest (`spin.toml`, manifest version 2).
//!
//! Only documented Spin 4 keys are accepted; like `spin up`, an unknown key is
//! an error that names the key and where it is, so that a typo never turns
//! into a silently ignored setting.

use crate::template::{Template, check_variable_name};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A parsed and validated `spin.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Must be 2.
    pub spin_manifest_version: u32,
    /// Application metadata.
    pub application: Application,
    /// Application variables, by name.
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDecl>,
    /// Triggers by type; only `http` is served by this runner.
    #[serde(default)]
    pub trigger: Triggers,
    /// Components by id.
    #[serde(default)]
    pub component: BTreeMap<String, Component>,
}

/// `[application]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// Application name.
    pub name: String,
    /// Application version.
    #[serde(default)]
    pub version: Option<String>,
    /// Free-text description.
    #[serde(default)]
    pub description: Option<String>,
    /// Authors.
    #[serde(default)]
    pub authors: Vec<String>,
    /// Application-level trigger settings (`[application.trigger.http]`).
    #[serde(default)]
    pub trigger: Option<toml::Table>,
    /// Settings for external tools (`[application.tool.<name>]`), ignored.
    #[serde(default)]
    pub tool: Option<toml::Table>,
}

/// `[variables.<name>]`: one of `default` or `required = true`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    /// Value used when no provider supplies one.
    #[serde(default)]
    pub default: Option<String>,
    /// Start-up fails when no provider supplies a value.
    #[serde(default)]
    pub required: bool,
    /// The value is never printed or logged.
    #[serde(default)]
    pub secret: bool,
    /// Free-text description.
    #[serde(default)]
    pub description: Option<String>,
}

/// `[[trigger.*]]` tables.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    /// `[[trigger.http]]` entries.
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
}

/// One `[[trigger.http]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTrigger {
    /// Optional trigger id.
    #[serde(default)]
    pub id: Option<String>,
    /// The route: an exact path or a prefix ending in `/...`.
    pub route: Route,
    /// The component id that handles the route.
    pub component: String,
    /// Executor; only the default `spin` executor is supported.
    #[serde(default)]
    pub executor: Option<toml::Table>,
}

/// A trigger route: a public path, or `{ private = true }` (reachable only by
/// service chaining).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Route {
    /// `route = "/path"` or `route = "/prefix/..."`.
    Path(String),
    /// `route = { private = true }`.
    Private {
        /// Must be `true`.
        private: bool,
    },
}

/// `[component.<id>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Path of the `.wasm` file, relative to `spin.toml`.
    pub source: Source,
    /// Free-text description.
    #[serde(default)]
    pub description: Option<String>,
    /// Outbound hosts the component may call, possibly with `{{ var }}` templates.
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// Key-value store labels the component may open.
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    /// Environment variables visible to the component.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Component variables: name → template over application variables.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Files to mount (not supported by this runner; must be empty).
    #[serde(default)]
    pub files: Vec<toml::Value>,
    /// Files excluded from `files`.
    #[serde(default)]
    pub exclude_files: Vec<String>,
    /// SQLite databases (not supported by this runner; must be empty).
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    /// AI models (not supported by this runner; must be empty).
    #[serde(default)]
    pub ai_models: Vec<String>,
    /// How `spin build` / `switchboard build` builds the component.
    #[serde(default)]
    pub build: Option<BuildConfig>,
    /// Settings for external tools, ignored.
    #[serde(default)]
    pub tool: Option<toml::Table>,
    /// Component dependencies (not supported by this runner; must be empty).
    #[serde(default)]
    pub dependencies: Option<toml::Table>,
    /// Whether dependencies inherit configuration.
    #[serde(default)]
    pub dependencies_inherit_configuration: Option<bool>,
}

/// A component's `source`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Source {
    /// A local path.
    Path(String),
    /// A remote source (`{ url, digest }`), which this runner cannot fetch.
    Remote(toml::Table),
}

/// `[component.<id>.build]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    /// Shell command that builds the component.
    pub command: String,
    /// Directory to run it in, relative to `spin.toml`.
    #[serde(default)]
    pub workdir: Option<String>,
    /// Globs `spin watch` watches (unused here).
    #[serde(default)]
    pub watch: Vec<String>,
}

/// A manifest together with the directory its relative paths start from.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// Path of the `spin.toml` file.
    pub path: PathBuf,
    /// Directory containing it.
    pub dir: PathBuf,
}

impl LoadedManifest {
    /// Reads and validates a manifest file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let manifest = Manifest::parse(&text)
            .with_context(|| format!("invalid manifest {}", path.display()))?;
        let path = path.to_path_buf();
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(Self {
            manifest,
            path,
            dir,
        })
    }

    /// The absolute path of a component's `.wasm` file.
    pub fn component_source(&self, id: &str) -> Result<PathBuf> {
        let component = self
            .manifest
            .component
            .get(id)
            .with_context(|| format!("no component `{id}` in the manifest"))?;
        match &component.source {
            Source::Path(path) => Ok(self.dir.join(path)),
            Source::Remote(_) => bail!(
                "component `{id}`: remote `source` tables are not supported by switchboard; \
                 use a local path"
            ),
        }
    }
}

impl Manifest {
    /// Parses manifest text and checks what serde cannot: the manifest version,
    /// names, routes, and references between triggers and components.
    pub fn parse(text: &str) -> Result<Self> {
        let manifest: Manifest = toml::from_str(text)?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<()> {
        if self.spin_manifest_version != 2 {
            bail!(
                "`spin_manifest_version` is {}, only version 2 is supported",
                self.spin_manifest_version
            );
        }
        for (name, decl) in &self.variables {
            check_variable_name(name).with_context(|| format!("`variables.{name}`"))?;
            if decl.required && decl.default.is_some() {
                bail!(
                    "`variables.{name}`: a variable cannot be both `required` and have a `default`"
                );
            }
            if !decl.required && decl.default.is_none() {
                bail!("`variables.{name}`: give it a `default` or mark it `required = true`");
            }
        }
        if let Some(trigger) = &self.application.trigger {
            for (kind, table) in trigger {
                if kind != "http" {
                    bail!("`application.trigger.{kind}`: only http triggers are supported");
                }
                if let Some(key) = table.as_table().and_then(|t| t.keys().next()) {
                    bail!("unknown key `application.trigger.http.{key}`");
                }
            }
        }
        for (id, component) in &self.component {
            check_component_id(id).with_context(|| format!("`component.{id}`"))?;
            for (name, template) in &component.variables {
                check_variable_name(name)
                    .with_context(|| format!("`component.{id}.variables.{name}`"))?;
                Template::parse(template)
                    .with_context(|| format!("`component.{id}.variables.{name}`"))?;
            }
            let unsupported = [
                ("files", !component.files.is_empty()),
                ("sqlite_databases", !component.sqlite_databases.is_empty()),
                ("ai_models", !component.ai_models.is_empty()),
                ("dependencies", component.dependencies.is_some()),
            ];
            for (key, present) in unsupported {
                if present {
                    bail!("`component.{id}.{key}` is valid Spin but not supported by switchboard");
                }
            }
        }
        let mut seen_routes = std::collections::HashSet::new();
        for (index, trigger) in self.trigger.http.iter().enumerate() {
            let at = format!("`trigger.http[{index}]`");
            if !self.component.contains_key(&trigger.component) {
                bail!(
                    "{at}: `component = \"{}\"` names no `[component.{}]`",
                    trigger.component,
                    trigger.component
                );
            }
            if let Some(executor) = &trigger.executor {
                let kind = executor.get("type").and_then(|v| v.as_str());
                if kind != Some("spin") {
                    bail!("{at}: only `executor = {{ type = \"spin\" }}` is supported");
                }
            }
            match &trigger.route {
                Route::Path(route) => {
                    crate::routes::RoutePattern::parse(route).with_context(|| at.clone())?;
                    if !seen_routes.insert(route.clone()) {
                        bail!("{at}: route `{route}` is declared twice");
                    }
                }
                Route::Private { private } => {
                    if !private {
                        bail!("{at}: `route = {{ private = false }}` is not valid; give a path");
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_component_id(id: &str) -> Result<()> {
    let ok = id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if !ok {
        bail!("invalid component id `{id}`: use lowercase kebab-case, e.g. `my-component`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
spin_manifest_version = 2
[application]
name = "x"
[variables]
token = { required = true, secret = true }
[[trigger.http]]
route = "/..."
component = "hello"
[component.hello]
source = "hello.wasm"
allowed_outbound_hosts = ["https://{{ token }}.example.com"]
[component.hello.variables]
greeting = "hi {{ token }}"
[component.hello.build]
command = "cargo build"
watch = ["src/**/*.rs"]
"#;

    #[test]
    fn parses_a_valid_manifest() {
        let m = Manifest::parse(MINIMAL).unwrap();
        assert_eq!(m.trigger.http.len(), 1);
        assert!(m.variables["token"].secret);
    }

    #[test]
    fn unknown_key_is_named() {
        let text = MINIMAL.replace(
            "source = \"hello.wasm\"",
            "source = \"hello.wasm\"\nallowed_hosts = []",
        );
        let err = format!("{:#}", Manifest::parse(&text).unwrap_err());
        assert!(err.contains("allowed_hosts"), "{err}");
    }

    #[test]
    fn trigger_must_name_a_component() {
        let text = MINIMAL.replace("component = \"hello\"", "component = \"nope\"");
        let err = format!("{:#}", Manifest::parse(&text).unwrap_err());
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn variable_needs_default_or_required() {
        let text = MINIMAL.replace("{ required = true, secret = true }", "{ secret = true }");
        let err = format!("{:#}", Manifest::parse(&text).unwrap_err());
        assert!(err.contains("variables.token"), "{err}");
    }

    #[test]
    fn bad_template_is_reported_with_its_key() {
        let text = MINIMAL.replace("hi {{ token }}", "hi {{ token");
        let err = format!("{:#}", Manifest::parse(&text).unwrap_err());
        assert!(err.contains("component.hello.variables.greeting"), "{err}");
    }
}
