//! `switchboard build`: runs each component's `[component.<id>.build]`
//! command, as `spin build` does.

use crate::manifest::LoadedManifest;
use anyhow::{Context, Result, bail};
use std::process::Command;

/// Builds every component that has a build command (or only those listed).
pub fn build(manifest: &LoadedManifest, only: &[String]) -> Result<()> {
    for id in only {
        if !manifest.manifest.component.contains_key(id) {
            bail!("no component `{id}` in {}", manifest.path.display());
        }
    }
    for (id, component) in &manifest.manifest.component {
        if !only.is_empty() && !only.contains(id) {
            continue;
        }
        let Some(build) = &component.build else {
            eprintln!("{id}: no build command, skipped");
            continue;
        };
        let workdir = match &build.workdir {
            Some(dir) => manifest.dir.join(dir),
            None => manifest.dir.clone(),
        };
        eprintln!("Building component {id} with `{}`", build.command);
        let status = Command::new("sh")
            .arg("-c")
            .arg(&build.command)
            .current_dir(&workdir)
            .status()
            .with_context(|| format!("cannot run the build command of `{id}`"))?;
        if !status.success() {
            bail!("build command of component `{id}` failed ({status})");
        }
    }
    Ok(())
}
