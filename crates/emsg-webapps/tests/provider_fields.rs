//! The record fields that say what differs between providers: `captures` (identifiers a user
//! gives when connecting) and `parameter_choices` (what Get authorization code offers). Both
//! parse to the values written, are refused with located errors when wrong, come back from an
//! export, and count as changes.
#![allow(clippy::unwrap_used)]

use emsg_webapps::{
    Capture, ImportError, KEYS, Kind, WebApplicationSpec, changed_fields, export, parse,
};

const RECORD: &str = "web_applications:
  - name: HMRC ITSA
    base_url: https://api.service.hmrc.gov.uk
    authorization_url: https://www.tax.service.gov.uk/oauth/authorize
    token_url: https://api.service.hmrc.gov.uk/oauth/token
    redirect_url: https://erp.example/oauth/callback
    client_id: {env: HMRC_ITSA_CLIENT_ID}
    client_secret: null
    scope: read:self-assessment write:self-assessment
";

/// The record with `lines` added at its end (line 10 on).
fn with(lines: &str) -> String {
    format!("{RECORD}{lines}")
}

fn one(text: &str) -> WebApplicationSpec {
    parse("f.yaml", text)
        .unwrap_or_else(|e| panic!("{e}"))
        .applications
        .remove(0)
}

fn errors(text: &str) -> Vec<ImportError> {
    parse("f.yaml", text).err().map(|e| e.0).unwrap_or_default()
}

/// Asserts exactly one error, at `line:column` on `path` (below the record), saying `fragment`.
#[track_caller]
fn refused(text: &str, line: u32, column: u32, path: &str, fragment: &str) {
    let errors = errors(text);
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 1, "{}", shown.join("\n"));
    let error = &errors[0];
    assert_eq!(
        (error.line, error.column, error.path.as_str()),
        (line, column, format!("web_applications[0].{path}").as_str()),
        "{error}"
    );
    assert!(error.message.contains(fragment), "{error}");
}

#[test]
fn a_record_without_the_new_fields_captures_nothing_and_offers_no_choices() {
    let spec = one(RECORD);
    assert!(spec.captures.is_empty());
    assert!(spec.parameter_choices.is_empty());
}

#[test]
fn captures_and_parameter_choices_parse_to_the_values_written() {
    let spec = one(&with(
        "    captures: [nino]\n    parameter_choices: {ui_locales: [nb, nn, en, se], prompt: [login]}\n",
    ));
    assert_eq!(spec.captures, [Capture::Nino]);
    let choices: Vec<(&str, Vec<&str>)> = spec
        .parameter_choices
        .iter()
        .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        choices,
        [
            ("prompt", vec!["login"]),
            ("ui_locales", vec!["nb", "nn", "en", "se"])
        ]
    );
}

#[test]
fn an_identifier_emsg_does_not_capture_is_refused_with_a_suggestion() {
    refused(
        &with("    captures: [nino, nimo]\n"),
        10,
        22,
        "captures[1]",
        "`nimo` is not an identifier emsg captures; did you mean `nino`? it captures: nino",
    );
}

#[test]
fn an_identifier_listed_twice_is_refused() {
    refused(
        &with("    captures: [nino, nino]\n"),
        10,
        22,
        "captures[1]",
        "`nino` is listed twice in `captures`; keep one",
    );
}

#[test]
fn captures_written_as_a_single_word_are_refused_showing_the_list_form() {
    refused(
        &with("    captures: nino\n"),
        10,
        15,
        "captures",
        "`captures` must be a list of identifiers, e.g. `[nino]`, or `[]`; not the string \"nino\"",
    );
}

#[test]
fn a_parameter_offering_no_choice_is_refused() {
    refused(
        &with("    parameter_choices:\n      ui_locales: []\n"),
        11,
        19,
        "parameter_choices.ui_locales",
        "offers no value; list at least one, or remove `ui_locales`",
    );
}

#[test]
fn a_choice_offered_twice_or_with_spaces_is_refused_at_the_value() {
    refused(
        &with("    parameter_choices: {ui_locales: [nb, en, nb]}\n"),
        10,
        46,
        "parameter_choices.ui_locales[2]",
        "`nb` is offered twice for `ui_locales`; keep one",
    );
    refused(
        &with("    parameter_choices: {ui_locales: [nb, \"nb nn\"]}\n"),
        10,
        42,
        "parameter_choices.ui_locales[1]",
        "is empty or contains spaces; each value is one choice",
    );
}

#[test]
fn choices_written_as_a_single_value_are_refused_showing_the_list_form() {
    refused(
        &with("    parameter_choices: {ui_locales: nb}\n"),
        10,
        37,
        "parameter_choices.ui_locales",
        "must be a list of values such as `[nb, nn, en, se]`",
    );
}

#[test]
fn choices_for_a_parameter_the_engine_sends_itself_are_refused() {
    refused(
        &with("    parameter_choices:\n      state: [a, b]\n"),
        11,
        7,
        "parameter_choices.state",
        "`state` is sent by the engine itself",
    );
}

#[test]
fn a_misspelt_new_key_is_matched_to_it() {
    refused(
        &with("    capture: [nino]\n"),
        10,
        5,
        "capture",
        "did you mean `captures`?",
    );
}

#[test]
fn an_exchange_record_may_not_capture_or_offer_choices() {
    let text = "web_applications:
  - name: Source
    base_url: https://a.example
    authorization_url: https://a.example/authorize
    token_url: https://a.example/token
    redirect_url: https://erp.example/cb
    client_id: id
    client_secret: null
    scope: openid
  - name: Exchanged
    base_url: https://b.example
    exchange: {source: Source, url: https://b.example/exchange}
    captures: [nino]
    parameter_choices: {ui_locales: [nb]}
";
    let errors = errors(text);
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "f.yaml:13:5: web_applications[1].captures: exchange-type records get their token \
             from the source record; remove `captures`",
            "f.yaml:14:5: web_applications[1].parameter_choices: exchange-type records get \
             their token from the source record; remove `parameter_choices`",
        ]
    );
}

#[test]
fn captures_and_choices_come_back_from_an_export() {
    let spec = one(&with(
        "    captures: [nino]\n    parameter_choices: {ui_locales: [nb, nn, en, se]}\n",
    ));
    let text = export(std::slice::from_ref(&spec));
    assert!(text.contains("    captures: [nino]\n"), "{text}");
    assert!(
        text.contains("    parameter_choices:\n      ui_locales: [nb, nn, en, se]\n"),
        "{text}"
    );
    assert_eq!(one(&text), spec);
}

#[test]
fn an_export_writes_every_declared_key_the_record_kind_has() {
    let spec = one(RECORD);
    let text = export(std::slice::from_ref(&spec));
    for key in KEYS.iter().filter(|key| key.is_for(Kind::OAuth)) {
        let line = if key.name == "name" {
            "  - name: ".to_owned()
        } else {
            format!("\n    {}:", key.name)
        };
        assert!(text.contains(&line), "{}: {text}", key.name);
    }
    assert!(!text.contains("exchange"), "{text}");
}

#[test]
fn a_change_of_captures_or_choices_is_named_as_a_change() {
    let old = one(RECORD);
    let new = one(&with(
        "    captures: [nino]\n    parameter_choices: {ui_locales: [nb]}\n",
    ));
    assert_eq!(
        changed_fields(&old, &new),
        ["parameter_choices", "captures"]
    );
}
