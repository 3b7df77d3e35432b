//! ID-token verification against a local issuer: signature, claims, algorithms, key rotation,
//! discovery, and what the errors say.

#![allow(clippy::unwrap_used)]

mod support;

use emsg_oidc::{Expectations, IdTokenError, Verifier};
use serde_json::json;
use support::{
    CLIENT_ID, FOREIGN_RSA_KEY, NONCE, P256_KEY, ROTATED_RSA_KEY, RSA_KEY, TestIssuer, b64, claims,
    http_client, now, with,
};

fn expect<'a>(issuer: &'a str) -> Expectations<'a> {
    Expectations {
        issuer,
        client_id: CLIENT_ID,
        nonce: Some(NONCE),
        now: now(),
        leeway_secs: 60,
    }
}

async fn verify(
    issuer: &TestIssuer,
    token: &str,
) -> Result<emsg_oidc::IdTokenClaims, IdTokenError> {
    Verifier::new(http_client())
        .verify(token, &expect(&issuer.issuer))
        .await
}

#[tokio::test]
async fn a_valid_token_is_accepted_with_its_claims() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let claims = claims(&issuer.issuer);
    let token = RSA_KEY.sign("RS256", &claims);
    let verified = verify(&issuer, &token).await.unwrap();
    assert_eq!(verified.issuer, issuer.issuer);
    assert_eq!(verified.subject, "user-1");
    assert_eq!(verified.audience, vec![CLIENT_ID.to_owned()]);
    assert_eq!(verified.expires_at, claims["exp"].as_i64().unwrap());
    assert_eq!(verified.issued_at, claims["iat"].as_i64());
    assert_eq!(verified.nonce.as_deref(), Some(NONCE));
    assert_eq!(verified.acr.as_deref(), Some("idporten-loa-substantial"));
}

#[tokio::test]
async fn discovery_and_keys_are_fetched_once_and_then_cached() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let verifier = Verifier::new(http_client());
    for _ in 0..3 {
        let token = RSA_KEY.sign("RS256", &claims(&issuer.issuer));
        verifier
            .verify(&token, &expect(&issuer.issuer))
            .await
            .unwrap();
    }
    assert_eq!(issuer.hits("/.well-known/openid-configuration"), 1);
    assert_eq!(issuer.hits("/jwks"), 1);
    let discovery = verifier.discover(&issuer.issuer).await.unwrap();
    assert_eq!(discovery.jwks_uri, issuer.jwks_uri());
    assert_eq!(
        discovery.token_endpoint,
        Some(format!("{}/token", issuer.issuer))
    );
    assert_eq!(discovery.revocation_endpoint, None);
    assert_eq!(issuer.hits("/.well-known/openid-configuration"), 1);
}

#[tokio::test]
async fn es256_and_ps256_tokens_are_accepted() {
    let issuer = TestIssuer::start(&[&RSA_KEY, &P256_KEY]).await;
    let es256 = P256_KEY.sign("ES256", &claims(&issuer.issuer));
    assert_eq!(verify(&issuer, &es256).await.unwrap().subject, "user-1");
    let ps256 = RSA_KEY.sign("PS256", &claims(&issuer.issuer));
    assert_eq!(verify(&issuer, &ps256).await.unwrap().subject, "user-1");
}

#[tokio::test]
async fn a_tampered_payload_fails_the_signature_check() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let token = RSA_KEY.sign("RS256", &claims(&issuer.issuer));
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let forged = with(claims(&issuer.issuer), json!({"sub": "admin"}));
    parts[1] = b64(forged.to_string().as_bytes());
    let tampered = parts.join(".");
    assert_eq!(
        verify(&issuer, &tampered).await,
        Err(IdTokenError::BadSignature)
    );
}

#[tokio::test]
async fn a_token_signed_by_another_key_under_the_published_kid_fails_the_signature_check() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    assert_eq!(FOREIGN_RSA_KEY.kid(), RSA_KEY.kid());
    let token = FOREIGN_RSA_KEY.sign("RS256", &claims(&issuer.issuer));
    assert_eq!(
        verify(&issuer, &token).await,
        Err(IdTokenError::BadSignature)
    );
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let token = RSA_KEY.sign("RS256", &claims("https://test.idporten.no"));
    assert_eq!(
        verify(&issuer, &token).await,
        Err(IdTokenError::WrongIssuer {
            expected: issuer.issuer.clone(),
            found: "https://test.idporten.no".to_owned()
        })
    );
}

#[tokio::test]
async fn a_token_for_another_client_is_refused() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let token = RSA_KEY.sign(
        "RS256",
        &with(claims(&issuer.issuer), json!({"aud": "another-client"})),
    );
    assert_eq!(
        verify(&issuer, &token).await,
        Err(IdTokenError::WrongAudience {
            client_id: CLIENT_ID.to_owned()
        })
    );
}

#[tokio::test]
async fn an_audience_array_with_the_client_needs_azp_naming_the_client() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let audiences = json!([CLIENT_ID, "https://api.example"]);
    let good = with(
        claims(&issuer.issuer),
        json!({"aud": audiences, "azp": CLIENT_ID}),
    );
    let verified = verify(&issuer, &RSA_KEY.sign("RS256", &good))
        .await
        .unwrap();
    assert_eq!(verified.audience, vec![CLIENT_ID, "https://api.example"]);

    let no_azp = with(claims(&issuer.issuer), json!({"aud": audiences}));
    assert_eq!(
        verify(&issuer, &RSA_KEY.sign("RS256", &no_azp)).await,
        Err(IdTokenError::MissingClaim { claim: "azp" })
    );
    let other_azp = with(
        claims(&issuer.issuer),
        json!({"aud": audiences, "azp": "https://api.example"}),
    );
    assert_eq!(
        verify(&issuer, &RSA_KEY.sign("RS256", &other_azp)).await,
        Err(IdTokenError::WrongAudience {
            client_id: CLIENT_ID.to_owned()
        })
    );
    let single_array = with(claims(&issuer.issuer), json!({"aud": [CLIENT_ID]}));
    assert!(
        verify(&issuer, &RSA_KEY.sign("RS256", &single_array))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let expired_at = now() - 61;
    let token = RSA_KEY.sign(
        "RS256",
        &with(
            claims(&issuer.issuer),
            json!({"exp": expired_at, "iat": expired_at - 300}),
        ),
    );
    assert_eq!(
        verify(&issuer, &token).await,
        Err(IdTokenError::Expired { expired_at })
    );
}

#[tokio::test]
async fn a_token_issued_an_hour_from_now_is_not_yet_valid() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let token = RSA_KEY.sign(
        "RS256",
        &with(
            claims(&issuer.issuer),
            json!({"iat": now() + 3600, "exp": now() + 7200}),
        ),
    );
    assert_eq!(
        verify(&issuer, &token).await,
        Err(IdTokenError::NotYetValid)
    );
}

#[tokio::test]
async fn a_different_nonce_is_refused() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let token = RSA_KEY.sign(
        "RS256",
        &with(claims(&issuer.issuer), json!({"nonce": "another-nonce"})),
    );
    assert_eq!(
        verify(&issuer, &token).await,
        Err(IdTokenError::NonceMismatch)
    );
}

#[tokio::test]
async fn a_missing_nonce_is_refused_when_one_was_sent() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let token = RSA_KEY.sign(
        "RS256",
        &with(claims(&issuer.issuer), json!({"nonce": null})),
    );
    assert_eq!(
        verify(&issuer, &token).await,
        Err(IdTokenError::NonceMissing)
    );
    let without_expectation = Expectations {
        nonce: None,
        ..expect(&issuer.issuer)
    };
    let verified = Verifier::new(http_client())
        .verify(&token, &without_expectation)
        .await
        .unwrap();
    assert_eq!(verified.nonce, None);
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused_without_fetching_keys() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let header = json!({"alg": "none", "typ": "JWT"});
    let token = format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims(&issuer.issuer).to_string().as_bytes())
    );
    assert_eq!(
        verify(&issuer, &token).await,
        Err(IdTokenError::UnsupportedAlgorithm {
            alg: "none".to_owned()
        })
    );
    assert_eq!(issuer.hits("/jwks"), 0);
}

#[tokio::test]
async fn an_hs256_token_signed_with_a_shared_secret_is_refused() {
    use aws_lc_rs::hmac;
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": RSA_KEY.kid()});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims(&issuer.issuer).to_string().as_bytes())
    );
    // The classic confusion: the public key's modulus used as the HMAC secret.
    let secret = RSA_KEY.jwk()["n"].as_str().unwrap().to_owned();
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
        input.as_bytes(),
    );
    let token = format!("{input}.{}", b64(tag.as_ref()));
    assert_eq!(
        verify(&issuer, &token).await,
        Err(IdTokenError::UnsupportedAlgorithm {
            alg: "HS256".to_owned()
        })
    );
}

#[tokio::test]
async fn a_token_signed_as_rs256_is_not_checked_with_an_ec_key() {
    let issuer = TestIssuer::start(&[&P256_KEY]).await;
    // The RSA key signs, but the header points at the EC key's kid.
    let header = json!({"alg": "RS256", "kid": P256_KEY.kid()});
    let token = RSA_KEY.sign_with_header(&header, &claims(&issuer.issuer));
    assert_eq!(
        verify(&issuer, &token).await,
        Err(IdTokenError::UnknownKey {
            kid: Some(P256_KEY.kid().to_owned())
        })
    );
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_keys_again_once_and_succeeds_after_rotation() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let verifier = Verifier::new(http_client());
    let first = expect(&issuer.issuer);
    let token = RSA_KEY.sign("RS256", &claims(&issuer.issuer));
    verifier.verify(&token, &first).await.unwrap();
    assert_eq!(issuer.hits("/jwks"), 1);

    issuer.publish(&[&ROTATED_RSA_KEY]);
    let rotated = ROTATED_RSA_KEY.sign("RS256", &claims(&issuer.issuer));
    let a_minute_later = Expectations {
        now: first.now + 61,
        ..first
    };
    let verified = verifier.verify(&rotated, &a_minute_later).await.unwrap();
    assert_eq!(verified.subject, "user-1");
    assert_eq!(issuer.hits("/jwks"), 2);
    // The old key is gone from the refreshed cache.
    assert_eq!(
        verifier.verify(&token, &a_minute_later).await,
        Err(IdTokenError::UnknownKey {
            kid: Some(RSA_KEY.kid().to_owned())
        })
    );
    assert_eq!(issuer.hits("/jwks"), 2);
}

#[tokio::test]
async fn unknown_kids_fetch_the_keys_at_most_once_a_minute() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let verifier = Verifier::new(http_client());
    let first = expect(&issuer.issuer);
    let token = RSA_KEY.sign("RS256", &claims(&issuer.issuer));
    verifier.verify(&token, &first).await.unwrap();

    issuer.publish(&[&ROTATED_RSA_KEY]);
    let rotated = ROTATED_RSA_KEY.sign("RS256", &claims(&issuer.issuer));
    let soon = Expectations {
        now: first.now + 10,
        ..first
    };
    assert_eq!(
        verifier.verify(&rotated, &soon).await,
        Err(IdTokenError::UnknownKey {
            kid: Some(ROTATED_RSA_KEY.kid().to_owned())
        })
    );
    assert_eq!(issuer.hits("/jwks"), 1);
    let later = Expectations {
        now: first.now + 60,
        ..first
    };
    assert!(verifier.verify(&rotated, &later).await.is_ok());
    assert_eq!(issuer.hits("/jwks"), 2);
}

#[tokio::test]
async fn keys_older_than_an_hour_are_fetched_again_before_use() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let verifier = Verifier::new(http_client());
    let first = expect(&issuer.issuer);
    let token = RSA_KEY.sign("RS256", &claims(&issuer.issuer));
    verifier.verify(&token, &first).await.unwrap();

    // The issuer withdraws the key; an hour later the cached copy is not trusted any more.
    issuer.publish(&[&ROTATED_RSA_KEY]);
    let late = with(
        claims(&issuer.issuer),
        json!({"exp": first.now + 7200, "iat": first.now + 3600}),
    );
    let an_hour_later = Expectations {
        now: first.now + 3600,
        ..first
    };
    assert_eq!(
        verifier
            .verify(&RSA_KEY.sign("RS256", &late), &an_hour_later)
            .await,
        Err(IdTokenError::UnknownKey {
            kid: Some(RSA_KEY.kid().to_owned())
        })
    );
    assert_eq!(issuer.hits("/jwks"), 2);
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    issuer.state.lock().unwrap().claimed_issuer = Some("https://idporten.no".to_owned());
    let verifier = Verifier::new(http_client());
    let error = verifier.discover(&issuer.issuer).await.unwrap_err();
    assert!(
        matches!(&error, IdTokenError::Discovery { issuer: requested, reason }
            if *requested == issuer.issuer && reason.contains("https://idporten.no")),
        "{error}"
    );
    let token = RSA_KEY.sign("RS256", &claims(&issuer.issuer));
    assert!(matches!(
        verifier.verify(&token, &expect(&issuer.issuer)).await,
        Err(IdTokenError::Discovery { .. })
    ));
    assert_eq!(issuer.hits("/jwks"), 0);
}

#[tokio::test]
async fn a_failing_jwks_endpoint_is_reported_with_its_url_and_status() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    issuer.state.lock().unwrap().jwks_status = 503;
    let token = RSA_KEY.sign("RS256", &claims(&issuer.issuer));
    let error = verify(&issuer, &token).await.unwrap_err();
    let IdTokenError::Jwks { uri, reason } = &error else {
        panic!("expected a JWKS error, got {error:?}");
    };
    assert_eq!(*uri, issuer.jwks_uri());
    assert!(reason.contains("503"), "{reason}");
    assert!(error.to_string().contains(&issuer.jwks_uri()), "{error}");
}

#[tokio::test]
async fn a_jwks_larger_than_a_mebibyte_is_refused() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let mut jwks = support::jwks(&[&RSA_KEY]);
    jwks["padding"] = json!("x".repeat(1024 * 1024));
    issuer.state.lock().unwrap().jwks = jwks;
    let token = RSA_KEY.sign("RS256", &claims(&issuer.issuer));
    let error = verify(&issuer, &token).await.unwrap_err();
    assert!(
        matches!(&error, IdTokenError::Jwks { reason, .. } if reason.contains("more than")),
        "{error:?}"
    );
}

#[tokio::test]
async fn malformed_tokens_are_refused_as_malformed() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let good = RSA_KEY.sign("RS256", &claims(&issuer.issuer));
    let crit = RSA_KEY.sign_with_header(
        &json!({"alg": "RS256", "kid": RSA_KEY.kid(), "crit": ["exp"], "exp": 1}),
        &claims(&issuer.issuer),
    );
    let access_token = RSA_KEY.sign_with_header(
        &json!({"alg": "RS256", "kid": RSA_KEY.kid(), "typ": "at+jwt"}),
        &claims(&issuer.issuer),
    );
    for token in [
        "".to_owned(),
        "not-a-jwt".to_owned(),
        format!("{good}.extra"),
        "a.b.c.d.e".to_owned(),
        format!("{good}="),
        good.replacen('.', ".!", 1),
        crit,
        access_token,
    ] {
        let result = verify(&issuer, &token).await;
        assert!(
            matches!(result, Err(IdTokenError::Malformed { .. })),
            "{token}: {result:?}"
        );
    }
}

#[tokio::test]
async fn error_messages_never_contain_the_token_or_a_part_of_it() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let base = claims(&issuer.issuer);
    let tokens = [
        RSA_KEY.sign("RS256", &with(base.clone(), json!({"aud": "other"}))),
        RSA_KEY.sign("RS256", &with(base.clone(), json!({"nonce": "other"}))),
        RSA_KEY.sign("RS256", &with(base.clone(), json!({"exp": 1}))),
        RSA_KEY.sign("RS256", &with(base.clone(), json!({"exp": "secret-ish"}))),
        RSA_KEY.sign(
            "RS256",
            &with(base.clone(), json!({"iss": "x".repeat(500)})),
        ),
        FOREIGN_RSA_KEY.sign("RS256", &base),
        ROTATED_RSA_KEY.sign("RS256", &base),
        RSA_KEY.sign("RS384", &base),
        format!("{}.", RSA_KEY.sign("RS256", &base)),
    ];
    for token in &tokens {
        let error = verify(&issuer, token).await.unwrap_err();
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains(token.as_str()), "{shown}");
            for part in token.split('.').filter(|part| part.len() >= 8) {
                assert!(!shown.contains(part), "part of the token in: {shown}");
            }
            assert!(!shown.contains("secret-ish"), "{shown}");
            assert!(!shown.contains(&"x".repeat(100)), "{shown}");
        }
    }
}

#[tokio::test]
async fn the_callers_destination_check_is_asked_before_discovery_and_the_key_set() {
    let issuer = TestIssuer::start(&[&RSA_KEY]).await;
    let token = RSA_KEY.sign("RS256", &claims(&issuer.issuer));
    let refuse_all =
        Verifier::new(http_client()).with_destination_check(std::sync::Arc::new(|url: &str| {
            Err(format!("{url} is not a public address"))
        }));
    let error = refuse_all
        .verify(&token, &expect(&issuer.issuer))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("not a public address"), "{error}");
    assert_eq!(issuer.hits("/.well-known/openid-configuration"), 0);
    // A key set on another host than the discovery document is checked on its own.
    let jwks = issuer.jwks_uri();
    let refuse_keys = Verifier::new(http_client()).with_destination_check(std::sync::Arc::new(
        move |url: &str| {
            if url == jwks {
                Err("the key set's host is refused".to_owned())
            } else {
                Ok(())
            }
        },
    ));
    let error = refuse_keys
        .verify(&token, &expect(&issuer.issuer))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("the key set's host is refused"), "{error}");
    assert_eq!(issuer.hits("/jwks"), 0);
}
