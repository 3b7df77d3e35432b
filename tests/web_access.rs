//! Who may do what on the admin pages and the JSON API: anonymous visitors, finance users and
//! administrators on every route; anti-forgery tokens; log-in throttling; session cookies.
#![allow(clippy::unwrap_used)]

mod support;

use emsg_test_db::{Backend, TestDb, on_both_backends};
use serde_json::json;
use support::*;

const ADMIN_PASSWORD: &str = "admin password long enough";
const FINANCE_PASSWORD: &str = "finance password long enough";
const RECORD: &str = "/web-applications/HMRC%20VAT%20sandbox";

fn setup(extra: &[&str]) -> (Emsg, WebServer) {
    let emsg = Emsg::new(TestDb::new(Backend::Sqlite));
    add_user(&emsg, "ada", "administrator", ADMIN_PASSWORD);
    add_user(&emsg, "fiona", "finance", FINANCE_PASSWORD);
    let server = serve_web(&emsg, "127.0.0.1:0", &shipped_file(), extra);
    (emsg, server)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn json(answer: &Answer) -> serde_json::Value {
    serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {}", answer.body))
}

/// The page routes that only read.
const PAGES: &[&str] = &[
    "/web-applications",
    RECORD,
    "/users",
    "/messages",
    "/messages?status=technical_error",
    "/messages/new",
    "/messages/new?service=HMRC%20VAT%20obligations%20sandbox",
    "/messages/1",
    "/web-applications/HMRC%20VAT%20sandbox/edit",
];
/// The page routes that change something.
const PAGE_POSTS: &[&str] = &[
    "/logout",
    "/web-applications/HMRC%20VAT%20sandbox/get-code",
    "/web-applications/HMRC%20VAT%20sandbox/obtain-token",
    "/web-applications/HMRC%20VAT%20sandbox/refresh",
    "/web-applications/HMRC%20VAT%20sandbox/exchange",
    "/web-applications/HMRC%20VAT%20sandbox/disconnect",
    "/web-applications/HMRC%20VAT%20sandbox/client-secret",
    "/messages/new",
    "/messages/1/resend",
    "/web-applications/HMRC%20VAT%20sandbox/edit",
];
const API_GETS: &[&str] = &[
    "/api/v1/session",
    "/api/v1/connections",
    "/api/v1/web-applications",
    "/api/v1/web-applications/HMRC%20VAT%20sandbox",
    "/api/v1/messages",
    "/api/v1/messages?status=technical_error",
    "/api/v1/web-services",
];
const API_POSTS: &[&str] = &[
    "/api/v1/web-applications/HMRC%20VAT%20sandbox/get-code",
    "/api/v1/web-applications/HMRC%20VAT%20sandbox/obtain-token",
    "/api/v1/web-applications/HMRC%20VAT%20sandbox/refresh",
    "/api/v1/web-applications/HMRC%20VAT%20sandbox/exchange",
    "/api/v1/web-applications/HMRC%20VAT%20sandbox/disconnect",
    "/api/v1/web-applications/HMRC%20VAT%20sandbox/client-secret",
    "/api/v1/messages",
    "/api/v1/messages/1/resend",
];

#[test]
fn anonymous_visitors_are_sent_to_log_in_and_the_api_answers_401() {
    let (_emsg, server) = setup(&[]);
    runtime().block_on(async {
        let browser = Browser::new(&server);
        assert_eq!(browser.get("/healthz").await.status, 200);
        assert_eq!(browser.get("/static/emsg.css").await.status, 200);
        assert_eq!(browser.get("/static/countdown.js").await.status, 200);
        assert_eq!(browser.get("/login").await.status, 200);
        for path in PAGES {
            let answer = browser.get(path).await;
            assert_eq!(answer.status, 303, "GET {path}");
            assert!(
                answer.location.as_deref().unwrap().starts_with("/login"),
                "GET {path} → {:?}",
                answer.location
            );
        }
        let deep = browser.get(RECORD).await;
        assert_eq!(
            deep.location.as_deref(),
            Some("/login?next=%2Fweb-applications%2FHMRC%2520VAT%2520sandbox")
        );
        for path in PAGE_POSTS {
            let answer = browser.post_form(path, &[("csrf", "x")]).await;
            assert_eq!(answer.status, 303, "POST {path}");
            assert!(
                answer.location.unwrap().starts_with("/login"),
                "POST {path}"
            );
        }
        for path in API_GETS {
            let answer = browser.get(path).await;
            assert_eq!(answer.status, 401, "GET {path}");
            assert_eq!(json(&answer)["error"], "login_required", "GET {path}");
        }
        for path in API_POSTS {
            let answer = browser.post_json(path, Some("x"), &json!({})).await;
            assert_eq!(answer.status, 401, "POST {path}");
            assert_eq!(json(&answer)["error"], "login_required", "POST {path}");
        }
        // The callback without a session for a state no flow waits for: nothing is kept, and
        // the code goes nowhere (parking for a live flow: tests/security/web.rs).
        let callback = browser
            .get("/oauth/callback?state=abc&code=unkept-code-5e1")
            .await;
        assert_eq!(callback.status, 400);
        assert!(callback.location.is_none());
        assert!(
            callback.body.contains("nothing was kept")
                && !callback.body.contains("unkept-code-5e1"),
            "{}",
            callback.body
        );
    });
}

#[test]
fn finance_users_run_actions_and_read_status_but_cannot_edit_records_or_see_users() {
    let (emsg, server) = setup(&[]);
    runtime().block_on(async {
        let browser = Browser::new(&server);
        let login = browser.log_in("fiona", FINANCE_PASSWORD).await;
        assert_eq!(login.status, 303, "{}", login.body);
        assert_eq!(login.location.as_deref(), Some("/web-applications"));

        let list = browser.get("/web-applications").await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains("HMRC VAT sandbox") && list.body.contains("NO Altinn"));
        assert!(
            !list.body.contains("href=\"/users\""),
            "finance sees no Users link"
        );
        let page = browser.get(RECORD).await;
        assert_eq!(page.status, 200);
        for field in [
            "Base URL",
            "Authorization URL",
            "Token URL",
            "Redirect URL",
            "Client ID",
            "Client secret",
            "Scope",
            "Accept",
            "Content type",
            "User-specific",
        ] {
            assert!(page.body.contains(&format!("<dt>{field}</dt>")), "{field}");
        }
        assert!(page.body.contains("Get authorization code"));
        assert!(
            !page.body.contains("Set client secret"),
            "finance cannot edit"
        );
        let csrf = hidden_field(&page.body, "csrf");
        let idporten = browser.get("/web-applications/NO%20ID-Porten%20test").await;
        assert!(
            idporten.body.contains(
                "<label for=\"ui_locales\">Requested language in the user interface</label>"
            ) && idporten
                .body
                .contains("<option value=\"en\" selected>en</option>")
                && idporten.body.contains("<option value=\"se\">se</option>"),
            "{}",
            idporten.body
        );
        let altinn = browser.get("/web-applications/NO%20Altinn%20test").await;
        assert!(
            !altinn.body.contains("/get-code\""),
            "exchange records have no Get authorization code"
        );
        assert!(altinn.body.contains("/obtain-token\""));

        // Forbidden: users and client secrets, page and API.
        assert_eq!(browser.get("/users").await.status, 403);
        let secret = browser
            .post_form(
                &format!("{RECORD}/client-secret"),
                &[("csrf", &csrf), ("client_secret", "finance-try-1")],
            )
            .await;
        assert_eq!(secret.status, 403, "{}", secret.body);
        let api_secret = browser
            .post_json(
                "/api/v1/web-applications/HMRC%20VAT%20sandbox/client-secret",
                Some(&csrf),
                &json!({ "client_secret": "finance-try-2" }),
            )
            .await;
        assert_eq!(api_secret.status, 403);
        assert_eq!(json(&api_secret)["error"], "forbidden");
        assert!(!page.body.contains("/edit\""), "finance sees no Edit link");
        assert_eq!(browser.get(&format!("{RECORD}/edit")).await.status, 403);
        let edit = browser
            .post_form(
                &format!("{RECORD}/edit"),
                &[
                    ("csrf", &csrf),
                    ("name", "HMRC VAT sandbox"),
                    ("base_url", "https://test-api.service.hmrc.gov.uk"),
                    ("scope", "read:vat"),
                    ("new_client_secret", "finance-try-3"),
                ],
            )
            .await;
        assert_eq!(edit.status, 403, "{}", edit.body);
        let shown = json(
            &browser
                .get("/api/v1/web-applications/HMRC%20VAT%20sandbox")
                .await,
        );
        assert_eq!(shown["client_secret"], "not set", "nothing changed");

        // Allowed: reading status and running actions (which the engine refuses here).
        for path in API_GETS {
            assert_eq!(browser.get(path).await.status, 200, "GET {path}");
        }
        let refresh = browser
            .post_form(&format!("{RECORD}/refresh"), &[("csrf", &csrf)])
            .await;
        assert_eq!(refresh.status, 303);
        let after = browser.get(RECORD).await;
        assert!(
            after.body.contains("flash-error") && after.body.contains("not connected"),
            "{}",
            after.body
        );
        let api_refresh = browser
            .post_json(
                "/api/v1/web-applications/HMRC%20VAT%20sandbox/refresh",
                Some(&csrf),
                &json!({}),
            )
            .await;
        assert_eq!(api_refresh.status, 409, "{}", api_refresh.body);
        assert_eq!(json(&api_refresh)["error"], "not_connected");
        let unknown = browser
            .post_json(
                "/api/v1/web-applications/Nope/refresh",
                Some(&csrf),
                &json!({}),
            )
            .await;
        assert_eq!(unknown.status, 404, "{}", unknown.body);
        let no_action = browser
            .post_json(
                "/api/v1/web-applications/HMRC%20VAT%20sandbox/launch",
                Some(&csrf),
                &json!({}),
            )
            .await;
        assert_eq!(no_action.status, 404);
        let get_code = browser
            .post_json(
                "/api/v1/web-applications/HMRC%20VAT%20sandbox/get-code",
                Some(&csrf),
                &json!({}),
            )
            .await;
        assert_eq!(
            get_code.status, 409,
            "no client ID or secret in the test environment: {}",
            get_code.body
        );

        // Log out: the session is gone.
        assert_eq!(
            browser
                .post_form("/logout", &[("csrf", &csrf)])
                .await
                .status,
            303
        );
        assert_eq!(browser.get("/api/v1/session").await.status, 401);
    });
    drop(emsg);
}

#[test]
fn administrators_may_do_everything() {
    let (_emsg, server) = setup(&[]);
    runtime().block_on(async {
        let browser = Browser::new(&server);
        assert_eq!(browser.log_in("ada", ADMIN_PASSWORD).await.status, 303);
        let users = browser.get("/users").await;
        assert_eq!(users.status, 200);
        assert!(users.body.contains("fiona") && users.body.contains("finance"));
        let page = browser.get(RECORD).await;
        assert!(page.body.contains("Set client secret"));
        assert!(
            page.body
                .contains("href=\"/web-applications/HMRC%20VAT%20sandbox/edit\"")
        );
        let csrf = hidden_field(&page.body, "csrf");
        let edit = browser.get(&format!("{RECORD}/edit")).await;
        assert_eq!(edit.status, 200, "{}", edit.body);
        assert!(
            edit.body
                .contains("<label for=\"token_url\">Token URL</label>")
        );
        let set = browser
            .post_form(
                &format!("{RECORD}/client-secret"),
                &[("csrf", &csrf), ("client_secret", "admin-set-secret-77")],
            )
            .await;
        assert_eq!(set.status, 303);
        let after = browser.get(RECORD).await;
        assert!(after.body.contains("The client secret was set."));
        assert!(
            after.body.contains("<dt>Client secret</dt><dd>set</dd>"),
            "{}",
            after.body
        );
        let api = browser
            .post_json(
                "/api/v1/web-applications/NO%20Altinn/client-secret",
                Some(&csrf),
                &json!({ "client_secret": "admin-api-secret-78" }),
            )
            .await;
        assert_eq!(api.status, 200, "{}", api.body);
        for path in API_GETS {
            assert_eq!(browser.get(path).await.status, 200, "GET {path}");
        }
        let disconnect = browser
            .post_json(
                "/api/v1/web-applications/HMRC%20VAT%20sandbox/disconnect",
                Some(&csrf),
                &json!({}),
            )
            .await;
        assert_eq!(
            disconnect.status, 409,
            "nothing to disconnect: {}",
            disconnect.body
        );
        assert_no_secret(
            &(browser.bodies() + &server.stderr()),
            &["admin-set-secret-77", "admin-api-secret-78", ADMIN_PASSWORD],
            "pages, JSON and logs",
        );
    });
}

#[test]
fn forged_or_missing_anti_forgery_tokens_are_refused_and_change_nothing() {
    let (_emsg, server) = setup(&[]);
    runtime().block_on(async {
        let browser = Browser::new(&server);
        // The log-in form itself: without the form's token nobody is logged in.
        let forged_login = browser
            .post_form(
                "/login",
                &[
                    ("name", "ada"),
                    ("password", ADMIN_PASSWORD),
                    ("csrf", "forged"),
                ],
            )
            .await;
        assert_eq!(forged_login.status, 403);
        assert_eq!(browser.get("/api/v1/session").await.status, 401);

        assert_eq!(browser.log_in("ada", ADMIN_PASSWORD).await.status, 303);
        let csrf = browser.csrf().await;
        for token in [None, Some("forged-token")] {
            let mut form = vec![("client_secret", "forged-secret-1")];
            if let Some(t) = token {
                form.push(("csrf", t));
            }
            let page = browser
                .post_form(&format!("{RECORD}/client-secret"), &form)
                .await;
            assert_eq!(page.status, 403, "{token:?}");
            let api = browser
                .post_json(
                    "/api/v1/web-applications/HMRC%20VAT%20sandbox/client-secret",
                    token,
                    &json!({ "client_secret": "forged-secret-2" }),
                )
                .await;
            assert_eq!(api.status, 403, "{token:?}");
            assert_eq!(json(&api)["error"], "csrf_failed");
            let action = browser
                .post_form(
                    &format!("{RECORD}/disconnect"),
                    &[("confirm", "yes"), ("csrf", token.unwrap_or(""))],
                )
                .await;
            assert_eq!(action.status, 403);
            let edit = browser
                .post_form(
                    &format!("{RECORD}/edit"),
                    &[
                        ("csrf", token.unwrap_or("")),
                        ("name", "HMRC VAT sandbox"),
                        ("base_url", "https://test-api.service.hmrc.gov.uk"),
                        ("new_client_secret", "forged-secret-3"),
                    ],
                )
                .await;
            assert_eq!(edit.status, 403, "{token:?}");
            let logout = browser
                .post_form("/logout", &[("csrf", token.unwrap_or(""))])
                .await;
            assert_eq!(logout.status, 403);
            let send = browser
                .post_form(
                    "/messages/new",
                    &[
                        ("csrf", token.unwrap_or("")),
                        ("service", "HMRC VAT obligations sandbox"),
                        ("fields[vrn]", "123456789"),
                    ],
                )
                .await;
            assert_eq!(send.status, 403, "{token:?}");
            let api_send = browser
                .post_json(
                    "/api/v1/messages",
                    token,
                    &json!({ "service": "HMRC VAT obligations sandbox", "fields": {} }),
                )
                .await;
            assert_eq!(api_send.status, 403, "{token:?}");
            assert_eq!(json(&api_send)["error"], "csrf_failed");
        }
        let shown = json(
            &browser
                .get("/api/v1/web-applications/HMRC%20VAT%20sandbox")
                .await,
        );
        assert_eq!(shown["client_secret"], "not set", "nothing changed");
        assert_eq!(
            browser.get("/api/v1/session").await.status,
            200,
            "still logged in"
        );
        // Another session's token is no good either.
        let other = Browser::new(&server);
        other.log_in("fiona", FINANCE_PASSWORD).await;
        let stolen = other
            .post_json(
                "/api/v1/web-applications/HMRC%20VAT%20sandbox/refresh",
                Some(&csrf),
                &json!({}),
            )
            .await;
        assert_eq!(stolen.status, 403);
    });
}

#[test]
fn repeated_failed_log_ins_lock_the_user_name_for_a_while() {
    let (_emsg, server) = setup(&[]);
    runtime().block_on(async {
        let browser = Browser::new(&server);
        for attempt in 1..=5 {
            let wrong = browser.log_in("fiona", "not the password at all").await;
            assert_eq!(wrong.status, 401, "attempt {attempt}");
            assert!(
                wrong
                    .body
                    .contains("The user name or password is not right.")
            );
        }
        let locked = browser.log_in("fiona", FINANCE_PASSWORD).await;
        assert_eq!(locked.status, 429, "{}", locked.body);
        assert!(
            locked.body.contains("Too many failed log-ins")
                && locked.body.contains("Try again in 15 minutes"),
            "{}",
            locked.body
        );
        assert_eq!(browser.get("/api/v1/session").await.status, 401);
    });
}

#[test]
fn session_cookies_are_http_only_same_site_lax_and_secure_behind_https() {
    let (_emsg, plain) = setup(&[]);
    let (_emsg2, behind_tls) = setup(&["--public-url", "https://emsg.example.com"]);
    runtime().block_on(async {
        let login = Browser::new(&plain).log_in("fiona", FINANCE_PASSWORD).await;
        let cookie = login
            .set_cookies
            .iter()
            .find(|c| c.starts_with("emsg_session="))
            .unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "{cookie}");
        assert_eq!(
            cookie.split(';').next().unwrap().len(),
            "emsg_session=".len() + 43
        );

        let login = Browser::new(&behind_tls)
            .log_in("fiona", FINANCE_PASSWORD)
            .await;
        let cookie = login
            .set_cookies
            .iter()
            .find(|c| c.starts_with("emsg_session="))
            .unwrap();
        assert!(
            cookie.contains("Secure") && cookie.contains("HttpOnly"),
            "{cookie}"
        );
    });
}

#[test]
fn finance_users_and_administrators_read_and_open_the_message_pages() {
    let (_emsg, server) = setup(&[]);
    runtime().block_on(async {
        for (name, password) in [("fiona", FINANCE_PASSWORD), ("ada", ADMIN_PASSWORD)] {
            let browser = Browser::new(&server);
            assert_eq!(browser.log_in(name, password).await.status, 303);
            let list = browser.get("/messages").await;
            assert_eq!(list.status, 200, "{name}: {}", list.body);
            assert!(list.body.contains("<a href=\"/messages\">Messages</a>"));
            assert_eq!(browser.get("/messages/new").await.status, 200, "{name}");
            let form = browser
                .get("/messages/new?service=HMRC%20VAT%20obligations%20sandbox")
                .await;
            assert_eq!(form.status, 200, "{name}");
            assert!(form.body.contains("name=\"fields[vrn]\""), "{}", form.body);
            assert_eq!(
                browser.get("/messages/new?service=Nope").await.status,
                404,
                "{name}"
            );
            assert_eq!(browser.get("/messages/1").await.status, 404, "{name}");
            let bad_filter = browser.get("/api/v1/messages?status=lost").await;
            assert_eq!(bad_filter.status, 400, "{name}: {}", bad_filter.body);
        }
    });
}

#[test]
fn api_keys_act_with_their_users_role_without_csrf_until_revoked() {
    let (emsg, server) = setup(&[]);
    let made = emsg.run(&["users", "api-key", "fiona"]).ok();
    let fiona_key = made
        .stdout
        .lines()
        .find(|l| l.starts_with("emsg_"))
        .unwrap()
        .to_owned();
    let ada_key = emsg.run(&["users", "api-key", "ada"]).ok().stdout;
    let ada_key = ada_key.lines().find(|l| l.starts_with("emsg_")).unwrap();
    let listed = emsg
        .run(&["users", "api-key", "fiona", "--list"])
        .ok()
        .stdout;
    assert!(
        listed.contains("live") && !listed.contains(&fiona_key),
        "{listed}"
    );
    runtime().block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let call = |method: reqwest::Method, path: &str, key: &str| {
            let body = if path.ends_with("client-secret") {
                json!({ "client_secret": "api-key-secret-1" })
            } else {
                json!({})
            };
            let request = client
                .request(method.clone(), server.url(path))
                .header("authorization", format!("Bearer {key}"));
            if method == reqwest::Method::POST {
                request.json(&body).send()
            } else {
                request.send()
            }
        };
        let session = call(reqwest::Method::GET, "/api/v1/session", &fiona_key)
            .await
            .unwrap();
        assert_eq!(session.status(), 200);
        let session: serde_json::Value = session.json().await.unwrap();
        assert_eq!(session["user"], "fiona");
        assert_eq!(session["role"], "finance");
        // Finance by key: reads, runs actions without CSRF, but may not set secrets.
        let refresh = call(
            reqwest::Method::POST,
            "/api/v1/web-applications/HMRC%20VAT%20sandbox/refresh",
            &fiona_key,
        )
        .await
        .unwrap();
        assert_eq!(
            refresh.status(),
            409,
            "not connected, but not refused for CSRF"
        );
        let secret = call(
            reqwest::Method::POST,
            "/api/v1/web-applications/HMRC%20VAT%20sandbox/client-secret",
            &fiona_key,
        )
        .await
        .unwrap();
        assert_eq!(secret.status(), 403);
        // The administrator's key may.
        let secret = call(
            reqwest::Method::POST,
            "/api/v1/web-applications/HMRC%20VAT%20sandbox/client-secret",
            ada_key,
        )
        .await
        .unwrap();
        assert_eq!(secret.status(), 200);
        // Keys are for the API only: pages still want a session.
        let page = client
            .get(server.url("/web-applications"))
            .header("authorization", format!("Bearer {fiona_key}"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 303, "to the log-in page");
        // A wrong key and, after revocation, the old one: 401 with a clear error.
        for key in ["emsg_wrong-key".to_owned(), fiona_key.clone()] {
            if key == fiona_key {
                let prefix: String = key.chars().take(13).collect();
                emsg.run(&["users", "api-key", "fiona", "--revoke", &prefix])
                    .ok();
            }
            let refused = call(reqwest::Method::GET, "/api/v1/connections", &key)
                .await
                .unwrap();
            assert_eq!(refused.status(), 401);
            let body: serde_json::Value = refused.json().await.unwrap();
            assert_eq!(body["error"], "invalid_api_key");
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .contains("not valid or was revoked")
            );
        }
        assert_no_secret(
            &server.stderr(),
            &[&fiona_key, ada_key, "api-key-secret-1"],
            "the log",
        );
    });
}

/// Two `serve` nodes on one database, then a restart: the session made on one is accepted by
/// the others, logout on one is seen by all, and the table holds only the id's SHA-256.
fn sessions_are_shared_by_nodes_and_survive_a_restart(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    add_user(&emsg, "fiona", "finance", FINANCE_PASSWORD);
    let first = serve_web(&emsg, "127.0.0.1:0", &shipped_file(), &[]);
    let second = serve_web(&emsg, "127.0.0.1:0", &shipped_file(), &[]);
    runtime().block_on(async {
        // Cookies are not bound to a port: one browser reaches both nodes with its cookie.
        let browser = Browser::new(&first);
        let login = browser.log_in("fiona", FINANCE_PASSWORD).await;
        assert_eq!(login.status, 303);
        let cookie = login
            .set_cookies
            .iter()
            .find_map(|c| c.strip_prefix("emsg_session="))
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_owned();
        let on_first = json(&browser.get(&first.url("/api/v1/session")).await);
        let on_second = json(&browser.get(&second.url("/api/v1/session")).await);
        assert_eq!(on_second["user"], "fiona");
        assert_eq!(
            on_first["csrf_token"], on_second["csrf_token"],
            "one anti-forgery token per session, on every node"
        );
        {
            use diesel::prelude::*;
            let mut conn = emsg.db.connect();
            let stored: Vec<String> = emsg_store::schema::sessions::table
                .select(emsg_store::schema::sessions::id_hash)
                .load(&mut conn)
                .unwrap();
            assert_eq!(stored, vec![emsg_store::sessions::hash(&cookie)]);
            assert_ne!(stored[0], cookie);
        }

        // A restart of the first node: the session lives on.
        drop(first);
        let third = serve_web(&emsg, "127.0.0.1:0", &shipped_file(), &[]);
        let page = browser.get(&third.url("/web-applications")).await;
        assert_eq!(page.status, 200, "still logged in after a restart");

        // Logout on the second node is seen by the third at once.
        let csrf = on_second["csrf_token"].as_str().unwrap();
        let out = browser
            .post_form(&second.url("/logout"), &[("csrf", csrf)])
            .await;
        assert_eq!(out.status, 303);
        assert_eq!(browser.get(&third.url("/api/v1/session")).await.status, 401);
        // Even with the old cookie sent by hand.
        let replay = reqwest::Client::new()
            .get(third.url("/api/v1/session"))
            .header("cookie", format!("emsg_session={cookie}"))
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status(), 401);
        assert_no_secret(&(second.stderr() + &third.stderr()), &[&cookie], "the logs");
    });
}

on_both_backends!(sessions_are_shared_by_nodes_and_survive_a_restart);
