//! Writing records back as `web-apps.yaml`, without secrets, in the order of the format.

use std::fmt::Write as _;

use serde_yaml::Value;

use crate::model::WebApplicationSpec;
use crate::service::WebServiceSpec;
use crate::source::{SecretSource, ValueSource};

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
    for app in apps {
        let mut record = Writer::default();
        record.field("name", &scalar(&app.name));
        record.field("description", &scalar(&app.description));
        record.field("base_url", &scalar(&app.base_url));
        match &app.exchange {
            Some(exchange) => {
                record.line("exchange:");
                record.field("  source", &scalar(&exchange.source));
                record.field("  url", &scalar(&exchange.url));
            }
            None => write_oauth_fields(&mut record, app),
        }
        if app.exchange.is_some() {
            record.field("scope", &scalar(&app.scope));
        }
        record.field("accept", &optional(app.accept.as_deref()));
        record.field("content_type", &optional(app.content_type.as_deref()));
        if app.exchange.is_none() {
            record.field("code_lifetime", &app.code_lifetime.to_string());
        }
        let lifetime = app.authorization_lifetime.map(|l| l.to_string());
        record.field("authorization_lifetime", &optional(lifetime.as_deref()));
        record.field("user_specific", &app.user_specific.to_string());
        if app.exchange.is_none() {
            record.field(
                "obtain_token_on_callback",
                &app.obtain_token_on_callback.to_string(),
            );
        }
        record.field("issuer", &optional(app.issuer.as_deref()));
        out.push_str(&record.finish());
    }
    out
}

fn write_oauth_fields(record: &mut Writer, app: &WebApplicationSpec) {
    record.field(
        "authorization_url",
        &optional(app.authorization_url.as_deref()),
    );
    record.field("token_url", &optional(app.token_url.as_deref()));
    record.field("revocation_url", &optional(app.revocation_url.as_deref()));
    record.field("redirect_url", &optional(app.redirect_url.as_deref()));
    let client_id = match &app.client_id {
        ValueSource::Unset => "null".to_owned(),
        ValueSource::Inline(value) => scalar(value),
        ValueSource::Env { var } => format!("{{env: {}}}", scalar(var)),
    };
    record.field("client_id", &client_id);
    let client_secret = match &app.client_secret {
        SecretSource::Unset => "null".to_owned(),
        SecretSource::Inline(_) => "null  # set on the admin page".to_owned(),
        SecretSource::Env { var } => format!("{{env: {}}}", scalar(var)),
    };
    record.field("client_secret", &client_secret);
    record.field("scope", &scalar(&app.scope));
    if app.authorization_params.is_empty() {
        record.field("authorization_params", "{}");
    } else {
        record.line("authorization_params:");
        for (name, value) in &app.authorization_params {
            record.field(&format!("  {}", scalar(name)), &scalar(value));
        }
    }
    record.field("client_auth", app.client_auth.as_str());
    record.field("pkce", &app.pkce.to_string());
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

    fn field(&mut self, key: &str, value: &str) {
        self.line(&format!("{key}: {value}"));
    }

    fn finish(self) -> String {
        self.out
    }
}

fn optional(value: Option<&str>) -> String {
    value.map_or_else(|| "null".to_owned(), scalar)
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
