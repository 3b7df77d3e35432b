//! Writing records back as `web-apps.yaml`, without secrets, in the order of the format: each
//! key of the declaration ([`crate::keys::KEYS`]) that the record's kind has, by its value.

use std::fmt::Write as _;

use serde_yaml::Value;

use crate::keys::{FieldValue, KEYS, Key};
use crate::model::WebApplicationSpec;
use crate::processing::ProcessingSpec;
use crate::service::WebServiceSpec;

/// The YAML text of `apps`, which [`crate::parse`] reads back to the same records, except that
/// inline client secrets are never written: they come back as unset, to be typed on the admin
/// page.
pub fn export(apps: &[WebApplicationSpec]) -> String {
    let mut out = String::from("# Web applications. Client secrets are never exported.\n");
    if apps.is_empty() {
        out.push_str("web_applications: []\n");
        return out;
    }
    out.push_str("web_applications:\n");
    let mut order: Vec<&Key> = KEYS.iter().collect();
    order.sort_by_key(|key| key.section);
    for app in apps {
        let kind = app.kind();
        let mut record = Writer::default();
        for key in order.iter().filter(|key| key.is_for(kind)) {
            record.entry(key.name, &key.value(app), 0);
        }
        out.push_str(&record.finish());
    }
    out
}

/// Lines of one record: the first starts with `- `, the others line up under it.
#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    fn line(&mut self, text: &str) {
        let lead = if self.out.is_empty() { "  - " } else { "    " };
        let _ = writeln!(self.out, "{lead}{text}");
    }

    /// `key: value`, or a non-empty mapping as `key:` with its entries indented below.
    fn entry(&mut self, key: &str, value: &FieldValue, depth: usize) {
        let indent = "  ".repeat(depth);
        match value {
            FieldValue::Map(entries) if !entries.is_empty() => {
                self.line(&format!("{indent}{key}:"));
                for (name, inner) in entries {
                    self.entry(&scalar(name), inner, depth + 1);
                }
            }
            other => self.line(&format!("{indent}{key}: {}", inline(other))),
        }
    }

    fn finish(self) -> String {
        self.out
    }
}

/// A value on the line of its key.
fn inline(value: &FieldValue) -> String {
    match value {
        FieldValue::Null => "null".to_owned(),
        FieldValue::Text(text) => scalar(text),
        FieldValue::Number(n) => n.to_string(),
        FieldValue::Flag(flag) => flag.to_string(),
        FieldValue::Env(var) => format!("{{env: {}}}", scalar(var)),
        FieldValue::Hidden => "null  # set on the admin page".to_owned(),
        FieldValue::List(items) => {
            let items: Vec<String> = items.iter().map(|item| flow_scalar(item)).collect();
            format!("[{}]", items.join(", "))
        }
        FieldValue::Map(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(name, inner)| format!("{}: {}", flow_scalar(name), inline(inner)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

/// A string as a YAML scalar that reads back as exactly that string: plain when that is
/// unambiguous, double-quoted otherwise (`null`, `true`, `10`, `a: b`, `#x`, ` x`, ...).
pub(crate) fn scalar(text: &str) -> String {
    if is_safe_plain(text) {
        text.to_owned()
    } else {
        double_quoted(text)
    }
}

/// A string as an item of a flow list (`[a, b]`) that reads back as exactly that string:
/// plain when that is unambiguous there too (no `,`, no `a: b`), double-quoted otherwise.
fn flow_scalar(text: &str) -> String {
    let plain = is_safe_plain(text) && !text.contains(',') && {
        let probe = format!("k: [{text}]\n");
        match serde_yaml::from_str::<Value>(&probe) {
            Ok(value) => value.get("k") == Some(&Value::Sequence(vec![Value::from(text)])),
            Err(_) => false,
        }
    };
    if plain {
        text.to_owned()
    } else {
        double_quoted(text)
    }
}

/// Plain only for a conservative set of characters, and only when YAML itself reads the
/// plain form back as the same string; everything else is quoted.
fn is_safe_plain(text: &str) -> bool {
    const PUNCTUATION: &str = " _./:+-@(),;=?&%~";
    if text.is_empty()
        || text.trim() != text
        || !text
            .chars()
            .all(|c| c.is_alphanumeric() || PUNCTUATION.contains(c))
    {
        return false;
    }
    let probe = format!("k: {text}\n");
    match serde_yaml::from_str::<Value>(&probe) {
        Ok(Value::Mapping(map)) => map.len() == 1 && map.get("k") == Some(&Value::from(text)),
        _ => false,
    }
}

fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Not printable in YAML, or read as a line break by YAML 1.1 readers.
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `web_services:` section for `services`, to follow [`export`]'s text; empty when there
/// are none. Body templates are named, not inlined: they stay files under templates/messages/.
pub fn export_services(services: &[WebServiceSpec]) -> String {
    #[derive(serde::Serialize)]
    struct Section<'a> {
        web_services: &'a [WebServiceSpec],
    }
    if services.is_empty() {
        return String::new();
    }
    // Serializing plain data with string keys cannot fail.
    serde_yaml::to_string(&Section {
        web_services: services,
    })
    .unwrap_or_default()
}

/// The `processings` list as the file wrote each one (kept as JSON, written back as YAML); empty
/// text for none.
pub fn export_processings(processings: &[ProcessingSpec]) -> String {
    #[derive(serde::Serialize)]
    struct Section {
        processings: Vec<serde_json::Value>,
    }
    if processings.is_empty() {
        return String::new();
    }
    let written = processings
        .iter()
        .filter_map(|p| serde_json::from_str(&p.written).ok())
        .collect();
    serde_yaml::to_string(&Section {
        processings: written,
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unwrap_used)]
    #[test]
    fn every_tricky_string_reads_back_as_itself() {
        let tricky = [
            "plain words",
            "null",
            "Null",
            "NULL",
            "~",
            "true",
            "False",
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "123",
            "-5",
            "0x1F",
            "0o17",
            "1e3",
            "1_000",
            ".inf",
            "-.inf",
            ".nan",
            "2024-01-01",
            "12:30",
            "a: b",
            "a:b",
            "key:",
            "#comment",
            "a #b",
            "a#b",
            " leading",
            "trailing ",
            "",
            " ",
            "-",
            "- x",
            "--- x",
            "...",
            "? q",
            ":x",
            "@at",
            "`tick",
            "*star",
            "&amp",
            "!bang",
            "|pipe",
            ">gt",
            "%pct",
            "'single",
            "\"double",
            "back\\slash",
            "multi\nline",
            "tab\there",
            "cr\rhere",
            "{brace",
            "[bracket",
            "a, b",
            "<<",
            "=",
            "ÆØÅ æøå",
            "emoji 🚀",
            "nel\u{85}x",
            "ls\u{2028}x",
            "bom\u{feff}x",
            "del\u{7f}x",
            "bell\u{7}",
            "https://example.com/a?b=c&d=e#f",
            "read:vat write:vat",
            "10m",
        ];
        for text in tricky {
            let yaml = format!("k: {}\n", scalar(text));
            let value: Value =
                serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
            assert_eq!(value.get("k"), Some(&Value::from(text)), "{yaml}");
        }
    }

    #[allow(clippy::unwrap_used)]
    #[test]
    fn every_tricky_string_reads_back_as_itself_from_a_flow_list() {
        for text in [
            "nb",
            "a, b",
            "a: b",
            "a:b",
            "[x]",
            "{x}",
            "#c",
            "a #b",
            "null",
            "true",
            "12",
            "",
            " x",
            "? q",
            "- d",
            "ÆØÅ",
            "x]",
            "x}",
            "multi\nline",
        ] {
            let yaml = format!("k: [{}, other]\n", flow_scalar(text));
            let value: Value =
                serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
            let expected = Value::Sequence(vec![Value::from(text), Value::from("other")]);
            assert_eq!(value.get("k"), Some(&expected), "{yaml}");
        }
        assert_eq!(flow_scalar("nb"), "nb");
    }

    #[test]
    fn ordinary_values_are_written_without_quotes() {
        assert_eq!(scalar("HMRC VAT sandbox"), "HMRC VAT sandbox");
        assert_eq!(
            scalar("https://api.service.hmrc.gov.uk"),
            "https://api.service.hmrc.gov.uk"
        );
        assert_eq!(scalar("read:vat write:vat"), "read:vat write:vat");
        assert_eq!(scalar("null"), "\"null\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
    }
}
