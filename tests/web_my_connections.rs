//! The "My connections" page end to end against the oidc-provider stand-in: a landlord's NINO is
//! checked before anything starts, Connect goes to the provider and comes back Connected with
//! the NINO stored normalised, another user sees their own (empty) connection, Disconnect works,
//! and forms without the session's anti-forgery token are refused.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use emsg_engine::{Engine, EngineConfig};
use emsg_store::UserId;
use emsg_test_db::{Backend, TestDb, on_both_backends};
use emsg_testkit::{OidcPeer, PeerClient, Profile};
use support::*;

const CLIENT_SECRET: &str = "my-connections-secret-5e1d";
const FIONA: &str = "fiona password long enough";
const BOB: &str = "bob password long enough too";
const ITSA: &str = "HMRC ITSA loopback";
const CONNECT: &str = "/my-connections/HMRC%20ITSA%20loopback/connect";
const DISCONNECT: &str = "/my-connections/HMRC%20ITSA%20loopback/disconnect";

fn file(issuer: &str, redirect: &str) -> String {
    format!(
        "web_applications:
  - name: HMRC VAT loopback
    base_url: {issuer}
    authorization_url: {issuer}/auth
    token_url: {issuer}/token
    redirect_url: {redirect}
    client_id: emsg-web
    client_secret: {{env: WEB_CLIENT_SECRET}}
    scope: read:vat write:vat
    client_auth: client_secret_post
    pkce: true
  - name: {ITSA}
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
    captures: [nino]
"
    )
}

fn user_id(emsg: &Emsg, name: &str) -> UserId {
    let mut conn = emsg.db.connect();
    UserId::new(
        emsg_store::users::find(&mut conn, name)
            .unwrap()
            .unwrap()
            .id,
    )
}

fn pending_exists(emsg: &Emsg, user: UserId) -> bool {
    let mut conn = emsg.db.connect();
    let record = emsg_store::web_applications::get(&mut conn, ITSA).unwrap();
    emsg_store::pending::latest(&mut conn, record.id, "default", user)
        .unwrap()
        .is_some()
}

/// An engine of its own on the test database, to read what the server stored.
fn engine(emsg: &Emsg) -> Engine {
    let mut conn = emsg.db.connect();
    let source = emsg_store::master_key::KeySource::File(emsg.key_file());
    let (ring, _) = emsg_store::master_key::open_ring(&mut conn, &source).unwrap();
    let pool = emsg_store::db::pool(emsg.db.url(), 2).unwrap();
    Engine::new(
        pool,
        Arc::new(ring),
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .unwrap()
}

fn a_landlord_connects_on_my_connections(backend: Backend) {
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
    let (fiona_id, bob_id) = (user_id(&emsg, "fiona"), user_id(&emsg, "bob"));

    runtime.block_on(async {
        let fiona = Browser::new(&server);
        assert_eq!(fiona.log_in("fiona", FIONA).await.status, 303);
        let page = fiona.get("/my-connections").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body
                .contains("<a href=\"/my-connections\">My connections</a>")
        );
        assert!(
            page.body
                .contains(&format!("<h2 id=\"conn-0\">{ITSA}</h2>")),
            "{}",
            page.body
        );
        assert!(page.body.contains("Not connected"), "{}", page.body);
        assert!(page.body.contains("name=\"nino\""), "{}", page.body);
        // Shared records are not "my" connections.
        assert!(!page.body.contains("HMRC VAT loopback"), "{}", page.body);
        let csrf = hidden_field(&page.body, "csrf");

        // Without or with a wrong anti-forgery token nothing happens.
        let missing = fiona.post_form(CONNECT, &[("nino", "AB 12 34 56 C")]).await;
        assert_eq!(missing.status, 403, "{}", missing.body);
        let wrong = fiona
            .post_form(CONNECT, &[("csrf", "forged"), ("nino", "AB 12 34 56 C")])
            .await;
        assert_eq!(wrong.status, 403, "{}", wrong.body);
        assert_eq!(fiona.post_form(DISCONNECT, &[]).await.status, 403);
        assert!(!pending_exists(&emsg, fiona_id));

        // A NINO that breaks the rules is refused with what is wrong, and nothing is started.
        let refused = fiona
            .post_form(CONNECT, &[("csrf", &csrf), ("nino", "QO 12 34 56 C")])
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(
            refused.body.contains("the second letter cannot be O"),
            "{}",
            refused.body
        );
        assert!(refused.body.contains("the first letter cannot be Q"));
        assert!(
            refused.body.contains("value=\"QO 12 34 56 C\""),
            "{}",
            refused.body
        );
        assert!(
            !pending_exists(&emsg, fiona_id),
            "a refused NINO started an authorization"
        );
        let empty = fiona
            .post_form(CONNECT, &[("csrf", &csrf), ("nino", "")])
            .await;
        assert_eq!(empty.status, 400);
        assert!(empty.body.contains("enter your National Insurance number"));
        assert!(!pending_exists(&emsg, fiona_id));

        // A valid NINO, typed with spaces and in lower case, sends her to the provider.
        let started = fiona
            .post_form(CONNECT, &[("csrf", &csrf), ("nino", "ab 12 34 56 c")])
            .await;
        assert_eq!(started.status, 303, "{}", started.body);
        let authorize = started.location.unwrap();
        assert!(authorize.starts_with(peer.issuer()), "{authorize}");
        assert!(pending_exists(&emsg, fiona_id));
        let back = peer
            .login_and_consent(&authorize, "landlord-1")
            .await
            .unwrap();
        assert!(
            back.as_str().starts_with(&server.url("/oauth/callback")),
            "{back}"
        );
        let callback = fiona.get(back.as_str()).await;
        assert_eq!(callback.status, 200, "{}", callback.body);

        let page = fiona.get("/my-connections").await;
        assert!(page.body.contains(">Connected</dd>"), "{}", page.body);
        assert!(
            page.body.contains("<span class=\"nino\">••••••56C</span>"),
            "{}",
            page.body
        );
        assert!(
            !page.body.contains("AB123456C"),
            "the page shows the NINO unmasked"
        );
        assert!(page.body.contains("data-expires-at=\""), "{}", page.body);
        let view = engine(&emsg)
            .connection(ITSA, None, fiona_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(view.taxpayer_id.as_deref(), Some("AB123456C"));
        assert_eq!(view.authorized_by.as_deref(), Some("fiona"));

        // Bob has no connection of his own to the same record.
        let bob = Browser::new(&server);
        assert_eq!(bob.log_in("bob", BOB).await.status, 303);
        let bobs = bob.get("/my-connections").await;
        assert!(bobs.body.contains("Not connected"), "{}", bobs.body);
        assert!(!bobs.body.contains("56C"), "{}", bobs.body);
        assert!(!bobs.body.contains(">Disconnect</button>"), "{}", bobs.body);
        let bob_csrf = hidden_field(&bobs.body, "csrf");
        // His Disconnect does not touch Fiona's connection.
        let nothing = bob.post_form(DISCONNECT, &[("csrf", &bob_csrf)]).await;
        assert_eq!(nothing.status, 303, "{}", nothing.body);
        let bobs = bob.get("/my-connections").await;
        assert!(
            bobs.body.contains("no connection to disconnect"),
            "{}",
            bobs.body
        );
        assert!(
            engine(&emsg)
                .connection(ITSA, None, bob_id)
                .await
                .unwrap()
                .is_none()
        );

        // Fiona disconnects.
        let done = fiona.post_form(DISCONNECT, &[("csrf", &csrf)]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location.as_deref(), Some("/my-connections"));
        let page = fiona.get("/my-connections").await;
        assert!(
            page.body
                .contains("HMRC ITSA loopback is disconnected; its tokens were deleted."),
            "{}",
            page.body
        );
        assert!(page.body.contains("Not connected"), "{}", page.body);
        assert!(!page.body.contains(">Disconnect</button>"), "{}", page.body);
    });
    assert_no_secret(&server.stderr(), &[CLIENT_SECRET], "the server log");
}

on_both_backends!(a_landlord_connects_on_my_connections);

#[test]
fn my_connections_needs_a_log_in() {
    let emsg = Emsg::new(TestDb::new(Backend::Sqlite));
    let apps = emsg.write(
        "apps.yaml",
        &file(
            "https://provider.invalid",
            "http://127.0.0.1:9/oauth/callback",
        ),
    );
    let server = serve_web(&emsg, "127.0.0.1:0", &apps, &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let anonymous = Browser::new(&server);
        let page = anonymous.get("/my-connections").await;
        assert_eq!(page.status, 303);
        assert!(page.location.unwrap().starts_with("/login"));
    });
}
