//! `emsg keys rotate` and the master-key checks at start, end to end.
#![allow(clippy::unwrap_used)]

mod support;

use emsg_test_db::{Backend, TestDb};
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

#[test]
fn rotation_and_wrong_keys_on_sqlite() {
    rotation_and_wrong_keys(Backend::Sqlite);
}

#[test]
fn rotation_and_wrong_keys_on_postgres() {
    rotation_and_wrong_keys(Backend::Postgres);
}

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
