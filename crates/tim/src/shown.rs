//! Every text a client shows for a message body, and where it sits, so a
//! moderator can screen all of it and mask it in place.
//!
//! Clients render more than `TIMTextElem`: a custom element's `Data`, `Desc`
//! and `Ext`, a face's `Data`, a location's `Desc`, a file's name, a
//! forwarded bundle's title, fallback text and the messages inside it. An
//! element whose type is unknown, or whose content does not fit its type, is
//! read as a renderer might read it: every string in it. A custom `Data`
//! that is itself JSON is read twice, as the raw string and as the strings
//! inside it, since custom renderers show the decoded values.
//!
//! ```
//! use serde_json::json;
//! use tim::shown::{Source, shown_texts};
//!
//! let body = json!([
//!     {"MsgType": "TIMTextElem", "MsgContent": {"Text": "go kill "}},
//!     {"MsgType": "TIMTextElem", "MsgContent": {"Text": "yourself"}},
//!     {"MsgType": "TIMLocationElem", "MsgContent": {"Desc": "the harbour", "Latitude": 22.3}},
//! ]);
//! let shown = shown_texts(&body);
//! let texts: Vec<&str> = shown.iter().map(|s| s.text.as_str()).collect();
//! assert_eq!(texts, ["go kill ", "yourself", "the harbour"]);
//! // Clients put adjacent text elements side by side: screen them joined too.
//! assert_eq!(shown[0].source, Source::Text);
//! assert_eq!(shown[2].source, Source::Other("TIMLocationElem".into()));
//! ```

use serde_json::Value;

/// One step from a message body to a string in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An array index.
    Index(usize),
    /// An object key.
    Key(String),
    /// The string here is JSON: continue inside its decoded value.
    Json,
}

/// Which element a text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A top-level `TIMTextElem`: shown next to its neighbours.
    Text,
    /// A top-level `TIMCustomElem`.
    Custom,
    /// Anything else, by the top-level element's `MsgType`.
    Other(String),
}

/// A text a client shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// Where it is, from the body (an array of elements).
    pub path: Vec<Step>,
    /// The text.
    pub text: String,
    /// The top-level element it belongs to.
    pub source: Source,
}

/// How deep forwarded bundles and JSON inside `Data` are followed; deeper
/// down, a bundle's strings are still shown, only not by field.
const MAX_DEPTH: usize = 8;

/// Every text a client shows for `body` (a `MsgBody` array; any other value
/// is read as one unknown element), in display order.
pub fn shown_texts(body: &Value) -> Vec<Shown> {
    let mut out = Vec::new();
    match body {
        Value::Array(elements) => {
            for (index, element) in elements.iter().enumerate() {
                let source = match element["MsgType"].as_str() {
                    Some("TIMTextElem") => Source::Text,
                    Some("TIMCustomElem") => Source::Custom,
                    other => Source::Other(other.unwrap_or("").to_string()),
                };
                let mut path = vec![Step::Index(index)];
                element_texts(element, &mut path, 0, &mut |path, text| {
                    out.push(Shown {
                        path: path.to_vec(),
                        text: text.to_string(),
                        source: source.clone(),
                    })
                });
            }
        }
        other => strings(other, &mut Vec::new(), &mut |path, text| {
            out.push(Shown {
                path: path.to_vec(),
                text: text.to_string(),
                source: Source::Other(String::new()),
            })
        }),
    }
    out
}

type Visit<'a> = dyn FnMut(&[Step], &str) + 'a;

/// The shown texts of one element (`{MsgType, MsgContent}`) at `path`.
fn element_texts(element: &Value, path: &mut Vec<Step>, depth: usize, visit: &mut Visit) {
    if !element.is_object() {
        strings(element, path, visit);
        return;
    }
    let content = &element["MsgContent"];
    let fields: &[&str] = match (element["MsgType"].as_str(), content) {
        (Some("TIMTextElem"), Value::Object(_)) => &["Text"],
        (Some("TIMCustomElem"), Value::Object(_)) => &["Data", "Desc", "Ext"],
        (Some("TIMFaceElem"), Value::Object(_)) => &["Data"],
        (Some("TIMLocationElem"), Value::Object(_)) => &["Desc"],
        (Some("TIMFileElem"), Value::Object(_)) => &["FileName"],
        (Some("TIMImageElem" | "TIMSoundElem" | "TIMVideoFileElem"), Value::Object(_)) => &[],
        (Some("TIMRelayElem"), Value::Object(_)) => {
            relay_texts(content, path, depth, visit);
            return;
        }
        // Unknown or malformed: every string, as a renderer might show it.
        _ => {
            path.push(Step::Key("MsgContent".into()));
            strings(content, path, visit);
            path.pop();
            return;
        }
    };
    path.push(Step::Key("MsgContent".into()));
    for field in fields {
        match &content[*field] {
            Value::String(text) => {
                path.push(Step::Key((*field).into()));
                visit(path, text);
                if *field == "Data"
                    && depth < MAX_DEPTH
                    && let Ok(inner @ (Value::Object(_) | Value::Array(_))) =
                        serde_json::from_str::<Value>(text)
                {
                    path.push(Step::Json);
                    strings(&inner, path, visit);
                    path.pop();
                }
                path.pop();
            }
            Value::Null => {}
            // A field of the wrong type is still shown by some renderer.
            other => {
                path.push(Step::Key((*field).into()));
                strings(other, path, visit);
                path.pop();
            }
        }
    }
    path.pop();
}

/// `TIMRelayElem`: title, fallback text, abstract lines, and the bodies of
/// the messages it carries.
fn relay_texts(content: &Value, path: &mut Vec<Step>, depth: usize, visit: &mut Visit) {
    path.push(Step::Key("MsgContent".into()));
    for field in ["Title", "CompatibleText", "AbstractList"] {
        path.push(Step::Key(field.into()));
        strings(&content[field], path, visit);
        path.pop();
    }
    if let Value::Array(messages) = &content["MsgList"] {
        path.push(Step::Key("MsgList".into()));
        for (index, message) in messages.iter().enumerate() {
            path.push(Step::Index(index));
            path.push(Step::Key("MsgBody".into()));
            match &message["MsgBody"] {
                Value::Array(elements) if depth < MAX_DEPTH => {
                    for (i, element) in elements.iter().enumerate() {
                        path.push(Step::Index(i));
                        element_texts(element, path, depth + 1, visit);
                        path.pop();
                    }
                }
                other => strings(other, path, visit),
            }
            path.pop();
            path.pop();
        }
        path.pop();
    }
    path.pop();
}

/// Every string in `value` (keys and `MsgType` values are not shown).
///
/// Unbounded recursion is fine here: values come from `serde_json`, which
/// refuses input nested deeper than 128.
fn strings(value: &Value, path: &mut Vec<Step>, visit: &mut Visit) {
    match value {
        Value::String(text) => visit(path, text),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(Step::Index(index));
                strings(item, path, visit);
                path.pop();
            }
        }
        Value::Object(object) => {
            // A type name is not shown.
            for (key, item) in object.iter().filter(|(key, _)| *key != "MsgType") {
                path.push(Step::Key(key.clone()));
                strings(item, path, visit);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Replaces the string at `path` in `body` with `text`; a [`Step::Json`]
/// decodes the string there, replaces inside it and encodes it back.
/// Returns whether the path led to a string.
pub fn replace_at(body: &mut Value, path: &[Step], text: &str) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return match body {
            Value::String(old) => {
                *old = text.to_string();
                true
            }
            _ => false,
        };
    };
    match first {
        Step::Index(index) => body
            .get_mut(*index)
            .is_some_and(|next| replace_at(next, rest, text)),
        Step::Key(key) => body
            .get_mut(key.as_str())
            .is_some_and(|next| replace_at(next, rest, text)),
        Step::Json => {
            let Value::String(encoded) = body else {
                return false;
            };
            let Ok(mut inner) = serde_json::from_str::<Value>(encoded) else {
                return false;
            };
            if !replace_at(&mut inner, rest, text) {
                return false;
            }
            *encoded = inner.to_string();
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(body: &Value) -> Vec<String> {
        shown_texts(body).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn every_rendered_field_is_shown() {
        let body = json!([
            {"MsgType": "TIMCustomElem", "MsgContent": {"Data": "{\"title\":\"inner\"}", "Desc": "push", "Ext": "ext", "Sound": "ding.aac"}},
            {"MsgType": "TIMFaceElem", "MsgContent": {"Index": 1, "Data": "face"}},
            {"MsgType": "TIMFileElem", "MsgContent": {"Url": "https://x/f", "FileName": "report.pdf", "FileSize": 10}},
            {"MsgType": "TIMImageElem", "MsgContent": {"UUID": "u", "ImageInfoArray": [{"URL": "https://x/i"}]}},
            {"MsgType": "TIMStreamElem", "MsgContent": {"Chunks": [{"Text": "streamed"}], "Count": 1}},
            {"MsgType": "TIMRelayElem", "MsgContent": {"Title": "Chat history", "CompatibleText": "fallback",
                "AbstractList": ["alice: hi"], "MsgNum": 1,
                "MsgList": [{"From_Account": "alice", "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "nested"}}]}]}},
        ]);
        assert_eq!(
            texts(&body),
            [
                "{\"title\":\"inner\"}",
                "inner",
                "push",
                "ext",
                "face",
                "report.pdf",
                "streamed",
                "Chat history",
                "fallback",
                "alice: hi",
                "nested"
            ]
        );
    }

    #[test]
    fn malformed_elements_show_every_string() {
        let body = json!([
            {"MsgType": "TIMFaceElem", "MsgContent": {"Index": "x", "Data": "kept"}},
            {"MsgType": "TIMTextElem", "MsgContent": "bare string"},
            "not an element",
        ]);
        assert_eq!(texts(&body), ["kept", "bare string", "not an element"]);
    }

    #[test]
    fn replacing_follows_the_path_into_json_strings() {
        let mut body = json!([
            {"MsgType": "TIMCustomElem", "MsgContent": {"Data": "{\"title\":\"bad word\"}"}},
            {"MsgType": "TIMRelayElem", "MsgContent": {"MsgList": [{"MsgBody": [
                {"MsgType": "TIMTextElem", "MsgContent": {"Text": "bad"}}]}]}},
        ]);
        let shown = shown_texts(&body);
        assert!(replace_at(&mut body, &shown[1].path, "*** word"));
        assert!(replace_at(&mut body, &shown[2].path, "***"));
        assert_eq!(body[0]["MsgContent"]["Data"], "{\"title\":\"*** word\"}");
        assert_eq!(
            body[1]["MsgContent"]["MsgList"][0]["MsgBody"][0]["MsgContent"]["Text"],
            "***"
        );
        assert!(!replace_at(&mut body, &[Step::Index(9)], "x"));
    }

    #[test]
    fn the_deepest_body_serde_json_accepts_is_read() {
        let mut wire =
            r#"{"MsgType": "TIMTextElem", "MsgContent": {"Text": "deepest"}}"#.to_string();
        for _ in 0..20 {
            wire = format!(
                r#"{{"MsgType": "TIMRelayElem", "MsgContent": {{"MsgList": [{{"MsgBody": [{wire}]}}]}}}}"#
            );
        }
        let body: Value = serde_json::from_str(&format!("[{wire}]")).unwrap();
        assert_eq!(texts(&body), ["deepest"]);
    }
}
