//! Interoperability of the action engine with a real, independent authorization server: the npm
//! `oidc-provider` stand-in configured like ID-porten (+ the Altinn-like exchange) and like HMRC,
//! driven through its sign-in and consent pages. Every scenario runs on SQLite and PostgreSQL and
//! ends with the leak check: no token, code, PKCE verifier or client secret seen in the test is
//! in the captured tracing output (TRACE level), in any answer of the engine or in the audit log.
#![allow(clippy::unwrap_used)]

mod interop_support;

use emsg_engine::Acting;
use std::time::Duration;

use anyhow::ensure;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use emsg_engine::{CodeRequest, EngineConfig, EngineError, ProviderFailureKind};
use emsg_store::connections::Status;
use emsg_test_db::{Backend, on_both_backends};
use emsg_testkit::{PeerOptions, Profile, RefreshReuse};
use interop_support::*;

fn lower(error: &EngineError) -> String {
    error.to_string().to_lowercase()
}

/// The audit entries of one action, oldest first.
fn entries_of(h: &Harness, action: &str) -> anyhow::Result<Vec<emsg_store::audit::AuditEntry>> {
    Ok(h.audit()?
        .into_iter()
        .filter(|e| e.action == action)
        .collect())
}

on_both_backends!(
    async an_id_porten_authorization_is_obtained_refreshed_exchanged_and_revoked,
    an_hmrc_vat_authorization_is_obtained_refreshed_and_disconnected,
    an_hmrc_landlord_is_connected_on_callback_and_only_they_may_use_it,
    a_refused_consent_is_reported_audited_and_stores_nothing,
    a_replayed_foreign_or_unknown_state_is_refused_and_changes_nothing,
    an_id_token_with_the_wrong_nonce_is_refused_and_nothing_is_stored,
    a_grant_revoked_at_the_provider_requires_reauthorization_after_one_refresh,
    an_expired_altinn_token_is_exchanged_again_after_refreshing_its_source,
    concurrent_senders_on_two_nodes_cause_one_refresh_at_the_provider,
    client_credentials_and_redirect_uris_with_reserved_characters_are_sent_as_registered,
    an_expired_code_is_refused_by_the_provider_and_the_user_told_to_get_a_new_one,
);

/// (1) ID-porten-like: OIDC with PKCE S256, nonce, ui_locales from the dialog, acr_values from
/// the record, basic client authentication, a verified ID token, rotating refresh tokens,
/// the Altinn-like exchange, and revocation at the provider on disconnect.
async fn an_id_porten_authorization_is_obtained_refreshed_exchanged_and_revoked(
    backend: Backend,
) -> anyhow::Result<()> {
    let client = idporten_client();
    // Presenting a rotated refresh token only fails (instead of revoking the whole grant,
    // oidc-provider's default), so the engine's connection survives the direct check below.
    let options = PeerOptions {
        refresh_reuse: RefreshReuse::Reject,
        ..PeerOptions::default()
    };
    let mut h = Harness::start(
        backend,
        Profile::IdPorten,
        std::slice::from_ref(&client),
        &options,
        |peer| idporten_yaml(peer, true),
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .await?;
    let fiona = h.fiona;

    // Get authorization code, with ui_locales chosen in the dialog.
    let mut request = CodeRequest::default();
    request
        .params
        .insert("ui_locales".to_owned(), "nn".to_owned());
    let (url, back) = h.authorize(IDPORTEN_APP, fiona, request, "alice").await?;
    let mut endpoint = url.clone();
    endpoint.set_query(None);
    assert_eq!(endpoint.as_str(), h.peer.authorization_endpoint().as_str());
    assert_eq!(query_all(&url, "response_type"), ["code"]);
    assert_eq!(query_all(&url, "client_id"), [client.client_id.as_str()]);
    assert_eq!(query_all(&url, "redirect_uri"), [REDIRECT]);
    assert_eq!(query_all(&url, "scope"), [IDPORTEN_SCOPE]);
    assert_eq!(query_all(&url, "code_challenge_method"), ["S256"]);
    assert_eq!(query_all(&url, "ui_locales"), ["nn"]);
    assert_eq!(query_all(&url, "acr_values"), ["idporten-loa-substantial"]);
    let state = query(&url, "state").unwrap();
    let state_bits = URL_SAFE_NO_PAD.decode(&state)?.len() * 8;
    assert!(state_bits >= 128, "state of {state_bits} bits");
    let nonce = query(&url, "nonce").unwrap();
    assert!(
        URL_SAFE_NO_PAD.decode(&nonce)?.len() * 8 >= 128,
        "nonce {nonce}"
    );
    let verifier = h.verifier(IDPORTEN_APP, fiona)?.unwrap();
    assert_eq!(
        query(&url, "code_challenge").unwrap(),
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        "the challenge is S256 of the stored verifier"
    );

    // The provider sends the browser back with our state, a code and its issuer.
    assert_eq!(query(&back, "state").as_deref(), Some(state.as_str()));
    assert_eq!(query(&back, "iss").as_deref(), Some(h.peer.issuer()));
    assert!(query(&back, "code").is_some(), "{back}");
    let outcome = h.callback(fiona, &back).await;
    let outcome = h.expect_ok(outcome, "callback")?;
    assert!(
        outcome.connection.is_none(),
        "the record obtains the token separately"
    );
    assert!(h.connection(IDPORTEN_APP, fiona)?.is_none());

    // Obtain access token: the ID token is verified (signature, issuer, audience, nonce).
    let before = now();
    let obtained = h
        .engine
        .obtain_access_token(IDPORTEN_APP, None, fiona, None)
        .await;
    let view = h.expect_ok(obtained, "Obtain access token")?;
    let after = now();
    // The ID token was checked against the provider's discovery document and signing keys.
    let checked = [
        "GET /.well-known/openid-configuration -> 200",
        "GET /jwks -> 200",
    ];
    let peer_log = h.peer.log_with(&checked).await;
    for request in checked {
        assert!(peer_log.contains(request), "{request} not in {peer_log}");
    }
    assert_eq!(view.status, Status::Connected);
    let granted = view.granted_scope.clone().unwrap_or_default();
    for scope in IDPORTEN_SCOPE.split(' ') {
        assert!(
            granted.split(' ').any(|s| s == scope),
            "{scope} not in {granted:?}"
        );
    }
    assert_eq!(view.authorized_by.as_deref(), Some("fiona"));
    assert_eq!(view.user.as_deref(), Some("fiona"));
    assert_eq!(view.token_type.as_deref(), Some("Bearer"));
    let year = 365 * 24 * 3600;
    let expires = view.authorization_expires_at.unwrap();
    assert!(
        (before + year..=after + year).contains(&expires),
        "{expires}"
    );
    let access_expires = view.access_expires_at.unwrap();
    assert!(
        (before + 118..=after + 121).contains(&access_expires),
        "{access_expires}"
    );
    assert!(view.has_refresh_token);
    let counts = h.peer.counts().await?;
    assert_eq!(counts.get("authorization_code", "ok"), 1, "{counts:?}");
    let (access0, refresh0) = h.tokens(IDPORTEN_APP, fiona)?;
    let refresh0 = refresh0.unwrap();

    // Refresh twice: each answer rotates both tokens.
    let mut previous = (access0.clone(), refresh0.clone());
    for round in 1..=2 {
        let refreshed = h
            .engine
            .refresh_access_token(IDPORTEN_APP, None, Acting::User(fiona))
            .await;
        let view = h.expect_ok(refreshed, "Refresh access token")?;
        assert_eq!(view.status, Status::Connected, "round {round}");
        let (access, refresh) = h.tokens(IDPORTEN_APP, fiona)?;
        let refresh = refresh.unwrap();
        assert_ne!(access, previous.0, "round {round}: same access token");
        assert_ne!(
            refresh, previous.1,
            "round {round}: refresh token not rotated"
        );
        previous = (access, refresh);
    }

    // The first refresh token is now refused by the provider itself.
    let (status, body) = direct_refresh(&h.peer, &client, ClientAuth::Basic, &refresh0).await?;
    assert_eq!(
        (status, oauth_error(&body)),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // ... and the engine's newest pair still works.
    let refreshed = h
        .engine
        .refresh_access_token(IDPORTEN_APP, None, Acting::User(fiona))
        .await;
    h.expect_ok(refreshed, "the third refresh")?;
    let (access3, refresh3) = h.tokens(IDPORTEN_APP, fiona)?;
    let refresh3 = refresh3.unwrap();
    assert_ne!(refresh3, previous.1);
    let counts = h.peer.counts().await?;
    assert_eq!(counts.get("refresh_token", "ok"), 3, "{counts:?}");
    assert_eq!(
        counts.get("refresh_token", "invalid_grant"),
        1,
        "{counts:?}"
    );
    let source = h.connection(IDPORTEN_APP, fiona)?.unwrap();

    // Exchange: the Altinn-like token, stored with the JWT's own expiry.
    let exchanged = h.engine.exchange(ALTINN_APP, None, Some(fiona)).await;
    let exchanged = h.expect_ok(exchanged, "Exchange")?;
    assert_eq!(exchanged.status, Status::Connected);
    let (altinn, none) = h.tokens(ALTINN_APP, fiona)?;
    assert!(none.is_none(), "an exchanged token has no refresh token");
    let claims = jwt_claims(&altinn)?;
    let exp = claims["exp"].as_i64().unwrap();
    assert_eq!(
        exchanged.access_expires_at,
        Some(exp),
        "stored expiry = the JWT's exp"
    );
    assert_eq!(claims["sub"], "alice");
    let source_exp = source.access_expires_at.unwrap();
    assert!(
        (exp - source_exp).abs() <= 2,
        "JWT exp {exp} vs source {source_exp}"
    );
    assert_eq!(exchanged.authorized_by.as_deref(), Some("fiona"));
    let token = h.engine.valid_token(ALTINN_APP, None, Some(fiona)).await;
    let token = h.expect_ok(token, "valid_token of the exchange record")?;
    assert_eq!(token.token.expose(), altinn);
    assert_eq!(token.expires_at, Some(exp));
    assert_eq!(token.connection_id, exchanged.connection_id);
    let token = h.engine.valid_token(IDPORTEN_APP, None, Some(fiona)).await;
    let token = h.expect_ok(token, "valid_token of the source record")?;
    assert_eq!(token.token.expose(), access3);

    // Disconnect revokes at the provider: the last refresh token and access token are dead.
    assert!(is_active(&h.peer, &client, ClientAuth::Basic, &access3).await?);
    let disconnected = h
        .engine
        .disconnect(IDPORTEN_APP, None, Acting::User(fiona))
        .await;
    let disconnected = h.expect_ok(disconnected, "Disconnect")?;
    assert_eq!(
        disconnected.revoked_at_provider,
        Some(true),
        "{disconnected:?}"
    );
    assert_eq!(disconnected.revocation_error, None);
    let stored = h.connection(IDPORTEN_APP, fiona)?.unwrap();
    assert_eq!(stored.status(), Status::Disconnected);
    assert!(!stored.has_access_token() && !stored.has_refresh_token());
    let (status, body) = direct_refresh(&h.peer, &client, ClientAuth::Basic, &refresh3).await?;
    assert_eq!(
        (status, oauth_error(&body)),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(!is_active(&h.peer, &client, ClientAuth::Basic, &access3).await?);
    let gone = h.engine.valid_token(IDPORTEN_APP, None, Some(fiona)).await;
    let gone = h.expect_err(gone, "valid_token after disconnect")?;
    assert!(lower(&gone).contains("get authorization code"), "{gone}");

    let outcomes: Vec<(String, String)> = h
        .audit()?
        .into_iter()
        .filter(|e| e.user_id == Some(fiona.get()))
        .map(|e| (e.action, e.outcome))
        .collect();
    let ok = |a: &str| (a.to_owned(), "ok".to_owned());
    for expected in [
        "get-code",
        "callback",
        "obtain-token",
        "refresh",
        "exchange",
        "disconnect",
    ] {
        assert!(
            outcomes.contains(&ok(expected)),
            "{expected} missing: {outcomes:?}"
        );
    }
    assert_eq!(outcomes.iter().filter(|o| **o == ok("refresh")).count(), 3);
    let disconnect = entries_of(&h, "disconnect")?;
    assert_eq!(
        disconnect.last().unwrap().detail,
        "revoked at the provider; tokens deleted"
    );
    h.assert_no_leaks()
}

/// (2) HMRC-like, per company: plain OAuth 2.0 with client_secret_post and PKCE, the code
/// obtained in a separate step, rotating refresh tokens, disconnect without revocation URL.
async fn an_hmrc_vat_authorization_is_obtained_refreshed_and_disconnected(
    backend: Backend,
) -> anyhow::Result<()> {
    let client = vat_client();
    let mut h = Harness::start(
        backend,
        Profile::Hmrc,
        &[vat_client(), itsa_client()],
        &PeerOptions::default(),
        hmrc_yaml,
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .await?;
    let (fiona, george) = (h.fiona, h.george);

    let (url, back) = h
        .authorize(VAT_APP, fiona, CodeRequest::default(), "vat-company")
        .await?;
    assert_eq!(query_all(&url, "client_id"), [client.client_id.as_str()]);
    assert_eq!(query_all(&url, "scope"), [VAT_SCOPE]);
    assert_eq!(query_all(&url, "redirect_uri"), [REDIRECT]);
    assert_eq!(query_all(&url, "code_challenge_method"), ["S256"]);
    assert!(
        query(&url, "nonce").is_none(),
        "no nonce without openid: {url}"
    );
    assert!(query(&url, "acr_values").is_none());
    let outcome = h.callback(fiona, &back).await;
    let outcome = h.expect_ok(outcome, "callback")?;
    assert!(outcome.connection.is_none());
    assert!(
        h.all_connections()?.is_empty(),
        "nothing stored before Obtain access token"
    );
    h.verifier(VAT_APP, fiona)?.unwrap();

    let before = now();
    let obtained = h
        .engine
        .obtain_access_token(VAT_APP, None, fiona, None)
        .await;
    let view = h.expect_ok(obtained, "Obtain access token")?;
    let after = now();
    assert_eq!(view.status, Status::Connected);
    assert_eq!(view.granted_scope.as_deref(), Some(VAT_SCOPE));
    assert_eq!(view.authorized_by.as_deref(), Some("fiona"));
    assert_eq!(view.user, None, "one connection per company");
    let grant = 548 * 24 * 3600;
    let expires = view.authorization_expires_at.unwrap();
    assert!(
        (before + grant..=after + grant).contains(&expires),
        "{expires}"
    );
    let access_expires = view.access_expires_at.unwrap();
    assert!((before + 14_398..=after + 14_401).contains(&access_expires));
    let (mut access, refresh) = h.tokens(VAT_APP, fiona)?;
    let mut refresh = refresh.unwrap();

    // Two refreshes, the second by another finance user of the same company.
    for actor in [fiona, george] {
        let refreshed = h
            .engine
            .refresh_access_token(VAT_APP, None, Acting::User(actor))
            .await;
        let view = h.expect_ok(refreshed, "Refresh access token")?;
        assert_eq!(view.status, Status::Connected);
        assert_eq!(view.granted_scope.as_deref(), Some(VAT_SCOPE));
        assert_eq!(
            view.authorized_by.as_deref(),
            Some("fiona"),
            "refresh keeps who authorized"
        );
        let (new_access, new_refresh) = h.tokens(VAT_APP, fiona)?;
        let new_refresh = new_refresh.unwrap();
        assert_ne!(new_access, access);
        assert_ne!(new_refresh, refresh, "HMRC refresh tokens are single use");
        (access, refresh) = (new_access, new_refresh);
    }
    let counts = h.peer.counts().await?;
    assert_eq!(counts.get("authorization_code", "ok"), 1, "{counts:?}");
    assert_eq!(counts.get("refresh_token", "ok"), 2, "{counts:?}");
    assert_eq!(counts.total("refresh_token"), 2, "{counts:?}");
    let token = h.engine.valid_token(VAT_APP, None, Some(george)).await;
    let token = h.expect_ok(token, "valid_token for the company")?;
    assert_eq!(token.token.expose(), access);
    assert_eq!(
        counts,
        h.peer.counts().await?,
        "a fresh token is not refreshed"
    );

    // Disconnect: no revocation URL, so only the local tokens go.
    let disconnected = h
        .engine
        .disconnect(VAT_APP, None, Acting::User(fiona))
        .await;
    let disconnected = h.expect_ok(disconnected, "Disconnect")?;
    assert_eq!(disconnected.revoked_at_provider, None);
    let stored = h.connection(VAT_APP, fiona)?.unwrap();
    assert_eq!(stored.status(), Status::Disconnected);
    assert!(!stored.has_access_token() && !stored.has_refresh_token());
    let gone = h.engine.valid_token(VAT_APP, None, Some(fiona)).await;
    h.expect_err(gone, "valid_token after disconnect")?;
    let gone = h
        .engine
        .refresh_access_token(VAT_APP, None, Acting::User(fiona))
        .await;
    h.expect_err(gone, "refresh after disconnect")?;
    assert_eq!(h.peer.counts().await?.total("refresh_token"), 2);
    assert_eq!(
        entries_of(&h, "disconnect")?.last().unwrap().detail,
        "tokens deleted (the record has no revocation URL)"
    );
    h.assert_no_leaks()
}

/// (2b) HMRC-like landlords: per user, the token obtained on callback, usable only by the user
/// who authorized it.
async fn an_hmrc_landlord_is_connected_on_callback_and_only_they_may_use_it(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut h = Harness::start(
        backend,
        Profile::Hmrc,
        &[vat_client(), itsa_client()],
        &PeerOptions::default(),
        hmrc_yaml,
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .await?;
    let (fiona, george) = (h.fiona, h.george);

    let request = CodeRequest {
        taxpayer_id: Some("QQ123456C".to_owned()),
        ..CodeRequest::default()
    };
    let (url, back) = h
        .authorize(ITSA_APP, fiona, request, "landlord-fiona")
        .await?;
    assert_eq!(query_all(&url, "scope"), [ITSA_SCOPE]);
    h.verifier(ITSA_APP, fiona)?.unwrap();
    let outcome = h.callback(fiona, &back).await;
    let outcome = h.expect_ok(outcome, "callback")?;
    let view = outcome
        .connection
        .expect("the token is obtained on callback");
    assert_eq!(view.status, Status::Connected);
    assert_eq!(view.user.as_deref(), Some("fiona"));
    assert_eq!(view.authorized_by.as_deref(), Some("fiona"));
    assert_eq!(view.granted_scope.as_deref(), Some(ITSA_SCOPE));
    assert_eq!(view.taxpayer_id.as_deref(), Some("QQ123456C"));
    let (access, _) = h.tokens(ITSA_APP, fiona)?;
    assert_eq!(h.peer.counts().await?.get("authorization_code", "ok"), 1);
    let callback = entries_of(&h, "callback")?;
    assert_eq!(
        callback.last().unwrap().detail,
        "code received; access token obtained"
    );

    let token = h.engine.valid_token(ITSA_APP, None, Some(fiona)).await;
    assert_eq!(h.expect_ok(token, "fiona's token")?.token.expose(), access);
    let refused = h.engine.valid_token(ITSA_APP, None, Some(george)).await;
    let refused = h.expect_err(refused, "george's token")?;
    assert!(
        matches!(refused, EngineError::NotConnected(_)),
        "{refused:?}"
    );
    let text = lower(&refused);
    assert!(text.contains("authorized by fiona"), "{refused}");
    assert!(text.contains("authorize it yourself first"), "{refused}");
    let refused = h
        .engine
        .refresh_access_token(ITSA_APP, None, Acting::User(george))
        .await;
    let refused = h.expect_err(refused, "george refreshing fiona's connection")?;
    assert!(lower(&refused).contains("authorized by fiona"), "{refused}");
    assert_eq!(h.peer.counts().await?.total("refresh_token"), 0);

    // George authorizes himself: his own connection, his own token.
    h.connect(ITSA_APP, george, "landlord-george").await?;
    let (george_access, _) = h.tokens(ITSA_APP, george)?;
    assert_ne!(george_access, access);
    let token = h.engine.valid_token(ITSA_APP, None, Some(george)).await;
    assert_eq!(
        h.expect_ok(token, "george's token")?.token.expose(),
        george_access
    );
    let token = h.engine.valid_token(ITSA_APP, None, Some(fiona)).await;
    assert_eq!(h.expect_ok(token, "fiona's token")?.token.expose(), access);
    assert_eq!(h.all_connections()?.len(), 2);
    h.assert_no_leaks()
}

/// (3a) The user refuses consent: the callback says so in words that tell what to do next,
/// the audit log has it, and nothing is stored.
async fn a_refused_consent_is_reported_audited_and_stores_nothing(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut h = Harness::start(
        backend,
        Profile::IdPorten,
        &[idporten_client()],
        &PeerOptions::default(),
        |peer| idporten_yaml(peer, false),
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .await?;
    let fiona = h.fiona;

    for cancel_at_sign_in in [false, true] {
        let started = h
            .engine
            .get_authorization_code(IDPORTEN_APP, None, fiona, CodeRequest::default())
            .await;
        let started = h.expect_ok(started, "Get authorization code")?;
        h.verifier(IDPORTEN_APP, fiona)?.unwrap();
        let back = if cancel_at_sign_in {
            h.peer.cancel_sign_in(&started.url).await?
        } else {
            h.peer.deny(&started.url, "frank").await?
        };
        assert_eq!(
            query(&back, "error").as_deref(),
            Some("access_denied"),
            "{back}"
        );
        assert!(query(&back, "code").is_none());

        let refused = h.callback(fiona, &back).await;
        let refused = h.expect_err(refused, "callback with access_denied")?;
        assert!(matches!(refused, EngineError::Denied { .. }), "{refused:?}");
        let text = refused.to_string();
        assert!(text.contains("access_denied"), "{text}");
        assert!(text.contains("Get authorization code"), "{text}");

        let entry = entries_of(&h, "callback")?.pop().unwrap();
        assert_eq!(entry.outcome, "error");
        assert_eq!(entry.error_code.as_deref(), Some(refused.code()));
        assert_eq!(entry.error_code.as_deref(), Some("access_denied"));
        assert!(entry.detail.contains("access_denied"), "{entry:?}");
        assert_eq!(entry.user_id, Some(fiona.get()));
        assert_eq!(
            entry.web_application_id,
            Some(h.record(IDPORTEN_APP)?.id.get())
        );

        // Obtain access token has nothing to obtain, and says why.
        let nothing = h
            .engine
            .obtain_access_token(IDPORTEN_APP, None, fiona, None)
            .await;
        let nothing = h.expect_err(nothing, "obtain after a refusal")?;
        assert!(nothing.to_string().contains("access_denied"), "{nothing}");
        assert!(
            h.all_connections()?.is_empty(),
            "a refusal stored a connection"
        );
    }
    let counts = h.peer.counts().await?;
    assert_eq!(counts.total("authorization_code"), 0, "{counts:?}");
    h.assert_no_leaks()
}

/// (3b) A state is single use and bound to the user who started the flow.
async fn a_replayed_foreign_or_unknown_state_is_refused_and_changes_nothing(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut h = Harness::start(
        backend,
        Profile::Hmrc,
        &[vat_client(), itsa_client()],
        &PeerOptions::default(),
        hmrc_yaml,
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .await?;
    let (fiona, george) = (h.fiona, h.george);
    let (_, back) = h
        .authorize(VAT_APP, fiona, CodeRequest::default(), "vat-company")
        .await?;
    h.verifier(VAT_APP, fiona)?.unwrap();

    let foreign = h.callback(george, &back).await;
    let foreign = h.expect_err(foreign, "george completing fiona's sign-in")?;
    assert!(lower(&foreign).contains("another user"), "{foreign}");
    let outcome = h.callback(fiona, &back).await;
    h.expect_ok(outcome, "fiona's callback")?;
    let replay = h.callback(fiona, &back).await;
    let replay = h.expect_err(replay, "the replayed callback")?;
    assert!(matches!(replay, EngineError::Refused(_)), "{replay:?}");
    assert!(lower(&replay).contains("already used"), "{replay}");
    let mut unknown = back.clone();
    unknown
        .query_pairs_mut()
        .clear()
        .append_pair("state", "c3RhdGUgdGhhdCBlbXNnIG5ldmVyIGlzc3VlZA")
        .append_pair("code", "a-code-for-an-unknown-state-0123456789");
    let unknown = h.callback(fiona, &unknown).await;
    let unknown = h.expect_err(unknown, "an unknown state")?;
    assert!(lower(&unknown).contains("unknown state"), "{unknown}");

    // The refused callbacks changed nothing: the code captured once is obtained once.
    let obtained = h
        .engine
        .obtain_access_token(VAT_APP, None, fiona, None)
        .await;
    let view = h.expect_ok(obtained, "Obtain access token")?;
    assert_eq!(view.status, Status::Connected);
    h.tokens(VAT_APP, fiona)?;
    let replay = h.callback(fiona, &back).await;
    h.expect_err(replay, "a replay after obtaining")?;
    let again = h
        .engine
        .obtain_access_token(VAT_APP, None, fiona, None)
        .await;
    let again = h.expect_err(again, "obtaining twice")?;
    assert!(lower(&again).contains("already used"), "{again}");
    let counts = h.peer.counts().await?;
    assert_eq!(counts.total("authorization_code"), 1, "{counts:?}");

    let callbacks: Vec<String> = entries_of(&h, "callback")?
        .into_iter()
        .map(|e| format!("{}:{}", e.outcome, e.error_code.unwrap_or_default()))
        .collect();
    assert_eq!(
        callbacks,
        [
            "error:refused",
            "ok:",
            "error:refused",
            "error:refused",
            "error:refused"
        ]
    );
    h.assert_no_leaks()
}

/// (3c) An ID token whose nonce is not the one sent is refused end to end: nothing stored.
async fn an_id_token_with_the_wrong_nonce_is_refused_and_nothing_is_stored(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut h = Harness::start(
        backend,
        Profile::IdPorten,
        &[idporten_client()],
        &PeerOptions::default(),
        |peer| idporten_yaml(peer, false),
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .await?;
    let fiona = h.fiona;
    let (_, back) = h
        .authorize(IDPORTEN_APP, fiona, CodeRequest::default(), "alice")
        .await?;
    h.verifier(IDPORTEN_APP, fiona)?.unwrap();
    let outcome = h.callback(fiona, &back).await;
    h.expect_ok(outcome, "callback")?;
    assert_eq!(
        h.set_pending_nonce(IDPORTEN_APP, "a-nonce-emsg-never-sent-0123456789")?,
        1
    );

    let refused = h
        .engine
        .obtain_access_token(IDPORTEN_APP, None, fiona, None)
        .await;
    let refused = h.expect_err(refused, "obtain with a wrong nonce")?;
    assert!(
        matches!(
            refused,
            EngineError::IdToken(emsg_oidc::IdTokenError::NonceMismatch)
        ),
        "{refused:?}"
    );
    assert_eq!(refused.code(), "invalid_id_token");
    assert!(
        refused.to_string().contains("Nothing was stored"),
        "{refused}"
    );
    assert!(
        h.all_connections()?.is_empty(),
        "a token with a bad ID token was stored"
    );
    let entry = entries_of(&h, "obtain-token")?.pop().unwrap();
    assert_eq!(
        (entry.outcome.as_str(), entry.error_code.as_deref()),
        ("error", Some("invalid_id_token"))
    );
    // The provider did answer with tokens; the code is spent.
    assert_eq!(h.peer.counts().await?.get("authorization_code", "ok"), 1);
    let again = h
        .engine
        .obtain_access_token(IDPORTEN_APP, None, fiona, None)
        .await;
    h.expect_err(again, "obtaining with the spent code")?;

    // The same steps without tampering connect: the nonce alone made the difference.
    h.connect(IDPORTEN_APP, fiona, "alice").await?;
    assert_eq!(
        h.connection(IDPORTEN_APP, fiona)?.unwrap().status(),
        Status::Connected
    );
    h.assert_no_leaks()
}

/// (4) The user withdraws access at the provider: the next refresh marks the connection
/// reauthorization_required after one request, and nothing calls the provider again.
async fn a_grant_revoked_at_the_provider_requires_reauthorization_after_one_refresh(
    backend: Backend,
) -> anyhow::Result<()> {
    let options = PeerOptions {
        access_token_ttl: Some(4),
        ..PeerOptions::default()
    };
    let config = EngineConfig {
        token_skew: Duration::from_secs(1),
        // The stand-ins listen on loopback.
        urls: emsg_webapps::UrlRules {
            allow_loopback: true,
        },
        ..EngineConfig::default()
    };
    let mut h = Harness::start(
        backend,
        Profile::Hmrc,
        &[vat_client(), itsa_client()],
        &options,
        hmrc_yaml,
        config,
    )
    .await?;
    let fiona = h.fiona;
    h.connect(VAT_APP, fiona, "vat-company").await?;
    h.connect(ITSA_APP, fiona, "landlord").await?;
    assert!(h.peer.revoke_grants("vat-company").await? >= 1);
    assert!(h.peer.revoke_grants("landlord").await? >= 1);
    h.peer.reset_counts().await?;

    // Refresh access token, pressed on the page.
    let dead = h
        .engine
        .refresh_access_token(VAT_APP, None, Acting::User(fiona))
        .await;
    let dead = h.expect_err(dead, "refreshing a revoked grant")?;
    assert_eq!(dead.code(), "invalid_grant");
    assert!(
        matches!(&dead, EngineError::Provider { failure, .. } if failure.kind == ProviderFailureKind::Dead),
        "{dead:?}"
    );
    let stored = h.connection(VAT_APP, fiona)?.unwrap();
    assert_eq!(stored.status(), Status::ReauthorizationRequired);
    assert_eq!(stored.last_error_code.as_deref(), Some("invalid_grant"));
    assert!(
        stored
            .last_error
            .unwrap_or_default()
            .contains("Get authorization code")
    );
    let counts = h.peer.counts().await?;
    assert_eq!(
        counts.get("refresh_token", "invalid_grant"),
        1,
        "{counts:?}"
    );
    assert_eq!(
        counts.total("refresh_token"),
        1,
        "a dead grant is not retried: {counts:?}"
    );
    let status = h.engine.status(Some(VAT_APP), None).await;
    let status = h.expect_ok(status, "status")?;
    assert_eq!(status[0].status, Status::ReauthorizationRequired);

    // A sender asking for a token once the access token has expired, twice.
    let vat_expiry = h
        .connection(VAT_APP, fiona)?
        .unwrap()
        .access_expires_at
        .unwrap();
    let itsa_expiry = h
        .connection(ITSA_APP, fiona)?
        .unwrap()
        .access_expires_at
        .unwrap();
    while now() <= vat_expiry.max(itsa_expiry) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for round in 0..2 {
        let refused = h.engine.valid_token(VAT_APP, None, Some(fiona)).await;
        let refused = h.expect_err(refused, "valid_token of a dead grant")?;
        assert!(
            lower(&refused).contains("get authorization code"),
            "{round}: {refused}"
        );
    }
    assert_eq!(
        h.peer.counts().await?.total("refresh_token"),
        1,
        "the peer was called again"
    );

    // The sender is the first to meet the revoked grant: one refresh, then none.
    for round in 0..2 {
        let refused = h.engine.valid_token(ITSA_APP, None, Some(fiona)).await;
        let refused = h.expect_err(refused, "valid_token of a revoked grant")?;
        assert!(lower(&refused).contains("authoriz"), "{round}: {refused}");
        let stored = h.connection(ITSA_APP, fiona)?.unwrap();
        assert_eq!(
            stored.status(),
            Status::ReauthorizationRequired,
            "round {round}"
        );
    }
    let counts = h.peer.counts().await?;
    assert_eq!(
        counts.get("refresh_token", "invalid_grant"),
        2,
        "{counts:?}"
    );
    assert_eq!(counts.total("refresh_token"), 2, "{counts:?}");
    let refreshes = entries_of(&h, "refresh")?;
    let last = refreshes.last().unwrap();
    assert_eq!(
        (last.outcome.as_str(), last.error_code.as_deref()),
        ("error", Some("invalid_grant"))
    );
    h.assert_no_leaks()
}

/// Exchange-type "refresh": once the Altinn-like token has expired, a sender's request refreshes
/// the ID-porten source (one rotation at the provider) and exchanges the new source token.
async fn an_expired_altinn_token_is_exchanged_again_after_refreshing_its_source(
    backend: Backend,
) -> anyhow::Result<()> {
    let options = PeerOptions {
        access_token_ttl: Some(5),
        ..PeerOptions::default()
    };
    let config = EngineConfig {
        token_skew: Duration::from_secs(1),
        // The stand-ins listen on loopback.
        urls: emsg_webapps::UrlRules {
            allow_loopback: true,
        },
        ..EngineConfig::default()
    };
    let mut h = Harness::start(
        backend,
        Profile::IdPorten,
        &[idporten_client()],
        &options,
        |peer| idporten_yaml(peer, true),
        config,
    )
    .await?;
    let fiona = h.fiona;
    h.connect(IDPORTEN_APP, fiona, "alice").await?;
    let exchanged = h.engine.exchange(ALTINN_APP, None, Some(fiona)).await;
    let first = h.expect_ok(exchanged, "Exchange")?;
    let (altinn0, _) = h.tokens(ALTINN_APP, fiona)?;
    let (source0, _) = h.tokens(IDPORTEN_APP, fiona)?;
    let expiry = first.access_expires_at.unwrap();
    while now() <= expiry {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    h.peer.reset_counts().await?;

    let token = h.engine.valid_token(ALTINN_APP, None, Some(fiona)).await;
    let token = h.expect_ok(token, "valid_token of an expired exchanged token")?;
    let (altinn1, _) = h.tokens(ALTINN_APP, fiona)?;
    let (source1, _) = h.tokens(IDPORTEN_APP, fiona)?;
    assert_eq!(token.token.expose(), altinn1);
    assert_ne!(altinn1, altinn0, "the expired exchanged token was served");
    assert_ne!(source1, source0, "the source was not refreshed");
    let exp = jwt_claims(&altinn1)?["exp"].as_i64().unwrap();
    assert!(exp > now(), "the new exchanged token is already expired");
    assert_eq!(token.expires_at, Some(exp));
    let source_exp = h
        .connection(IDPORTEN_APP, fiona)?
        .unwrap()
        .access_expires_at
        .unwrap();
    assert!((exp - source_exp).abs() <= 2, "{exp} vs {source_exp}");
    let counts = h.peer.counts().await?;
    assert_eq!(counts.get("refresh_token", "ok"), 1, "{counts:?}");
    assert_eq!(counts.total("refresh_token"), 1, "{counts:?}");
    h.assert_no_leaks()
}

/// One refresh per connection across threads and processes, against a provider that refuses
/// overlapping refreshes (HMRC: `invalid_request` "already in progress"): two engines ("nodes")
/// on one database, four senders each, an expired access token.
async fn concurrent_senders_on_two_nodes_cause_one_refresh_at_the_provider(
    backend: Backend,
) -> anyhow::Result<()> {
    let options = PeerOptions {
        refresh_delay: Some(Duration::from_millis(400)),
        ..PeerOptions::default()
    };
    let mut h = Harness::start(
        backend,
        Profile::Hmrc,
        &[vat_client(), itsa_client()],
        &options,
        hmrc_yaml,
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .await?;
    let fiona = h.fiona;
    let connected = h.connect(VAT_APP, fiona, "vat-company").await?;
    let (access0, _) = h.tokens(VAT_APP, fiona)?;
    h.set_access_expiry(connected.connection_id, now() - 10)?;
    h.peer.reset_counts().await?;
    let other_node = emsg_engine::Engine::new(
        h.pool.clone(),
        h.ring.clone(),
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )?;

    let mut senders = tokio::task::JoinSet::new();
    for i in 0..8 {
        let engine = if i % 2 == 0 {
            h.engine.clone()
        } else {
            other_node.clone()
        };
        senders.spawn(async move { engine.valid_token(VAT_APP, None, Some(fiona)).await });
    }
    let mut served = Vec::new();
    while let Some(joined) = senders.join_next().await {
        let token = h.expect_ok(joined?, "a concurrent sender")?;
        served.push(token.token.expose().to_owned());
    }
    let (access1, _) = h.tokens(VAT_APP, fiona)?;
    assert_ne!(access1, access0);
    assert!(
        served.iter().all(|t| *t == access1),
        "a sender got another token"
    );
    let counts = h.peer.counts().await?;
    assert_eq!(counts.get("refresh_token", "ok"), 1, "{counts:?}");
    assert_eq!(counts.total("refresh_token"), 1, "{counts:?}");
    let stored = h.connection(VAT_APP, fiona)?.unwrap();
    assert_eq!(stored.status(), Status::Connected);
    assert_eq!(stored.lease_owner, None, "the lease was not released");
    h.assert_no_leaks()
}

/// Client IDs, secrets and redirect URIs are sent exactly as registered: reserved characters
/// in the credentials survive basic (form-encoded, RFC 6749 §2.3.1) and post authentication,
/// and a redirect URI with an explicit default port and a query is not normalised.
async fn client_credentials_and_redirect_uris_with_reserved_characters_are_sent_as_registered(
    backend: Backend,
) -> anyhow::Result<()> {
    const ODD_SECRET: &str = "s3cret+with/reserved=chars:&%25 and space~9c41e7b2";
    const ODD_REDIRECT: &str = "http://127.0.0.1:80/oauth/callback?tenant=a%20b";

    // ID-porten-like: client_secret_basic, refresh, revocation on disconnect.
    let client = emsg_testkit::PeerClient::new("idporten:app+1", ODD_SECRET, ODD_REDIRECT);
    let mut h = Harness::start(
        backend,
        Profile::IdPorten,
        std::slice::from_ref(&client),
        &PeerOptions::default(),
        |peer| idporten_yaml_for(peer, &client, false),
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .await?;
    let fiona = h.fiona;
    let (url, back) = h
        .authorize(IDPORTEN_APP, fiona, CodeRequest::default(), "alice")
        .await?;
    assert_eq!(query_all(&url, "redirect_uri"), [ODD_REDIRECT]);
    assert_eq!(query_all(&url, "client_id"), ["idporten:app+1"]);
    assert_eq!(query(&back, "tenant").as_deref(), Some("a b"), "{back}");
    h.verifier(IDPORTEN_APP, fiona)?;
    let outcome = h.callback(fiona, &back).await;
    h.expect_ok(outcome, "callback")?;
    let obtained = h
        .engine
        .obtain_access_token(IDPORTEN_APP, None, fiona, None)
        .await;
    h.expect_ok(obtained, "Obtain access token with basic authentication")?;
    let refreshed = h
        .engine
        .refresh_access_token(IDPORTEN_APP, None, Acting::User(fiona))
        .await;
    h.expect_ok(refreshed, "Refresh with basic authentication")?;
    let (_, refresh) = h.tokens(IDPORTEN_APP, fiona)?;
    let disconnected = h
        .engine
        .disconnect(IDPORTEN_APP, None, Acting::User(fiona))
        .await;
    let disconnected = h.expect_ok(disconnected, "Disconnect")?;
    assert_eq!(
        disconnected.revoked_at_provider,
        Some(true),
        "{disconnected:?}"
    );
    let (status, body) =
        direct_refresh(&h.peer, &client, ClientAuth::Basic, &refresh.unwrap()).await?;
    assert_eq!(
        (status, oauth_error(&body)),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let counts = h.peer.counts().await?;
    assert_eq!(counts.get("authorization_code", "ok"), 1, "{counts:?}");
    assert_eq!(counts.get("refresh_token", "ok"), 1, "{counts:?}");
    h.assert_no_leaks()?;
    drop(h);

    // HMRC-like: client_secret_post.
    let vat = emsg_testkit::PeerClient::new("hmrc:vat+app", ODD_SECRET, ODD_REDIRECT);
    let mut h = Harness::start(
        backend,
        Profile::Hmrc,
        &[vat.clone(), itsa_client()],
        &PeerOptions::default(),
        |peer| hmrc_yaml_for(peer, &vat, &itsa_client()),
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .await?;
    let fiona = h.fiona;
    h.connect(VAT_APP, fiona, "vat-company").await?;
    let refreshed = h
        .engine
        .refresh_access_token(VAT_APP, None, Acting::User(fiona))
        .await;
    h.expect_ok(refreshed, "Refresh with post authentication")?;
    h.tokens(VAT_APP, fiona)?;
    let counts = h.peer.counts().await?;
    assert_eq!(counts.get("authorization_code", "ok"), 1, "{counts:?}");
    assert_eq!(counts.get("refresh_token", "ok"), 1, "{counts:?}");
    h.assert_no_leaks()
}

/// Codes are short-lived: a code the provider let expire gives `invalid_grant`, the user is told
/// to get a new code, and nothing is stored.
async fn an_expired_code_is_refused_by_the_provider_and_the_user_told_to_get_a_new_one(
    backend: Backend,
) -> anyhow::Result<()> {
    let options = PeerOptions {
        code_ttl: Some(1),
        ..PeerOptions::default()
    };
    let mut h = Harness::start(
        backend,
        Profile::Hmrc,
        &[vat_client(), itsa_client()],
        &options,
        hmrc_yaml,
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .await?;
    let fiona = h.fiona;
    let (_, back) = h
        .authorize(VAT_APP, fiona, CodeRequest::default(), "vat-company")
        .await?;
    h.verifier(VAT_APP, fiona)?;
    let outcome = h.callback(fiona, &back).await;
    h.expect_ok(outcome, "callback")?;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let refused = h
        .engine
        .obtain_access_token(VAT_APP, None, fiona, None)
        .await;
    let refused = h.expect_err(refused, "obtaining with an expired code")?;
    assert_eq!(refused.code(), "invalid_grant");
    assert!(
        matches!(&refused, EngineError::Provider { failure, .. } if failure.kind == ProviderFailureKind::Dead),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("Get authorization code"),
        "{refused}"
    );
    assert!(h.all_connections()?.is_empty());
    let counts = h.peer.counts().await?;
    assert_eq!(
        counts.get("authorization_code", "invalid_grant"),
        1,
        "{counts:?}"
    );
    assert_eq!(counts.total("authorization_code"), 1, "{counts:?}");
    h.assert_no_leaks()
}

/// (5) The leak check itself: a secret that reaches the tracing output is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leak_check_finds_a_token_written_to_the_log() -> anyhow::Result<()> {
    let mut h = Harness::start(
        Backend::Sqlite,
        Profile::Hmrc,
        &[vat_client(), itsa_client()],
        &PeerOptions::default(),
        hmrc_yaml,
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .await?;
    let fiona = h.fiona;
    h.connect(VAT_APP, fiona, "vat-company").await?;
    h.assert_no_leaks()?;
    let (_, refresh) = h.tokens(VAT_APP, fiona)?;
    tracing::trace!(target: "interop::bait", "a careless line: {}", refresh.unwrap());
    let caught = h.assert_no_leaks();
    ensure!(caught.is_err(), "a logged refresh token went unnoticed");
    assert!(format!("{:?}", caught.err()).contains("tracing output"));
    Ok(())
}
