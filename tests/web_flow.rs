//! The Web applications page end to end against the oidc-provider stand-in: Get authorization
//! code, sign in and consent, the callback on our server, Obtain access token, Refresh,
//! Disconnect — and no secret, code or token in any page, JSON answer or log line.
#![allow(clippy::unwrap_used)]

mod support;

use emsg_test_db::{Backend, TestDb, on_both_backends};
use emsg_testkit::{OidcPeer, PeerClient, Profile};
use serde_json::json;
use support::*;

const CLIENT_SECRET: &str = "web-client-secret-91c2";
const FIONA: &str = "fiona password long enough";
const BOB: &str = "bob password long enough too";

fn file(issuer: &str, redirect: &str) -> String {
    format!(
        "web_applications:
  - name: HMRC VAT loopback
    base_url: {issuer}
    authorization_url: {issuer}/auth
    token_url: {issuer}/token
    revocation_url: {issuer}/token/revocation
    redirect_url: {redirect}
    client_id: emsg-web
    client_secret: {{env: WEB_CLIENT_SECRET}}
    scope: read:vat write:vat
    client_auth: client_secret_post
    pkce: true
  - name: HMRC ITSA loopback
    base_url: {issuer}
    authorization_url: {issuer}/auth
    token_url: {issuer}/token
    revocation_url: {issuer}/token/revocation
    redirect_url: {redirect}
    client_id: emsg-web
    client_secret: {{env: WEB_CLIENT_SECRET}}
    scope: read:self-assessment write:self-assessment
    client_auth: client_secret_post
    pkce: true
    user_specific: true
    obtain_token_on_callback: true
"
    )
}

struct Setup {
    emsg: Emsg,
    server: WebServer,
    peer: OidcPeer,
    runtime: tokio::runtime::Runtime,
}

fn setup(backend: Backend) -> Setup {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/oauth/callback");
    let peer = runtime
        .block_on(OidcPeer::start(
            Profile::Hmrc,
            &[PeerClient::new("emsg-web", CLIENT_SECRET, &redirect)],
        ))
        .unwrap();
    let emsg = Emsg::new(TestDb::new(backend)).with_env("WEB_CLIENT_SECRET", CLIENT_SECRET);
    let apps = emsg.write("apps.yaml", &file(peer.issuer(), &redirect));
    add_user(&emsg, "fiona", "finance", FIONA);
    add_user(&emsg, "bob", "finance", BOB);
    let server = serve_web(&emsg, &format!("127.0.0.1:{port}"), &apps, &[]);
    Setup {
        emsg,
        server,
        peer,
        runtime,
    }
}

/// The stored tokens of a connection, to search every output for them.
fn stored_tokens(
    emsg: &Emsg,
    app: &str,
    user_specific: bool,
    user: Option<emsg_store::UserId>,
) -> (String, String) {
    let mut conn = emsg.db.connect();
    let source = emsg_store::master_key::KeySource::File(emsg.key_file());
    let (ring, _) = emsg_store::master_key::open_ring(&mut conn, &source).unwrap();
    let record = emsg_store::web_applications::get(&mut conn, app).unwrap();
    let key =
        emsg_store::connections::ConnectionKey::new(record.id, "default", user_specific, user);
    let connection = emsg_store::connections::find(&mut conn, &key)
        .unwrap()
        .unwrap();
    (
        connection
            .access_token(&ring)
            .unwrap()
            .unwrap()
            .expose()
            .to_owned(),
        connection
            .refresh_token(&ring)
            .unwrap()
            .unwrap()
            .expose()
            .to_owned(),
    )
}

fn query(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} missing from {url}"))
}

fn a_finance_user_connects_through_the_pages(backend: Backend) {
    let Setup {
        emsg,
        server,
        peer,
        runtime,
    } = setup(backend);
    const RECORD: &str = "/web-applications/HMRC%20VAT%20loopback";
    let mut secrets: Vec<String> = vec![CLIENT_SECRET.to_owned()];
    runtime.block_on(async {
        let browser = Browser::new(&server);
        assert_eq!(browser.log_in("fiona", FIONA).await.status, 303);
        let page = browser.get(RECORD).await;
        assert!(page.body.contains("Not connected"), "{}", page.body);
        let csrf = hidden_field(&page.body, "csrf");

        let started = browser
            .post_form(
                &format!("{RECORD}/get-code"),
                &[("csrf", &csrf), ("scope", "read:vat write:vat")],
            )
            .await;
        assert_eq!(started.status, 303, "{}", started.body);
        let authorize = started.location.unwrap();
        assert!(authorize.starts_with(peer.issuer()), "{authorize}");
        assert!(authorize.contains("code_challenge_method=S256"));
        let back = peer
            .login_and_consent(&authorize, "vat-company-1")
            .await
            .unwrap();
        let code = query(&back, "code");
        secrets.push(code.clone());
        assert!(
            back.as_str().starts_with(&server.url("/oauth/callback")),
            "{back}"
        );

        let callback = browser.get(back.as_str()).await;
        assert_eq!(callback.status, 200, "{}", callback.body);
        assert!(callback.body.contains("<h1>Success</h1>"));
        assert!(
            callback.body.contains("select Obtain access token"),
            "{}",
            callback.body
        );
        let replay = browser.get(back.as_str()).await;
        assert_eq!(replay.status, 400);
        assert!(replay.body.contains("already used"), "{}", replay.body);

        let waiting = browser.get(RECORD).await;
        assert!(
            waiting.body.contains("An authorization code arrived at"),
            "{}",
            waiting.body
        );
        let obtained = browser
            .post_form(
                &format!("{RECORD}/obtain-token"),
                &[("csrf", &csrf), ("code", "")],
            )
            .await;
        assert_eq!(obtained.status, 303);
        assert_eq!(obtained.location.as_deref(), Some(RECORD));
        let page = browser.get(RECORD).await;
        assert!(
            page.body
                .contains("Access token was successfully obtained."),
            "{}",
            page.body
        );
        assert!(
            page.body
                .contains("<dt>Granted scope</dt><dd>read:vat write:vat</dd>"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains(">3h 59m</span>") || page.body.contains(">4h 00m</span>"),
            "{}",
            page.body
        );
        assert!(page.body.contains("data-expires-at=\""));
        assert!(page.body.contains("<dt>Authorized by</dt><dd>fiona</dd>"));
        // The flash message is shown once.
        assert!(
            !browser
                .get(RECORD)
                .await
                .body
                .contains("successfully obtained")
        );

        let (access, refresh) = stored_tokens(&emsg, "HMRC VAT loopback", false, None);
        secrets.extend([access, refresh]);
        let refreshed = browser
            .post_form(&format!("{RECORD}/refresh"), &[("csrf", &csrf)])
            .await;
        assert_eq!(refreshed.status, 303);
        assert!(
            browser
                .get(RECORD)
                .await
                .body
                .contains("Access token was successfully refreshed.")
        );
        let (access, refresh) = stored_tokens(&emsg, "HMRC VAT loopback", false, None);
        secrets.extend([access, refresh]);
        assert_eq!(peer.counts().await.unwrap().get("refresh_token", "ok"), 1);

        let status = browser.get("/api/v1/connections").await;
        let status: serde_json::Value = serde_json::from_str(&status.body).unwrap();
        assert_eq!(status["connections"][0]["status"], "connected");
        assert_eq!(
            status["connections"][0]["granted_scope"],
            "read:vat write:vat"
        );

        // Disconnect asks first; unconfirmed, nothing happens.
        let unconfirmed = browser
            .post_form(&format!("{RECORD}/disconnect"), &[("csrf", &csrf)])
            .await;
        assert_eq!(unconfirmed.status, 303);
        let page = browser.get(RECORD).await;
        assert!(page.body.contains("Nothing was disconnected"));
        assert!(page.body.contains("<dt>Status</dt><dd>Connected</dd>"));
        let disconnected = browser
            .post_form(
                &format!("{RECORD}/disconnect"),
                &[("csrf", &csrf), ("confirm", "yes")],
            )
            .await;
        assert_eq!(disconnected.status, 303);
        let page = browser.get(RECORD).await;
        assert!(
            page.body.contains(
                "is disconnected; its tokens were deleted. The provider confirmed the revocation."
            ),
            "{}",
            page.body
        );
        assert!(page.body.contains("<dt>Status</dt><dd>Disconnected</dd>"));

        // The same flow through the JSON API.
        let csrf = browser.csrf().await;
        let api = browser
            .post_json(
                "/api/v1/web-applications/HMRC%20VAT%20loopback/get-code",
                Some(&csrf),
                &json!({}),
            )
            .await;
        assert_eq!(api.status, 200, "{}", api.body);
        let url: serde_json::Value = serde_json::from_str(&api.body).unwrap();
        let back = peer
            .login_and_consent(url["authorization_url"].as_str().unwrap(), "vat-company-1")
            .await
            .unwrap();
        secrets.push(query(&back, "code"));
        assert_eq!(browser.get(back.as_str()).await.status, 200);
        let api = browser
            .post_json(
                "/api/v1/web-applications/HMRC%20VAT%20loopback/obtain-token",
                Some(&csrf),
                &json!({}),
            )
            .await;
        assert_eq!(api.status, 200, "{}", api.body);
        assert!(api.body.contains("Access token was successfully obtained."));
        let (access, refresh) = stored_tokens(&emsg, "HMRC VAT loopback", false, None);
        secrets.extend([access, refresh]);
        let again = browser
            .post_json(
                "/api/v1/web-applications/HMRC%20VAT%20loopback/obtain-token",
                Some(&csrf),
                &json!({}),
            )
            .await;
        assert_eq!(again.status, 409, "a code works once: {}", again.body);

        let everything = browser.bodies() + &server.stderr();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        assert_no_secret(
            &everything,
            &secrets,
            "pages, JSON answers and the server's log",
        );
    });
}

on_both_backends!(a_finance_user_connects_through_the_pages);

#[test]
fn another_users_connection_of_a_user_specific_record_is_not_theirs_to_use() {
    let Setup {
        emsg,
        server,
        peer,
        runtime,
    } = setup(Backend::Sqlite);
    const RECORD: &str = "/web-applications/HMRC%20ITSA%20loopback";
    runtime.block_on(async {
        let fiona = Browser::new(&server);
        let bob = Browser::new(&server);
        assert_eq!(fiona.log_in("fiona", FIONA).await.status, 303);
        assert_eq!(bob.log_in("bob", BOB).await.status, 303);
        let csrf = hidden_field(&fiona.get(RECORD).await.body, "csrf");
        let started = fiona
            .post_form(&format!("{RECORD}/get-code"), &[("csrf", &csrf)])
            .await;
        let back = peer
            .login_and_consent(&started.location.unwrap(), "landlord-1")
            .await
            .unwrap();
        let code = query(&back, "code");

        // Bob cannot complete Fiona's sign-in.
        let stolen = bob.get(back.as_str()).await;
        assert_eq!(stolen.status, 400);
        assert!(
            stolen.body.contains("started by another user"),
            "{}",
            stolen.body
        );

        // Fiona, logged out in a fresh browser, logs in and the answer is completed then.
        let fresh = Browser::new(&server);
        let parked = fresh.get(back.as_str()).await;
        assert_eq!(parked.status, 303);
        let login_page = fresh.get(parked.location.as_deref().unwrap()).await;
        let next = hidden_field(&login_page.body, "next");
        assert!(
            !login_page.body.contains(&code),
            "the code is not in the log-in page"
        );
        let token = hidden_field(&login_page.body, "csrf");
        let logged_in = fresh
            .post_form(
                "/login",
                &[
                    ("name", "fiona"),
                    ("password", FIONA),
                    ("csrf", &token),
                    ("next", &next),
                ],
            )
            .await;
        assert_eq!(logged_in.location.as_deref(), Some(next.as_str()));
        let connected = fresh.get(&next).await;
        assert_eq!(connected.status, 200, "{}", connected.body);
        assert!(
            connected
                .body
                .contains("Connected: HMRC ITSA loopback is authorized"),
            "{}",
            connected.body
        );

        let (access, refresh) = {
            let mut conn = emsg.db.connect();
            let fiona_id = emsg_store::users::find(&mut conn, "fiona")
                .unwrap()
                .unwrap()
                .id;
            drop(conn);
            stored_tokens(
                &emsg,
                "HMRC ITSA loopback",
                true,
                Some(emsg_store::UserId::new(fiona_id)),
            )
        };

        // Bob sees no connection of his, and cannot refresh or disconnect Fiona's.
        let page = bob.get(RECORD).await;
        assert!(page.body.contains("Not connected for you"), "{}", page.body);
        let bob_csrf = hidden_field(&page.body, "csrf");
        bob.post_form(&format!("{RECORD}/refresh"), &[("csrf", &bob_csrf)])
            .await;
        let refused = bob.get(RECORD).await;
        assert!(
            refused.body.contains("it was authorized by fiona"),
            "{}",
            refused.body
        );
        let api = bob
            .post_json(
                "/api/v1/web-applications/HMRC%20ITSA%20loopback/refresh",
                Some(&bob_csrf),
                &json!({}),
            )
            .await;
        assert_eq!(api.status, 409);
        let api = bob
            .post_json(
                "/api/v1/web-applications/HMRC%20ITSA%20loopback/disconnect",
                Some(&bob_csrf),
                &json!({}),
            )
            .await;
        assert_eq!(api.status, 409, "{}", api.body);
        let page = fiona.get(RECORD).await;
        assert!(
            page.body.contains("<dt>Status</dt><dd>Connected</dd>"),
            "{}",
            page.body
        );
        assert!(page.body.contains("<dt>Authorized by</dt><dd>fiona</dd>"));
        assert_eq!(peer.counts().await.unwrap().get("refresh_token", "ok"), 0);

        let everything = fiona.bodies() + &bob.bodies() + &fresh.bodies() + &server.stderr();
        assert_no_secret(
            &everything,
            &[CLIENT_SECRET, &code, &access, &refresh],
            "pages, JSON answers and the server's log",
        );
    });
}
