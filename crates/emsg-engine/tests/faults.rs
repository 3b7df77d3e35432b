//! Fault injection: the engine's actions against a scripted provider that fails in every way a
//! real one does (5xx, hangs, resets, malformed answers, OAuth errors, missing fields), on SQLite
//! and PostgreSQL. Every scenario ends with a leak check: no token, code, verifier or client
//! secret in any error, result, audit entry, connection error or tracing line it produced.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use emsg_engine::Acting;
use emsg_store::UserId;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use emsg_engine::{EngineError, ProviderFailureKind};
use emsg_store::connections::Status;
use emsg_test_db::on_both_backends;
use emsg_testkit::mock::MockResponse;
use serde_json::json;
use sha2::{Digest, Sha256};

use support::*;

fn now() -> i64 {
    emsg_store::now()
}

/// The kind of a provider failure, or `None` for any other error.
fn kind(error: &EngineError) -> Option<ProviderFailureKind> {
    match error {
        EngineError::Provider { failure, .. } => Some(failure.kind),
        _ => None,
    }
}

fn refused(error: &EngineError) -> bool {
    matches!(error, EngineError::Refused(_))
}

/// Connects alice to VAT with `access-1` / `refresh-1`, valid an hour.
async fn vat_connected(env: &Env) -> emsg_engine::ConnectionView {
    env.connect(
        VAT,
        VAT_TOKEN,
        env.alice,
        "access-1",
        Some("refresh-1"),
        Some(3600),
    )
    .await
}

fn last_error(env: &Env, app: &str, user: UserId) -> String {
    env.connection(app, user)
        .expect("the connection exists")
        .last_error
        .unwrap_or_default()
}

on_both_backends! {
    fn a_refresh_meeting_500_then_503_succeeds_on_the_third_attempt(db) {
        run(db, async |env: &Env| {
            let before = vat_connected(env).await;
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(MockResponse::text(500, "internal error"))
                .then(MockResponse::text(503, "busy"))
                .then(MockResponse::token("access-2", Some("refresh-2"), Some(7200)))
                .mount();

            let view = env.ok(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);

            assert_eq!(view.status, Status::Connected);
            assert_eq!(view.last_error, None);
            let refreshes = env.refreshes(VAT_TOKEN);
            assert_eq!(refreshes.len(), 3, "two failures and one success");
            for request in &refreshes {
                assert_eq!(form_value(request, "refresh_token").as_deref(), Some("refresh-1"));
            }
            assert_eq!(
                env.stored_tokens(VAT, env.alice),
                (Some("access-2".to_owned()), Some("refresh-2".to_owned()))
            );
            assert!(view.access_expires_at > before.access_expires_at);
            let token = env.ok(env.engine.valid_token(VAT, None, Some(env.alice)).await);
            assert_eq!(token.token.expose(), "access-2");
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 3, "a fresh token needs no refresh");
            Ok(())
        })
    }

    fn a_provider_answering_503_forever_leaves_the_connection_refresh_failing_with_the_old_token_in_use(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            env.mock.on("POST", VAT_TOKEN).respond(MockResponse::text(503, "busy")).mount();

            let error = env.err(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);

            assert_eq!(kind(&error), Some(ProviderFailureKind::Transient));
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 3, "exactly `attempts` requests");
            let connection = env.connection(VAT, env.alice).unwrap();
            assert_eq!(connection.status(), Status::RefreshFailing);
            assert!(last_error(env, VAT, env.alice).contains("503"), "{}", last_error(env, VAT, env.alice));
            let views = env.ok(env.engine.status(Some(VAT), None).await);
            assert_eq!(views[0].status, Status::RefreshFailing);
            assert_eq!(
                env.stored_tokens(VAT, env.alice),
                (Some("access-1".to_owned()), Some("refresh-1".to_owned()))
            );

            // Still an hour to live: handed out without asking the provider.
            let token = env.ok(env.engine.valid_token(VAT, None, Some(env.alice)).await);
            assert_eq!(token.token.expose(), "access-1");
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 3);

            // Inside the skew but not expired: a refresh is tried (bounded) and the old token
            // still serves senders. (A second engine: the first one caches the token for 1 s.)
            env.set_access_expiry(connection.id, Some(now() + 30));
            let sender = env.engine_with_timeout(Duration::from_millis(500));
            let token = env.ok(sender.valid_token(VAT, None, Some(env.alice)).await);
            assert_eq!(token.token.expose(), "access-1");
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 6);
            assert_eq!(env.connection(VAT, env.alice).unwrap().status(), Status::RefreshFailing);
            Ok(())
        })
    }

    fn a_token_endpoint_that_never_answers_times_out_a_bounded_number_of_times(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            env.mock.on("POST", VAT_TOKEN).respond(MockResponse::Hang).mount();
            let engine = env.engine_with_timeout(Duration::from_millis(300));

            let started = Instant::now();
            let error = env.err(engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);
            let took = started.elapsed();

            assert_eq!(kind(&error), Some(ProviderFailureKind::Transient));
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 3);
            assert!(took >= Duration::from_millis(900), "three timeouts of 300 ms, took {took:?}");
            assert!(took < Duration::from_secs(5), "bounded, took {took:?}");
            assert_eq!(env.connection(VAT, env.alice).unwrap().status(), Status::RefreshFailing);
            assert!(last_error(env, VAT, env.alice).contains("timeout"), "{}", last_error(env, VAT, env.alice));
            assert_eq!(env.stored_tokens(VAT, env.alice).0.as_deref(), Some("access-1"));
            Ok(())
        })
    }

    fn a_connection_reset_is_transient_and_retried(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            env.mock
                .on("POST", VAT_TOKEN)
                .times(2, MockResponse::Reset)
                .then(MockResponse::token("access-2", Some("refresh-2"), Some(3600)))
                .mount();

            let view = env.ok(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);

            assert_eq!(view.status, Status::Connected);
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 3);
            assert_eq!(env.stored_tokens(VAT, env.alice).0.as_deref(), Some("access-2"));

            // Resets forever: refresh_failing after exactly `attempts` more requests.
            env.mock.on("POST", VAT_TOKEN).respond(MockResponse::Reset).mount();
            let error = env.err(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);
            assert_eq!(kind(&error), Some(ProviderFailureKind::Transient));
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 6);
            assert_eq!(env.connection(VAT, env.alice).unwrap().status(), Status::RefreshFailing);
            assert_eq!(
                env.stored_tokens(VAT, env.alice),
                (Some("access-2".to_owned()), Some("refresh-2".to_owned()))
            );
            Ok(())
        })
    }

    fn a_malformed_token_answer_is_transient_stores_nothing_and_is_never_quoted(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            let version = env.connection(VAT, env.alice).unwrap().version;
            let body = r#"{"access_token":"leaky-partial-token","refresh_token":"#;
            env.mock.on("POST", VAT_TOKEN).respond(raw_json(200, body)).mount();

            let error = env.err(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);

            assert_eq!(kind(&error), Some(ProviderFailureKind::Transient));
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 3, "retried as transient");
            let connection = env.connection(VAT, env.alice).unwrap();
            assert_eq!(connection.status(), Status::RefreshFailing);
            assert_eq!(connection.version, version, "the token pair was not touched");
            assert_eq!(
                env.stored_tokens(VAT, env.alice),
                (Some("access-1".to_owned()), Some("refresh-1".to_owned()))
            );
            for text in [error.to_string(), format!("{error:?}"), last_error(env, VAT, env.alice)] {
                assert!(!text.contains("leaky-partial-token"), "{text}");
                assert!(!text.contains("{\"access_token\""), "{text}");
            }
            let token = env.ok(env.engine.valid_token(VAT, None, Some(env.alice)).await);
            assert_eq!(token.token.expose(), "access-1");
            Ok(())
        })
    }

    fn a_200_carrying_an_oauth_error_is_read_as_that_error(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(MockResponse::json(
                    200,
                    json!({"error": "invalid_grant", "error_description": "The refresh token has expired"}),
                ))
                .mount();

            let error = env.err(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);

            assert_eq!(kind(&error), Some(ProviderFailureKind::Dead));
            assert_eq!(error.code(), "invalid_grant");
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 1, "a dead grant is never retried");
            let connection = env.connection(VAT, env.alice).unwrap();
            assert_eq!(connection.status(), Status::ReauthorizationRequired);
            assert_eq!(connection.last_error_code.as_deref(), Some("invalid_grant"));
            Ok(())
        })
    }

    fn invalid_grant_on_refresh_requires_reauthorization_after_one_request_and_touches_no_other_connection(db) {
        run(db, async |env: &Env| {
            let vat = vat_connected(env).await;
            env.connect(OTHER, OTHER_TOKEN, env.alice, "other-access-1", Some("other-refresh-1"), Some(3600)).await;
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(MockResponse::oauth_error(400, "invalid_grant", "Bad refresh token"))
                .mount();

            let error = env.err(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);

            assert_eq!(kind(&error), Some(ProviderFailureKind::Dead));
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 1);
            let connection = env.connection(VAT, env.alice).unwrap();
            assert_eq!(connection.status(), Status::ReauthorizationRequired);
            let message = last_error(env, VAT, env.alice);
            assert!(message.contains("Get authorization code"), "{message}");

            // Expired now: asking for a token does not go to the provider again.
            env.set_access_expiry(vat.connection_id, Some(now() - 10));
            let error = env.err(env.engine.valid_token(VAT, None, Some(env.alice)).await);
            assert!(error.to_string().contains("Get authorization code"), "{error}");
            let _ = env.err(env.engine.valid_token(VAT, None, Some(env.alice)).await);
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 1);

            // The other record's connection is as it was.
            let other = env.connection(OTHER, env.alice).unwrap();
            assert_eq!(other.status(), Status::Connected);
            assert_eq!(other.last_error, None);
            let token = env.ok(env.engine.valid_token(OTHER, None, Some(env.alice)).await);
            assert_eq!(token.token.expose(), "other-access-1");
            assert!(env.refreshes(OTHER_TOKEN).is_empty());
            Ok(())
        })
    }

    fn invalid_client_on_refresh_is_not_retried_and_tells_an_administrator_to_check_the_credentials(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(
                    MockResponse::oauth_error(401, "invalid_client", "Client authentication failed")
                        .with_header("www-authenticate", "Basic realm=\"token\""),
                )
                .mount();

            let error = env.err(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);

            assert_eq!(kind(&error), Some(ProviderFailureKind::Rejected));
            assert_eq!(error.code(), "invalid_client");
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 1);
            assert_eq!(env.connection(VAT, env.alice).unwrap().status(), Status::RefreshFailing);
            for text in [error.to_string(), last_error(env, VAT, env.alice)] {
                assert!(text.contains("administrator"), "{text}");
                assert!(text.contains("client ID"), "{text}");
                assert!(text.contains("secret"), "{text}");
            }
            assert_eq!(env.stored_tokens(VAT, env.alice).1.as_deref(), Some("refresh-1"));
            Ok(())
        })
    }

    fn hmrcs_refresh_already_in_progress_is_retried_then_succeeds(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(MockResponse::oauth_error(
                    400,
                    "invalid_request",
                    "Refresh operation is already in progress",
                ))
                .then(MockResponse::token("access-2", Some("refresh-2"), Some(14_400)))
                .mount();

            let view = env.ok(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);

            assert_eq!(view.status, Status::Connected);
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 2);
            assert_eq!(
                env.stored_tokens(VAT, env.alice),
                (Some("access-2".to_owned()), Some("refresh-2".to_owned()))
            );
            Ok(())
        })
    }

    fn a_refresh_answer_without_refresh_token_keeps_the_old_one(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(MockResponse::token("access-2", None, Some(3600)))
                .then(MockResponse::token("access-3", None, Some(3600)))
                .mount();

            let view = env.ok(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);
            assert!(view.has_refresh_token);
            assert_eq!(
                env.stored_tokens(VAT, env.alice),
                (Some("access-2".to_owned()), Some("refresh-1".to_owned()))
            );

            env.ok(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);
            let refreshes = env.refreshes(VAT_TOKEN);
            assert_eq!(refreshes.len(), 2);
            assert_eq!(form_value(&refreshes[1], "refresh_token").as_deref(), Some("refresh-1"));
            assert_eq!(env.stored_tokens(VAT, env.alice).0.as_deref(), Some("access-3"));
            Ok(())
        })
    }
    fn a_refresh_answer_with_an_empty_refresh_token_keeps_the_old_one(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(raw_json(
                    200,
                    r#"{"access_token":"access-2","token_type":"Bearer","refresh_token":"","expires_in":3600}"#,
                ))
                .then(MockResponse::token("access-3", Some("refresh-3"), Some(3600)))
                .mount();

            env.ok(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);
            assert_eq!(env.stored_tokens(VAT, env.alice).1.as_deref(), Some("refresh-1"));

            env.ok(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);
            let refreshes = env.refreshes(VAT_TOKEN);
            assert_eq!(form_value(&refreshes[1], "refresh_token").as_deref(), Some("refresh-1"));
            Ok(())
        })
    }

    fn a_token_without_expires_in_is_stored_with_unknown_expiry_and_used_without_refreshing(db) {
        run(db, async |env: &Env| {
            let view = env.connect(VAT, VAT_TOKEN, env.alice, "access-1", Some("refresh-1"), None).await;
            assert_eq!(view.access_expires_at, None);
            assert_eq!(env.connection(VAT, env.alice).unwrap().access_expires_at, None);

            for _ in 0..2 {
                let token = env.ok(env.engine.valid_token(VAT, None, Some(env.alice)).await);
                assert_eq!(token.token.expose(), "access-1");
                assert_eq!(token.expires_at, None);
            }
            assert_eq!(env.mock.count("POST", VAT_TOKEN), 1, "only the code was exchanged");
            Ok(())
        })
    }

    fn an_unknown_token_type_on_obtain_is_named_stores_nothing_and_spends_the_code(db) {
        run(db, async |env: &Env| {
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(raw_json(
                    200,
                    r#"{"access_token":"access-1","token_type":"mac","refresh_token":"refresh-1","expires_in":3600}"#,
                ))
                .mount();
            let (_, state) = env.start_flow(VAT, env.alice).await;
            env.ok(env.callback(env.alice, &state, "code-1").await);

            let error = env.err(env.engine.obtain_access_token(VAT, None, env.alice, None).await);

            assert!(error.to_string().contains("`mac`"), "{error}");
            assert_eq!(kind(&error), Some(ProviderFailureKind::Rejected));
            assert!(env.connection(VAT, env.alice).is_none(), "no connection was stored");
            assert!(env.pending(VAT, env.alice).unwrap().used_at.is_some(), "the code is spent");

            let again = env.err(env.engine.obtain_access_token(VAT, None, env.alice, None).await);
            assert!(refused(&again), "{again}");
            assert!(again.to_string().contains("already used"), "{again}");
            assert_eq!(env.mock.count("POST", VAT_TOKEN), 1, "the spent code is not sent again");
            Ok(())
        })
    }

    fn client_credentials_pkce_and_redirect_uri_go_to_the_token_endpoint_as_the_record_says(db) {
        run(db, async |env: &Env| {
            // client_secret_post with PKCE.
            let (url, _) = env
                .connect_with(VAT, VAT_TOKEN, env.alice, MockResponse::token("access-1", Some("refresh-1"), Some(3600)))
                .await;
            assert_eq!(query_value(&url, "redirect_uri").as_deref(), Some(VAT_REDIRECT));
            assert_eq!(query_value(&url, "client_id").as_deref(), Some(VAT_CLIENT_ID));
            assert_eq!(query_value(&url, "code_challenge_method").as_deref(), Some("S256"));
            let challenge = query_value(&url, "code_challenge").expect("a code challenge");
            let codes = env.grants(VAT_TOKEN, "authorization_code");
            assert_eq!(codes.len(), 1);
            let request = &codes[0];
            assert_eq!(form_value(request, "client_id").as_deref(), Some(VAT_CLIENT_ID));
            assert_eq!(form_value(request, "client_secret").as_deref(), Some(VAT_SECRET));
            assert_eq!(request.header("authorization"), None);
            assert_eq!(form_value(request, "code").as_deref(), Some("code-1"));
            assert_eq!(form_value(request, "redirect_uri").as_deref(), Some(VAT_REDIRECT));
            let verifier = form_value(request, "code_verifier").expect("a code verifier");
            assert!((43..=128).contains(&verifier.len()), "{verifier}");
            assert_eq!(URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())), challenge);

            env.mock.on("POST", VAT_TOKEN).respond(MockResponse::token("access-2", Some("refresh-2"), Some(3600))).mount();
            env.ok(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);
            let refresh = &env.refreshes(VAT_TOKEN)[0];
            assert_eq!(form_value(refresh, "client_secret").as_deref(), Some(VAT_SECRET));
            assert_eq!(refresh.basic_auth(), None);

            // client_secret_basic without PKCE; a redirect URL a URL parser would "normalise".
            let (url, _) = env
                .connect_with(OTHER, OTHER_TOKEN, env.alice, MockResponse::token("other-access-1", Some("other-refresh-1"), Some(3600)))
                .await;
            assert_eq!(query_value(&url, "redirect_uri").as_deref(), Some(OTHER_REDIRECT));
            assert_eq!(query_value(&url, "code_challenge"), None);
            let codes = env.grants(OTHER_TOKEN, "authorization_code");
            assert_eq!(codes.len(), 1);
            let request = &codes[0];
            assert_eq!(
                request.basic_auth(),
                Some((OTHER_CLIENT_ID.to_owned(), OTHER_SECRET.to_owned()))
            );
            assert_eq!(form_value(request, "client_secret"), None);
            assert_eq!(form_value(request, "code_verifier"), None);
            assert_eq!(form_value(request, "redirect_uri").as_deref(), Some(OTHER_REDIRECT));

            env.mock.on("POST", OTHER_TOKEN).respond(MockResponse::token("access-3", Some("refresh-3"), Some(3600))).mount();
            env.ok(env.engine.refresh_access_token(OTHER, None, Acting::User(env.alice)).await);
            let refresh = &env.refreshes(OTHER_TOKEN)[0];
            assert_eq!(
                refresh.basic_auth(),
                Some((OTHER_CLIENT_ID.to_owned(), OTHER_SECRET.to_owned()))
            );
            assert_eq!(form_value(refresh, "client_secret"), None);
            Ok(())
        })
    }

    fn replayed_foreign_unknown_and_late_callbacks_are_refused_and_change_nothing(db) {
        run(db, async |env: &Env| {
            env.mock.on("POST", VAT_TOKEN).respond(MockResponse::token("access-1", Some("refresh-1"), Some(3600))).mount();

            // A state emsg never issued.
            let error = env.err(env.callback(env.alice, "not-a-state-emsg-issued", "code-evil").await);
            assert!(refused(&error) && error.to_string().contains("unknown state"), "{error}");

            // Alice's state in Bob's session.
            let (_, state) = env.start_flow(VAT, env.alice).await;
            let error = env.err(env.callback(env.bob, &state, "code-evil").await);
            assert!(refused(&error) && error.to_string().contains("another user"), "{error}");
            let flow = env.pending(VAT, env.alice).unwrap();
            assert!(flow.callback_at.is_none() && !flow.has_code(), "{flow:?}");

            // Alice's own callback, then a replay of it.
            env.ok(env.callback(env.alice, &state, "code-1").await);
            let received = env.pending(VAT, env.alice).unwrap().code_received_at;
            let error = env.err(env.callback(env.alice, &state, "code-evil").await);
            assert!(refused(&error) && error.to_string().contains("already used"), "{error}");
            assert_eq!(env.pending(VAT, env.alice).unwrap().code_received_at, received);

            // Bob cannot obtain with Alice's code.
            let error = env.err(env.engine.obtain_access_token(VAT, None, env.bob, None).await);
            assert!(refused(&error), "{error}");
            assert_eq!(env.mock.count("POST", VAT_TOKEN), 0);

            // Alice obtains with the code of her callback, not the replayed one.
            let view = env.ok(env.engine.obtain_access_token(VAT, None, env.alice, None).await);
            let codes = env.grants(VAT_TOKEN, "authorization_code");
            assert_eq!(codes.len(), 1);
            assert_eq!(form_value(&codes[0], "code").as_deref(), Some("code-1"));

            // A replay after the token was obtained changes nothing either.
            let version = env.connection(VAT, env.alice).unwrap().version;
            let error = env.err(env.callback(env.alice, &state, "code-evil").await);
            assert!(refused(&error), "{error}");
            assert_eq!(env.connection(VAT, env.alice).unwrap().version, version);

            // A code older than the record's code lifetime (10m) is refused before it is sent.
            let (_, state) = env.start_flow(VAT, env.alice).await;
            env.ok(env.callback(env.alice, &state, "code-2").await);
            let flow = env.pending(VAT, env.alice).unwrap();
            env.set_code_received_at(flow.id, now() - 601);
            let error = env.err(env.engine.obtain_access_token(VAT, None, env.alice, None).await);
            assert!(refused(&error) && error.to_string().contains("valid for 10 minutes"), "{error}");
            assert_eq!(env.grants(VAT_TOKEN, "authorization_code").len(), 1);
            let connection = env.connection(VAT, env.alice).unwrap();
            assert_eq!(connection.version, version);
            assert_eq!(connection.id, view.connection_id);
            assert_eq!(env.stored_tokens(VAT, env.alice).0.as_deref(), Some("access-1"));
            Ok(())
        })
    }

    fn disconnect_revokes_the_refresh_token_and_deletes_the_tokens_even_when_revocation_fails(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            env.mock.on("POST", VAT_REVOKE).respond(MockResponse::text(200, "")).mount();

            let done = env.ok(env.engine.disconnect(VAT, None, Acting::User(env.alice)).await);

            assert_eq!(done.revoked_at_provider, Some(true));
            assert_eq!(done.revocation_error, None);
            let revocations = env.mock.requests().into_iter().filter(|r| r.path == VAT_REVOKE).collect::<Vec<_>>();
            assert_eq!(revocations.len(), 1);
            let request = &revocations[0];
            assert_eq!(request.method, "POST");
            assert!(
                request.header("content-type").unwrap_or_default().starts_with("application/x-www-form-urlencoded"),
                "{:?}", request.header("content-type")
            );
            assert_eq!(form_value(request, "token").as_deref(), Some("refresh-1"));
            assert_eq!(form_value(request, "token_type_hint").as_deref(), Some("refresh_token"));
            assert_eq!(form_value(request, "client_secret").as_deref(), Some(VAT_SECRET));
            let connection = env.connection(VAT, env.alice).unwrap();
            assert_eq!(connection.status(), Status::Disconnected);
            assert_eq!(env.stored_tokens(VAT, env.alice), (None, None));
            let _ = env.err(env.engine.valid_token(VAT, None, Some(env.alice)).await);

            // The revocation endpoint is down: the local tokens go all the same.
            vat_connected(env).await;
            env.mock.on("POST", VAT_REVOKE).respond(MockResponse::text(503, "down")).mount();
            let done = env.ok(env.engine.disconnect(VAT, None, Acting::User(env.alice)).await);
            assert_eq!(done.revoked_at_provider, Some(false));
            let why = done.revocation_error.clone().expect("the revocation failure is reported");
            env.remember_text(why.clone());
            assert!(why.contains("503"), "{why}");
            assert_eq!(env.connection(VAT, env.alice).unwrap().status(), Status::Disconnected);
            assert_eq!(env.stored_tokens(VAT, env.alice), (None, None));
            let mut conn = env.pool.get().unwrap();
            let audit = emsg_store::audit::recent(&mut conn, 1000).unwrap();
            assert!(
                audit.iter().any(|e| e.action == "disconnect" && e.detail.contains("revocation at the provider failed")),
                "{audit:?}"
            );

            // A record without a revocation URL: nothing is sent.
            env.connect(OTHER, OTHER_TOKEN, env.alice, "other-access-1", Some("other-refresh-1"), Some(3600)).await;
            let before = env.mock.requests().len();
            let done = env.ok(env.engine.disconnect(OTHER, None, Acting::User(env.alice)).await);
            assert_eq!(done.revoked_at_provider, None);
            assert_eq!(env.mock.requests().len(), before);
            assert_eq!(env.stored_tokens(OTHER, env.alice), (None, None));
            Ok(())
        })
    }

    fn an_exchange_reads_plain_quoted_and_jwt_answers_and_stores_nothing_on_401(db) {
        run(db, async |env: &Env| {
            let source = env.connect(IDP, IDP_TOKEN, env.alice, "idp-access-1", Some("idp-refresh-1"), Some(3600)).await;

            env.mock.on("GET", EXCHANGE).respond(MockResponse::text(401, "unauthorized")).mount();
            let error = env.err(env.engine.exchange(ALTINN, None, Some(env.alice)).await);
            assert!(error.to_string().contains("401"), "{error}");
            assert!(env.connection(ALTINN, env.alice).is_none(), "nothing stored");

            env.mock.on("GET", EXCHANGE).respond(MockResponse::text(200, "altinn-plain-token-1\n")).mount();
            let view = env.ok(env.engine.exchange(ALTINN, None, Some(env.alice)).await);
            assert_eq!(view.status, Status::Connected);
            assert_eq!(env.stored_tokens(ALTINN, env.alice).0.as_deref(), Some("altinn-plain-token-1"));
            assert_eq!(view.access_expires_at, source.access_expires_at, "lives as long as the source");
            let exchanges = env.mock.requests().into_iter().filter(|r| r.path == EXCHANGE).collect::<Vec<_>>();
            assert_eq!(exchanges.len(), 2);
            for request in &exchanges {
                assert_eq!(request.method, "GET");
                assert_eq!(request.header("authorization"), Some("Bearer idp-access-1"));
            }
            let token = env.ok(env.engine.valid_token(ALTINN, None, Some(env.alice)).await);
            assert_eq!(token.token.expose(), "altinn-plain-token-1");

            env.mock.on("GET", EXCHANGE).respond(MockResponse::json(200, json!("altinn-quoted-token-2"))).mount();
            env.ok(env.engine.exchange(ALTINN, None, Some(env.alice)).await);
            assert_eq!(env.stored_tokens(ALTINN, env.alice).0.as_deref(), Some("altinn-quoted-token-2"));

            let exp = now() + 5000;
            let jwt = format!(
                "{}.{}.c2lnbmF0dXJl",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
                URL_SAFE_NO_PAD.encode(json!({"exp": exp, "sub": "altinn"}).to_string())
            );
            env.add_secret(&jwt);
            env.mock.on("GET", EXCHANGE).respond(MockResponse::text(200, &jwt)).mount();
            let view = env.ok(env.engine.exchange(ALTINN, None, Some(env.alice)).await);
            assert_eq!(view.access_expires_at, Some(exp));
            assert_eq!(env.stored_tokens(ALTINN, env.alice).0.as_deref(), Some(jwt.as_str()));
            Ok(())
        })
    }

    fn a_callback_without_iss_is_refused_when_the_issuer_says_it_always_sends_one(db) {
        run(db, async |env: &Env| {
            use diesel::prelude::*;
            use emsg_store::schema::web_applications as table;
            let issuer = env.mock.url("");
            let mut conn = env.db.connect();
            diesel::update(table::table.filter(table::name.eq(IDP)))
                .set(table::issuer.eq(Some(&issuer)))
                .execute(&mut conn)
                .unwrap();
            let discovery = |supported: bool| MockResponse::json(200, json!({
                "issuer": issuer,
                "jwks_uri": format!("{issuer}/jwks"),
                "authorization_response_iss_parameter_supported": supported,
            }));
            env.mock.on("GET", "/.well-known/openid-configuration").respond(discovery(true)).mount();
            let callback = |state: &str, iss: Option<&str>| env.engine.callback(env.alice, emsg_engine::CallbackParams {
                state: state.to_owned(),
                code: Some(emsg_seal::Secret::new("code-1")),
                iss: iss.map(str::to_owned),
                ..Default::default()
            });
            let (_, state) = env.start_flow(IDP, env.alice).await;
            let error = env.err(callback(&state, None).await);
            assert!(refused(&error) && error.to_string().contains("names no issuer"), "{error}");
            let error = env.err(callback(&state, Some("http://127.0.0.1:1")).await);
            assert!(refused(&error) && error.to_string().contains("names the issuer"), "{error}");
            let flow = env.pending(IDP, env.alice).unwrap();
            assert!(flow.callback_at.is_none() && !flow.has_code(), "nothing changed: {flow:?}");
            env.ok(callback(&state, Some(&issuer)).await);
            Ok(())
        })
    }

    fn a_callback_without_iss_is_accepted_when_the_issuer_does_not_promise_one(db) {
        run(db, async |env: &Env| {
            use diesel::prelude::*;
            use emsg_store::schema::web_applications as table;
            let issuer = env.mock.url("");
            let mut conn = env.db.connect();
            diesel::update(table::table.filter(table::name.eq(IDP)))
                .set(table::issuer.eq(Some(&issuer)))
                .execute(&mut conn)
                .unwrap();
            env.mock.on("GET", "/.well-known/openid-configuration").respond(MockResponse::json(200, json!({
                "issuer": issuer,
                "jwks_uri": format!("{issuer}/jwks"),
            }))).mount();
            let (_, state) = env.start_flow(IDP, env.alice).await;
            env.ok(env.callback(env.alice, &state, "code-1").await);
            Ok(())
        })
    }

    fn an_exchange_401_asks_to_authorize_again_only_when_it_refuses_the_token(db) {
        run(db, async |env: &Env| {
            env.connect(IDP, IDP_TOKEN, env.alice, "idp-access-1", Some("idp-refresh-1"), Some(3600)).await;
            env.mock.on("GET", EXCHANGE).respond(MockResponse::text(200, "altinn-plain-token-1")).mount();
            env.ok(env.engine.exchange(ALTINN, None, Some(env.alice)).await);

            // The exchange service's own lookup failed: a bare 401. Try again later; kept.
            env.mock.on("GET", EXCHANGE).respond(MockResponse::text(401, "")).mount();
            let error = env.err(env.engine.exchange(ALTINN, None, Some(env.alice)).await);
            assert_eq!(kind(&error), Some(ProviderFailureKind::Transient), "{error}");
            assert!(error.to_string().contains("Try again later"), "{error}");
            assert_eq!(env.connection(ALTINN, env.alice).unwrap().status(), Status::Connected);
            assert_eq!(env.stored_tokens(ALTINN, env.alice).0.as_deref(), Some("altinn-plain-token-1"));

            // A 503 likewise.
            env.mock.on("GET", EXCHANGE).respond(MockResponse::text(503, "down")).mount();
            let error = env.err(env.engine.exchange(ALTINN, None, Some(env.alice)).await);
            assert_eq!(kind(&error), Some(ProviderFailureKind::Transient), "{error}");
            assert_eq!(env.connection(ALTINN, env.alice).unwrap().status(), Status::Connected);

            // The token itself is refused: authorize the source again.
            env.mock.on("GET", EXCHANGE).respond(MockResponse::Reply {
                status: 401,
                headers: vec![(
                    "www-authenticate".to_owned(),
                    r#"Bearer error="invalid_token", error_description="The token expired""#.to_owned(),
                )],
                body: Vec::new(),
                delay: None,
            }).mount();
            let error = env.err(env.engine.exchange(ALTINN, None, Some(env.alice)).await);
            assert_eq!(kind(&error), Some(ProviderFailureKind::Dead), "{error}");
            assert!(error.to_string().contains(&format!("Authorize {IDP} again")), "{error}");
            let connection = env.connection(ALTINN, env.alice).unwrap();
            assert_eq!(connection.status(), Status::ReauthorizationRequired);
            assert_eq!(connection.last_error_code.as_deref(), Some("invalid_token"));
            Ok(())
        })
    }

    fn a_user_specific_record_serves_only_the_user_who_authorized_it(db) {
        run(db, async |env: &Env| {
            env.connect(IDP, IDP_TOKEN, env.alice, "idp-access-1", Some("idp-refresh-1"), Some(3600)).await;

            let error = env.err(env.engine.valid_token(IDP, None, Some(env.bob)).await);
            let text = error.to_string();
            assert!(matches!(error, EngineError::NotConnected(_)), "{error:?}");
            assert!(text.contains("alice"), "{text}");
            assert!(text.contains("Authorize it yourself first"), "{text}");

            let error = env.err(env.engine.valid_token(ALTINN, None, Some(env.bob)).await);
            assert!(error.to_string().contains("alice"), "{error}");
            assert_eq!(env.mock.count("GET", EXCHANGE), 0);

            let error = env.err(env.engine.refresh_access_token(IDP, None, Acting::User(env.bob)).await);
            assert!(error.to_string().contains("alice"), "{error}");
            assert!(env.refreshes(IDP_TOKEN).is_empty());

            let token = env.ok(env.engine.valid_token(IDP, None, Some(env.alice)).await);
            assert_eq!(token.token.expose(), "idp-access-1");
            Ok(())
        })
    }
    fn a_bare_401_on_refresh_is_a_client_authentication_failure_and_not_retried(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(
                    MockResponse::text(401, "")
                        .with_header("www-authenticate", "Basic realm=\"token\""),
                )
                .mount();

            let error = env.err(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);

            assert_eq!(env.refreshes(VAT_TOKEN).len(), 1, "retrying cannot fix the credentials");
            assert_eq!(kind(&error), Some(ProviderFailureKind::Rejected));
            assert_eq!(env.connection(VAT, env.alice).unwrap().status(), Status::RefreshFailing);
            assert!(error.to_string().contains("client ID"), "{error}");
            Ok(())
        })
    }

    fn a_code_is_sent_once_even_when_the_token_endpoint_fails_transiently(db) {
        run(db, async |env: &Env| {
            env.mock.on("POST", VAT_TOKEN).respond(MockResponse::text(503, "busy")).mount();
            let (_, state) = env.start_flow(VAT, env.alice).await;
            env.ok(env.callback(env.alice, &state, "code-1").await);

            let error = env.err(env.engine.obtain_access_token(VAT, None, env.alice, None).await);

            assert_eq!(kind(&error), Some(ProviderFailureKind::Transient));
            assert!(error.to_string().contains("Get authorization code"), "{error}");
            assert_eq!(env.mock.count("POST", VAT_TOKEN), 1, "a single-use code is never retried");
            assert!(env.connection(VAT, env.alice).is_none());
            Ok(())
        })
    }

    fn a_slow_provider_sees_one_refresh_for_many_concurrent_callers_in_one_or_two_nodes(db) {
        run(db, async |env: &Env| {
            let view = vat_connected(env).await;
            env.set_access_expiry(view.connection_id, Some(now() + 5));
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(
                    MockResponse::token("access-2", Some("refresh-2"), Some(3600))
                        .with_delay(Duration::from_millis(300)),
                )
                .mount();
            let other_node = env.engine_with_timeout(Duration::from_millis(2000));
            let engine = env.engine_with_timeout(Duration::from_millis(2000));

            let (a, b, c, d) = tokio::join!(
                engine.valid_token(VAT, None, Some(env.alice)),
                engine.valid_token(VAT, None, Some(env.alice)),
                other_node.valid_token(VAT, None, Some(env.alice)),
                other_node.valid_token(VAT, None, Some(env.alice)),
            );

            for result in [a, b, c, d] {
                assert_eq!(env.ok(result).token.expose(), "access-2");
            }
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 1, "one refresh at the provider");
            Ok(())
        })
    }

    fn no_token_code_verifier_or_secret_reaches_an_error_the_audit_log_or_the_logs(db) {
        run(db, async |env: &Env| {
            // A mix of everything: success, retries, a malformed answer carrying a token, a dead
            // grant, an exchange and a failed revocation.
            vat_connected(env).await;
            env.connect(IDP, IDP_TOKEN, env.alice, "idp-access-1", Some("idp-refresh-1"), Some(3600)).await;
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(MockResponse::text(503, "busy"))
                .then(MockResponse::token("access-2", Some("refresh-2"), Some(3600)))
                .then(raw_json(200, r#"{"access_token":"leaky-partial-token"#))
                .mount();
            env.ok(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);
            env.err(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(MockResponse::oauth_error(400, "invalid_grant", "Bad refresh token"))
                .mount();
            env.err(env.engine.refresh_access_token(VAT, None, Acting::User(env.alice)).await);
            env.mock.on("GET", EXCHANGE).respond(MockResponse::text(200, "altinn-plain-token-1")).mount();
            env.ok(env.engine.exchange(ALTINN, None, Some(env.alice)).await);
            env.ok(env.engine.valid_token(ALTINN, None, Some(env.alice)).await);
            env.mock.on("POST", VAT_REVOKE).respond(MockResponse::text(503, "down")).mount();
            let done = env.ok(env.engine.disconnect(VAT, None, Acting::User(env.alice)).await);
            env.remember_text(done.revocation_error.unwrap_or_default());
            env.ok(env.engine.status(None, None).await);

            // The capture works: the engine's own lines are in it.
            let log = env.log.text();
            assert!(log.contains("access token obtained"), "{log}");
            assert!(log.contains("refresh failed; retrying"), "{log}");
            let mut conn = env.pool.get().unwrap();
            assert!(emsg_store::audit::recent(&mut conn, 1000).unwrap().len() >= 8);
            drop(conn);
            env.assert_no_leaks();
            Ok(())
        })
    }
    #[should_panic(expected = "the tracing output shows the secret \"refresh-1\"")]
    fn the_leak_check_itself_notices_a_token_in_the_tracing_output(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            tracing::debug!(token = "refresh-1", "a careless line");
            Ok(())
        })
    }

    fn the_token_cache_drops_a_connection_changed_here_at_once_and_one_changed_elsewhere_within_a_second(db) {
        run(db, async |env: &Env| {
            vat_connected(env).await;
            env.connect(OTHER, OTHER_TOKEN, env.alice, "other-access-1", Some("other-refresh-1"), Some(3600)).await;
            let node = &env.engine;
            assert_eq!(env.ok(node.valid_token(VAT, None, Some(env.alice)).await).token.expose(), "access-1");
            assert_eq!(env.ok(node.valid_token(OTHER, None, Some(env.alice)).await).token.expose(), "other-access-1");

            // A refresh on this node: its connection's entry goes at once, the other one stays.
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(MockResponse::token("access-2", Some("refresh-2"), Some(3600)))
                .mount();
            env.ok(node.refresh_access_token(VAT, None, Acting::User(env.alice)).await);
            assert_eq!(env.ok(node.valid_token(VAT, None, Some(env.alice)).await).token.expose(), "access-2");
            env.mock.on("POST", OTHER_TOKEN).respond(MockResponse::text(503, "no call expected")).mount();
            assert_eq!(env.ok(node.valid_token(OTHER, None, Some(env.alice)).await).token.expose(), "other-access-1");
            assert!(env.refreshes(OTHER_TOKEN).is_empty());

            // A disconnect on another node: this node may serve its cached token for at most
            // a second (`token_cache::MAX_AGE`), then sees the disconnect.
            let other_node = env.engine_with_timeout(Duration::from_millis(500));
            env.mock.on("POST", VAT_REVOKE).respond(MockResponse::text(200, "")).mount();
            env.ok(other_node.disconnect(VAT, None, Acting::User(env.alice)).await);
            let started = Instant::now();
            loop {
                match node.valid_token(VAT, None, Some(env.alice)).await {
                    Ok(token) => {
                        assert_eq!(token.token.expose(), "access-2");
                        assert!(started.elapsed() < Duration::from_millis(1100), "served a disconnected token after the cache bound");
                    }
                    Err(error) => {
                        assert!(matches!(error, EngineError::NotConnected(_)), "{error}");
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(started.elapsed() <= Duration::from_millis(1100));
            Ok(())
        })
    }
}
