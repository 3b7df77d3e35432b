//! `emsg import` / `emsg export` end to end, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod support;

use emsg_test_db::{Backend, TestDb, on_both_backends};
use support::*;

const GOOD: &str = "web_applications:
  - name: Alpha
    base_url: https://api.example.test
    authorization_url: https://www.example.test/authorize
    token_url: https://api.example.test/token
    redirect_url: http://127.0.0.1:8080/oauth/callback
    client_id: alpha-client
    client_secret: {env: ALPHA_SECRET}
    scope: read write
";

/// Malformed inputs: the file, and what its error must say (`file:line:column` and a fragment).
fn malformed() -> Vec<(&'static str, String, &'static str)> {
    let replace = |from: &str, to: &str| GOOD.replace(from, to);
    vec![
        (
            "yaml syntax error",
            "web_applications:\n  - name: [unclosed\n".to_owned(),
            "bad.yaml:",
        ),
        (
            "top level not a mapping",
            "- just\n- a list\n".to_owned(),
            "bad.yaml:1:1",
        ),
        (
            "missing web_applications",
            "something: else\n".to_owned(),
            "bad.yaml:1:1",
        ),
        (
            "unknown top-level key",
            format!("{GOOD}extra: 1\n"),
            "bad.yaml:10:1",
        ),
        (
            "unknown field",
            replace(
                "    scope: read write\n",
                "    scope: read write\n    colour: blue\n",
            ),
            "bad.yaml:10:5",
        ),
        (
            "missing name",
            replace("  - name: Alpha\n    base_url", "  - base_url"),
            "bad.yaml:2:",
        ),
        (
            "missing token_url",
            replace("    token_url: https://api.example.test/token\n", ""),
            "bad.yaml:2:",
        ),
        (
            "malformed url",
            replace("https://api.example.test/token", "https://exa mple/token"),
            "bad.yaml:5:",
        ),
        (
            "plain http to a remote host",
            replace(
                "https://api.example.test/token",
                "http://api.example.test/token",
            ),
            "bad.yaml:5:",
        ),
        (
            "ftp url",
            replace(
                "https://api.example.test/token",
                "ftp://api.example.test/token",
            ),
            "bad.yaml:5:",
        ),
        (
            "url with credentials",
            replace(
                "https://api.example.test/token",
                "https://user:pw@api.example.test/token",
            ),
            "bad.yaml:5:",
        ),
        (
            "url with fragment",
            replace(
                "https://api.example.test/token",
                "https://api.example.test/token#x",
            ),
            "bad.yaml:5:",
        ),
        (
            "empty scope",
            replace("scope: read write", "scope: \"  \""),
            "bad.yaml:9:",
        ),
        (
            "blank name",
            replace("name: Alpha", "name: \"\""),
            "bad.yaml:2:",
        ),
        (
            "duplicate name",
            format!(
                "{GOOD}{}",
                GOOD.trim_start_matches("web_applications:\n")
                    .replace("Alpha", "ALPHA")
            ),
            "bad.yaml:10:",
        ),
        (
            "exchange source missing",
            format!(
                "{GOOD}  - name: Beta\n    base_url: https://b.example.test\n    exchange: {{source: Nobody, url: https://b.example.test/x}}\n"
            ),
            "bad.yaml:12:",
        ),
        (
            "exchange with token_url",
            format!(
                "{GOOD}  - name: Beta\n    base_url: https://b.example.test\n    token_url: https://b.example.test/t\n    exchange: {{source: Alpha, url: https://b.example.test/x}}\n"
            ),
            "bad.yaml:12:",
        ),
        (
            "bad duration",
            replace(
                "    scope: read write\n",
                "    scope: read write\n    code_lifetime: 10 minutes\n",
            ),
            "bad.yaml:10:",
        ),
        (
            "code lifetime over an hour",
            replace(
                "    scope: read write\n",
                "    scope: read write\n    code_lifetime: 2h\n",
            ),
            "bad.yaml:10:",
        ),
        (
            "bad client_auth",
            replace(
                "    scope: read write\n",
                "    scope: read write\n    client_auth: private_key_jwt\n",
            ),
            "bad.yaml:10:",
        ),
        (
            "pkce not a boolean",
            replace(
                "    scope: read write\n",
                "    scope: read write\n    pkce: \"yes\"\n",
            ),
            "bad.yaml:10:",
        ),
        (
            "authorization param not a string",
            replace(
                "    scope: read write\n",
                "    scope: read write\n    authorization_params: {max_age: 5}\n",
            ),
            "bad.yaml:10:",
        ),
        (
            "secret from an unknown store",
            replace("{env: ALPHA_SECRET}", "{vault: alpha}"),
            "bad.yaml:8:",
        ),
        (
            "empty env var name",
            replace("{env: ALPHA_SECRET}", "{env: \"\"}"),
            "bad.yaml:8:",
        ),
        (
            "invalid env var name",
            replace("{env: ALPHA_SECRET}", "{env: 1-BAD}"),
            "bad.yaml:8:",
        ),
        (
            "duplicate key",
            replace(
                "    scope: read write\n",
                "    scope: read write\n    scope: read\n",
            ),
            "bad.yaml:",
        ),
        (
            "bad redirect url",
            replace("http://127.0.0.1:8080/oauth/callback", "somewhere"),
            "bad.yaml:6:",
        ),
        (
            "file over the size limit",
            format!("{GOOD}#{}\n", "x".repeat(16 * 1024 * 1024)),
            "bad.yaml:1:1",
        ),
    ]
}

fn malformed_inputs_are_located_and_change_nothing(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend)).with_env("ALPHA_SECRET", "alpha-secret-value");
    emsg.run(&["import", shipped_file().to_str().unwrap()]).ok();
    let before = emsg.export();
    let mut wrong = Vec::new();
    for (what, text, location) in malformed() {
        let path = emsg.write("bad.yaml", &text);
        let run = emsg.run(&["import", path.to_str().unwrap()]);
        if run.code == 0
            || !run.stderr.contains(location)
            || !run.stderr.contains("nothing was imported")
        {
            wrong.push(format!(
                "{what}: exit {}, expected {location:?} in:\n{}",
                run.code, run.stderr
            ));
        }
        assert_eq!(emsg.export(), before, "{what}: records changed");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let path = emsg.write("bad.yaml", "\u{0}\u{ff}");
    std::fs::write(&path, [0x77, 0xff, 0xfe]).unwrap();
    assert_ne!(
        emsg.run(&["import", path.to_str().unwrap()]).code,
        0,
        "invalid UTF-8"
    );
    assert_eq!(emsg.export(), before);
}

on_both_backends!(malformed_inputs_are_located_and_change_nothing);

#[test]
fn there_are_at_least_twenty_distinct_malformed_inputs() {
    let cases = malformed();
    let names: std::collections::HashSet<_> = cases.iter().map(|c| c.0).collect();
    assert!(names.len() >= 20 && names.len() == cases.len());
}

fn the_shipped_file_imports_and_reimports_as_unchanged(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    let file = shipped_file();
    let dry = emsg
        .run(&["import", "--dry-run", file.to_str().unwrap()])
        .ok();
    assert!(
        dry.stdout.contains("8 added") && dry.stdout.contains("dry run"),
        "{}",
        dry.stdout
    );
    assert!(
        emsg.run(&["apps", "list"])
            .ok()
            .stdout
            .contains("no web applications")
    );
    let first = emsg.run(&["import", file.to_str().unwrap()]).ok();
    assert!(first.stdout.contains("8 added"), "{}", first.stdout);
    assert!(
        first.stdout.contains("HMRC_VAT_CLIENT_SECRET is not set"),
        "the unset variable is named: {}",
        first.stdout
    );
    let again = emsg.run(&["import", file.to_str().unwrap()]).ok();
    assert!(
        again.stdout.contains("nothing to change"),
        "{}",
        again.stdout
    );
    let list = emsg.run(&["apps", "list"]).ok().stdout;
    assert_eq!(list.lines().count(), 8, "{list}");
    let show = emsg.run(&["apps", "show", "no id-porten test"]).ok().stdout;
    assert!(
        show.contains("acr_values: idporten-loa-substantial")
            && show.contains("client secret: not set"),
        "{show}"
    );
    let missing = emsg.run(&["apps", "show", "Nope"]);
    assert_ne!(missing.code, 0);
    assert!(
        missing.stderr.contains("emsg apps list"),
        "{}",
        missing.stderr
    );
}

on_both_backends!(the_shipped_file_imports_and_reimports_as_unchanged);

fn export_imports_back_to_identical_records(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    emsg.run(&["import", shipped_file().to_str().unwrap()]).ok();
    let out = emsg.path("exported.yaml");
    emsg.run(&["export", "--out", out.to_str().unwrap()]).ok();
    let exported = std::fs::read_to_string(&out).unwrap();
    let other = Emsg::new(TestDb::new(backend));
    other.run(&["import", out.to_str().unwrap()]).ok();
    assert_eq!(other.export(), exported);
    assert!(
        emsg.run(&["import", out.to_str().unwrap()])
            .ok()
            .stdout
            .contains("nothing to change")
    );
}

on_both_backends!(export_imports_back_to_identical_records);

fn a_secret_from_the_environment_is_never_shown(backend: Backend) {
    let secret = "needle-secret-91c2e7";
    let emsg = Emsg::new(TestDb::new(backend)).with_env("ALPHA_SECRET", secret);
    let file = emsg.write("good.yaml", GOOD);
    emsg.run(&["import", "--dry-run", file.to_str().unwrap()])
        .ok();
    emsg.run(&["import", file.to_str().unwrap()]).ok();
    emsg.run(&["apps", "list"]).ok();
    assert!(
        emsg.run(&["apps", "show", "Alpha"])
            .ok()
            .stdout
            .contains("client secret: set")
    );
    let export = emsg.export();
    assert!(export.contains("env: ALPHA_SECRET"));
    emsg.run(&["keys", "rotate"]).ok();
    emsg.run(&["users", "add", "fiona", "--role", "finance"])
        .ok();
    assert_no_secret(&emsg.transcript(), &[secret], "the command output and logs");
    if let emsg_store::db::DatabaseUrl::Sqlite(path) = emsg.db.url() {
        for suffix in ["", "-wal", "-shm"] {
            if let Ok(bytes) = std::fs::read(format!("{}{suffix}", path.display())) {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "the SQLite file{suffix} holds the secret"
                );
            }
        }
    }
}

on_both_backends!(a_secret_from_the_environment_is_never_shown);
