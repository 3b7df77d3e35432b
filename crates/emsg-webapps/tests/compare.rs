//! `changed_fields` names exactly the keys that differ, and never compares secret values.
#![allow(clippy::unwrap_used)]

use emsg_seal::Secret;
use emsg_webapps::{Exchange, SecretSource, WebApplicationSpec, changed_fields, parse};

fn hmrc() -> WebApplicationSpec {
    let text = "web_applications:\n  - name: HMRC VAT\n    base_url: https://api.service.hmrc.gov.uk\n    \
                authorization_url: https://www.tax.service.gov.uk/oauth/authorize\n    \
                token_url: https://api.service.hmrc.gov.uk/oauth/token\n    \
                redirect_url: https://erp.example/oauth/callback\n    client_id: abc\n    \
                client_secret: {env: HMRC_SECRET}\n    scope: read:vat write:vat\n";
    parse("f.yaml", text).unwrap().applications.remove(0)
}

#[test]
fn identical_records_have_no_changed_fields() {
    assert!(changed_fields(&hmrc(), &hmrc()).is_empty());
}

#[test]
fn exactly_the_changed_keys_are_named_in_the_order_of_the_format() {
    let old = hmrc();
    let mut new = hmrc();
    new.pkce = false;
    new.scope = "read:vat".into();
    new.authorization_params
        .insert("ui_locales".into(), "en".into());
    new.token_url = Some("https://test-api.service.hmrc.gov.uk/oauth/token".into());
    new.authorization_lifetime = None;
    new.exchange = Some(Exchange {
        source: "x".into(),
        url: "https://x.example".into(),
    });
    assert_eq!(
        changed_fields(&old, &new),
        [
            "token_url",
            "scope",
            "authorization_params",
            "pkce",
            "exchange"
        ]
    );
}

#[test]
fn two_different_inline_secrets_do_not_count_as_a_change() {
    let mut old = hmrc();
    let mut new = hmrc();
    old.client_secret = SecretSource::Inline(Secret::new("one"));
    new.client_secret = SecretSource::Inline(Secret::new("two"));
    assert!(changed_fields(&old, &new).is_empty());
}

#[test]
fn a_change_of_secret_source_or_variable_counts_as_a_change() {
    let old = hmrc();
    let mut inline = hmrc();
    inline.client_secret = SecretSource::Inline(Secret::new("one"));
    assert_eq!(changed_fields(&old, &inline), ["client_secret"]);
    let mut other_var = hmrc();
    other_var.client_secret = SecretSource::Env {
        var: "OTHER".into(),
    };
    assert_eq!(changed_fields(&old, &other_var), ["client_secret"]);
    let mut unset = hmrc();
    unset.client_secret = SecretSource::Unset;
    assert_eq!(changed_fields(&inline, &unset), ["client_secret"]);
}

#[test]
fn every_key_is_compared() {
    let old = hmrc();
    let text = "web_applications:\n  - name: Other\n    description: d\n    base_url: https://b.example\n    \
                authorization_url: https://b.example/a\n    token_url: https://b.example/t\n    \
                revocation_url: https://b.example/r\n    redirect_url: https://b.example/cb\n    \
                client_id: other\n    client_secret: null\n    scope: other\n    \
                authorization_params: {x: y}\n    client_auth: client_secret_basic\n    pkce: false\n    \
                accept: a/b\n    content_type: c/d\n    code_lifetime: 5m\n    authorization_lifetime: 1d\n    \
                user_specific: true\n    obtain_token_on_callback: true\n    issuer: https://b.example\n";
    let mut new = parse("f.yaml", text).unwrap().applications.remove(0);
    new.exchange = Some(Exchange {
        source: "s".into(),
        url: "https://b.example/x".into(),
    });
    assert_eq!(changed_fields(&old, &new).len(), 21);
}
