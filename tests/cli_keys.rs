//! `emsg keys rotate` and the master-key checks at start, end to end.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use emsg_test_db::{Backend, TestDb, on_both_backends};
use emsg_testkit::mock::{MockResponse, MockServer};
use support::*;

const FILE: &str = "web_applications:
  - name: Alpha
    base_url: https://api.example.test
    authorization_url: https://www.example.test/authorize
    token_url: https://api.example.test/token
    redirect_url: http://127.0.0.1:8080/oauth/callback
    client_id: alpha-client
    client_secret: alpha-inline-secret
    scope: read write
";

fn rotation_and_wrong_keys(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    let file = emsg.write("apps.yaml", FILE);
    emsg.run(&["import", file.to_str().unwrap()]).ok();
    let key_before = std::fs::read_to_string(emsg.key_file()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(emsg.key_file())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }

    // An interrupted rotation: nothing changes, the same key still opens everything.
    let mut interrupted = emsg.command(&["keys", "rotate"]);
    interrupted.env("EMSG_TEST_FAIL_ROTATION_AFTER", "1");
    assert_ne!(emsg.run_command(interrupted, None).code, 0);
    assert_eq!(
        std::fs::read_to_string(emsg.key_file()).unwrap(),
        key_before
    );
    assert!(
        emsg.run(&["apps", "show", "Alpha"])
            .ok()
            .stdout
            .contains("client secret: set")
    );
    assert!(
        emsg.run(&["import", file.to_str().unwrap()])
            .ok()
            .stdout
            .contains("nothing to change"),
        "the secret still opens and compares equal"
    );

    let rotated = emsg.run(&["keys", "rotate"]).ok();
    assert!(
        rotated.stdout.contains("re-sealed 2 values"),
        "{}",
        rotated.stdout
    );
    assert_ne!(
        std::fs::read_to_string(emsg.key_file()).unwrap(),
        key_before
    );
    assert!(
        emsg.run(&["import", file.to_str().unwrap()])
            .ok()
            .stdout
            .contains("nothing to change")
    );

    // The old key no longer opens the database: refused with a clear message.
    std::fs::write(emsg.key_file(), &key_before).unwrap();
    let refused = emsg.run(&["apps", "list"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("does not open this database"),
        "{}",
        refused.stderr
    );
    assert_no_secret(
        &emsg.transcript(),
        &["alpha-inline-secret", key_before.trim()],
        "output",
    );
}

on_both_backends!(rotation_and_wrong_keys);

#[test]
fn a_key_from_the_environment_rotates_into_a_new_key_file() {
    let emsg = Emsg::new(TestDb::new(Backend::Sqlite));
    let key = emsg_seal::MasterKey::generate();
    let with_env = |args: &[&str]| {
        let mut command = emsg.command(args);
        command.env("EMSG_MASTER_KEY", key.to_base64().expose());
        emsg.run_command(command, None)
    };
    let file = emsg.write("apps.yaml", FILE);
    with_env(&["import", file.to_str().unwrap()]).ok();
    assert!(
        !emsg.key_file().exists(),
        "no key file is created when EMSG_MASTER_KEY is set"
    );
    let refused = with_env(&["keys", "rotate"]);
    assert!(
        refused.stderr.contains("--new-key-file"),
        "{}",
        refused.stderr
    );
    let out = emsg.path("new.key");
    let rotated = with_env(&["keys", "rotate", "--new-key-file", out.to_str().unwrap()]).ok();
    assert!(
        rotated.stdout.contains("set EMSG_MASTER_KEY"),
        "{}",
        rotated.stdout
    );
    let new_key = std::fs::read_to_string(&out).unwrap();
    let mut command = emsg.command(&["apps", "show", "Alpha"]);
    command.env("EMSG_MASTER_KEY", new_key.trim());
    assert!(
        emsg.run_command(command, None)
            .ok()
            .stdout
            .contains("client secret: set")
    );
    assert_no_secret(
        &emsg.transcript(),
        &[new_key.trim(), key.to_base64().expose()],
        "output",
    );
}

/// Records on a loopback stand-in: `App {i}` for each `i`, and a web service through `App 0`.
fn connected_world(backend: Backend, apps: usize) -> (tokio::runtime::Runtime, MockServer, Emsg) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockServer::start()).unwrap();
    mock.on("POST", "/token")
        .respond(MockResponse::token(
            "access-0",
            Some("refresh-0"),
            Some(3600),
        ))
        .mount();
    mock.on("GET", "/hello/42")
        .respond(MockResponse::json(
            200,
            serde_json::json!({"hello": "world"}),
        ))
        .mount();
    let base = mock.url("");
    let base = base.trim_end_matches('/');
    let mut text = "web_applications:\n".to_owned();
    for i in 0..apps {
        text.push_str(&format!(
            "  - name: App {i}
    base_url: {base}
    authorization_url: {base}/authorize
    token_url: {base}/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: client-{i}
    client_secret: rotation-secret-{i}
    scope: read write
"
        ));
    }
    text.push_str(
        "web_services:
  - name: Hello
    web_application: App 0
    method: GET
    url: \"/hello/{{n}}\"
    fields:
      - {name: n, label: Number, type: text}
",
    );
    let emsg = Emsg::new(TestDb::new(backend)).with_env("EMSG_KEY_POLL", "1s");
    let file = emsg.write("apps.yaml", &text);
    emsg.run(&["import", file.to_str().unwrap()]).ok();
    add_user(&emsg, "fiona", "finance", "a long enough password");
    (runtime, mock, emsg)
}

fn get_code(emsg: &Emsg, app: &str) -> String {
    get_code_state(emsg, app, "fiona")
}

fn connect(emsg: &Emsg, app: &str, code: &str) {
    connect_on_the_command_line(emsg, app, "fiona", code);
}

fn rotation_keeps_connections_pending_authorizations_and_messages(backend: Backend) {
    let (_runtime, mock, emsg) = connected_world(backend, 2);
    connect(&emsg, "App 0", "code-rotation-0");
    // App 1: the code arrived, the token was not fetched yet (a pending authorization).
    let state = get_code(&emsg, "App 1");
    emsg.run(&[
        "auth",
        "callback",
        "--state",
        &state,
        "--code",
        "code-rotation-1",
        "--user",
        "fiona",
    ])
    .ok();
    emsg.run(&["send", "Hello", "--user", "fiona", "--field", "n=42"])
        .ok();

    let rotated = emsg.run(&["keys", "rotate"]).ok();
    assert!(
        rotated.stdout.contains("re-sealed 7 values"),
        "check value, 2 secrets, 2 tokens, verifier and code of App 1: {}",
        rotated.stdout
    );

    // Everything the old key sealed still works under the new one.
    mock.on("POST", "/token")
        .respond(MockResponse::token(
            "access-1",
            Some("refresh-1"),
            Some(3600),
        ))
        .mount();
    emsg.run(&["auth", "refresh", "App 0"]).ok();
    emsg.run(&["auth", "obtain-token", "App 1", "--user", "fiona"])
        .ok();
    let sent = emsg
        .run(&["send", "Hello", "--user", "fiona", "--field", "n=42"])
        .ok();
    assert!(
        sent.stdout.to_lowercase().contains("response received"),
        "{}",
        sent.stdout
    );
    let last = mock
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.starts_with("/hello"))
        .unwrap();
    assert_eq!(last.header("authorization"), Some("Bearer access-1"));
    emsg.run(&["auth", "disconnect", "App 0"]).ok();
    let status = emsg.run(&["keys", "status"]).ok();
    assert!(
        status.stdout.contains("every stored value opens"),
        "{}",
        status.stdout
    );
    assert_no_secret(
        &emsg.transcript(),
        &[
            "rotation-secret-0",
            "access-0",
            "refresh-0",
            "access-1",
            "refresh-1",
            "code-rotation-1",
        ],
        "output",
    );
}

on_both_backends!(rotation_keeps_connections_pending_authorizations_and_messages);

/// Two `serve` nodes refresh every connection again and again while `emsg keys rotate` runs:
/// the nodes learn the new key from the database, no refresh fails for a key, and no connection
/// ends up holding a refresh token that was already spent (which is what re-sealing an old value
/// over a newer one would leave).
#[test]
fn two_serve_nodes_refreshing_during_a_rotation_keep_every_newest_token() {
    const APPS: usize = 3;
    let (runtime, mock, emsg) = connected_world(Backend::Postgres, APPS);
    for i in 0..APPS {
        connect(&emsg, &format!("App {i}"), &format!("code-{i}"));
    }
    let mut tokens = mock.on("POST", "/token");
    for n in 1..=2000 {
        tokens = tokens.then(
            MockResponse::token(
                &format!("access-{n}"),
                Some(&format!("refresh-{n}")),
                Some(3600),
            )
            .with_delay(Duration::from_millis(15)),
        );
    }
    tokens.mount();
    let key = emsg.run(&["users", "api-key", "fiona"]).ok().stdout;
    let key = key
        .split_whitespace()
        .find(|w| w.starts_with("emsg_"))
        .unwrap()
        .to_owned();
    let file = emsg.path("apps.yaml");
    let nodes = [
        serve_web(&emsg, "127.0.0.1:0", &file, &[]),
        serve_web(&emsg, "127.0.0.1:0", &file, &[]),
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let refreshed = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for i in 0..APPS {
            let url = node.url(&format!("/api/v1/web-applications/App%20{i}/refresh"));
            let (stop, refreshed, failures, key) = (
                stop.clone(),
                refreshed.clone(),
                failures.clone(),
                key.clone(),
            );
            workers.push(runtime.spawn(async move {
                let client = reqwest::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    let answer = client.post(&url).bearer_auth(&key).send().await.unwrap();
                    let status = answer.status().as_u16();
                    let body = answer.text().await.unwrap();
                    if status == 200 {
                        refreshed.fetch_add(1, Ordering::Relaxed);
                    } else if body.contains("master key") || status >= 500 {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("node {n}, App {i}: {status} {body}"));
                    }
                }
            }));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let before = refreshed.load(Ordering::Relaxed);
    let rotated = emsg.run(&["keys", "rotate", "--wait", "30s"]).ok();
    let during = refreshed.load(Ordering::Relaxed) - before;
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        runtime.block_on(worker).unwrap();
    }
    assert!(during > 0, "refreshes ran during the rotation");
    assert!(rotated.stdout.contains("re-sealed"), "{}", rotated.stdout);
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
    for node in &nodes {
        let log = node.stderr();
        assert!(log.contains("learned a master key"), "{log}");
        assert!(
            log.contains("now sealing with the rotated master key"),
            "{log}"
        );
    }

    // Only the new key is needed now, and every connection holds its newest, unspent pair.
    let mut conn = emsg.db.connect();
    let new = emsg_store::master_key::KeySource::File(emsg.key_file());
    let (ring, _) = emsg_store::master_key::open_ring(&mut conn, &new).unwrap();
    assert_eq!(ring.key_ids().len(), 1);
    let spent: Vec<String> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path == "/token")
        .filter_map(|r| {
            r.form()
                .into_iter()
                .find(|(k, _)| k == "refresh_token")
                .map(|(_, v)| v)
        })
        .collect();
    for connection in emsg_store::connections::list(&mut conn, None).unwrap() {
        assert_eq!(
            connection.status(),
            emsg_store::connections::Status::Connected
        );
        let refresh = connection.refresh_token(&ring).unwrap().unwrap();
        assert!(
            !spent.iter().any(|used| used == refresh.expose()),
            "connection {} holds {} which was already spent: an old value was written over a newer one",
            connection.id,
            refresh.expose()
        );
    }
    let status = emsg.run(&["keys", "status"]).ok();
    assert!(
        status.stdout.contains("every stored value opens"),
        "{}",
        status.stdout
    );
}

/// What the earlier `emsg keys rotate` did to a database: the key check and the client secrets
/// moved to a new key, the tokens stayed under the old key, and the key file was replaced.
fn rotate_like_the_old_version(emsg: &Emsg) -> String {
    use emsg_seal::{Aad, MasterKey};
    use emsg_store::sealed_columns::sealed_columns;
    let old = emsg_seal::key_file::load(&emsg.key_file()).unwrap();
    let new = MasterKey::generate();
    let ring = emsg_seal::KeyRing::new(old.clone()).with_current(new.clone());
    let mut conn = emsg.db.connect();
    for column in sealed_columns(&mut conn).unwrap() {
        if column.table != "master_key_check" && column.table != "web_applications" {
            continue;
        }
        for row in column.load_page(&mut conn, 0, 1000).unwrap() {
            let aad = Aad::new(&column.table, &column.column, row.id);
            let plain = ring.open(&row.value, &aad).unwrap();
            assert!(
                column
                    .replace(&mut conn, row.id, &row.value, &ring.seal(&plain, &aad))
                    .unwrap()
            );
        }
    }
    use diesel::prelude::*;
    diesel::update(emsg_store::schema::master_key_check::table)
        .set(emsg_store::schema::master_key_check::key_id.eq(new.id().to_string()))
        .execute(&mut conn)
        .unwrap();
    let backup = emsg.path("emsg.key.backup");
    std::fs::rename(emsg.key_file(), &backup).unwrap();
    emsg_seal::key_file::write_new(&emsg.key_file(), &new).unwrap();
    backup.to_str().unwrap().to_owned()
}

fn a_database_hit_by_the_old_rotation_names_its_lost_connections_and_comes_back_with_the_old_key(
    backend: Backend,
) {
    let (_runtime, mock, emsg) = connected_world(backend, 1);
    connect(&emsg, "App 0", "code-lost-0");
    let backup = rotate_like_the_old_version(&emsg);

    let refused = emsg.run(&["auth", "refresh", "App 0"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("--previous-key-file"),
        "{}",
        refused.stderr
    );
    let status = emsg.run(&["keys", "status"]);
    assert_eq!(status.code, 2, "{}\n{}", status.stdout, status.stderr);
    assert!(
        status
            .stdout
            .contains("of App 0 (company default): authorize it again"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("NOT LOADED"), "{}", status.stdout);

    // The way back: the old key opens what it sealed, and a rotation seals it all anew.
    let rotated = emsg
        .run(&["keys", "rotate", "--previous-key-file", &backup])
        .ok();
    assert!(rotated.stdout.contains("re-sealed"), "{}", rotated.stdout);
    let status = emsg.run(&["keys", "status"]).ok();
    assert!(
        status.stdout.contains("every stored value opens"),
        "{}",
        status.stdout
    );
    mock.on("POST", "/token")
        .respond(MockResponse::token(
            "access-back",
            Some("refresh-back"),
            Some(3600),
        ))
        .mount();
    emsg.run(&["auth", "refresh", "App 0"]).ok();
    let sent = mock
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path == "/token")
        .unwrap();
    assert!(
        sent.form()
            .contains(&("refresh_token".to_owned(), "refresh-0".to_owned()))
    );
    assert_no_secret(
        &emsg.transcript(),
        &["refresh-0", "access-0", "rotation-secret-0"],
        "output",
    );
}

on_both_backends!(
    a_database_hit_by_the_old_rotation_names_its_lost_connections_and_comes_back_with_the_old_key
);

/// A rotation killed with SIGKILL after its new key took over but before anything was sealed
/// again: both keys stay in the database, so the new key file, and the old key, each open every
/// value; the next rotation finishes it.
fn a_rotation_killed_between_switch_and_resealing_loses_nothing(backend: Backend) {
    let (_runtime, mock, emsg) = connected_world(backend, 1);
    connect(&emsg, "App 0", "code-killed-0");
    let old_key = std::fs::read_to_string(emsg.key_file()).unwrap();
    let mut rotation = emsg.command(&["keys", "rotate"]);
    rotation.env("EMSG_TEST_PAUSE_BEFORE_RESEAL", "60");
    let mut child = rotation
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut conn = emsg.db.connect();
    while !emsg_store::key_ring::unfinished(&mut conn)
        .unwrap()
        .is_some_and(|u| u.switched())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the rotation never switched"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // Every value opens: the status says so and names the unfinished rotation.
    let status = emsg.run(&["keys", "status"]).ok();
    assert!(
        status.stdout.contains("every stored value opens"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("is unfinished"), "{}", status.stdout);
    // With the old key alone, too (it learns the new one from the database).
    let mut with_old = emsg.command(&["apps", "show", "App 0"]);
    with_old.env("EMSG_MASTER_KEY", old_key.trim());
    assert!(
        emsg.run_command(with_old, None)
            .ok()
            .stdout
            .contains("client secret: set")
    );
    // The tokens sealed under the old key still work.
    mock.on("POST", "/token")
        .respond(MockResponse::token(
            "access-after-kill",
            Some("refresh-after-kill"),
            Some(3600),
        ))
        .mount();
    emsg.run(&["auth", "refresh", "App 0"]).ok();

    let finished = emsg.run(&["keys", "rotate"]).ok();
    assert!(
        finished.stdout.contains("finished an interrupted rotation"),
        "{}",
        finished.stdout
    );
    let status = emsg.run(&["keys", "status"]).ok();
    assert!(
        status.stdout.contains("every stored value opens"),
        "{}",
        status.stdout
    );
    assert!(
        !status.stdout.contains("is unfinished"),
        "{}",
        status.stdout
    );
    let mut retired = emsg.command(&["apps", "list"]);
    retired.env("EMSG_MASTER_KEY", old_key.trim());
    let refused = emsg.run_command(retired, None);
    assert_ne!(
        refused.code, 0,
        "the old key is retired once the rotation finished"
    );
}

on_both_backends!(a_rotation_killed_between_switch_and_resealing_loses_nothing);
