//! The admin page's face to strangers: parked callbacks (bounded, in the database, resumed on
//! any node, never in a URL), the log-in throttle (counted before the password is checked, per
//! client behind the trusted proxy, shared by nodes, no lock-out of the right password from
//! elsewhere), the page after log-in (never another origin), typed names kept out of the log,
//! and import dry runs confirmed on another node.

use diesel::prelude::*;
use emsg_test_db::{Backend, TestDb, on_both_backends};

use crate::support::*;

const CLIENT_SECRET: &str = "security-client-secret-4d1f";
const FIONA: &str = "fiona password long enough";
const ADA: &str = "ada password long enough too";
const PARKED: &str = "/web-applications/Parked%20loopback";
const ON_PAGE: &str = "/web-applications/Page%20loopback";

fn apps(port: u16) -> String {
    let record = |name: &str, redirect_path: &str| {
        format!(
            "  - name: {name}
    base_url: http://127.0.0.1:9
    authorization_url: http://127.0.0.1:9/auth
    token_url: http://127.0.0.1:9/token
    redirect_url: http://127.0.0.1:{port}{redirect_path}
    client_id: emsg-security
    client_secret: {{env: SECURITY_CLIENT_SECRET}}
    scope: read:vat
    client_auth: client_secret_post
    pkce: true
"
        )
    };
    format!(
        "web_applications:\n{}{}",
        record("Parked loopback", "/oauth/callback"),
        record("Page loopback", "/web-applications")
    )
}

fn emsg(backend: Backend) -> (Emsg, std::path::PathBuf) {
    let emsg = Emsg::new(TestDb::new(backend))
        .with_env("SECURITY_CLIENT_SECRET", CLIENT_SECRET)
        .with_env("EMSG_ALLOW_LOOPBACK_URLS", "true");
    let file = emsg.write("apps.yaml", &apps(free_port()));
    add_user(&emsg, "fiona", "finance", FIONA);
    add_user(&emsg, "ada", "administrator", ADA);
    (emsg, file)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn count(emsg: &Emsg, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = emsg.db.connect();
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n
}

/// Logs in at `node` (with `X-Forwarded-For: forwarded` when given) and goes on to `next`.
async fn log_in_at(
    browser: &Browser,
    node: &WebServer,
    name: &str,
    password: &str,
    forwarded: Option<&str>,
    next: &str,
) -> Answer {
    let form = browser.get(&node.url("/login")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let token = hidden_field(&form.body, "csrf");
    let headers: Vec<(&str, &str)> = forwarded
        .map(|f| vec![("x-forwarded-for", f)])
        .unwrap_or_default();
    browser
        .post_form_with_headers(
            &node.url("/login"),
            &[
                ("name", name),
                ("password", password),
                ("csrf", &token),
                ("next", next),
            ],
            &headers,
        )
        .await
}

/// Starts Get authorization code for `record` (a logged-in browser); returns the state.
async fn start_flow(browser: &Browser, node: &WebServer, record: &str) -> String {
    let page = browser.get(&node.url(record)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = hidden_field(&page.body, "csrf");
    let started = browser
        .post_form(
            &node.url(&format!("{record}/get-code")),
            &[("csrf", &csrf), ("scope", "read:vat")],
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.body);
    let url = url::Url::parse(&started.location.unwrap()).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

/// Finding 4 and 6: anonymous callbacks keep nothing unless a live flow waits for them; the one
/// that does is parked in the database (sealed) on node A and resumed after logging in on B.
fn parked_callbacks_are_bounded_and_resumed_on_another_node(backend: Backend) {
    let (emsg, file) = emsg(backend);
    let a = serve_web(&emsg, "127.0.0.1:0", &file, &[]);
    let b = serve_web(&emsg, "127.0.0.1:0", &file, &[]);
    const CODE: &str = "parked-authorization-code-8c2e";
    runtime().block_on(async {
        let stranger = Browser::new(&a);
        let big = "x".repeat(60 * 1024);
        for n in 0..50 {
            let flood = stranger
                .get(&format!("/oauth/callback?state=s{n}&code={big}"))
                .await;
            assert!(
                flood.status == 400 || flood.status == 414,
                "{}",
                flood.status
            );
            let small = stranger
                .get(&format!("/oauth/callback?state=unknown-{n}&code=c{n}"))
                .await;
            assert_eq!(small.status, 400, "{}", small.body);
            assert!(small.location.is_none());
        }
        assert_eq!(
            count(&emsg, "parked_callbacks"),
            0,
            "nothing kept for strangers"
        );

        let fiona = Browser::new(&a);
        assert_eq!(fiona.log_in("fiona", FIONA).await.status, 303);
        let state = start_flow(&fiona, &a, PARKED).await;

        // The provider sends Fiona back to node A in a browser with no session.
        let fresh = Browser::new(&a);
        let back = format!("/oauth/callback?state={state}&code={CODE}");
        let parked = fresh.get(&back).await;
        assert_eq!(parked.status, 303, "{}", parked.body);
        let login = parked.location.unwrap();
        assert!(
            login.starts_with("/login?next=%2Foauth%2Fcallback%3Fresume%3D"),
            "{login}"
        );
        assert!(!login.contains(CODE) && !login.contains(&state), "{login}");
        assert_eq!(count(&emsg, "parked_callbacks"), 1);
        let again = Browser::new(&a).get(&back).await;
        assert_eq!(again.status, 400, "one parked answer per flow");
        assert_eq!(count(&emsg, "parked_callbacks"), 1);
        {
            use emsg_store::schema::parked_callbacks as parked;
            let mut conn = emsg.db.connect();
            let sealed: Option<Vec<u8>> = parked::table
                .select(parked::code_sealed)
                .first(&mut conn)
                .unwrap();
            assert!(!String::from_utf8_lossy(&sealed.unwrap()).contains(CODE));
        }

        // She logs in on node B and the answer is completed there.
        let form = fresh.get(&b.url(&login)).await;
        assert!(!form.body.contains(CODE));
        let next = hidden_field(&form.body, "next");
        let logged_in = log_in_at(&fresh, &b, "fiona", FIONA, None, &next).await;
        assert_eq!(logged_in.status, 303, "{}", logged_in.body);
        assert_eq!(logged_in.location.as_deref(), Some(next.as_str()));
        let done = fresh.get(&b.url(&next)).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(
            done.body
                .contains("The authorization code for Parked loopback was received"),
            "{}",
            done.body
        );
        assert_eq!(count(&emsg, "parked_callbacks"), 0, "taken once");
        assert_eq!(fresh.get(&b.url(&next)).await.status, 400, "single use");
        let page = fiona.get(&a.url(PARKED)).await;
        assert!(
            page.body.contains("An authorization code arrived at"),
            "{}",
            page.body
        );

        let everything =
            stranger.bodies() + &fiona.bodies() + &fresh.bodies() + &a.stderr() + &b.stderr();
        assert_no_secret(&everything, &[CODE, CLIENT_SECRET], "pages and logs");
        assert_no_secret(&(a.stderr() + &b.stderr()), &[&state], "logs");
    });
}

on_both_backends!(parked_callbacks_are_bounded_and_resumed_on_another_node);

/// Finding 8: an answer at the Web applications page (a record's redirect URL may be that page)
/// without a session is parked; the code never reaches the log-in URL or form.
fn an_answer_at_the_page_without_a_session_never_lands_in_a_url(backend: Backend) {
    let (emsg, file) = emsg(backend);
    let server = serve_web(&emsg, "127.0.0.1:0", &file, &[]);
    const CODE: &str = "page-authorization-code-31ab";
    runtime().block_on(async {
        let fiona = Browser::new(&server);
        assert_eq!(fiona.log_in("fiona", FIONA).await.status, 303);
        let state = start_flow(&fiona, &server, ON_PAGE).await;

        let fresh = Browser::new(&server);
        let parked = fresh
            .get(&format!("/web-applications?code={CODE}&state={state}"))
            .await;
        assert_eq!(parked.status, 303, "{}", parked.body);
        let login = parked.location.unwrap();
        assert!(
            login.starts_with("/login?next=%2Fweb-applications%3Fresume%3D"),
            "{login}"
        );
        assert!(!login.contains(CODE), "{login}");
        let form = fresh.get(&login).await;
        assert!(!form.body.contains(CODE));
        let next = hidden_field(&form.body, "next");
        let logged_in = log_in_at(&fresh, &server, "fiona", FIONA, None, &next).await;
        assert_eq!(logged_in.location.as_deref(), Some(next.as_str()));
        let done = fresh.get(&next).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(
            done.body
                .contains("The authorization code for Page loopback was received"),
            "{}",
            done.body
        );

        // At a record's page, an answer for no live flow: refused, nothing kept.
        let stray = Browser::new(&server)
            .get(&format!("{ON_PAGE}?code={CODE}&state=x"))
            .await;
        assert_eq!(stray.status, 400, "{}", stray.body);
        assert!(stray.location.is_none() && !stray.body.contains(CODE));
        // Any other page asked for with an answer in its query: the log-in URL drops the query.
        let elsewhere = Browser::new(&server)
            .get(&format!("/audit?code={CODE}&state=x"))
            .await;
        assert_eq!(elsewhere.status, 303);
        assert_eq!(elsewhere.location.as_deref(), Some("/login?next=%2Faudit"));

        let everything = fiona.bodies() + &fresh.bodies() + &server.stderr();
        assert_no_secret(&everything, &[CODE, CLIENT_SECRET], "pages and the log");
    });
}

on_both_backends!(an_answer_at_the_page_without_a_session_never_lands_in_a_url);

/// Finding 5: forty wrong passwords at once for one name get five checks, whatever
/// `X-Forwarded-For` an untrusted client sends.
fn forty_parallel_wrong_passwords_get_five_checks(backend: Backend) {
    let (emsg, file) = emsg(backend);
    let server = serve_web(&emsg, "127.0.0.1:0", &file, &[]);
    runtime().block_on(async {
        let mut ready = Vec::new();
        for _ in 0..40 {
            let browser = Browser::new(&server);
            let form = browser.get("/login").await;
            let token = hidden_field(&form.body, "csrf");
            ready.push((browser, token));
        }
        let mut attempts = tokio::task::JoinSet::new();
        for (n, (browser, token)) in ready.into_iter().enumerate() {
            attempts.spawn(async move {
                let forwarded = format!("198.51.100.{n}");
                browser
                    .post_form_with_headers(
                        "/login",
                        &[
                            ("name", "fiona"),
                            ("password", "not the password at all"),
                            ("csrf", &token),
                            ("next", ""),
                        ],
                        &[("x-forwarded-for", &forwarded)],
                    )
                    .await
                    .status
            });
        }
        let mut statuses = Vec::new();
        while let Some(status) = attempts.join_next().await {
            statuses.push(status.unwrap());
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 401).count(),
            5,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 429).count(),
            35,
            "{statuses:?}"
        );
        let right = Browser::new(&server).log_in("fiona", FIONA).await;
        assert_eq!(right.status, 429, "the pair is locked: {}", right.body);
    });
}

on_both_backends!(forty_parallel_wrong_passwords_get_five_checks);

/// Findings 5 and 6: behind the trusted proxy, strangers' failures count per client address,
/// on every node, and never lock out the right password from an address that has not failed.
fn strangers_behind_the_proxy_cannot_lock_a_user_out(backend: Backend) {
    let (emsg, file) = emsg(backend);
    let proxy = ["--trusted-proxy", "127.0.0.1"];
    let a = serve_web(&emsg, "127.0.0.1:0", &file, &proxy);
    let b = serve_web(&emsg, "127.0.0.1:0", &file, &proxy);
    const STRANGER: &str = "203.0.113.9";
    const SECOND_STRANGER: &str = "203.0.113.10";
    const OFFICE: &str = "192.0.2.44";
    runtime().block_on(async {
        let stranger = Browser::new(&a);
        for attempt in 1..=5 {
            let wrong = log_in_at(&stranger, &a, "fiona", "guess", Some(STRANGER), "").await;
            assert_eq!(wrong.status, 401, "attempt {attempt}");
        }
        // The failures on node A count on node B.
        let on_b = log_in_at(&stranger, &b, "fiona", FIONA, Some(STRANGER), "").await;
        assert_eq!(on_b.status, 429, "{}", on_b.body);
        assert!(
            on_b.body.contains("Try again in 15 minutes"),
            "{}",
            on_b.body
        );
        // Fiona's name is under attack: a second stranger gets one guess, then no more.
        let second = Browser::new(&b);
        let guess = log_in_at(&second, &b, "fiona", "guess", Some(SECOND_STRANGER), "").await;
        assert_eq!(guess.status, 401);
        let guess = log_in_at(&second, &b, "fiona", "guess", Some(SECOND_STRANGER), "").await;
        assert_eq!(guess.status, 429);
        // Fiona at her office, and Ada from anywhere (the stranger's proxy address included),
        // log in.
        let office = log_in_at(&Browser::new(&b), &b, "fiona", FIONA, Some(OFFICE), "").await;
        assert_eq!(office.status, 303, "{}", office.body);
        let ada = log_in_at(&Browser::new(&a), &a, "ada", ADA, Some(SECOND_STRANGER), "").await;
        assert_eq!(ada.status, 303, "{}", ada.body);
    });
}

on_both_backends!(strangers_behind_the_proxy_cannot_lock_a_user_out);

/// Finding 7: the page after log-in is a path of this server, whatever `next` says.
#[test]
fn the_page_after_log_in_never_leaves_this_origin() {
    let (emsg, file) = emsg(Backend::Sqlite);
    let server = serve_web(&emsg, "127.0.0.1:0", &file, &[]);
    runtime().block_on(async {
        for next in [
            "/\t/evil.example/x",
            "/\n/evil.example/x",
            "/%09/evil.example/x",
            "/\\evil.example",
            "/%5C/evil.example",
            "//evil.example",
            "https://evil.example/",
            "/ /evil.example",
        ] {
            let browser = Browser::new(&server);
            let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            let form = browser.get(&format!("/login?next={encoded}")).await;
            assert_eq!(
                hidden_field(&form.body, "next"),
                "/web-applications",
                "{next:?}"
            );
            let answer = log_in_at(&browser, &server, "fiona", FIONA, None, next).await;
            assert_eq!(answer.status, 303);
            assert_eq!(
                answer.location.as_deref(),
                Some("/web-applications"),
                "{next:?}"
            );
        }
        let browser = Browser::new(&server);
        let deep = log_in_at(&browser, &server, "fiona", FIONA, None, PARKED).await;
        assert_eq!(deep.location.as_deref(), Some(PARKED));
    });
}

/// Finding 11: a password typed into the name field reaches neither the log nor the database.
fn a_failed_log_in_never_records_the_typed_name(backend: Backend) {
    let (emsg, file) = emsg(backend);
    let server = serve_web(&emsg, "127.0.0.1:0", &file, &[]);
    const TYPED: &str = "Typed-Into-The-Name-Field-9q";
    runtime().block_on(async {
        for _ in 0..6 {
            let answer = Browser::new(&server).log_in(TYPED, "x").await;
            assert!(answer.status == 401 || answer.status == 429);
        }
        let wrong = Browser::new(&server)
            .log_in("fiona", "not the password")
            .await;
        assert_eq!(wrong.status, 401);
        let log = server.stderr();
        assert!(
            log.contains("log-in failed") && log.contains("log-in refused"),
            "{log}"
        );
        assert_no_secret(&log, &[TYPED, &TYPED.to_lowercase()], "the log");
        let fiona = {
            let mut conn = emsg.db.connect();
            emsg_store::users::find(&mut conn, "fiona")
                .unwrap()
                .unwrap()
                .id
        };
        // The server's log is read by another thread: give the last line a moment to arrive.
        let expected = format!("user_id=Some({fiona})");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut log = log;
        while !log.contains(&expected) && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            log = server.stderr();
        }
        assert!(log.contains(&expected), "{log}");
        assert_no_secret(&log, &[TYPED, &TYPED.to_lowercase()], "the log");
        let mut conn = emsg.db.connect();
        let keys: Vec<String> = emsg_store::schema::login_throttle::table
            .select(emsg_store::schema::login_throttle::key_hash)
            .load(&mut conn)
            .unwrap();
        assert!(!keys.is_empty());
        assert_no_secret(
            &keys.concat(),
            &[TYPED, &TYPED.to_lowercase()],
            "the throttle table",
        );
    });
}

on_both_backends!(a_failed_log_in_never_records_the_typed_name);

/// Finding 6: an import checked on node A is confirmed on node B; while it waits, the file is
/// sealed in the database.
fn an_import_checked_on_one_node_is_confirmed_on_another(backend: Backend) {
    let (emsg, file) = emsg(backend);
    let a = serve_web(&emsg, "127.0.0.1:0", &file, &[]);
    let b = serve_web(&emsg, "127.0.0.1:0", &file, &[]);
    const INLINE: &str = "inline-import-secret-77a0";
    let upload = format!(
        "web_applications:
  - name: Imported loopback
    base_url: https://api.example.test
    authorization_url: https://www.example.test/authorize
    token_url: https://api.example.test/token
    redirect_url: http://127.0.0.1:8080/oauth/callback
    client_id: client-imported
    client_secret: {INLINE}
    scope: read write
"
    );
    runtime().block_on(async {
        let ada = Browser::new(&a);
        assert_eq!(ada.log_in("ada", ADA).await.status, 303);
        let form = ada.get(&a.url("/import")).await;
        let csrf = hidden_field(&form.body, "csrf");
        let dry = ada
            .post_multipart(
                &a.url("/import"),
                &[("csrf", None, &csrf), ("file", Some("more.yaml"), &upload)],
            )
            .await;
        assert_eq!(dry.status, 200, "{}", dry.body);
        let key = hidden_field(&dry.body, "key");
        {
            use emsg_store::schema::pending_imports as imports;
            let mut conn = emsg.db.connect();
            let sealed: Vec<Vec<u8>> = imports::table
                .select(imports::content_sealed)
                .load(&mut conn)
                .unwrap();
            assert_eq!(sealed.len(), 1);
            assert!(!String::from_utf8_lossy(&sealed[0]).contains(INLINE));
        }
        let done = ada
            .post_form(&b.url("/import/confirm"), &[("csrf", &csrf), ("key", &key)])
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(
            done.body.contains("The import was written: 1 added"),
            "{}",
            done.body
        );
        assert_eq!(count(&emsg, "pending_imports"), 0);
        let again = ada
            .post_form(&a.url("/import/confirm"), &[("csrf", &csrf), ("key", &key)])
            .await;
        assert_eq!(again.status, 409, "single use, on every node");
        assert_no_secret(
            &(ada.bodies() + &a.stderr() + &b.stderr()),
            &[INLINE],
            "pages and logs",
        );
    });
}

on_both_backends!(an_import_checked_on_one_node_is_confirmed_on_another);
