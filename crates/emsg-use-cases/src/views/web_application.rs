//! What the pages, the JSON API and the command line show of a record: every declared key, the
//! secret only as "set" or not.

use std::collections::HashMap;

use emsg_store::WebApplicationId;
use emsg_store::web_applications::WebApplication;
use emsg_webapps::{FieldValue, KEYS, Kind, Widget};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

/// A record as the pages and the JSON API show it: each key of the declaration by its name,
/// with the client secret as "set" or "not set" (the value never leaves the server), the client
/// ID as stored (also when it was read from a variable) and the exchange as `exchange_source`
/// and `exchange_url`.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct WebApplicationView(Map<String, Json>);

impl WebApplicationView {
    pub fn new(record: &WebApplication, names: &HashMap<WebApplicationId, String>) -> Self {
        let spec = record.to_spec(names);
        let mut view = Map::new();
        for key in &KEYS {
            let name = key.name.to_owned();
            match (key.widget, key.value(&spec)) {
                (Widget::Secret, _) => {
                    let set = if record.client_secret_is_set() {
                        "set"
                    } else {
                        "not set"
                    };
                    view.insert(name, set.into());
                }
                (Widget::Source, _) => {
                    view.insert(name, json!(record.client_id));
                }
                (Widget::Exchange, value) => {
                    let parts = match value {
                        FieldValue::Map(parts) => parts,
                        _ => Vec::new(),
                    };
                    for part in ["source", "url"] {
                        let text = parts
                            .iter()
                            .find(|(p, _)| p == part)
                            .and_then(|(_, v)| v.as_text());
                        view.insert(format!("{name}_{part}"), json!(text));
                    }
                }
                (_, value) => {
                    view.insert(name, to_json(&value));
                }
            }
        }
        Self(view)
    }

    /// The rows of the page's list of the record's fields: each key its kind has, in words.
    pub fn details(&self, kind: Kind) -> Vec<Json> {
        let mut rows = Vec::new();
        for key in KEYS.iter().filter(|key| key.is_for(kind)) {
            if key.widget == Widget::Exchange {
                for (part, words) in [("source", "source"), ("url", "URL")] {
                    let value = &self.0[&format!("{}_{part}", key.name)];
                    rows.push(row(
                        &format!("{} {words}", key.label),
                        words_of(value),
                        false,
                    ));
                }
                continue;
            }
            let value = self.0.get(key.name).unwrap_or(&Json::Null);
            rows.push(row(
                key.label,
                words_of(value),
                key.widget == Widget::Source,
            ));
        }
        rows
    }
}

fn row(label: &str, text: String, not_set: bool) -> Json {
    json!({
        "label": label,
        "text": text,
        "not_set": not_set && text.is_empty(),
    })
}

/// A value of the view in words: Yes / No, lists joined, mappings as `name: value`.
fn words_of(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::Bool(true) => "Yes".to_owned(),
        Json::Bool(false) => "No".to_owned(),
        Json::String(text) => text.clone(),
        Json::Array(items) => items.iter().map(words_of).collect::<Vec<_>>().join(" "),
        Json::Object(entries) => entries
            .iter()
            .map(|(name, value)| format!("{name}: {}", words_of(value)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn to_json(value: &FieldValue) -> Json {
    match value {
        FieldValue::Null | FieldValue::Hidden => Json::Null,
        FieldValue::Text(text) => json!(text),
        FieldValue::Number(n) => json!(n),
        FieldValue::Flag(flag) => json!(flag),
        FieldValue::Env(var) => json!({ "env": var }),
        FieldValue::List(items) => json!(items),
        FieldValue::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(name, value)| (name.clone(), to_json(value)))
                .collect(),
        ),
    }
}
