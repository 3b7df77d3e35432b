//! Refreshes through running servers: `POST …/connection/ensure-valid` spread over two
//! `emsg serve` processes on one PostgreSQL (and one `serve` plus command-line refreshes on one
//! SQLite file) refreshes once per expiry, counted at the provider; SIGTERM lets a refresh in
//! flight finish and be stored.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use emsg_store::connections::Status;
use emsg_store::schema::connections;
use emsg_test_db::{Backend, TestDb, on_both_backends};
use emsg_testkit::mock::{MockResponse, MockServer};
use support::*;

const APP: &str = "HMRC VAT mock";
const PASSWORD: &str = "a long enough password";
const ROUNDS: usize = 20;
const REQUESTS: usize = 200;
const ENSURE_VALID: &str = "/api/v1/web-applications/HMRC%20VAT%20mock/connection/ensure-valid";

fn records(mock: &MockServer) -> String {
    let base = mock.url("");
    let base = base.trim_end_matches('/');
    format!(
        "web_applications:
  - name: {APP}
    base_url: {base}
    authorization_url: {base}/authorize
    token_url: {base}/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: serve-refresh-client
    client_secret: serve-refresh-secret-never-shown
    scope: read:vat write:vat
"
    )
}

struct World {
    runtime: tokio::runtime::Runtime,
    mock: MockServer,
    emsg: Emsg,
    apps: std::path::PathBuf,
}

/// One record, the finance user `fiona`, and the company's connection (`access-0`/`refresh-0`)
/// made through the command line.
fn world(backend: Backend) -> World {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockServer::start()).unwrap();
    mock.on("POST", "/token")
        .respond(MockResponse::token(
            "access-0",
            Some("refresh-0"),
            Some(3600),
        ))
        .mount();
    let emsg = Emsg::new(TestDb::new(backend));
    let apps = emsg.write("apps.yaml", &records(&mock));
    emsg.run(&["import", apps.to_str().unwrap()]).ok();
    add_user(&emsg, "fiona", "finance", PASSWORD);
    let url = emsg
        .run(&["auth", "get-code", APP, "--user", "fiona"])
        .ok()
        .stdout;
    let url = url::Url::parse(url.trim()).unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    emsg.run(&[
        "auth", "callback", "--state", &state, "--code", "code-0", "--user", "fiona",
    ])
    .ok();
    emsg.run(&["auth", "obtain-token", APP, "--user", "fiona"])
        .ok();
    World {
        runtime,
        mock,
        emsg,
        apps,
    }
}

fn set_expiry(db: &TestDb, at: i64) {
    diesel::update(connections::table)
        .set(connections::access_expires_at.eq(Some(at)))
        .execute(&mut db.connect())
        .unwrap();
}

async fn logged_in(server: &WebServer) -> (Arc<Browser>, String) {
    let browser = Browser::new(server);
    let answer = browser.log_in("fiona", PASSWORD).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let csrf = browser.csrf().await;
    (Arc::new(browser), csrf)
}

/// `REQUESTS` ensure-valid calls spread over `servers`, plus `commands` concurrent
/// `emsg auth refresh --if-due` processes, for one expired connection, `ROUNDS` times: one
/// refresh at the provider per round, and every call succeeds.
fn one_refresh_per_expiry(backend: Backend, servers: usize, commands: usize) {
    let world = world(backend);
    let nodes: Vec<WebServer> = (0..servers)
        .map(|_| serve_web(&world.emsg, "127.0.0.1:0", &world.apps, &[]))
        .collect();
    let browsers: Vec<(Arc<Browser>, String)> = world.runtime.block_on(async {
        let mut browsers = Vec::new();
        for node in &nodes {
            browsers.push(logged_in(node).await);
        }
        browsers
    });

    // As every API POST: no anti-forgery token, no action.
    let refused = world.runtime.block_on(async {
        browsers[0]
            .0
            .post_json(ENSURE_VALID, None, &serde_json::json!({}))
            .await
    });
    assert_eq!(refused.status, 403, "{}", refused.body);

    for round in 1..=ROUNDS {
        let (access, refresh) = (format!("access-{round}"), format!("refresh-{round}"));
        // The provider answers slowly, so that every request overlaps the refresh.
        world
            .mock
            .on("POST", "/token")
            .respond(
                MockResponse::token(&access, Some(&refresh), Some(3600))
                    .with_delay(Duration::from_millis(300)),
            )
            .mount();
        // Counted from before the expiry: a background sweep that takes the refresh is the
        // one refresh of the round.
        let before = world.mock.count("POST", "/token");
        set_expiry(&world.emsg.db, emsg_store::now() - 10);
        // The servers' token caches serve an entry for at most a second.
        std::thread::sleep(Duration::from_millis(1100));

        let children: Vec<_> = (0..commands)
            .map(|_| {
                world
                    .emsg
                    .command(&["auth", "refresh", APP, "--if-due"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let answers = world.runtime.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..REQUESTS {
                let (browser, csrf) = browsers[i % browsers.len()].clone();
                tasks.spawn(async move {
                    browser
                        .post_json(ENSURE_VALID, Some(&csrf), &serde_json::json!({}))
                        .await
                });
            }
            let mut answers = Vec::new();
            while let Some(joined) = tasks.join_next().await {
                match joined {
                    Ok(answer) => answers.push(answer),
                    Err(error) => {
                        let logs: Vec<String> = nodes.iter().map(WebServer::stderr).collect();
                        panic!(
                            "round {round}: a request failed ({error}); servers said:\n{}",
                            logs.join("\n---\n")
                        );
                    }
                }
            }
            answers
        });
        for child in children {
            let output = child.wait_with_output().unwrap();
            world.emsg.record(&String::from_utf8_lossy(&output.stdout));
            world.emsg.record(&String::from_utf8_lossy(&output.stderr));
            assert!(
                output.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }

        assert_eq!(answers.len(), REQUESTS);
        for answer in &answers {
            assert_eq!(answer.status, 200, "round {round}: {}", answer.body);
            let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
            assert_eq!(json["connection"]["status"], "connected", "{}", answer.body);
            assert!(
                json["connection"]["expires_in"].is_string(),
                "{}",
                answer.body
            );
        }
        assert_eq!(
            world.mock.count("POST", "/token") - before,
            1,
            "round {round}: exactly one refresh at the provider"
        );
        let last = world
            .mock
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.path == "/token")
            .unwrap();
        let previous = format!("refresh-{}", round - 1);
        assert!(
            last.form()
                .iter()
                .any(|(k, v)| k == "refresh_token" && *v == previous),
            "round {round} used the newest refresh token"
        );
        let mut conn = world.emsg.db.connect();
        let stored = emsg_store::connections::list(&mut conn, None).unwrap();
        assert_eq!(stored[0].status(), Status::Connected);
        assert!(stored[0].access_expires_at.unwrap() > emsg_store::now() + 3000);
    }

    // One audit entry per refresh, none for the requests that found the token refreshed.
    let entries = emsg_store::audit::recent(&mut world.emsg.db.connect(), 10_000).unwrap();
    let refreshes = entries.iter().filter(|e| e.action == "refresh").count();
    assert_eq!(refreshes, ROUNDS, "one audit entry per refresh");

    let mut secrets: Vec<String> = (0..=ROUNDS)
        .flat_map(|r| [format!("access-{r}"), format!("refresh-{r}")])
        .collect();
    secrets.extend([
        "serve-refresh-secret-never-shown".to_owned(),
        "code-0".to_owned(),
    ]);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    for (browser, _) in &browsers {
        assert_no_secret(&browser.bodies(), &secrets, "API answers");
    }
    for node in &nodes {
        assert_no_secret(&node.stderr(), &secrets, "server logs");
    }
    assert_no_secret(&world.emsg.transcript(), &secrets, "command output");
}

#[test]
fn two_serve_nodes_on_postgres_refresh_once_for_two_hundred_concurrent_ensure_valid_requests() {
    one_refresh_per_expiry(Backend::Postgres, 2, 2);
}

#[test]
fn a_serve_node_and_command_line_refreshes_on_sqlite_refresh_once_per_expiry() {
    one_refresh_per_expiry(Backend::Sqlite, 1, 4);
}

fn sigterm_lets_a_refresh_in_flight_finish(backend: Backend) {
    let world = world(backend);
    // Due at start: the scheduler's first sweep refreshes it, against a slow provider.
    set_expiry(&world.emsg.db, emsg_store::now() + 60);
    world
        .mock
        .on("POST", "/token")
        .respond(
            MockResponse::token("access-late", Some("refresh-late"), Some(3600))
                .with_delay(Duration::from_secs(3)),
        )
        .mount();
    let before = world.mock.count("POST", "/token");
    let mut server = serve_web(&world.emsg, "127.0.0.1:0", &world.apps, &[]);
    let started = Instant::now();
    while world.mock.count("POST", "/token") == before {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the scheduler did not start the refresh:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    server.terminate();
    let stopping = Instant::now();
    // The shutdown grace of in-flight refreshes is 20 s; the provider answers within 3.
    let status = server.wait_exit(Duration::from_secs(20));
    let took = stopping.elapsed();
    let status =
        status.unwrap_or_else(|| panic!("still running 20 s after SIGTERM:\n{}", server.stderr()));
    assert!(status.success(), "{status:?}\n{}", server.stderr());
    assert!(
        took >= Duration::from_millis(1500),
        "the server waited for the refresh ({took:?})"
    );

    let mut conn = world.emsg.db.connect();
    let source = emsg_store::master_key::KeySource::File(world.emsg.key_file());
    let (ring, _) = emsg_store::master_key::open_ring(&mut conn, &source).unwrap();
    let stored = &emsg_store::connections::list(&mut conn, None).unwrap()[0];
    assert_eq!(stored.status(), Status::Connected);
    assert_eq!(
        stored.access_token(&ring).unwrap().unwrap().expose(),
        "access-late",
        "the refreshed pair was stored before the exit"
    );
    assert_eq!(
        stored.refresh_token(&ring).unwrap().unwrap().expose(),
        "refresh-late"
    );
    assert_eq!(stored.lease_owner, None, "the lease was released");
    assert_eq!(world.mock.count("POST", "/token") - before, 1);
    assert_no_secret(
        &server.stderr(),
        &[
            "access-late",
            "refresh-late",
            "access-0",
            "refresh-0",
            "serve-refresh-secret-never-shown",
        ],
        "server log",
    );
}

on_both_backends!(sigterm_lets_a_refresh_in_flight_finish);
