//! Application and component variables, resolved the way Spin resolves them.
//!
//! Application variables are declared in `[variables]`; a component sees only
//! the names in its own `[component.<id>.variables]` table, whose values are
//! templates such as `"https://{{ im_domain }}/v4"` over application
//! variables. Values come, highest priority first, from `--variable name=value`,
//! `SPIN_VARIABLE_<NAME>` environment variables, an env file, and the
//! declared `default`.

use crate::manifest::Manifest;
use crate::template::{Template, check_variable_name};
use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

/// Where a resolved value came from; printed at start-up instead of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--variable name=value`.
    CommandLine,
    /// `SPIN_VARIABLE_<NAME>`.
    Environment,
    /// The env file.
    EnvFile,
    /// The program serving the application supplied it (see
    /// [`VariableSources::fallback`]); the text says how it names itself.
    Fallback(&'static str),
    /// The manifest `default`.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::CommandLine => "--variable",
            Origin::Environment => "environment",
            Origin::EnvFile => "env file",
            Origin::Fallback("") => "fallback",
            Origin::Fallback(label) => label,
            Origin::Default => "default",
        })
    }
}

/// Values supplied from outside the manifest.
#[derive(Debug, Clone, Default)]
pub struct VariableSources {
    /// `--variable name=value` pairs.
    pub command_line: BTreeMap<String, String>,
    /// Process environment (only `SPIN_VARIABLE_*` entries are read).
    pub environment: BTreeMap<String, String>,
    /// Entries of the env file, by variable name.
    pub env_file: BTreeMap<String, String>,
    /// Values the program serving the application supplies itself (the
    /// `switchboard` CLI: addresses and keys of its built-in emulators), used
    /// only when nothing above sets the variable.
    pub fallback: BTreeMap<String, String>,
    /// How start-up names where a [`fallback`](Self::fallback) value came
    /// from (`"built-in emulator"`); empty: `"fallback"`.
    pub fallback_origin: &'static str,
}

impl VariableSources {
    /// Reads the current process environment.
    pub fn from_process_env() -> Self {
        Self {
            environment: std::env::vars().collect(),
            ..Self::default()
        }
    }

    /// Parses one `--variable name=value` argument.
    pub fn add_command_line(&mut self, arg: &str) -> Result<()> {
        let (name, value) = arg
            .split_once('=')
            .with_context(|| format!("`--variable {arg}`: expected name=value"))?;
        let name = name.trim().to_ascii_lowercase();
        check_variable_name(&name).with_context(|| format!("`--variable {arg}`"))?;
        self.command_line.insert(name, value.to_string());
        Ok(())
    }

    /// Reads an env file: `name=value` or `SPIN_VARIABLE_NAME=value` lines,
    /// `#` comments, optional `export ` and surrounding quotes.
    pub fn load_env_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read env file {}", path.display()))?;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=').with_context(|| {
                format!("{}:{}: expected NAME=value", path.display(), number + 1)
            })?;
            let key = key.trim();
            let key = key.strip_prefix("SPIN_VARIABLE_").unwrap_or(key);
            let name = key.to_ascii_lowercase();
            check_variable_name(&name)
                .with_context(|| format!("{}:{}", path.display(), number + 1))?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            self.env_file.insert(name, value.to_string());
        }
        Ok(())
    }

    /// The value from these sources alone (no manifest default).
    pub fn value(&self, name: &str) -> Option<String> {
        self.lookup(name).map(|(value, _)| value)
    }

    fn lookup(&self, name: &str) -> Option<(String, Origin)> {
        if let Some(v) = self.command_line.get(name) {
            return Some((v.clone(), Origin::CommandLine));
        }
        let env_name = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
        if let Some(v) = self.environment.get(&env_name) {
            return Some((v.clone(), Origin::Environment));
        }
        if let Some(v) = self.env_file.get(name) {
            return Some((v.clone(), Origin::EnvFile));
        }
        self.fallback
            .get(name)
            .map(|v| (v.clone(), Origin::Fallback(self.fallback_origin)))
    }
}

/// One resolved application variable.
#[derive(Clone)]
pub struct Resolved {
    /// The value.
    pub value: String,
    /// Where it came from.
    pub origin: Origin,
    /// Declared `secret = true`.
    pub secret: bool,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.secret { "<secret>" } else { &self.value };
        write!(f, "{value:?} ({})", self.origin)
    }
}

/// Every application variable, resolved, plus each component's own view.
///
/// Its `Debug` output hides secret values, and shows component variables by
/// name only (a template can copy a secret into them).
#[derive(Clone, Default)]
pub struct ResolvedVariables {
    /// Application variables by name.
    pub application: BTreeMap<String, Resolved>,
    /// Component id → component variable name → value.
    pub components: HashMap<String, HashMap<String, String>>,
}

impl fmt::Debug for ResolvedVariables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let components: BTreeMap<&String, Vec<&String>> = self
            .components
            .iter()
            .map(|(id, vars)| {
                let mut names: Vec<&String> = vars.keys().collect();
                names.sort();
                (id, names)
            })
            .collect();
        f.debug_struct("ResolvedVariables")
            .field("application", &self.application)
            .field("components", &components)
            .finish()
    }
}

impl ResolvedVariables {
    /// Resolves all variables; a missing required variable is an error naming
    /// it and saying how to set it.
    pub fn resolve(manifest: &Manifest, sources: &VariableSources) -> Result<Self> {
        for name in sources.command_line.keys() {
            if !manifest.variables.contains_key(name) {
                bail!("`--variable {name}=...`: the manifest declares no variable `{name}`");
            }
        }
        let mut application = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, decl) in &manifest.variables {
            let found = sources
                .lookup(name)
                .or_else(|| decl.default.as_ref().map(|d| (d.clone(), Origin::Default)));
            match found {
                Some((value, origin)) => {
                    application.insert(
                        name.clone(),
                        Resolved {
                            value,
                            origin,
                            secret: decl.secret,
                        },
                    );
                }
                None => missing.push(name.clone()),
            }
        }
        if !missing.is_empty() {
            let hints: Vec<String> = missing
                .iter()
                .map(|n| {
                    format!(
                        "`{n}` (set SPIN_VARIABLE_{} or --variable {n}=...)",
                        n.to_ascii_uppercase()
                    )
                })
                .collect();
            bail!("required variable(s) not set: {}", hints.join(", "));
        }
        let mut resolved = Self {
            application,
            components: HashMap::new(),
        };
        for (id, component) in &manifest.component {
            let mut values = HashMap::new();
            for (name, template) in &component.variables {
                let value = resolved
                    .render(&Template::parse(template)?)
                    .with_context(|| format!("`component.{id}.variables.{name}`"))?;
                values.insert(name.clone(), value);
            }
            resolved.components.insert(id.clone(), values);
        }
        Ok(resolved)
    }

    /// Renders a template over the application variables.
    pub fn render(&self, template: &Template) -> Result<String> {
        template.render(|name| self.application.get(name).map(|r| r.value.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
spin_manifest_version = 2
[application]
name = "x"
[variables]
host = { default = "example.com" }
key = { required = true, secret = true }
[component.c]
source = "c.wasm"
[component.c.variables]
url = "https://{{ host }}/v4?k={{key}}"
"#,
        )
        .unwrap()
    }

    #[test]
    fn template_renders_and_lists_references() {
        let t = Template::parse("a{{ x }}b{{y}}").unwrap();
        assert_eq!(t.references().collect::<Vec<_>>(), ["x", "y"]);
        let out = t.render(|n| Some(n.to_uppercase())).unwrap();
        assert_eq!(out, "aXbY");
    }

    #[test]
    fn template_rejects_unclosed_and_bad_names() {
        assert!(Template::parse("{{ x").is_err());
        assert!(Template::parse("{{ X }}").is_err());
    }

    #[test]
    fn required_missing_is_named() {
        let err = ResolvedVariables::resolve(&manifest(), &VariableSources::default()).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("`key`") && text.contains("SPIN_VARIABLE_KEY"),
            "{text}"
        );
    }

    #[test]
    fn precedence_is_cli_then_env_then_file_then_default() {
        let mut sources = VariableSources::default();
        sources.env_file.insert("key".into(), "file".into());
        sources
            .env_file
            .insert("host".into(), "file.example".into());
        let r = ResolvedVariables::resolve(&manifest(), &sources).unwrap();
        assert_eq!(r.application["key"].value, "file");
        assert_eq!(r.application["host"].origin, Origin::EnvFile);
        sources
            .environment
            .insert("SPIN_VARIABLE_KEY".into(), "env".into());
        let r = ResolvedVariables::resolve(&manifest(), &sources).unwrap();
        assert_eq!(r.application["key"].value, "env");
        sources.add_command_line("key=cli").unwrap();
        let r = ResolvedVariables::resolve(&manifest(), &sources).unwrap();
        assert_eq!(r.application["key"].value, "cli");
        assert_eq!(r.components["c"]["url"], "https://file.example/v4?k=cli");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let mut sources = VariableSources::default();
        sources.add_command_line("key=hunter2").unwrap();
        let r = ResolvedVariables::resolve(&manifest(), &sources).unwrap();
        // Hidden both as itself and where a template copied it.
        assert_eq!(r.components["c"]["url"], "https://example.com/v4?k=hunter2");
        assert!(!format!("{r:?}").contains("hunter2"));
    }

    #[test]
    fn env_file_accepts_both_spellings() {
        let dir = std::env::temp_dir().join(format!("sb-envfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".env");
        std::fs::write(
            &path,
            "# c\nSPIN_VARIABLE_KEY=\"a b\"\nexport host=h.example\n",
        )
        .unwrap();
        let mut sources = VariableSources::default();
        sources.load_env_file(&path).unwrap();
        assert_eq!(sources.env_file["key"], "a b");
        assert_eq!(sources.env_file["host"], "h.example");
    }
}
