//! Users: one-time passwords that must be replaced before anything else, password change,
//! disabling, enabling, removal, role change and "log out everywhere" on the command line, the
//! `/users` page and `/api/v1/users…`, each ending the sessions and API keys it should; the last
//! administrator is never locked out; sessions have an absolute lifetime.

use emsg_test_db::{Backend, TestDb, on_both_backends};
use serde_json::json;

use crate::support::*;

const ROOT_PASSWORD: &str = "root password long enough 7c1e";
const FIONA_CHOSEN: &str = "fiona chose this password 9b2d";
const FIONA_SECOND: &str = "fiona second password 41aa";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn json(answer: &Answer) -> serde_json::Value {
    serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {}", answer.body))
}

/// The line after `password: ` in a command's output.
fn printed_password(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap_or_else(|| panic!("no password in:\n{stdout}"))
        .to_owned()
}

fn api_key(emsg: &Emsg, name: &str) -> String {
    let made = emsg.run(&["users", "api-key", name]).ok().stdout;
    made.lines()
        .find(|l| l.starts_with("emsg_"))
        .unwrap()
        .to_owned()
}

/// `GET` with an API key; the status and the body.
async fn get_with_key(server: &WebServer, path: &str, key: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(server.url(path))
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// `POST` JSON with an API key; the status and the body.
async fn post_with_key(
    server: &WebServer,
    path: &str,
    key: &str,
    body: &serde_json::Value,
) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .header("authorization", format!("Bearer {key}"))
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn change_password(browser: &Browser, current: &str, new: &str) -> Answer {
    let form = browser.get("/account/password").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = hidden_field(&form.body, "csrf");
    browser
        .post_form(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await
}

fn a_one_time_password_opens_nothing_but_the_password_change(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    add_user(&emsg, "root", "administrator", ROOT_PASSWORD);
    let added = emsg
        .run(&["users", "add", "fiona", "--role", "finance"])
        .ok();
    let once = printed_password(&added.stdout);
    assert!(
        added.stdout.contains("one-time password"),
        "{}",
        added.stdout
    );
    let listed = emsg.run(&["users", "list"]).ok().stdout;
    assert!(listed.contains("must choose a password"), "{listed}");
    let fiona_key = api_key(&emsg, "fiona");
    let server = serve_web(&emsg, "127.0.0.1:0", &shipped_file(), &[]);
    let browser = Browser::new(&server);
    runtime().block_on(async {
        assert_eq!(browser.log_in("fiona", &once).await.status, 303);
        // Every page and the API send her to the password change first.
        for page in ["/web-applications", "/users", "/messages", "/audit", "/my-connections"] {
            let answer = browser.get(page).await;
            assert_eq!(answer.status, 303, "{page}");
            assert_eq!(answer.location.as_deref(), Some("/account/password"), "{page}");
        }
        let home = browser.get("/").await;
        assert_ne!(home.location.as_deref(), Some("/web-applications"));
        let api = browser.get("/api/v1/session").await;
        assert_eq!(api.status, 403, "{}", api.body);
        assert_eq!(json(&api)["error"], "password_change_required");
        let (status, body) = get_with_key(&server, "/api/v1/connections", &fiona_key).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("password_change_required"), "{body}");

        // She may still log out, and log in again with it.
        let form = browser.get("/account/password").await;
        let csrf = hidden_field(&form.body, "csrf");
        let out = browser.post_form("/logout", &[("csrf", &csrf)]).await;
        assert_eq!(out.location.as_deref(), Some("/login"), "{}", out.body);
        assert!(browser.get("/account/password").await.location.unwrap().starts_with("/login"));
        assert_eq!(browser.log_in("fiona", &once).await.status, 303);

        // The same password again, or a wrong current one, is refused.
        let same = change_password(&browser, &once, &once).await;
        assert_eq!(same.status, 400, "{}", same.body);
        assert!(same.body.contains("same as the current"), "{}", same.body);
        let wrong = change_password(&browser, "not her password at all", FIONA_CHOSEN).await;
        assert_eq!(wrong.status, 403, "{}", wrong.body);
        assert!(wrong.body.contains("current password is not right"));

        let changed = change_password(&browser, &once, FIONA_CHOSEN).await;
        assert_eq!(changed.status, 303, "{}", changed.body);
        let page = browser.get("/web-applications").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Your password was changed"), "{}", page.body);
        let (status, body) = get_with_key(&server, "/api/v1/connections", &fiona_key).await;
        assert_eq!(status, 200, "API keys stay after a password change: {body}");

        // The one-time password no longer works; the chosen one does.
        let other = Browser::new(&server);
        assert_eq!(other.log_in("fiona", &once).await.status, 401);
        assert_eq!(other.log_in("fiona", FIONA_CHOSEN).await.status, 303);
        assert_eq!(other.get("/web-applications").await.status, 200);

        // A change from the first browser ends the second one's session, keeps its own, and
        // with revoke_api_keys ends the keys too (the JSON API, with the CSRF token).
        let csrf = browser.csrf().await;
        let answer = browser
            .post_json(
                "/api/v1/account/password",
                Some(&csrf),
                &json!({ "current_password": FIONA_CHOSEN, "new_password": FIONA_SECOND, "revoke_api_keys": true }),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(answer.body.contains("1 other session(s) ended"), "{}", answer.body);
        assert_eq!(browser.get("/web-applications").await.status, 200);
        assert_eq!(other.get("/web-applications").await.status, 303);
        let (status, _) = get_with_key(&server, "/api/v1/connections", &fiona_key).await;
        assert_eq!(status, 401);
    });
    let mut haystack = browser.bodies();
    haystack.push_str(&server.stderr());
    assert_no_secret(
        &haystack,
        &[FIONA_CHOSEN, FIONA_SECOND, ROOT_PASSWORD, &once],
        "pages, JSON and logs",
    );
}

on_both_backends!(a_one_time_password_opens_nothing_but_the_password_change);

fn administrators_manage_users_and_each_change_ends_what_it_should(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    add_user(&emsg, "root", "administrator", ROOT_PASSWORD);
    add_user(&emsg, "fiona", "finance", FIONA_CHOSEN);
    let root_key = api_key(&emsg, "root");
    let fiona_key = api_key(&emsg, "fiona");
    let server = serve_web(&emsg, "127.0.0.1:0", &shipped_file(), &[]);
    let admin = Browser::new(&server);
    let fiona = Browser::new(&server);
    let mut shown = Vec::new();
    runtime().block_on(async {
        assert_eq!(admin.log_in("root", ROOT_PASSWORD).await.status, 303);
        assert_eq!(fiona.log_in("fiona", FIONA_CHOSEN).await.status, 303);
        let page = admin.get("/users").await;
        assert_eq!(page.status, 200);
        let csrf = hidden_field(&page.body, "csrf");

        // Role change on the page: her session ends, her key acts with the new role.
        let answer = admin
            .post_form(
                "/users/fiona/role",
                &[("csrf", &csrf), ("role", "administrator")],
            )
            .await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        let listed = admin.get("/users").await;
        assert!(
            listed.body.contains("fiona is now administrator"),
            "{}",
            listed.body
        );
        assert_eq!(fiona.get("/web-applications").await.status, 303);
        let (status, _) = get_with_key(&server, "/api/v1/users", &fiona_key).await;
        assert_eq!(status, 200, "her key has the administrator role now");
        let (status, _) = post_with_key(
            &server,
            "/api/v1/users/fiona/role",
            &root_key,
            &json!({ "role": "finance" }),
        )
        .await;
        assert_eq!(status, 200);

        // Log out everywhere (API): sessions end, keys stay unless asked.
        assert_eq!(fiona.log_in("fiona", FIONA_CHOSEN).await.status, 303);
        let (status, body) = post_with_key(
            &server,
            "/api/v1/users/fiona/logout-everywhere",
            &root_key,
            &json!({}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("1 session(s) and 0 API key(s) ended"),
            "{body}"
        );
        assert_eq!(fiona.get("/web-applications").await.status, 303);
        assert_eq!(
            get_with_key(&server, "/api/v1/connections", &fiona_key)
                .await
                .0,
            200
        );

        // Disable: no log-in, no session, no key; enable lets her log in again.
        assert_eq!(fiona.log_in("fiona", FIONA_CHOSEN).await.status, 303);
        let (status, body) = post_with_key(
            &server,
            "/api/v1/users/fiona/disable",
            &root_key,
            &json!({}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(fiona.get("/web-applications").await.status, 303);
        assert_eq!(
            get_with_key(&server, "/api/v1/connections", &fiona_key)
                .await
                .0,
            401
        );
        assert_eq!(fiona.log_in("fiona", FIONA_CHOSEN).await.status, 401);
        let answer = admin
            .post_form("/users/fiona/enable", &[("csrf", &csrf)])
            .await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        assert_eq!(fiona.log_in("fiona", FIONA_CHOSEN).await.status, 303);

        // A new one-time password from the page: shown once, her sessions end, she must change it.
        let answer = admin
            .post_form("/users/fiona/password", &[("csrf", &csrf)])
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let once = answer
            .body
            .split("<code class=\"one-time-password\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap()
            .to_owned();
        shown.push(once.clone());
        assert_eq!(fiona.get("/web-applications").await.status, 303);
        assert_eq!(fiona.log_in("fiona", &once).await.status, 303);
        assert_eq!(
            fiona.get("/messages").await.location.as_deref(),
            Some("/account/password")
        );

        // Added on the page: a one-time password, shown once.
        let answer = admin
            .post_form(
                "/users",
                &[("csrf", &csrf), ("name", "gina"), ("role", "finance")],
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(
            answer.body.contains("One-time password for gina"),
            "{}",
            answer.body
        );
        // Added over the API.
        let (status, body) = post_with_key(
            &server,
            "/api/v1/users",
            &root_key,
            &json!({ "name": "hugo", "role": "finance" }),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let hugo_once =
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["one_time_password"]
                .as_str()
                .unwrap()
                .to_owned();
        shown.push(hugo_once.clone());
        let hugo = Browser::new(&server);
        assert_eq!(hugo.log_in("hugo", &hugo_once).await.status, 303);
        assert_eq!(hugo.get("/api/v1/session").await.status, 403);

        // The last enabled administrator is never locked out, on the page or the API.
        for change in ["disable", "remove"] {
            let (status, body) = post_with_key(
                &server,
                &format!("/api/v1/users/root/{change}"),
                &root_key,
                &json!({}),
            )
            .await;
            assert_eq!(status, 409, "{body}");
            assert!(
                body.contains("last_administrator")
                    && body.contains("root is the last enabled administrator"),
                "{body}"
            );
        }
        let answer = admin
            .post_form("/users/root/role", &[("csrf", &csrf), ("role", "finance")])
            .await;
        assert_eq!(answer.status, 409, "{}", answer.body);
        assert!(
            answer
                .body
                .contains("root is the last enabled administrator"),
            "{}",
            answer.body
        );

        // A finance user manages no one.
        let other = Browser::new(&server);
        add_user(&emsg, "ivan", "finance", FIONA_CHOSEN);
        assert_eq!(other.log_in("ivan", FIONA_CHOSEN).await.status, 303);
        let ivan_csrf = other.csrf().await;
        let refused = other
            .post_json("/api/v1/users/fiona/disable", Some(&ivan_csrf), &json!({}))
            .await;
        assert_eq!(refused.status, 403);
        let refused = other
            .post_form("/users/fiona/disable", &[("csrf", &ivan_csrf)])
            .await;
        assert_eq!(refused.status, 403);

        // On the page, removal needs its confirmation.
        let unconfirmed = admin
            .post_form("/users/gina/remove", &[("csrf", &csrf)])
            .await;
        assert_eq!(unconfirmed.status, 400, "{}", unconfirmed.body);
        assert!(
            unconfirmed.body.contains("gina was not removed"),
            "{}",
            unconfirmed.body
        );
        let removed = admin
            .post_form("/users/gina/remove", &[("csrf", &csrf), ("confirm", "yes")])
            .await;
        assert_eq!(removed.status, 303, "{}", removed.body);

        // Remove: gone from the list, sessions and keys end, the name stays taken.
        let (status, body) =
            post_with_key(&server, "/api/v1/users/fiona/remove", &root_key, &json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(fiona.get("/account/password").await.status, 303);
        assert_eq!(
            get_with_key(&server, "/api/v1/connections", &fiona_key)
                .await
                .0,
            401
        );
        let (_, list) = get_with_key(&server, "/api/v1/users", &root_key).await;
        assert!(
            !list.contains("\"fiona\"") && !list.contains("\"gina\"") && list.contains("\"hugo\""),
            "{list}"
        );
        let (status, _) =
            post_with_key(&server, "/api/v1/users/fiona/enable", &root_key, &json!({})).await;
        assert_eq!(status, 404);

        // Every change is in the audit log.
        let (_, audit) = get_with_key(&server, "/api/v1/audit", &root_key).await;
        for action in [
            "change-role",
            "logout-everywhere",
            "disable-user",
            "enable-user",
            "set-password",
            "add-user",
            "remove-user",
        ] {
            assert!(audit.contains(action), "{action} is audited: {audit}");
        }
    });
    let mut haystack = admin.bodies();
    haystack.push_str(&fiona.bodies());
    haystack.push_str(&server.stderr());
    assert_no_secret(
        &haystack,
        &[FIONA_CHOSEN, ROOT_PASSWORD, &root_key, &fiona_key],
        "pages, JSON and logs",
    );
    let logs = server.stderr();
    assert_no_secret(
        &logs,
        &shown.iter().map(String::as_str).collect::<Vec<_>>(),
        "logs",
    );
}

on_both_backends!(administrators_manage_users_and_each_change_ends_what_it_should);

fn the_command_line_manages_users_and_never_locks_out_the_last_administrator(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    add_user(&emsg, "root", "administrator", ROOT_PASSWORD);
    add_user(&emsg, "fiona", "finance", FIONA_CHOSEN);
    for args in [
        vec!["users", "disable", "root"],
        vec!["users", "remove", "root"],
        vec!["users", "role", "root", "finance"],
    ] {
        let refused = emsg.run(&args);
        assert_ne!(refused.code, 0, "{args:?}");
        assert!(
            refused
                .stderr
                .contains("root is the last enabled administrator"),
            "{}",
            refused.stderr
        );
    }
    let key = api_key(&emsg, "fiona");
    let server = serve_web(&emsg, "127.0.0.1:0", &shipped_file(), &[]);
    let fiona = Browser::new(&server);
    runtime().block_on(async {
        assert_eq!(fiona.log_in("fiona", FIONA_CHOSEN).await.status, 303);
        let done = emsg.run(&["users", "passwd", "fiona"]).ok();
        let once = printed_password(&done.stdout);
        assert!(
            done.stdout.contains("1 session(s) and 0 API key(s) ended"),
            "{}",
            done.stdout
        );
        assert_eq!(fiona.get("/web-applications").await.status, 303);
        assert_eq!(fiona.log_in("fiona", FIONA_CHOSEN).await.status, 401);
        assert_eq!(fiona.log_in("fiona", &once).await.status, 303);
        assert_eq!(
            fiona.get("/audit").await.location.as_deref(),
            Some("/account/password")
        );
        emsg.run_with_stdin(
            &["users", "passwd", "fiona", "--password-stdin"],
            &format!("{FIONA_SECOND}\n"),
        )
        .ok();
        assert_eq!(fiona.log_in("fiona", FIONA_SECOND).await.status, 303);
        assert_eq!(
            fiona.get("/audit").await.status,
            200,
            "a password set by an operator is not one-time"
        );
        emsg.run(&["users", "logout-everywhere", "fiona", "--revoke-api-keys"])
            .ok();
        assert_eq!(fiona.get("/audit").await.status, 303);
        assert_eq!(
            get_with_key(&server, "/api/v1/connections", &key).await.0,
            401
        );
        emsg.run(&["users", "disable", "fiona"]).ok();
        assert_eq!(fiona.log_in("fiona", FIONA_SECOND).await.status, 401);
        assert!(
            emsg.run(&["users", "list"])
                .ok()
                .stdout
                .contains("disabled")
        );
        emsg.run(&["users", "enable", "fiona"]).ok();
        emsg.run(&["users", "role", "fiona", "administrator"]).ok();
        emsg.run(&["users", "disable", "root"]).ok();
        emsg.run(&["users", "remove", "root"]).ok();
        assert!(!emsg.run(&["users", "list"]).ok().stdout.contains("root"));
    });
    let mut haystack = fiona.bodies();
    haystack.push_str(&server.stderr());
    assert_no_secret(
        &haystack,
        &[FIONA_CHOSEN, FIONA_SECOND, ROOT_PASSWORD, &key],
        "pages and logs",
    );
}

on_both_backends!(the_command_line_manages_users_and_never_locks_out_the_last_administrator);

fn a_busy_session_ends_at_its_absolute_lifetime(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    add_user(&emsg, "root", "administrator", ROOT_PASSWORD);
    let server = serve_web(
        &emsg,
        "127.0.0.1:0",
        &shipped_file(),
        &["--session-lifetime", "4s"],
    );
    let browser = Browser::new(&server);
    runtime().block_on(async {
        assert_eq!(browser.log_in("root", ROOT_PASSWORD).await.status, 303);
        let started = std::time::Instant::now();
        // Busy the whole time, so never idle; still over four seconds after the log-in (the
        // database keeps whole seconds: alive for at least three, gone after five).
        while started.elapsed() < std::time::Duration::from_millis(2000) {
            assert_eq!(browser.get("/users").await.status, 200);
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5200) - started.elapsed()).await;
        let answer = browser.get("/users").await;
        assert_eq!(answer.status, 303);
        assert!(answer.location.unwrap().starts_with("/login"));
    });
}

on_both_backends!(a_busy_session_ends_at_its_absolute_lifetime);
