//! Rendering a web service's request from a message's checked fields: the URL, the headers and
//! the body, each value escaped for its place — a path segment, a query value, a JSON string,
//! XML text, a form value — so that no field can change the request's shape.
//!
//! A path value is percent-encoded except RFC 3986's unreserved characters, and a value that is
//! (or joins into) a `.` or `..` segment is refused: URL parsers remove such segments (and
//! `%2e` alike), which would move the call to another resource of the same host. The rendered
//! URL is then checked to stay below the base URL's path and the template's fixed start, not
//! only on its origin. A body is escaped by its content type's rules (JSON, XML,
//! `application/x-www-form-urlencoded`); a body template for any other content type is refused,
//! never filled with raw values.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use emsg_webapps::{BodyEscaping, WebServiceSpec};
use handlebars::Handlebars;

use crate::fields::Values;

/// The parts of a request before the token and fraud-prevention headers are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
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
    refuse_dot_segments(path, values)?;
    let rendered_path = with_escape(Escape::Percent, path, &context, "url")?;
    if let Some(segment) = rendered_path.split('/').find(|s| is_dot_segment(s)) {
        return Err(format!(
            "the URL path would hold the segment `{segment}` (made of the fields {}), which \
             removes a part of the path; check those fields",
            emsg_webapps::placeholders(path)
                .unwrap_or_default()
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut url = base_url.trim_end_matches('/').to_owned();
    url.push_str(&rendered_path);
    if let Some(query) = query {
        let query = with_escape(Escape::Percent, query, &context, "url")?;
        let query = query.trim_start_matches('&');
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
    }
    check_stays_below(base_url, path, &url)?;
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
            let kind = BodyEscaping::of(content_type).ok_or_else(|| {
                format!(
                    "the body template {file} is sent as {}, and emsg knows no escaping for \
                     it, so field values cannot be put in safely; set `content_type` to JSON \
                     (`application/json`, `…+json`), XML (`application/xml`, `…+xml`) or \
                     `application/x-www-form-urlencoded`",
                    content_type.map_or_else(|| "no content type".to_owned(), |c| format!("`{c}`"))
                )
            })?;
            let escape = match kind {
                BodyEscaping::Json => Escape::Json,
                BodyEscaping::Xml => Escape::Xml,
                BodyEscaping::Form => Escape::Form,
            };
            let body = with_escape(escape, template, &context, file)?;
            if kind == BodyEscaping::Json
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

/// `.` and `..` (and their percent-encoded forms, which URL parsers treat alike) remove
/// themselves or the segment before from a path.
fn is_dot_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase().replace("%2e", ".");
    lower == "." || lower == ".."
}

/// Refuses a field used in the URL's path whose value would be a `.` or `..` segment, naming it.
fn refuse_dot_segments(path: &str, values: &Values) -> Result<(), String> {
    for field in emsg_webapps::placeholders(path).unwrap_or_default() {
        if let Some(value) = values.get(&field)
            && is_dot_segment(&percent_encode(&value.text))
        {
            return Err(format!(
                "field `{field}` is `{}`, which in a URL path would remove a part of the path; \
                 a path value cannot be `.` or `..`",
                value.text
            ));
        }
    }
    Ok(())
}

/// How values are escaped in one place of a request.
#[derive(Debug, Clone, Copy)]
enum Escape {
    Percent,
    Json,
    Xml,
    Form,
    Nothing,
}

impl Escape {
    const ALL: [Escape; 5] = [
        Escape::Percent,
        Escape::Json,
        Escape::Xml,
        Escape::Form,
        Escape::Nothing,
    ];

    fn function(self) -> fn(&str) -> String {
        match self {
            Escape::Percent => percent_encode,
            Escape::Json => json_escape,
            Escape::Xml => xml_escape,
            Escape::Form => form_encode,
            Escape::Nothing => no_escape,
        }
    }
}

/// One registry per escaping, built once: every message renders through them.
static REGISTRIES: LazyLock<[Handlebars<'static>; 5]> = LazyLock::new(|| {
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

/// The rendered URL must stay on the web application's host (outbound URLs come only from
/// imported records) and, as a URL parser reads it, below the base URL's path and the
/// template's fixed start (`/organisations/vat/` of `/organisations/vat/{{vrn}}/…`).
fn check_stays_below(base_url: &str, template_path: &str, url: &str) -> Result<(), String> {
    let base = url::Url::parse(base_url).map_err(|e| format!("base URL {base_url}: {e}"))?;
    let parsed = url::Url::parse(url).map_err(|e| format!("the URL {url} is not valid: {e}"))?;
    if parsed.origin() != base.origin() {
        return Err(format!(
            "the URL {url} leaves the web application's host {}",
            base.origin().ascii_serialization()
        ));
    }
    let fixed = template_path
        .find("{{")
        .map_or(template_path, |at| &template_path[..at]);
    let fixed = fixed.rfind('/').map_or("", |at| &fixed[..=at]);
    let prefix = format!("{}{fixed}", base.path().trim_end_matches('/'));
    if !parsed.path().starts_with(&prefix) {
        return Err(format!(
            "the URL {url} leaves the path {prefix} the web service is declared under; check \
             the fields used in its path"
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

/// `application/x-www-form-urlencoded` for one value: what a browser sends for a form field.
fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
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
    fn a_path_value_of_dot_or_dot_dot_is_refused_naming_the_field() {
        let spec = service("/organisations/vat/{{vrn}}/obligations", None);
        for bad in ["..", "."] {
            let error = render(
                &spec,
                "https://api.example/base",
                None,
                &values(&[("vrn", bad, false)]),
            )
            .expect_err(bad);
            assert!(
                error.contains("field `vrn`") || error.contains("`vrn`"),
                "{bad}: {error}"
            );
        }
        // A value that joins the template's own text into a dot segment is refused too.
        let spec = service("/v/.{{a}}{{b}}/x", None);
        let error = render(
            &spec,
            "https://api.example",
            None,
            &values(&[("a", "", false), ("b", ".", false)]),
        )
        .expect_err("joined");
        assert!(error.contains("field `b`"), "{error}");
        let error = render(
            &spec,
            "https://api.example",
            None,
            &values(&[("a", "", false), ("b", "", false)]),
        )
        .expect_err("joined");
        assert!(
            error.contains("segment `.`") && error.contains("`a`, `b`"),
            "{error}"
        );
        // Dots inside a value are fine.
        let spec = service("/v/{{a}}/x", Some("{}"));
        let rendered = render(
            &spec,
            "https://api.example",
            Some("application/json"),
            &values(&[("a", "1.2..3", false)]),
        )
        .expect("ok");
        assert_eq!(rendered.url, "https://api.example/v/1.2..3/x");
        // A typed `%2e` is sent as the characters it is, never as a dot.
        let rendered = render(
            &spec,
            "https://api.example",
            Some("application/json"),
            &values(&[("a", "%2e%2E", false)]),
        )
        .expect("ok");
        assert_eq!(rendered.url, "https://api.example/v/%252e%252E/x");
    }

    #[test]
    fn the_rendered_url_stays_below_the_base_path_and_the_fixed_start() {
        assert!(check_stays_below("https://h/base", "/a/{{x}}", "https://h/base/a/1").is_ok());
        let error = check_stays_below("https://h/base", "/a/{{x}}", "https://h/base/a/../../other")
            .expect_err("left the base");
        assert!(error.contains("leaves the path /base/a/"), "{error}");
        assert!(check_stays_below("https://h/base", "/a/{{x}}", "https://h/other/a/1").is_err());
        assert!(check_stays_below("https://h", "/a/b", "https://h/a/b").is_ok());
        assert!(check_stays_below("https://h", "/a/b", "https://other/a/b").is_err());
    }

    #[test]
    fn form_bodies_form_encode_each_value_and_unknown_content_types_are_refused() {
        let spec = service("/x", Some("a={{v}}&b=2"));
        let values = values(&[("v", "1&b=3 +x", false)]);
        let rendered = render(
            &spec,
            "https://api.example",
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            &values,
        )
        .expect("ok");
        assert_eq!(rendered.body.as_deref(), Some("a=1%26b%3D3+%2Bx&b=2"));
        for content_type in [Some("text/plain"), Some("application/octet-stream"), None] {
            let error = render(&spec, "https://api.example", content_type, &values)
                .expect_err("no escaping");
            assert!(error.contains("knows no escaping"), "{error}");
        }
        assert!(BodyEscaping::of(Some("application/vnd.hmrc.1.0+json")).is_some());
        assert!(BodyEscaping::of(Some("text/jsonish")).is_none());
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
