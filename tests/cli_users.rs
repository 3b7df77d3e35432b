//! `emsg users add|list`.
#![allow(clippy::unwrap_used)]

mod support;

use emsg_test_db::{Backend, TestDb, on_both_backends};
use support::*;

fn users_are_added_and_listed(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    let added = emsg
        .run_with_stdin(
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
    assert!(
        added.stdout.contains("added user fiona"),
        "{}",
        added.stdout
    );
    assert!(
        !added.stdout.contains("password:"),
        "a typed password is not echoed"
    );
    let generated = emsg
        .run(&["users", "add", "alice", "--role", "administrator"])
        .ok();
    assert!(
        generated.stdout.contains("password: "),
        "a generated password is shown once"
    );
    let bad_role = emsg.run(&["users", "add", "bob", "--role", "auditor"]);
    assert_ne!(bad_role.code, 0);
    assert!(
        bad_role.stderr.contains("administrator") && bad_role.stderr.contains("finance"),
        "{}",
        bad_role.stderr
    );
    let list = emsg.run(&["users", "list"]).ok().stdout;
    assert!(
        list.contains("fiona")
            && list.contains("finance")
            && list.contains("alice")
            && list.contains("administrator")
    );
    assert!(!list.contains("argon2") && !list.contains("a long enough password"));
}

on_both_backends!(users_are_added_and_listed);

#[test]
fn every_subcommand_explains_itself() {
    let emsg = Emsg::new(TestDb::new(Backend::Sqlite));
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["import", "--help"],
        vec!["export", "--help"],
        vec!["apps", "list", "--help"],
        vec!["apps", "show", "--help"],
        vec!["keys", "rotate", "--help"],
        vec!["users", "add", "--help"],
        vec!["users", "list", "--help"],
        vec!["users", "passwd", "--help"],
        vec!["users", "disable", "--help"],
        vec!["users", "enable", "--help"],
        vec!["users", "remove", "--help"],
        vec!["users", "role", "--help"],
        vec!["users", "logout-everywhere", "--help"],
        vec!["migrate", "--help"],
    ] {
        let run = emsg.run(&args).ok();
        assert!(run.stdout.contains("Usage:"), "{args:?}: {}", run.stdout);
        assert!(
            run.stdout.contains("--database-url"),
            "{args:?} documents the database URL"
        );
    }
}

#[test]
fn nothing_is_done_on_the_command_line_in_the_name_of_a_disabled_user() {
    let emsg = Emsg::new(TestDb::new(Backend::Sqlite));
    let file = emsg.write(
        "apps.yaml",
        "web_applications:
  - name: Alpha
    base_url: https://api.example.test
    authorization_url: https://www.example.test/authorize
    token_url: https://api.example.test/token
    redirect_url: http://localhost:8080/oauth/callback
    client_id: alpha-client
    client_secret: alpha-secret
    scope: read write
",
    );
    emsg.run(&["import", file.to_str().unwrap()]).ok();
    add_user(&emsg, "fiona", "finance", "a long enough password");
    emsg.run(&["auth", "get-code", "Alpha", "--user", "fiona"])
        .ok();
    emsg.run(&["users", "disable", "fiona"]).ok();
    let refused = emsg.run(&["auth", "get-code", "Alpha", "--user", "fiona"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("the user `fiona` is disabled")
            && refused.stderr.contains("emsg users enable fiona"),
        "{}",
        refused.stderr
    );
}
