//! Export writes records that parse back to themselves, and never writes a secret.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use emsg_seal::Secret;
use emsg_webapps::{
    Capture, ClientAuth, Exchange, Lifetime, SecretSource, ValueSource, WebApplicationSpec, export,
    parse,
};

fn lifetime(text: &str) -> Lifetime {
    Lifetime::parse(text).unwrap()
}

fn hmrc() -> WebApplicationSpec {
    WebApplicationSpec {
        name: "HMRC VAT".into(),
        description: "Making Tax Digital for VAT".into(),
        base_url: "https://api.service.hmrc.gov.uk".into(),
        authorization_url: Some("https://www.tax.service.gov.uk/oauth/authorize".into()),
        token_url: Some("https://api.service.hmrc.gov.uk/oauth/token".into()),
        revocation_url: None,
        redirect_url: Some("http://127.0.0.1:8080/oauth/callback".into()),
        client_id: ValueSource::Env {
            var: "HMRC_VAT_CLIENT_ID".into(),
        },
        client_secret: SecretSource::Env {
            var: "HMRC_VAT_CLIENT_SECRET".into(),
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
    }
}

/// Records whose strings YAML would misread if written naively.
fn tricky() -> Vec<WebApplicationSpec> {
    let mut params = BTreeMap::new();
    params.insert("ui_locales".to_owned(), "nb nn".to_owned());
    params.insert(
        "acr_values".to_owned(),
        "idporten-loa-substantial".to_owned(),
    );
    params.insert(
        "claims".to_owned(),
        r#"{"userinfo": {"pid": null}}"#.to_owned(),
    );
    params.insert("prompt".to_owned(), "true".to_owned());
    params.insert("empty".to_owned(), String::new());
    params.insert("max_age".to_owned(), "3600".to_owned());
    params.insert("#k".to_owned(), "#not a comment".to_owned());
    params.insert("true".to_owned(), "a: b".to_owned());
    params.insert("1".to_owned(), "null".to_owned());
    let mut choices = BTreeMap::new();
    choices.insert(
        "ui_locales".to_owned(),
        vec![
            "nb".to_owned(),
            "nn".to_owned(),
            "en".to_owned(),
            "se".to_owned(),
        ],
    );
    choices.insert(
        "#k".to_owned(),
        [
            "a,b", "a:b", "[x]", "{y}", "#c", "null", "true", "12", "ÆØÅ",
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    let idporten = WebApplicationSpec {
        name: "NO ID-Porten: test # 2".into(),
        description: "line one\nline two: \"quoted\" and 'single'\ttab".into(),
        base_url: "https://test.idporten.no".into(),
        authorization_url: Some("https://login.test.idporten.no/authorize?x=1&y=2".into()),
        token_url: Some("https://test.idporten.no/token".into()),
        revocation_url: Some("https://test.idporten.no/revoke".into()),
        redirect_url: Some("urn:ietf:wg:oauth:2.0:oob".into()),
        client_id: ValueSource::Inline("12345".into()),
        client_secret: SecretSource::Env { var: "TRUE".into() },
        scope: "openid skatteetaten:mvameldingvalidering".into(),
        authorization_params: params,
        parameter_choices: choices,
        client_auth: ClientAuth::ClientSecretBasic,
        pkce: false,
        accept: None,
        content_type: Some("application/x-www-form-urlencoded; charset=utf-8".into()),
        code_lifetime: lifetime("90s"),
        authorization_lifetime: Some(lifetime("5400s")),
        user_specific: true,
        obtain_token_on_callback: true,
        captures: vec![Capture::Nino],
        rate_limit: None,
        issuer: Some("https://test.idporten.no".into()),
        exchange: None,
    };
    let mut names = Vec::new();
    for (i, name) in [
        "null",
        "true",
        "123",
        "- dash",
        "@home",
        "~",
        "Skatteetaten – MVA ÆØÅ",
    ]
    .into_iter()
    .enumerate()
    {
        let mut app = hmrc();
        app.name = name.into();
        app.description = String::new();
        app.client_id = if i % 2 == 0 {
            ValueSource::Unset
        } else {
            ValueSource::Inline("null".into())
        };
        app.client_secret = SecretSource::Unset;
        app.accept = None;
        app.content_type = None;
        app.code_lifetime = lifetime("1h");
        app.authorization_lifetime = None;
        names.push(app);
    }
    let altinn = WebApplicationSpec {
        name: "NO Altinn test".into(),
        description: "exchanged".into(),
        base_url: "https://platform.tt02.altinn.no".into(),
        scope: "altinn:instances.read".into(),
        accept: Some("application/json".into()),
        content_type: None,
        user_specific: true,
        authorization_lifetime: Some(lifetime("365d")),
        exchange: Some(Exchange {
            source: "NO ID-Porten: test # 2".into(),
            url: "https://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten".into(),
        }),
        ..exchange_defaults()
    };
    let mut all = vec![hmrc(), idporten, altinn];
    all.extend(names);
    all
}

/// What parsing gives an exchange record for the fields it may not have.
fn exchange_defaults() -> WebApplicationSpec {
    WebApplicationSpec {
        authorization_url: None,
        token_url: None,
        revocation_url: None,
        redirect_url: None,
        client_id: ValueSource::Unset,
        client_secret: SecretSource::Unset,
        authorization_params: BTreeMap::new(),
        parameter_choices: BTreeMap::new(),
        client_auth: ClientAuth::ClientSecretPost,
        pkce: true,
        code_lifetime: lifetime("10m"),
        obtain_token_on_callback: false,
        captures: Vec::new(),
        rate_limit: None,
        issuer: None,
        ..hmrc()
    }
}

#[test]
fn export_then_parse_gives_back_the_same_records_including_tricky_strings() {
    let apps = tricky();
    let text = export(&apps);
    let parsed = parse("export.yaml", &text).unwrap_or_else(|e| panic!("{e}\n---\n{text}"));
    assert_eq!(parsed.applications, apps, "\n{text}");
}

#[test]
fn an_empty_export_parses_to_no_records() {
    let text = export(&[]);
    assert!(parse("export.yaml", &text).unwrap().applications.is_empty());
}

#[test]
fn inline_secrets_are_exported_as_null_and_come_back_unset() {
    let mut app = hmrc();
    app.client_secret = SecretSource::Inline(Secret::new("hunter2-do-not-export"));
    app.client_id = ValueSource::Inline("visible-client-id".into());
    let text = export(std::slice::from_ref(&app));
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("client_id: visible-client-id\n"), "{text}");
    assert!(
        text.contains("client_secret: null  # set on the admin page\n"),
        "{text}"
    );
    let parsed = parse("export.yaml", &text).unwrap();
    app.client_secret = SecretSource::Unset;
    assert_eq!(parsed.applications, [app]);
}

#[test]
fn an_oauth_record_is_exported_with_every_key_in_the_order_of_the_format() {
    let expected = "\
# Web applications. Client secrets are never exported.
web_applications:
  - name: HMRC VAT
    description: Making Tax Digital for VAT
    base_url: https://api.service.hmrc.gov.uk
    authorization_url: https://www.tax.service.gov.uk/oauth/authorize
    token_url: https://api.service.hmrc.gov.uk/oauth/token
    revocation_url: null
    redirect_url: http://127.0.0.1:8080/oauth/callback
    client_id: {env: HMRC_VAT_CLIENT_ID}
    client_secret: {env: HMRC_VAT_CLIENT_SECRET}
    scope: read:vat write:vat
    authorization_params: {}
    parameter_choices: {}
    client_auth: client_secret_post
    pkce: true
    accept: application/vnd.hmrc.1.0+json
    content_type: application/json
    code_lifetime: 10m
    authorization_lifetime: 548d
    user_specific: false
    obtain_token_on_callback: false
    captures: []
    rate_limit: null
    issuer: null
";
    assert_eq!(export(&[hmrc()]), expected);
}

#[test]
fn an_exchange_record_is_exported_with_only_the_keys_it_may_have() {
    let apps = tricky();
    let text = export(&apps[2..3]);
    let expected = "\
# Web applications. Client secrets are never exported.
web_applications:
  - name: NO Altinn test
    description: exchanged
    base_url: https://platform.tt02.altinn.no
    exchange:
      source: \"NO ID-Porten: test # 2\"
      url: https://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten
    scope: altinn:instances.read
    accept: application/json
    content_type: null
    authorization_lifetime: 365d
    user_specific: true
    rate_limit: null
    issuer: null
";
    assert_eq!(text, expected);
}
