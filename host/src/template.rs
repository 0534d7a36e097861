//! Spin's `{{ name }}` templates and the variable names they may use: what
//! both the manifest check and the variable resolver need, in one place so
//! neither has to reach into the other.

use anyhow::{Context, Result, bail};

/// A `{{ name }}` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

impl Template {
    /// Parses a template; an unclosed `{{` or an invalid name is an error.
    pub fn parse(text: &str) -> Result<Self> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .with_context(|| format!("unclosed `{{{{` in template `{text}`"))?;
            let name = after[..end].trim();
            check_variable_name(name)?;
            parts.push(Part::Variable(name.to_string()));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Self { parts })
    }

    /// The variable names the template refers to.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Substitutes every reference using `lookup`.
    pub fn render(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Variable(name) => out
                    .push_str(&lookup(name).with_context(|| {
                        format!("no application variable `{name}` is declared")
                    })?),
            }
        }
        Ok(out)
    }
}

/// Spin variable names: lowercase ASCII letters, digits and single
/// underscores, starting with a letter.
pub fn check_variable_name(name: &str) -> Result<()> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_');
    if !ok {
        bail!(
            "invalid variable name `{name}`: use lowercase letters, digits and single underscores, \
             starting with a letter"
        );
    }
    Ok(())
}
