//! The shipped-style example file parses to the values it says.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use emsg_webapps::{
    ClientAuth, Exchange, Lifetime, SecretSource, ValueSource, WebApplicationSpec, parse,
};

const EXAMPLE: &str = r#"web_applications:
  - name: HMRC VAT sandbox
    description: Making Tax Digital for VAT, HMRC sandbox
    base_url: https://test-api.service.hmrc.gov.uk
    authorization_url: https://test-www.tax.service.gov.uk/oauth/authorize
    token_url: https://test-api.service.hmrc.gov.uk/oauth/token
    revocation_url: null            # optional
    redirect_url: http://127.0.0.1:8080/oauth/callback
    client_id: {env: HMRC_VAT_SANDBOX_CLIENT_ID}
    client_secret: {env: HMRC_VAT_SANDBOX_CLIENT_SECRET}
    scope: read:vat write:vat
    authorization_params: {}        # e.g. {ui_locales: en, acr_values: idporten-loa-substantial}
    client_auth: client_secret_post # or client_secret_basic
    pkce: true
    accept: application/vnd.hmrc.1.0+json
    content_type: application/json
    code_lifetime: 10m
    authorization_lifetime: 548d    # how long the grant lasts before re-authorization
    user_specific: false            # true: each user authorizes for themselves
    obtain_token_on_callback: false # true: the callback obtains the token at once
    issuer: null                    # optional OpenID issuer
  - name: NO ID-Porten test
    base_url: https://test.idporten.no
    authorization_url: https://login.test.idporten.no/authorize
    token_url: https://test.idporten.no/token
    redirect_url: https://erp.example.no/oauth/callback
    client_id: 0a1b2c3d-idporten
    client_secret: null
    scope: openid skatteetaten:mvameldingvalidering skatteetaten:mvameldinginnsending
    authorization_params: {ui_locales: nb, acr_values: idporten-loa-substantial}
    client_auth: client_secret_basic
    authorization_lifetime: 365d
    user_specific: true
    issuer: https://test.idporten.no
  - name: NO Altinn test
    description: Altinn token exchanged from the ID-porten token of the same user
    base_url: https://platform.tt02.altinn.no
    exchange: {source: NO ID-Porten test, url: https://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten}
    user_specific: true
    accept: application/json
"#;

fn lifetime(text: &str) -> Lifetime {
    Lifetime::parse(text).unwrap()
}

#[test]
fn the_hmrc_sandbox_record_parses_to_the_values_written() {
    let parsed = parse("web-apps.yaml", EXAMPLE).unwrap();
    let expected = WebApplicationSpec {
        name: "HMRC VAT sandbox".into(),
        description: "Making Tax Digital for VAT, HMRC sandbox".into(),
        base_url: "https://test-api.service.hmrc.gov.uk".into(),
        authorization_url: Some("https://test-www.tax.service.gov.uk/oauth/authorize".into()),
        token_url: Some("https://test-api.service.hmrc.gov.uk/oauth/token".into()),
        revocation_url: None,
        redirect_url: Some("http://127.0.0.1:8080/oauth/callback".into()),
        client_id: ValueSource::Env {
            var: "HMRC_VAT_SANDBOX_CLIENT_ID".into(),
        },
        client_secret: SecretSource::Env {
            var: "HMRC_VAT_SANDBOX_CLIENT_SECRET".into(),
        },
        scope: "read:vat write:vat".into(),
        authorization_params: BTreeMap::new(),
        parameter_choices: BTreeMap::new(),
        client_auth: ClientAuth::ClientSecretPost,
        pkce: true,
        accept: Some("application/vnd.hmrc.1.0+json".into()),
        content_type: Some("application/json".into()),
        code_lifetime: lifetime("10m"),
        authorization_lifetime: Some(lifetime("548d")),
        user_specific: false,
        obtain_token_on_callback: false,
        captures: Vec::new(),
        rate_limit: None,
        issuer: None,
        exchange: None,
    };
    assert_eq!(parsed.applications[0], expected);
}

#[test]
fn omitted_optional_fields_take_their_defaults() {
    let parsed = parse("web-apps.yaml", EXAMPLE).unwrap();
    let idporten = &parsed.applications[1];
    assert_eq!(idporten.description, "");
    assert_eq!(idporten.revocation_url, None);
    assert_eq!(
        idporten.client_id,
        ValueSource::Inline("0a1b2c3d-idporten".into())
    );
    assert_eq!(idporten.client_secret, SecretSource::Unset);
    assert_eq!(idporten.client_auth, ClientAuth::ClientSecretBasic);
    assert!(idporten.pkce);
    assert_eq!(idporten.accept, None);
    assert_eq!(idporten.content_type, None);
    assert_eq!(idporten.code_lifetime.as_secs(), 600);
    assert_eq!(idporten.authorization_lifetime, Some(lifetime("365d")));
    assert!(idporten.user_specific);
    assert!(!idporten.obtain_token_on_callback);
    assert_eq!(idporten.issuer.as_deref(), Some("https://test.idporten.no"));
    let params: Vec<(&str, &str)> = idporten
        .authorization_params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        params,
        [
            ("acr_values", "idporten-loa-substantial"),
            ("ui_locales", "nb")
        ]
    );
}

#[test]
fn the_altinn_exchange_record_names_its_source_and_keeps_oauth_fields_at_defaults() {
    let parsed = parse("web-apps.yaml", EXAMPLE).unwrap();
    let altinn = &parsed.applications[2];
    assert_eq!(
        altinn.exchange,
        Some(Exchange {
            source: "NO ID-Porten test".into(),
            url: "https://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten".into(),
        })
    );
    assert!(altinn.is_exchange());
    assert_eq!(altinn.scope, "");
    assert_eq!(altinn.token_url, None);
    assert_eq!(altinn.client_id, ValueSource::Unset);
    assert_eq!(altinn.client_secret, SecretSource::Unset);
    assert!(altinn.user_specific);
    assert_eq!(altinn.accept.as_deref(), Some("application/json"));
}

#[test]
fn each_record_knows_the_line_it_starts_on() {
    let parsed = parse("web-apps.yaml", EXAMPLE).unwrap();
    assert_eq!(parsed.lines, [2, 22, 35]);
}

#[test]
fn an_empty_list_is_a_valid_file() {
    let parsed = parse("web-apps.yaml", "web_applications: []\n").unwrap();
    assert!(parsed.applications.is_empty());
}

#[test]
fn the_oob_urn_and_an_inline_secret_are_accepted() {
    let text = "web_applications:\n  - name: Desktop\n    base_url: https://a.example\n    \
                authorization_url: https://a.example/authorize\n    token_url: https://a.example/token\n    \
                redirect_url: urn:ietf:wg:oauth:2.0:oob\n    client_id: ''\n    client_secret: s3cr3t\n    \
                scope: x\n";
    let parsed = parse("f.yaml", text).unwrap();
    let app = &parsed.applications[0];
    assert_eq!(
        app.redirect_url.as_deref(),
        Some("urn:ietf:wg:oauth:2.0:oob")
    );
    assert_eq!(app.client_id, ValueSource::Unset);
    match &app.client_secret {
        SecretSource::Inline(secret) => assert_eq!(secret.expose(), "s3cr3t"),
        other => panic!("expected an inline secret, got {other:?}"),
    }
}

#[test]
fn debug_of_a_record_with_an_inline_secret_does_not_show_the_secret() {
    let text = "web_applications:\n  - name: A\n    base_url: https://a.example\n    \
                authorization_url: https://a.example/authorize\n    token_url: https://a.example/token\n    \
                redirect_url: https://a.example/cb\n    client_id: id\n    client_secret: hunter2-very-secret\n    \
                scope: x\n";
    let parsed = parse("f.yaml", text).unwrap();
    let debug = format!("{:?} {:#?}", parsed.applications[0], parsed);
    assert!(debug.contains("Inline"), "{debug}");
    assert!(!debug.contains("hunter2"), "{debug}");
}
