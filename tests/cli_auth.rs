//! `emsg auth …` end to end against the oidc-provider stand-in configured like HMRC: get code,
//! sign in and consent, callback, obtain, status, refresh, disconnect — and no secret printed.
#![allow(clippy::unwrap_used)]

mod support;

use emsg_test_db::{Backend, TestDb, on_both_backends};
use emsg_testkit::{OidcPeer, PeerClient, Profile};
use support::*;

const CLIENT_SECRET: &str = "cli-client-secret-4b7e";
const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";

fn file(issuer: &str) -> String {
    format!(
        "web_applications:
  - name: HMRC VAT loopback
    base_url: {issuer}
    authorization_url: {issuer}/auth
    token_url: {issuer}/token
    revocation_url: {issuer}/token/revocation
    redirect_url: {REDIRECT}
    client_id: emsg-cli
    client_secret: {{env: CLI_CLIENT_SECRET}}
    scope: read:vat write:vat
    client_auth: client_secret_post
    pkce: true
"
    )
}

fn query(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} missing from {url}"))
}

fn the_hmrc_flow_runs_from_the_command_line(backend: Backend) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let peer = runtime
        .block_on(OidcPeer::start(
            Profile::Hmrc,
            &[PeerClient::new("emsg-cli", CLIENT_SECRET, REDIRECT)],
        ))
        .unwrap();
    let emsg = Emsg::new(TestDb::new(backend)).with_env("CLI_CLIENT_SECRET", CLIENT_SECRET);
    let apps = emsg.write("apps.yaml", &file(peer.issuer()));
    emsg.run(&["import", apps.to_str().unwrap()]).ok();
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

    let started = emsg
        .run(&["auth", "get-code", "HMRC VAT loopback", "--user", "fiona"])
        .ok();
    let authorization_url = started.stdout.trim().to_owned();
    assert!(
        authorization_url.contains("code_challenge_method=S256"),
        "{authorization_url}"
    );
    let back = runtime
        .block_on(peer.login_and_consent(&authorization_url, "landlord-1"))
        .unwrap();
    let (state, code) = (query(&back, "state"), query(&back, "code"));

    let wrong_user = emsg.run_with_stdin(
        &[
            "users",
            "add",
            "bob",
            "--role",
            "finance",
            "--password-stdin",
        ],
        "another long password\n",
    );
    wrong_user.ok();
    let refused = emsg.run(&[
        "auth", "callback", "--state", &state, "--code", &code, "--user", "bob",
    ]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("started by another user"),
        "{}",
        refused.stderr
    );

    let captured = emsg
        .run(&[
            "auth", "callback", "--state", &state, "--code", &code, "--user", "fiona",
        ])
        .ok();
    assert!(
        captured.stdout.contains("now run `emsg auth obtain-token`"),
        "{}",
        captured.stdout
    );
    let replay = emsg.run(&[
        "auth", "callback", "--state", &state, "--code", &code, "--user", "fiona",
    ]);
    assert!(replay.stderr.contains("already used"), "{}", replay.stderr);

    let obtained = emsg
        .run(&[
            "auth",
            "obtain-token",
            "HMRC VAT loopback",
            "--user",
            "fiona",
        ])
        .ok();
    assert!(
        obtained
            .stdout
            .contains("Access token was successfully obtained."),
        "{}",
        obtained.stdout
    );
    assert!(
        obtained
            .stdout
            .contains("granted scope:                 read:vat write:vat"),
        "{}",
        obtained.stdout
    );
    assert!(
        obtained
            .stdout
            .contains("authorized by:                 fiona"),
        "{}",
        obtained.stdout
    );

    // The tokens as stored, to search the transcript for them.
    let (access, refresh) = {
        let mut conn = emsg.db.connect();
        let source = emsg_store::master_key::KeySource::File(emsg.key_file());
        let (ring, _) = emsg_store::master_key::open_ring(&mut conn, &source).unwrap();
        let record = emsg_store::web_applications::get(&mut conn, "HMRC VAT loopback").unwrap();
        let key = emsg_store::connections::ConnectionKey::new(record.id, "default", false, None);
        let connection = emsg_store::connections::find(&mut conn, &key)
            .unwrap()
            .unwrap();
        (
            connection.access_token(&ring).unwrap().unwrap(),
            connection.refresh_token(&ring).unwrap().unwrap(),
        )
    };

    let refreshed = emsg.run(&["auth", "refresh", "HMRC VAT loopback"]).ok();
    assert!(
        refreshed
            .stdout
            .contains("status:                        connected"),
        "{}",
        refreshed.stdout
    );
    let status = emsg.run(&["auth", "status"]).ok();
    assert!(
        status
            .stdout
            .contains("access token will expire in:   3h 59m")
            || status
                .stdout
                .contains("access token will expire in:   4h 00m"),
        "{}",
        status.stdout
    );
    assert_eq!(
        runtime
            .block_on(peer.counts())
            .unwrap()
            .get("refresh_token", "ok"),
        1
    );

    let disconnected = emsg.run(&["auth", "disconnect", "HMRC VAT loopback"]).ok();
    assert!(
        disconnected
            .stdout
            .contains("the provider confirmed the revocation"),
        "{}",
        disconnected.stdout
    );
    assert!(
        emsg.run(&["auth", "status"])
            .ok()
            .stdout
            .contains("status:                        disconnected")
    );

    assert_no_secret(
        &emsg.transcript(),
        &[CLIENT_SECRET, &code, access.expose(), refresh.expose()],
        "the command output and logs",
    );
}

on_both_backends!(the_hmrc_flow_runs_from_the_command_line);

#[test]
fn codes_and_states_that_begin_with_a_hyphen_are_taken_as_values() {
    let emsg = Emsg::new(TestDb::new(Backend::Sqlite));
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
    let run = emsg.run(&[
        "auth", "callback", "--state", "-lKx9", "--code", "-Qz7", "--user", "fiona",
    ]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("unknown state"), "{}", run.stderr);
}
