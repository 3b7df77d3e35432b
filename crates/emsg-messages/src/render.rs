//! Rendering a web service's request from a message's checked fields: the URL, the headers and
//! the body, each value escaped for its place — a path segment, a query value, a JSON string,
//! XML text — so that no field can change the request's shape.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use emsg_webapps::WebServiceSpec;
use handlebars::Handlebars;

use crate::fields::Values;

/// The parts of a request before the token and fraud-prevention headers are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// How a body is escaped, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Json,
    Xml,
    Text,
}

/// Renders `service` for `values` below `base_url`. An error here is a setup error (a template
/// that produces invalid JSON, say): it names the template and what to fix.
pub fn render(
    service: &WebServiceSpec,
    base_url: &str,
    content_type: Option<&str>,
    values: &Values,
) -> Result<Rendered, String> {
    let context: BTreeMap<&str, &str> = values
        .iter()
        .map(|(name, value)| (name.as_str(), value.text.as_str()))
        .collect();
    let (path, query) = match service.url.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (service.url.as_str(), None),
    };
    let mut url = base_url.trim_end_matches('/').to_owned();
    url.push_str(&with_escape(Escape::Percent, path, &context, "url")?);
    if let Some(query) = query {
        let query = with_escape(Escape::Percent, query, &context, "url")?;
        let query = query.trim_start_matches('&');
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
    }
    check_same_origin(base_url, &url)?;
    let mut headers = Vec::with_capacity(service.headers.len());
    for (name, template) in &service.headers {
        let value = with_escape(Escape::Nothing, template, &context, name)?;
        if value.chars().any(char::is_control) {
            return Err(format!("header `{name}` would contain a control character"));
        }
        headers.push((name.clone(), value));
    }
    let body = match (&service.body, &service.body_template) {
        (Some(template), Some(file)) => {
            let kind = body_kind(content_type);
            let escape = match kind {
                BodyKind::Json => Escape::Json,
                BodyKind::Xml => Escape::Xml,
                BodyKind::Text => Escape::Nothing,
            };
            let body = with_escape(escape, template, &context, file)?;
            if kind == BodyKind::Json
                && let Err(error) = serde_json::from_str::<serde_json::Value>(&body)
            {
                return Err(format!(
                    "templates/messages/{file} produced invalid JSON ({error}); check its \
                     quotes and commas — string fields go inside quotes, amounts and booleans \
                     outside"
                ));
            }
            Some(body)
        }
        (None, Some(file)) => {
            return Err(format!(
                "the body template {file} of {} is not stored; import web-apps.yaml again",
                service.name
            ));
        }
        _ => None,
    };
    Ok(Rendered { url, headers, body })
}

fn body_kind(content_type: Option<&str>) -> BodyKind {
    let media = content_type
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media.ends_with("json") {
        BodyKind::Json
    } else if media.ends_with("xml") {
        BodyKind::Xml
    } else {
        BodyKind::Text
    }
}

/// How values are escaped in one place of a request.
#[derive(Debug, Clone, Copy)]
enum Escape {
    Percent,
    Json,
    Xml,
    Nothing,
}

impl Escape {
    const ALL: [Escape; 4] = [Escape::Percent, Escape::Json, Escape::Xml, Escape::Nothing];

    fn function(self) -> fn(&str) -> String {
        match self {
            Escape::Percent => percent_encode,
            Escape::Json => json_escape,
            Escape::Xml => xml_escape,
            Escape::Nothing => no_escape,
        }
    }
}

/// One registry per escaping, built once: every message renders through them.
static REGISTRIES: LazyLock<[Handlebars<'static>; 4]> = LazyLock::new(|| {
    Escape::ALL.map(|escape| {
        let mut registry = Handlebars::new();
        registry.register_escape_fn(escape.function());
        registry
    })
});

fn with_escape(
    escape: Escape,
    template: &str,
    context: &BTreeMap<&str, &str>,
    place: &str,
) -> Result<String, String> {
    REGISTRIES[escape as usize]
        .render_template(template, context)
        .map_err(|e| format!("the template of {place} cannot be rendered: {e}"))
}

/// The rendered URL must stay on the web application's host: outbound URLs come only from
/// imported records.
fn check_same_origin(base_url: &str, url: &str) -> Result<(), String> {
    let base = url::Url::parse(base_url).map_err(|e| format!("base URL {base_url}: {e}"))?;
    let parsed = url::Url::parse(url).map_err(|e| format!("the URL {url} is not valid: {e}"))?;
    if parsed.origin() != base.origin() {
        return Err(format!(
            "the URL {url} leaves the web application's host {}",
            base.origin().ascii_serialization()
        ));
    }
    Ok(())
}

/// Everything but RFC 3986's unreserved characters is percent-encoded: safe in a path segment
/// and in a query value alike.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn json_escape(text: &str) -> String {
    let quoted = serde_json::Value::String(text.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn no_escape(text: &str) -> String {
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::Value;

    fn values(pairs: &[(&str, &str, bool)]) -> Values {
        pairs
            .iter()
            .map(|(k, v, literal)| {
                (
                    (*k).to_owned(),
                    Value {
                        text: (*v).to_owned(),
                        literal: *literal,
                    },
                )
            })
            .collect()
    }

    fn service(url: &str, body: Option<&str>) -> WebServiceSpec {
        let yaml = format!(
            "name: s\nweb_application: a\nmethod: POST\nurl: '{url}'\nbody_template: b.json.hbs\n"
        );
        let mut spec: WebServiceSpec = serde_yaml::from_str(&yaml).expect("spec");
        spec.body = body.map(str::to_owned);
        spec
    }

    #[test]
    fn each_place_escapes_its_own_way() {
        let spec = service(
            "/v/{{vrn}}/o?from={{from}}{{#if status}}&status={{status}}{{/if}}",
            Some(r#"{"note": "{{vrn}}", "amount": {{from}}}"#),
        );
        let values = values(&[
            ("vrn", "a/b?c\"d", false),
            ("from", "12.50", true),
            ("status", "", false),
        ]);
        let rendered = render(
            &spec,
            "https://api.example/",
            Some("application/json"),
            &values,
        )
        .expect("renders");
        assert_eq!(
            rendered.url,
            "https://api.example/v/a%2Fb%3Fc%22d/o?from=12.50"
        );
        assert_eq!(
            rendered.body.as_deref(),
            Some(r#"{"note": "a/b?c\"d", "amount": 12.50}"#)
        );
    }

    #[test]
    fn a_value_cannot_break_out_of_a_json_string() {
        let spec = service("/x", Some(r#"{"a": {{v}}}"#));
        let values = values(&[("v", "1, \"admin\": true", false)]);
        let error = render(
            &spec,
            "https://api.example",
            Some("application/json"),
            &values,
        )
        .expect_err("invalid JSON");
        assert!(error.contains("produced invalid JSON"), "{error}");
    }

    #[test]
    fn xml_bodies_escape_markup() {
        let spec = service("/x", Some("<a>{{v}}</a>"));
        let values = values(&[("v", "<b>&", false)]);
        let rendered = render(
            &spec,
            "https://api.example",
            Some("application/xml"),
            &values,
        )
        .expect("ok");
        assert_eq!(rendered.body.as_deref(), Some("<a>&lt;b&gt;&amp;</a>"));
    }
}
