//! The `web_services` list: every mistake refused with its line, column, path and what to do;
//! body templates read and checked; export and parse agree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use emsg_webapps::{
    FieldKind, MessageTemplates, Method, NotLoaded, TemplateSource, export_services, parse,
    parse_with,
};

const RECORD: &str = "web_applications:
  - name: HMRC VAT
    base_url: https://api.example.test
    authorization_url: https://www.example.test/authorize
    token_url: https://api.example.test/token
    redirect_url: http://127.0.0.1:8080/oauth/callback
    client_id: c
    client_secret: null
    scope: read:vat
web_services:
";

const GOOD: &str = "  - name: Obligations
    web_application: HMRC VAT
    method: GET
    url: \"/organisations/vat/{{vrn}}/obligations?from={{from}}{{#if status}}&status={{status}}{{/if}}\"
    fraud_prevention: hmrc
    fields:
      - {name: vrn, type: vrn}
      - {name: from, type: date}
      - {name: status, type: one_of, values: [O, F], required: false}
";

fn refused(service: &str) -> String {
    let text = format!("{RECORD}{service}");
    parse("f.yaml", &text).expect_err("refused").to_string()
}

#[test]
fn a_good_service_is_read_with_its_fields() {
    let parsed = parse("f.yaml", &format!("{RECORD}{GOOD}")).expect("parses");
    let service = &parsed.services[0];
    assert_eq!(service.method, Method::Get);
    assert_eq!(service.fields.len(), 3);
    assert_eq!(service.fields[0].kind, FieldKind::Vrn);
    assert!(!service.fields[2].required);
    assert_eq!(service.success_statuses, [200]);
    assert_eq!(parsed.service_lines, [11]);
}

#[test]
fn each_mistake_is_located_and_explained() {
    let cases: Vec<(String, &str)> = vec![
        (
            GOOD.replace("method: GET", "method: get"),
            "f.yaml:13:13: web_services[0].method: `get` is not accepted for `method`; did you mean `GET`?",
        ),
        (
            GOOD.replace(
                "    fraud_prevention: hmrc\n",
                "    fraud_prevention: hmrc\n    colour: red\n",
            ),
            "unknown key `colour` in a web service",
        ),
        (
            GOOD.replace("{{vrn}}/", "{{vrm}}/"),
            "`{{vrm}}` is not a field of this web service; did you mean `vrn`?",
        ),
        (
            GOOD.replace("{{vrn}}/", "{{{vrn}}}/"),
            "would send a value without escaping",
        ),
        (
            GOOD.replace("type: date", "type: dates"),
            "`dates` is not a field type; did you mean `date`?",
        ),
        (
            GOOD.replace("web_application: HMRC VAT", "web_application: HMRC VAX"),
            "no web application named `HMRC VAX` in this file; did you mean `HMRC VAT`?",
        ),
        (
            GOOD.replace("url: \"/", "url: \"https://evil.test/"),
            "must start with a single `/`",
        ),
        (
            GOOD.replace("/obligations?", "/../obligations?"),
            "`url` contains a `.` or `..` segment",
        ),
        (
            GOOD.replace(
                "    fraud_prevention: hmrc\n",
                "    body_template: x.json.hbs\n",
            ),
            "a GET request has no body",
        ),
        (
            GOOD.replace(
                "    fraud_prevention: hmrc\n",
                "    headers: {Authorization: x}\n",
            ),
            "`Authorization` is set by emsg itself",
        ),
        (
            GOOD.replace(
                "    fraud_prevention: hmrc\n",
                "    headers: {Gov-Client-Public-IP: x}\n",
            ),
            "is set by emsg itself",
        ),
        (
            GOOD.replace(
                "    fraud_prevention: hmrc\n",
                "    success_statuses: [404]\n",
            ),
            "the number `404` is not a success status",
        ),
        (
            GOOD.replace(
                "{name: from, type: date}",
                "{name: from, type: date, min: 1}",
            ),
            "unknown key `min` in a `date` field",
        ),
        (
            format!("{GOOD}{GOOD}"),
            "duplicate web service name `Obligations`: line 11 already uses it",
        ),
        (
            GOOD.replace(
                "{{#if status}}&status={{status}}{{/if}}",
                "{{#if status}}&status={{status}}",
            ),
            "block is not closed",
        ),
    ];
    for (service, expected) in cases {
        let message = refused(&service);
        assert!(
            message.contains(expected),
            "expected `{expected}` in:\n{message}"
        );
    }
}

#[test]
fn amount_fields_and_checks_are_validated() {
    let service = "  - name: Return
    web_application: HMRC VAT
    method: POST
    url: /returns
    fields:
      - {name: a, type: amount, min: '10', max: '1'}
      - {name: b, type: amount, min: '0', max: '1'}
      - {name: c, type: text}
    checks:
      - {field: a, equals: sum, of: [b]}
      - {field: c, equals: absolute_difference, of: [a, b]}
";
    let message = refused(service);
    assert!(
        message.contains("`min` (10.00) is above `max` (1.00)"),
        "{message}"
    );
    assert!(
        message.contains("`sum` needs two or more fields"),
        "{message}"
    );
    assert!(message.contains("`c` is not an amount field"), "{message}");
}

struct OneTemplate(&'static str);

impl TemplateSource for OneTemplate {
    fn read(&self, name: &str) -> Option<Result<String, String>> {
        Some(if name == "body.json.hbs" {
            Ok(self.0.to_owned())
        } else {
            Err(format!("no body template `{name}`"))
        })
    }
}

#[test]
fn body_templates_are_read_and_checked_at_import() {
    let service = "  - name: Return
    web_application: HMRC VAT
    method: POST
    url: /returns/{{vrn}}
    body_template: body.json.hbs
    content_type: application/json
    fields:
      - {name: vrn, type: vrn}
";
    let text = format!("{RECORD}{service}");
    let parsed = parse_with("f.yaml", &text, &OneTemplate(r#"{"vrn": "{{vrn}}"}"#)).expect("ok");
    // A content type emsg cannot escape values for is refused, not filled with raw values.
    for content_type in ["text/plain", "application/octet-stream"] {
        let raw = parse_with(
            "f.yaml",
            &text.replace("application/json", content_type),
            &OneTemplate("vrn={{vrn}}"),
        )
        .expect_err("no escaping")
        .to_string();
        assert!(
            raw.contains("f.yaml:15:20: web_services[0].body_template: the body template body.json.hbs would be sent as")
                && raw.contains("knows no escaping"),
            "{raw}"
        );
    }
    let form = parse_with(
        "f.yaml",
        &text.replace("application/json", "application/x-www-form-urlencoded"),
        &OneTemplate("vrn={{vrn}}"),
    );
    assert!(form.is_ok(), "{:?}", form.err().map(|e| e.to_string()));
    assert_eq!(
        parsed.services[0].body.as_deref(),
        Some(r#"{"vrn": "{{vrn}}"}"#)
    );
    let unread = parse_with("f.yaml", &text, &NotLoaded).expect("syntax only");
    assert_eq!(unread.services[0].body, None);
    let bad = parse_with("f.yaml", &text, &OneTemplate(r#"{"x": "{{secret}}"}"#))
        .expect_err("undeclared field")
        .to_string();
    assert!(
        bad.contains("f.yaml:15:20: web_services[0].body_template: templates/messages/body.json.hbs: `{{secret}}` is not a field"),
        "{bad}"
    );
    let missing = parse_with(
        "f.yaml",
        &text.replace("body.json.hbs", "gone.json.hbs"),
        &OneTemplate(""),
    )
    .expect_err("missing file")
    .to_string();
    assert!(
        missing.contains("no body template `gone.json.hbs`"),
        "{missing}"
    );
}

#[test]
fn the_shipped_file_and_templates_parse_and_export_back_to_the_same_services() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("web-apps.yaml")).expect("shipped file");
    let templates = MessageTemplates::new(Some(root.join("templates/messages")));
    let parsed = parse_with("web-apps.yaml", &text, &templates).expect("the shipped file parses");
    assert_eq!(parsed.services.len(), 16);
    assert_eq!(parsed.processings.len(), 2);
    assert!(
        parsed
            .services
            .iter()
            .all(|s| s.body_template.is_none() || s.body.is_some())
    );
    // Export → parse gives the same services (bodies aside: they stay files).
    let exported = format!(
        "{}{}",
        emsg_webapps::export(&parsed.applications),
        export_services(&parsed.services),
    ) + &emsg_webapps::export_processings(&parsed.processings);
    let again = parse_with("exported.yaml", &exported, &templates).expect("the export parses");
    assert_eq!(again.services, parsed.services);
    let steps = |p: &[emsg_webapps::ProcessingSpec]| {
        p.iter()
            .map(|p| (p.name.clone(), p.steps.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(steps(&again.processings), steps(&parsed.processings));
    // The built-in copies are the files.
    let built_in = MessageTemplates::new(None);
    assert_eq!(
        built_in
            .read("vat-return.json.hbs")
            .expect("read")
            .expect("shipped"),
        std::fs::read_to_string(root.join("templates/messages/vat-return.json.hbs")).expect("file")
    );
}
