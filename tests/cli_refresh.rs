//! Refreshes across processes: concurrent `emsg auth refresh` commands refresh once, and a
//! sweep killed with SIGKILL leaves every connection with a valid pair for the next node.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use emsg_store::schema::connections;
use emsg_test_db::{Backend, TestDb, on_both_backends};
use emsg_testkit::mock::{MockResponse, MockServer};
use support::*;

fn records(mock: &MockServer, count: usize) -> String {
    let base = mock.url("");
    let base = base.trim_end_matches('/');
    let mut text = "web_applications:\n".to_owned();
    for i in 0..count {
        text.push_str(&format!(
            "  - name: App {i}
    base_url: {base}
    authorization_url: {base}/authorize
    token_url: {base}/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: client-{i}
    client_secret: secret-{i}-never-shown
    scope: read:vat write:vat
"
        ));
    }
    text
}

/// Connects `App {i}` through the command line: get-code, callback, obtain-token.
fn connect(emsg: &Emsg, i: usize) {
    connect_on_the_command_line(emsg, &format!("App {i}"), "fiona", &format!("code-{i}"));
}

fn expire_all(db: &TestDb) {
    diesel::update(connections::table)
        .set(connections::access_expires_at.eq(Some(emsg_store::now() - 5)))
        .execute(&mut db.connect())
        .unwrap();
}

fn setup(backend: Backend, count: usize) -> (tokio::runtime::Runtime, MockServer, Emsg) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockServer::start()).unwrap();
    mock.on("POST", "/token")
        .respond(MockResponse::token(
            "access-old",
            Some("refresh-old"),
            Some(3600),
        ))
        .mount();
    let emsg = Emsg::new(TestDb::new(backend));
    let file = emsg.write("apps.yaml", &records(&mock, count));
    emsg.run(&["import", file.to_str().unwrap()]).ok();
    emsg.run_with_stdin(
        &[
            "users",
            "add",
            "fiona",
            "--role",
            "finance",
            "--password-stdin",
        ],
        "a long enough password\n",
    )
    .ok();
    for i in 0..count {
        connect(&emsg, i);
    }
    (runtime, mock, emsg)
}

fn concurrent_command_line_refreshes_refresh_once(backend: Backend) {
    let (_runtime, mock, emsg) = setup(backend, 1);
    for round in 0..3 {
        expire_all(&emsg.db);
        mock.on("POST", "/token")
            .respond(
                MockResponse::token(
                    &format!("access-{round}"),
                    Some(&format!("refresh-{round}")),
                    Some(3600),
                )
                .with_delay(Duration::from_millis(400)),
            )
            .mount();
        let before = mock.count("POST", "/token");
        let children: Vec<_> = (0..6)
            .map(|_| {
                emsg.command(&["auth", "refresh", "App 0", "--if-due"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            emsg.record(&String::from_utf8_lossy(&output.stderr));
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(String::from_utf8_lossy(&output.stdout).contains("the access token is valid"));
        }
        assert_eq!(
            mock.count("POST", "/token") - before,
            1,
            "round {round}: one refresh for six processes"
        );
    }
    assert_no_secret(
        &emsg.transcript(),
        &["access-0", "refresh-0", "secret-0-never-shown", "code-0"],
        "output",
    );
}

on_both_backends!(concurrent_command_line_refreshes_refresh_once);

fn a_sweep_killed_midway_leaves_valid_pairs_and_another_node_carries_on(backend: Backend) {
    let count = 4;
    let (_runtime, mock, emsg) = setup(backend, count);
    expire_all(&emsg.db);
    mock.on("POST", "/token")
        .respond(
            MockResponse::token("access-new", Some("refresh-new"), Some(3600))
                .with_delay(Duration::from_secs(5)),
        )
        .mount();
    let before = mock.count("POST", "/token");
    let mut sweep = emsg.command(&["auth", "refresh", "--all"]);
    sweep
        .env("EMSG_REFRESH_LEASE", "3s")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = sweep.spawn().unwrap();
    let started = Instant::now();
    while mock.count("POST", "/token") - before < count
        && started.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        mock.count("POST", "/token") - before,
        count,
        "every refresh is in flight"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // Every connection still holds its previous pair, readable and unchanged.
    let mut conn = emsg.db.connect();
    let source = emsg_store::master_key::KeySource::File(emsg.key_file());
    let (ring, _) = emsg_store::master_key::open_ring(&mut conn, &source).unwrap();
    for c in emsg_store::connections::list(&mut conn, None).unwrap() {
        assert_eq!(c.status(), emsg_store::connections::Status::Connected);
        assert_eq!(
            c.access_token(&ring).unwrap().unwrap().expose(),
            "access-old"
        );
        assert_eq!(
            c.refresh_token(&ring).unwrap().unwrap().expose(),
            "refresh-old"
        );
    }

    // Another node carries on once the dead node's leases have run out.
    std::thread::sleep(Duration::from_secs(4));
    mock.on("POST", "/token")
        .respond(MockResponse::token(
            "access-new",
            Some("refresh-new"),
            Some(3600),
        ))
        .mount();
    let mut next = emsg.command(&["auth", "refresh", "--all"]);
    next.env("EMSG_REFRESH_LEASE", "3s");
    let run = emsg.run_command(next, None).ok();
    assert!(
        run.stdout
            .contains(&format!("{count} due, {count} refreshed, 0 failed")),
        "{}",
        run.stdout
    );
    for c in emsg_store::connections::list(&mut conn, None).unwrap() {
        assert_eq!(
            c.access_token(&ring).unwrap().unwrap().expose(),
            "access-new"
        );
    }
}

on_both_backends!(a_sweep_killed_midway_leaves_valid_pairs_and_another_node_carries_on);
