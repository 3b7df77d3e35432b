//! The edit form of a web application, field by field from the record's declared keys
//! ([`emsg_webapps::KEYS`]): what each input holds for a stored record, how the typed text
//! becomes the record's `web-apps.yaml` mapping, and where an import error belongs. A new key
//! with an existing kind of input needs nothing here.

use std::collections::HashMap;

use emsg_use_cases::web_applications::WebApplication;
use emsg_webapps::{FieldValue, KEYS, Key, Kind, Kinds, WebApplicationSpec, Widget};
use serde_json::{Value as Json, json};
use serde_yaml::{Mapping, Value};

/// The form's inputs as text, by input name. A ticked check box is present (`on`), an unticked
/// one absent.
pub(crate) type Typed = HashMap<String, String>;

/// The inputs of a form, with the stored record's for inputs the form did not send at all: a
/// page opened before a key existed, or a script that only knows some fields, leaves those
/// fields as they are, while an input sent empty clears its field. Check boxes are absent when
/// not ticked, so they are always read from the form.
pub(crate) struct Inputs<'a> {
    pub(crate) typed: &'a Typed,
    pub(crate) stored: Option<&'a Typed>,
}

impl Inputs<'_> {
    fn text(&self, name: &str) -> &str {
        self.typed
            .get(name)
            .or_else(|| self.stored.and_then(|s| s.get(name)))
            .map_or("", String::as_str)
    }

    fn ticked(&self, name: &str) -> bool {
        self.typed.contains_key(name)
    }
}

/// The input name of a key's part: `client_id_env`, `exchange_source`.
fn input(key: &Key, part: &str) -> String {
    if part.is_empty() {
        key.name.to_owned()
    } else {
        format!("{}_{part}", key.name)
    }
}

/// The input where a new secret is typed (write-only, never filled in).
pub(crate) fn new_secret_input() -> Option<String> {
    KEYS.iter()
        .find(|key| key.widget == Widget::Secret)
        .map(|key| format!("new_{}", key.name))
}

/// The inputs as the page fills them in for a stored record. Keys the record's kind does not
/// have show their blank state (a check box at its default), so that an unchanged form sends
/// none of them.
pub(crate) fn from_record(record: &WebApplication, spec: &WebApplicationSpec) -> Typed {
    let kind = spec.kind();
    let mut typed = Typed::new();
    for key in &KEYS {
        let value = if key.is_for(kind) {
            key.value(spec)
        } else {
            blank(key)
        };
        let mut put = |part: &str, text: String| {
            if !text.is_empty() {
                typed.insert(input(key, part), text);
            }
        };
        match (key.widget, value) {
            (Widget::Flag, FieldValue::Flag(on)) => put("", if on { "on" } else { "" }.into()),
            (Widget::Source, value) => {
                // The value read from the variable at import is shown beside its name.
                put("", record.client_id.clone().unwrap_or_default());
                if let FieldValue::Env(var) = value {
                    put("env", var);
                }
            }
            (Widget::Secret, FieldValue::Env(var)) => put("env", var),
            (Widget::Secret, _) => {}
            (Widget::Pairs | Widget::Lists, FieldValue::Map(entries)) => put(
                "",
                entries
                    .iter()
                    .map(|(name, value)| format!("{name}={}\n", words(value)))
                    .collect(),
            ),
            (Widget::Exchange, FieldValue::Map(entries)) => {
                for (part, value) in entries {
                    put(&part, words(&value));
                }
            }
            (_, value) => put("", words(&value)),
        }
    }
    typed
}

/// What a key's inputs hold when the record's kind does not have it.
fn blank(key: &Key) -> FieldValue {
    match key.widget {
        Widget::Flag | Widget::Choice(_) => key.value(&WebApplicationSpec::default()),
        _ => FieldValue::Null,
    }
}

/// The inputs of a key in its blank state (see [`blank`]).
fn blank_inputs(key: &Key) -> Typed {
    let mut typed = Typed::new();
    match blank(key) {
        FieldValue::Flag(true) => {
            typed.insert(key.name.to_owned(), "on".to_owned());
        }
        FieldValue::Text(text) => {
            typed.insert(key.name.to_owned(), text);
        }
        _ => {}
    }
    typed
}

/// A value as typed in one input: lists as words separated by spaces.
fn words(value: &FieldValue) -> String {
    match value {
        FieldValue::Text(text) => text.clone(),
        FieldValue::Number(n) => n.to_string(),
        FieldValue::List(items) => items.join(" "),
        _ => String::new(),
    }
}

/// One problem, on the key (or `exchange.source`, `exchange.url`, `record`) to change.
#[derive(Debug, serde::Serialize)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) label: String,
    pub(crate) message: String,
}

impl FieldError {
    pub(crate) fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            label: label(field),
            message: message.into(),
        }
    }
}

/// The words on the form for a key or a part of one (`exchange.url`).
fn label(field: &str) -> String {
    let (name, part) = field.split_once('.').unwrap_or((field, ""));
    let Some(key) = emsg_webapps::key(name) else {
        return "Record".to_owned();
    };
    match (key.widget, part) {
        (Widget::Exchange, "url") => format!("{} URL", key.label),
        (Widget::Exchange, _) => format!("{} source", key.label),
        _ => key.label.to_owned(),
    }
}

/// An import error about the edited record (index 0 of the document), on its key.
pub(crate) fn field_error(e: &emsg_webapps::ImportError) -> FieldError {
    let path = e
        .path
        .strip_prefix("web_applications[0]")
        .map(|p| p.trim_start_matches('.'));
    let field = path.and_then(|p| {
        let name = p.split(['.', '[']).next().unwrap_or(p);
        let key = emsg_webapps::key(name)?;
        Some(match (key.widget, p.strip_prefix(name)) {
            (Widget::Exchange, Some(rest)) if rest.starts_with(".url") => format!("{name}.url"),
            (Widget::Exchange, _) => format!("{name}.source"),
            _ => name.to_owned(),
        })
    });
    FieldError::new(field.as_deref().unwrap_or("record"), e.message.clone())
}

/// The record as a `web-apps.yaml` mapping, as a hand-written file would say it: blank
/// optional fields are left out (their defaults apply). Keys the record's kind may not have
/// are sent only when the administrator set them, so that the import rules can refuse them.
/// `Err` names a field the YAML rules cannot see (a malformed line of a list).
pub(crate) fn to_yaml(inputs: &Inputs<'_>) -> Result<Mapping, FieldError> {
    let kind = match KEYS.iter().find(|key| key.widget == Widget::Exchange) {
        Some(key) if yaml_value(key, inputs)?.is_some() => Kind::Exchange,
        _ => Kind::OAuth,
    };
    let mut m = Mapping::new();
    for key in &KEYS {
        let value = yaml_value(key, inputs)?;
        let send = if key.is_for(kind) {
            match key.widget {
                // Check boxes say false by being absent; a Source or Secret key is required
                // and `null` keeps the stored value.
                Widget::Flag | Widget::Source | Widget::Secret => true,
                _ => value.is_some(),
            }
        } else {
            let blank = blank_inputs(key);
            let blank = Inputs {
                typed: &blank,
                stored: None,
            };
            value.is_some() && value != yaml_value(key, &blank)?
        };
        if send {
            m.insert(key.name.into(), value.unwrap_or(Value::Null));
        }
    }
    Ok(m)
}

fn text_value(v: &str) -> Value {
    Value::String(v.trim().to_owned())
}

/// `{env: VAR}` when a variable is named, else the value, else `null`.
fn env_or(var: &str, value: &str) -> Value {
    if !var.trim().is_empty() {
        let mut env = Mapping::new();
        env.insert("env".into(), text_value(var));
        Value::Mapping(env)
    } else if !value.trim().is_empty() {
        text_value(value)
    } else {
        Value::Null
    }
}

/// The file's value for a key from its inputs; `None` when they are blank.
fn yaml_value(key: &Key, inputs: &Inputs<'_>) -> Result<Option<Value>, FieldError> {
    let text = |part: &str| inputs.text(&input(key, part)).trim().to_owned();
    Ok(match key.widget {
        Widget::Line | Widget::Text | Widget::Choice(_) => {
            Some(text("")).filter(|t| !t.is_empty()).map(Value::String)
        }
        Widget::Flag => Some(inputs.ticked(key.name).into()),
        Widget::Source => Some(env_or(&text("env"), &text(""))),
        Widget::Secret => Some(env_or(&text("env"), "")),
        Widget::Words => {
            let items: Vec<Value> = text("")
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|w| !w.is_empty())
                .map(text_value)
                .collect();
            (!items.is_empty()).then_some(Value::Sequence(items))
        }
        Widget::Pairs | Widget::Lists => {
            let lines = lines(key, inputs.text(key.name))?;
            (!lines.is_empty()).then_some(Value::Mapping(lines))
        }
        Widget::Exchange => {
            let mut exchange = Mapping::new();
            for part in ["source", "url"] {
                let typed = text(part);
                if !typed.is_empty() {
                    exchange.insert(part.into(), Value::String(typed));
                }
            }
            (!exchange.is_empty()).then_some(Value::Mapping(exchange))
        }
    })
}

/// `name=value` per line (or `name: value`), blank lines ignored; for a [`Widget::Lists`]
/// key the value is a list of words.
fn lines(key: &Key, typed: &str) -> Result<Mapping, FieldError> {
    let lists = key.widget == Widget::Lists;
    let mut out = Mapping::new();
    for (n, line) in typed.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once('=').or_else(|| line.split_once(':')) else {
            let example = if lists {
                "`name=choice choice …`: write one parameter per line, e.g. `ui_locales=nb nn en se`"
            } else {
                "`name=value`: write one parameter per line, e.g. `ui_locales=en`"
            };
            return Err(FieldError::new(
                key.name,
                format!("line {} `{line}` is not {example}", n + 1),
            ));
        };
        let value = if lists {
            Value::Sequence(value.split_whitespace().map(text_value).collect())
        } else {
            text_value(value)
        };
        out.insert(text_value(name), value);
    }
    Ok(out)
}

/// The fields of the page, in the order of the declaration, each with what its kind of input
/// needs: the typed text, the error, the words.
pub(crate) fn fields(inputs: &Inputs<'_>, errors: &[FieldError], secret_set: bool) -> Vec<Json> {
    let error = |field: &str| {
        errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    };
    KEYS.iter()
        .map(|key| {
            let name = key.name;
            let help = match key.kinds {
                Kinds::OAUTH => format!("{} OAuth records only.", key.help),
                Kinds::EXCHANGE => format!("{} Exchange records only.", key.help),
                _ => key.help.to_owned(),
            };
            let mut field = json!({
                "name": name,
                "label": key.label,
                "help": help,
                "error": error(name),
            });
            let extra = match key.widget {
                Widget::Line | Widget::Words => {
                    json!({ "widget": "line", "value": inputs.text(name) })
                }
                Widget::Text | Widget::Pairs | Widget::Lists => {
                    json!({ "widget": "text", "value": inputs.text(name) })
                }
                Widget::Flag => json!({ "widget": "flag", "checked": inputs.ticked(name) }),
                Widget::Choice(options) => {
                    let chosen = inputs.text(name);
                    let chosen = if chosen.is_empty() {
                        options.first().map_or("", |(value, _)| value)
                    } else {
                        chosen
                    };
                    let options: Vec<Json> = options
                        .iter()
                        .map(|(value, words)| {
                            json!({ "value": value, "words": words, "selected": *value == chosen })
                        })
                        .collect();
                    json!({ "widget": "choice", "options": options })
                }
                Widget::Source => json!({
                    "widget": "source",
                    "value": inputs.text(name),
                    "env_name": input(key, "env"),
                    "env_value": inputs.text(&input(key, "env")),
                }),
                Widget::Secret => json!({
                    "widget": "secret",
                    "new_name": format!("new_{name}"),
                    "lower_label": key.label.to_lowercase(),
                    "secret_set": secret_set,
                    "env_name": input(key, "env"),
                    "env_value": inputs.text(&input(key, "env")),
                }),
                Widget::Exchange => {
                    let parts: Vec<Json> = ["source", "url"]
                        .into_iter()
                        .map(|part| {
                            let field = format!("{name}.{part}");
                            json!({
                                "name": input(key, part),
                                "label": label(&field),
                                "value": inputs.text(&input(key, part)),
                                "error": error(&field),
                            })
                        })
                        .collect();
                    json!({ "widget": "exchange", "parts": parts })
                }
            };
            if let (Json::Object(field), Json::Object(extra)) = (&mut field, extra) {
                field.extend(extra);
            }
            field
        })
        .collect()
}
