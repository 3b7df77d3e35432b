//! Each malformed input is refused with an error that names the file, line, column, field path
//! and what to do.
#![allow(clippy::unwrap_used)]

use emsg_webapps::{ImportError, MAX_FILE_BYTES, parse, parse_bytes};

const FILE: &str = "web-apps.yaml";

/// A valid one-record file, one field per line: `name` is on line 2, `scope` on line 9.
struct Doc(Vec<String>);

impl Doc {
    fn new() -> Self {
        let lines = [
            "web_applications:",
            "  - name: HMRC VAT",
            "    base_url: https://api.service.hmrc.gov.uk",
            "    authorization_url: https://www.tax.service.gov.uk/oauth/authorize",
            "    token_url: https://api.service.hmrc.gov.uk/oauth/token",
            "    redirect_url: https://erp.example/oauth/callback",
            "    client_id: {env: HMRC_VAT_CLIENT_ID}",
            "    client_secret: {env: HMRC_VAT_CLIENT_SECRET}",
            "    scope: read:vat write:vat",
        ];
        Doc(lines.iter().map(|l| l.to_string()).collect())
    }

    fn position(&self, key: &str) -> Option<usize> {
        let prefix = format!("{key}:");
        self.0
            .iter()
            .position(|l| l.trim_start_matches(['-', ' ']).starts_with(&prefix))
    }

    /// Replaces the value of `key` in place (keeping the `- ` of the first field).
    fn set(mut self, key: &str, value: &str) -> Self {
        let i = self.position(key).unwrap();
        let lead = if self.0[i].starts_with("  - ") {
            "  - "
        } else {
            "    "
        };
        self.0[i] = format!("{lead}{key}: {value}");
        self
    }

    fn remove(mut self, key: &str) -> Self {
        let i = self.position(key).unwrap();
        if self.0[i].starts_with("  - ") {
            self.0[i + 1].replace_range(2..4, "- ");
        }
        self.0.remove(i);
        self
    }

    fn push(mut self, line: &str) -> Self {
        self.0.push(line.to_owned());
        self
    }

    fn text(&self) -> String {
        self.0.join("\n") + "\n"
    }
}

fn errors(text: &str) -> Vec<ImportError> {
    parse(FILE, text).err().map(|e| e.0).unwrap_or_default()
}

/// Asserts that `errors` is exactly one error at that place, saying `fragment`.
#[track_caller]
fn assert_single(errors: &[ImportError], line: u32, column: u32, path: &str, fragment: &str) {
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors.len(),
        1,
        "expected one error, got:\n{}",
        shown.join("\n")
    );
    let error = &errors[0];
    assert_eq!(
        (
            error.file.as_str(),
            error.line,
            error.column,
            error.path.as_str()
        ),
        (FILE, line, column, path),
        "{error}"
    );
    assert!(
        error.message.contains(fragment),
        "`{fragment}` not in: {error}"
    );
}

#[track_caller]
fn assert_refused(text: &str, line: u32, column: u32, path: &str, fragment: &str) {
    assert_single(&errors(text), line, column, path, fragment);
}

const NAME: &str = "web_applications[0].name";

fn at(key: &str) -> String {
    format!("web_applications[0].{key}")
}

#[test]
fn a_yaml_syntax_error_is_reported_where_the_parser_stopped() {
    let text = "web_applications:\n  - name: HMRC VAT\n    scope: [read:vat\n";
    let errors = errors(text);
    assert_single(
        &errors,
        4,
        1,
        "(file)",
        "YAML syntax error: did not find expected ',' or ']'",
    );
    // The position is given once, in front; the place where the list began stays in the text.
    assert!(
        !errors[0].message.contains("line 4 column 1"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0]
            .message
            .contains("flow sequence at line 3 column 12"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_top_level_that_is_not_a_mapping_is_refused() {
    assert_refused(
        "- name: x\n",
        1,
        1,
        "(top level)",
        "must be a mapping with the key `web_applications`",
    );
}

#[test]
fn an_empty_file_is_refused() {
    assert_refused("# nothing\n", 1, 1, "(top level)", "the file is empty");
}

#[test]
fn a_file_without_web_applications_is_refused() {
    assert_refused("{}\n", 1, 1, "(top level)", "missing `web_applications`");
}

#[test]
fn an_unknown_top_level_key_is_refused_naming_the_accepted_key() {
    let text = "web_applications: []\nwebservices: []\n";
    assert_refused(
        text,
        2,
        1,
        "webservices",
        "the accepted keys are `web_applications`, `web_services` and `processings`",
    );
}

#[test]
fn web_applications_that_is_not_a_list_is_refused() {
    assert_refused(
        "web_applications:\n  name: x\n",
        2,
        3,
        "web_applications",
        "must be a list of records",
    );
}

#[test]
fn a_record_that_is_not_a_mapping_is_refused() {
    assert_refused(
        "web_applications:\n  - just a string\n",
        2,
        5,
        "web_applications[0]",
        "each record must be a mapping",
    );
}

#[test]
fn an_unknown_field_is_refused_listing_the_accepted_keys() {
    let text = Doc::new().push("    colour: blue").text();
    assert_refused(
        &text,
        10,
        5,
        &at("colour"),
        "unknown key `colour`; accepted keys are: name, description, base_url",
    );
}

#[test]
fn a_misspelt_field_is_refused_suggesting_the_right_one() {
    let text = Doc::new()
        .remove("token_url")
        .push("    tokne_url: https://a.example/token")
        .text();
    let errors = errors(&text);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!((errors[1].line, errors[1].column), (9, 5));
    assert!(
        errors[1].message.contains("did you mean `token_url`?"),
        "{}",
        errors[1]
    );
}

#[test]
fn a_record_without_a_name_is_refused_at_the_record() {
    let text = Doc::new().remove("name").text();
    assert_refused(&text, 2, 5, NAME, "missing `name`");
}

#[test]
fn a_record_without_base_url_is_refused() {
    let text = Doc::new().remove("base_url").text();
    assert_refused(&text, 2, 5, &at("base_url"), "missing `base_url`");
}

#[test]
fn an_oauth_record_without_token_url_is_refused() {
    let text = Doc::new().remove("token_url").text();
    assert_refused(&text, 2, 5, &at("token_url"), "missing `token_url`");
}

#[test]
fn a_malformed_url_is_refused() {
    let text = Doc::new().set("token_url", "not a url").text();
    assert_refused(&text, 5, 16, &at("token_url"), "spaces");
    let text = Doc::new().set("token_url", "oauth/token").text();
    assert_refused(
        &text,
        5,
        16,
        &at("token_url"),
        "is not a valid absolute URL",
    );
}

#[test]
fn plain_http_to_a_host_other_than_this_machine_is_refused() {
    let text = Doc::new()
        .set("token_url", "http://api.service.hmrc.gov.uk/oauth/token")
        .text();
    assert_refused(&text, 5, 16, &at("token_url"), "uses plain http; use https");
}

#[test]
fn an_ftp_url_is_refused() {
    let text = Doc::new()
        .set("base_url", "ftp://api.service.hmrc.gov.uk")
        .text();
    assert_refused(&text, 3, 15, &at("base_url"), "has the scheme `ftp`");
}

#[test]
fn a_url_with_a_user_and_password_is_refused_without_repeating_them() {
    let text = Doc::new()
        .set(
            "authorization_url",
            "https://user:hunter2@www.tax.service.gov.uk/oauth/authorize",
        )
        .text();
    let errors = errors(&text);
    assert_single(
        &errors,
        4,
        24,
        &at("authorization_url"),
        "user name or password",
    );
    assert!(!errors[0].to_string().contains("hunter2"));
}

#[test]
fn a_url_with_a_fragment_is_refused() {
    let text = Doc::new()
        .set("redirect_url", "https://erp.example/oauth/callback#top")
        .text();
    assert_refused(&text, 6, 19, &at("redirect_url"), "has a fragment");
}

#[test]
fn a_redirect_url_that_is_neither_a_url_nor_the_oob_urn_is_refused() {
    let text = Doc::new().set("redirect_url", "callback").text();
    let errors = errors(&text);
    assert_single(
        &errors,
        6,
        19,
        &at("redirect_url"),
        "not a valid absolute URL",
    );
    assert!(
        errors[0].message.contains("urn:ietf:wg:oauth:2.0:oob"),
        "{}",
        errors[0]
    );
}

#[test]
fn an_empty_scope_is_refused() {
    let text = Doc::new().set("scope", "\"  \"").text();
    assert_refused(&text, 9, 12, &at("scope"), "the scope is empty");
}

#[test]
fn a_blank_name_is_refused() {
    let text = Doc::new().set("name", "\" \"").text();
    assert_refused(&text, 2, 11, NAME, "the name is blank");
}

#[test]
fn a_name_with_a_control_character_is_refused() {
    let text = Doc::new().set("name", "\"HMRC\\tVAT\"").text();
    assert_refused(&text, 2, 11, NAME, "control character");
}

#[test]
fn a_name_made_only_of_dots_is_refused() {
    for dots in ["\".\"", "\"..\""] {
        let text = Doc::new().set("name", dots).text();
        assert_refused(&text, 2, 11, NAME, "made only of dots");
    }
}

#[test]
fn a_name_with_surrounding_spaces_or_over_100_characters_is_refused() {
    let text = Doc::new().set("name", "\"HMRC VAT \"").text();
    assert_refused(&text, 2, 11, NAME, "leading or trailing spaces");
    let long = "x".repeat(101);
    let text = Doc::new().set("name", &long).text();
    assert_refused(&text, 2, 11, NAME, "longer than 100 characters");
    let text = Doc::new().set("name", &"x".repeat(100)).text();
    assert!(parse(FILE, &text).is_ok());
}

#[test]
fn a_duplicate_name_is_refused_at_the_second_record_naming_the_first_line() {
    let second = Doc::new().0[1..].join("\n").replace("HMRC VAT", "hmrc vat");
    let text = Doc::new().text() + &second + "\n";
    assert_refused(
        &text,
        10,
        11,
        "web_applications[1].name",
        "duplicate name `hmrc vat`: line 2 already names a web application `HMRC VAT`",
    );
}

fn with_altinn(exchange: &str) -> String {
    Doc::new().text()
        + "  - name: NO Altinn\n    base_url: https://platform.altinn.no\n    exchange: "
        + exchange
        + "\n"
}

#[test]
fn an_exchange_source_that_does_not_exist_is_refused() {
    let text = with_altinn("{source: NO ID-porten, url: https://platform.altinn.no/x}");
    assert_refused(
        &text,
        12,
        24,
        "web_applications[1].exchange.source",
        "no web application named `NO ID-porten` in this file",
    );
}

#[test]
fn an_exchange_source_differing_only_in_case_is_refused_with_a_suggestion() {
    let text = with_altinn("{source: hmrc vat, url: https://platform.altinn.no/x}");
    assert_refused(
        &text,
        12,
        24,
        "web_applications[1].exchange.source",
        "did you mean `HMRC VAT`?",
    );
}

#[test]
fn an_exchange_source_that_is_itself_an_exchange_record_is_refused() {
    let text = with_altinn("{source: HMRC VAT, url: https://platform.altinn.no/x}")
        + "  - name: Chained\n    base_url: https://platform.altinn.no\n    exchange: {source: NO Altinn, url: https://platform.altinn.no/y}\n";
    assert_refused(
        &text,
        15,
        24,
        "web_applications[2].exchange.source",
        "`NO Altinn` is itself an exchange-type record",
    );
}

#[test]
fn an_exchange_record_cannot_be_its_own_source() {
    let text = with_altinn("{source: NO Altinn, url: https://platform.altinn.no/x}");
    assert_refused(
        &text,
        12,
        24,
        "web_applications[1].exchange.source",
        "cannot be its own exchange source",
    );
}

#[test]
fn an_exchange_record_with_token_url_is_refused() {
    let text = with_altinn("{source: HMRC VAT, url: https://platform.altinn.no/x}")
        + "    token_url: https://platform.altinn.no/token\n";
    assert_refused(
        &text,
        13,
        5,
        "web_applications[1].token_url",
        "exchange-type records get their token from the source record; remove `token_url`",
    );
}

#[test]
fn an_exchange_without_url_is_refused() {
    let text = with_altinn("{source: HMRC VAT}");
    assert_refused(
        &text,
        12,
        15,
        "web_applications[1].exchange.url",
        "missing `exchange.url`",
    );
}

#[test]
fn a_duration_in_words_is_refused_naming_the_accepted_forms() {
    let text = Doc::new().push("    code_lifetime: 10 minutes").text();
    assert_refused(
        &text,
        10,
        20,
        &at("code_lifetime"),
        "e.g. `90s`, `10m`, `4h` or `365d`",
    );
}

#[test]
fn a_zero_or_negative_duration_is_refused() {
    let text = Doc::new().push("    code_lifetime: 0m").text();
    assert_refused(&text, 10, 20, &at("code_lifetime"), "at least one second");
    let text = Doc::new().push("    authorization_lifetime: -5m").text();
    assert_refused(
        &text,
        10,
        29,
        &at("authorization_lifetime"),
        "is not a duration",
    );
}

#[test]
fn a_code_lifetime_over_one_hour_is_refused() {
    let text = Doc::new().push("    code_lifetime: 2h").text();
    assert_refused(&text, 10, 20, &at("code_lifetime"), "between 1m and 1h");
}

#[test]
fn a_duration_written_as_a_number_is_refused() {
    let text = Doc::new().push("    authorization_lifetime: 600").text();
    assert_refused(
        &text,
        10,
        29,
        &at("authorization_lifetime"),
        "not the number `600`",
    );
}

#[test]
fn an_unknown_client_auth_is_refused() {
    let text = Doc::new().push("    client_auth: private_key_jwt").text();
    assert_refused(
        &text,
        10,
        18,
        &at("client_auth"),
        "write `client_secret_post` or `client_secret_basic`",
    );
}

#[test]
fn a_quoted_yes_for_pkce_is_refused_not_converted() {
    let text = Doc::new().push("    pkce: \"yes\"").text();
    assert_refused(
        &text,
        10,
        11,
        &at("pkce"),
        "must be `true` or `false` (without quotes), not the string \"yes\"",
    );
}

#[test]
fn an_authorization_param_with_a_number_value_is_refused() {
    let text = Doc::new()
        .push("    authorization_params: {ui_locales: en, max_age: 3600}")
        .text();
    assert_refused(
        &text,
        10,
        53,
        &at("authorization_params.max_age"),
        "must be a string, not the number `3600`",
    );
}

#[test]
fn an_authorization_param_the_engine_sends_itself_is_refused() {
    let text = Doc::new()
        .push("    authorization_params:\n      state: fixed")
        .text();
    assert_refused(
        &text,
        11,
        7,
        &at("authorization_params.state"),
        "sent by the engine itself",
    );
}

#[test]
fn a_client_secret_from_an_unknown_source_is_refused_naming_the_accepted_forms() {
    let text = Doc::new().set("client_secret", "{vault: x}").text();
    assert_refused(
        &text,
        8,
        20,
        &at("client_secret"),
        "exactly the key `env`, not `vault`; write the value as a string, `{env: VARIABLE_NAME}`",
    );
}

#[test]
fn a_client_secret_from_an_empty_env_name_is_refused() {
    let text = Doc::new().set("client_secret", "{env: \"\"}").text();
    assert_refused(&text, 8, 20, &at("client_secret"), "empty variable name");
}

#[test]
fn an_invalid_environment_variable_name_is_refused() {
    let text = Doc::new().set("client_id", "{env: 1HMRC-ID}").text();
    assert_refused(
        &text,
        7,
        16,
        &at("client_id"),
        "does not name a valid environment variable",
    );
}

#[test]
fn a_client_id_written_as_a_number_is_refused() {
    let text = Doc::new().set("client_id", "12345").text();
    assert_refused(&text, 7, 16, &at("client_id"), "put the value in quotes");
}

#[test]
fn an_oauth_record_without_the_client_secret_key_is_refused() {
    let text = Doc::new().remove("client_secret").text();
    assert_refused(
        &text,
        2,
        5,
        &at("client_secret"),
        "write `client_secret: null` to type it on the admin page",
    );
}

#[test]
fn a_duplicate_key_in_a_record_is_refused_naming_the_first_line() {
    let text = Doc::new().push("    scope: read:vat").text();
    assert_refused(
        &text,
        10,
        5,
        &at("scope"),
        "duplicate key `scope`: it is already set on line 9",
    );
}

#[test]
fn every_duplicate_key_is_reported() {
    let text = Doc::new()
        .push("    scope: read:vat")
        .push("    authorization_params: {ui_locales: en, ui_locales: nb}")
        .text();
    let errors = errors(&text);
    let places: Vec<(u32, u32, &str)> = errors
        .iter()
        .map(|e| (e.line, e.column, e.path.as_str()))
        .collect();
    assert_eq!(
        places,
        [
            (10, 5, "web_applications[0].scope"),
            (
                11,
                44,
                "web_applications[0].authorization_params.ui_locales"
            )
        ]
    );
}

#[test]
fn an_empty_accept_header_is_refused() {
    let text = Doc::new().push("    accept: \"\"").text();
    assert_refused(&text, 10, 13, &at("accept"), "`accept` is empty");
}

#[test]
fn a_description_over_1000_characters_is_refused() {
    let text = Doc::new()
        .push(&format!("    description: {}", "d".repeat(1001)))
        .text();
    assert_refused(
        &text,
        10,
        18,
        &at("description"),
        "longer than 1000 characters",
    );
}

#[test]
fn a_file_over_the_size_limit_is_refused_saying_the_size_and_the_limit() {
    let mut bytes = Doc::new().text().into_bytes();
    bytes.resize(MAX_FILE_BYTES + 1, b' ');
    let errors = parse_bytes(FILE, &bytes).err().unwrap().0;
    assert_single(
        &errors,
        1,
        1,
        "(file)",
        "the file is 16777217 bytes; the limit is 16777216 bytes",
    );
    let text = String::from_utf8(bytes).unwrap();
    assert_single(
        &parse(FILE, &text).err().unwrap().0,
        1,
        1,
        "(file)",
        "the limit is 16777216 bytes",
    );
}

#[test]
fn a_file_that_is_not_utf8_is_refused_at_the_bad_byte() {
    let bytes = b"web_applications:\n  - name: HMRC \xff VAT\n";
    let errors = parse_bytes(FILE, bytes).err().unwrap().0;
    assert_single(&errors, 2, 16, "(file)", "not valid UTF-8");
}

#[test]
fn the_display_of_an_error_is_file_line_column_path_message() {
    let text = Doc::new()
        .set("token_url", "http://example.com/token")
        .text();
    let error = &errors(&text)[0];
    assert!(
        error.to_string().starts_with("web-apps.yaml:5:16: web_applications[0].token_url: `http://example.com/token` uses plain http"),
        "{error}"
    );
}

#[test]
fn several_errors_in_one_file_are_all_reported_in_file_order() {
    let text = "\
web_applications:
  - name: HMRC VAT
    base_url: http://api.service.hmrc.gov.uk
    authorization_url: https://www.tax.service.gov.uk/oauth/authorize
    redirect_url: https://erp.example/oauth/callback
    client_id: null
    client_secret: {vault: hmrc}
    scope: read:vat
    pkce: yes
  - name: NO Altinn
    base_url: https://platform.altinn.no
    exchange: {source: Nowhere, url: https://platform.altinn.no/x}
    client_id: abc
  - name: hmrc vat
    base_url: https://b.example
    authorization_url: https://b.example/a
    token_url: https://b.example/t
    redirect_url: https://b.example/cb
    client_id: x
    client_secret: null
    scope: s
    code_lifetime: 2h
";
    let errors = errors(text);
    let found: Vec<(u32, &str)> = errors.iter().map(|e| (e.line, e.path.as_str())).collect();
    assert_eq!(
        found,
        [
            (2, "web_applications[0].token_url"),
            (3, "web_applications[0].base_url"),
            (7, "web_applications[0].client_secret"),
            (9, "web_applications[0].pkce"),
            (12, "web_applications[1].exchange.source"),
            (13, "web_applications[1].client_id"),
            (14, "web_applications[2].name"),
            (22, "web_applications[2].code_lifetime"),
        ],
        "{}",
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn tabs_used_for_indentation_are_a_syntax_error() {
    let text = "web_applications:\n\t- name: x\n";
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].line, errors[0].path.as_str()), (2, "(file)"));
    assert!(
        errors[0].message.contains("YAML syntax error"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_second_yaml_document_is_refused() {
    let text = "web_applications: []\n---\nweb_applications: []\n";
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].message.contains("more than one document"),
        "{}",
        errors[0]
    );
}

#[test]
fn brackets_nested_thousands_deep_are_refused_before_the_yaml_reader_slows_down() {
    let text = format!(
        "web_applications: {}{}\n",
        "[".repeat(300_000),
        "]".repeat(300_000)
    );
    let started = std::time::Instant::now();
    assert_refused(&text, 1, 83, "(file)", "nested more than 64 deep");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn blocks_nested_thousands_deep_are_refused() {
    let text = format!("web_applications:\n  {}x\n", "- ".repeat(300_000));
    let started = std::time::Instant::now();
    let errors = errors(&text);
    assert_single(&errors, 2, 257, "(file)", "recursion limit exceeded");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn aliases_that_expand_exponentially_are_refused() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 9].join(", ");
        text.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    assert_refused(&text, 1, 1, "(file)", "repetition limit exceeded");
}

#[test]
fn a_byte_order_mark_at_the_start_is_ignored() {
    let bytes = [b"\xef\xbb\xbf".as_slice(), Doc::new().text().as_bytes()].concat();
    assert_eq!(parse_bytes(FILE, &bytes).unwrap().applications.len(), 1);
}

#[test]
fn an_exchange_record_of_a_user_specific_source_must_be_user_specific_too() {
    // One user's ID-porten identity must never become the company's Altinn token.
    let text = with_altinn("{source: HMRC VAT, url: https://platform.altinn.no/x}").replace(
        "    scope: read:vat write:vat\n",
        "    scope: read:vat write:vat\n    user_specific: true\n",
    );
    let shown = errors(&text)
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        shown.contains("web-apps.yaml:13:24: web_applications[1].exchange.source")
            && shown.contains("`HMRC VAT` is user-specific, so `NO Altinn`")
            && shown.contains("add `user_specific: true` to `NO Altinn`"),
        "{shown}"
    );
    let fixed = text + "    user_specific: true\n";
    assert!(emsg_webapps::parse(FILE, &fixed).is_ok());
}
