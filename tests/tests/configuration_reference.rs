//! `docs/configuration.md` is the configuration reference: one table row per
//! variable `spin.toml` declares, with its default and whether it is secret
//! exactly as declared. This holds the two together, so the page cannot
//! drift from the manifest.

use std::collections::BTreeMap;
use switchboard_tests::root;

/// One row of the reference: `| `name` | default | secret | meaning |`.
#[derive(Debug)]
struct Row {
    line: usize,
    default: String,
    secret: String,
    meaning: String,
}

/// Every variable row of the page, by name; a name twice is an error.
fn reference_rows(page: &str) -> Result<BTreeMap<String, Row>, String> {
    let mut rows = BTreeMap::new();
    for (index, line) in page.lines().enumerate() {
        let Some(inner) = line.strip_prefix("| `") else {
            continue;
        };
        let cells: Vec<&str> = inner.trim_end_matches('|').split(" | ").collect();
        let line = index + 1;
        let [name, default, secret, meaning] = cells[..] else {
            return Err(format!(
                "line {line}: a variable row has 4 cells (variable, default, secret, meaning)"
            ));
        };
        let name = name.trim_end_matches('`').to_string();
        let row = Row {
            line,
            default: default.trim().to_string(),
            secret: secret.trim().to_string(),
            meaning: meaning.trim().to_string(),
        };
        if let Some(first) = rows.insert(name.clone(), row) {
            return Err(format!(
                "`{name}` has two rows (lines {} and {line})",
                first.line
            ));
        }
    }
    Ok(rows)
}

/// What the page's row must say of a variable `spin.toml` declares, or why
/// it does not.
fn check(name: &str, declared: &toml::Table, row: &Row) -> Result<(), String> {
    let required = declared.get("required").and_then(|v| v.as_bool()) == Some(true);
    let secret = declared.get("secret").and_then(|v| v.as_bool()) == Some(true);
    let default = declared.get("default").and_then(|v| v.as_str());
    let wanted = match (required, default) {
        (true, _) => "required".to_string(),
        (false, Some("")) => "empty".to_string(),
        (false, Some(value)) => format!("`{value}`"),
        (false, None) => {
            return Err(format!(
                "`{name}`: spin.toml gives no default and no `required`"
            ));
        }
    };
    if !row.default.starts_with(&wanted) {
        return Err(format!(
            "line {}: `{name}`'s default should start with {wanted} (spin.toml), not {:?}",
            row.line, row.default
        ));
    }
    let secret_cell = if secret { "yes" } else { "" };
    if row.secret != secret_cell {
        return Err(format!(
            "line {}: `{name}` is {}secret in spin.toml: its secret cell should be {secret_cell:?}",
            row.line,
            if secret { "" } else { "not " }
        ));
    }
    if row.meaning.is_empty() {
        return Err(format!(
            "line {}: `{name}` says nothing of what it does",
            row.line
        ));
    }
    Ok(())
}

fn declared_variables() -> toml::Table {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("spin.toml")).unwrap()).unwrap();
    manifest["variables"].as_table().unwrap().clone()
}

#[test]
fn the_configuration_reference_lists_every_variable_as_spin_toml_declares_it() {
    let page = std::fs::read_to_string(root().join("docs/configuration.md")).unwrap();
    let rows = reference_rows(&page).unwrap();
    let declared = declared_variables();
    let mut problems = Vec::new();
    for (name, value) in &declared {
        match rows.get(name) {
            None => problems.push(format!("`{name}` is declared in spin.toml but has no row")),
            Some(row) => {
                if let Err(problem) = check(name, value.as_table().unwrap(), row) {
                    problems.push(problem);
                }
            }
        }
    }
    for (name, row) in &rows {
        if !declared.contains_key(name) {
            problems.push(format!(
                "line {}: `{name}` is not a variable of spin.toml",
                row.line
            ));
        }
    }
    assert!(declared.len() > 50, "{} variables", declared.len());
    assert!(
        problems.is_empty(),
        "docs/configuration.md and spin.toml disagree:\n  {}",
        problems.join("\n  ")
    );
}

/// The check itself catches a wrong default, a secret shown as plain, a
/// missing meaning, a malformed and a doubled row.
#[test]
fn the_check_catches_each_kind_of_drift() {
    let declared: toml::Table = toml::from_str(
        "a = { default = \"60\" }\nb = { default = \"\", secret = true }\nc = { required = true }",
    )
    .unwrap();
    let table = |name: &str| declared[name].as_table().unwrap().clone();
    let rows = reference_rows(
        "| `a` | `60` |  | seconds |\n| `b` | empty | yes | key |\n| `c` | required |  | url |\n",
    )
    .unwrap();
    for name in ["a", "b", "c"] {
        check(name, &table(name), &rows[name]).unwrap();
    }
    let wrong = reference_rows(
        "| `a` | `30` |  | seconds |\n| `b` | empty |  | key |\n| `c` | empty |  | |\n",
    )
    .unwrap();
    for name in ["a", "b", "c"] {
        assert!(check(name, &table(name), &wrong[name]).is_err(), "{name}");
    }
    assert!(reference_rows("| `a` | `60` | seconds |\n").is_err());
    assert!(reference_rows("| `a` | `60` |  | x |\n| `a` | `60` |  | y |\n").is_err());
}
