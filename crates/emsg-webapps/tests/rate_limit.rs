//! `rate_limit`: the requests a second a provider allows an application. A number (or the
//! edit form's text of one) from 1 to 1000; anything else is refused at its value, and the
//! export writes it back so that it imports again.
#![allow(clippy::unwrap_used)]

use emsg_webapps::{ImportError, export, parse};

const RECORD: &str = "web_applications:
  - name: HMRC VAT
    base_url: https://api.service.hmrc.gov.uk
    authorization_url: https://www.tax.service.gov.uk/oauth/authorize
    token_url: https://api.service.hmrc.gov.uk/oauth/token
    redirect_url: https://erp.example/oauth/callback
    client_id: {env: HMRC_VAT_CLIENT_ID}
    client_secret: null
    scope: read:vat write:vat
";

fn limit(lines: &str) -> Result<Option<u32>, Vec<ImportError>> {
    parse("f.yaml", &format!("{RECORD}{lines}"))
        .map(|mut parsed| parsed.applications.remove(0).rate_limit)
        .map_err(|e| e.0)
}

#[test]
fn a_limit_is_a_number_of_requests_a_second_and_none_means_no_limit() {
    assert_eq!(limit("").unwrap(), None);
    assert_eq!(limit("    rate_limit: null\n").unwrap(), None);
    assert_eq!(limit("    rate_limit: 3\n").unwrap(), Some(3));
    assert_eq!(
        limit("    rate_limit: \"3\"\n").unwrap(),
        Some(3),
        "the edit form's text"
    );
    assert_eq!(limit("    rate_limit: 1000\n").unwrap(), Some(1000));
}

#[test]
fn a_limit_outside_1_to_1000_or_not_a_number_is_refused_at_its_value() {
    for (written, says) in [
        (
            "0",
            "`rate_limit` is 0; write the requests a second the provider allows, 1 to 1000",
        ),
        ("1001", "`rate_limit` is 1001"),
        (
            "-3",
            "`rate_limit` must be a number of requests a second, e.g. `3`, not",
        ),
        ("2.5", "`rate_limit` must be a number of requests a second"),
        (
            "three",
            "`rate_limit` must be a number of requests a second, e.g. `3`, not the string \"three\"",
        ),
    ] {
        let errors = limit(&format!("    rate_limit: {written}\n")).unwrap_err();
        assert_eq!(errors.len(), 1, "{written}: {errors:?}");
        let error = &errors[0];
        assert_eq!(
            (error.line, error.column, error.path.as_str()),
            (10, 17, "web_applications[0].rate_limit"),
            "{written}: {error}"
        );
        assert!(error.message.contains(says), "{written}: {error}");
    }
}

#[test]
fn an_exported_limit_imports_again() {
    let parsed = parse("f.yaml", &format!("{RECORD}    rate_limit: 3\n")).unwrap();
    let text = export(&parsed.applications);
    assert!(text.contains("    rate_limit: 3\n"), "{text}");
    let again = parse("f.yaml", &text).unwrap();
    assert_eq!(again.applications[0].rate_limit, Some(3));
}
