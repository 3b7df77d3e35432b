//! `{env: …}` references and outbound URLs from the pages: an administrator cannot read the
//! server's settings, cannot send the client secret or a refresh token to a host of their
//! choosing, and requests never reach private addresses, whatever the DNS says.

use emsg_test_db::{Backend, TestDb, on_both_backends};
use emsg_testkit::mock::{MockResponse, MockServer};

use crate::support::*;

const ADA: &str = "ada password long enough";
const FIONA: &str = "fiona password long enough";
/// A master key (base64 of 32 bytes) handed to the server in `EMSG_MASTER_KEY`.
const MASTER_KEY: &str = "c2VjdXJpdHktdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGU=";
const PRIVATE: &str = "private-value-of-an-unlisted-variable";
const SECRET: &str = "client-secret-for-the-real-provider";

const FILE: &str = "web_applications:
  - name: HMRC VAT sandbox
    base_url: https://test-api.service.hmrc.gov.uk
    authorization_url: https://test-api.service.hmrc.gov.uk/oauth/authorize
    token_url: https://test-api.service.hmrc.gov.uk/oauth/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: vat-client
    client_secret: null
    scope: read:vat
";

fn import_text(client_id: &str, client_secret: &str) -> String {
    format!(
        "web_applications:
  - name: Leak
    base_url: https://api.example.com
    authorization_url: https://www.example.com/authorize
    token_url: https://api.example.com/token
    redirect_url: http://localhost:8080/oauth/callback
    client_id: {client_id}
    client_secret: {client_secret}
    scope: read
"
    )
}

/// The edit form of a record, every field as the page sends it, with `changes` over them.
fn edit_form<'a>(
    csrf: &'a str,
    record: &[(&'a str, &'a str)],
    changes: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("csrf", csrf),
        ("description", ""),
        ("revocation_url", ""),
        ("redirect_url", "http://127.0.0.1:9/oauth/callback"),
        ("client_id_env", ""),
        ("client_secret_env", ""),
        ("new_client_secret", ""),
        ("authorization_params", ""),
        ("client_auth", "client_secret_post"),
        ("pkce", "on"),
        ("accept", ""),
        ("content_type", ""),
        ("code_lifetime", "10m"),
        ("authorization_lifetime", ""),
        ("issuer", ""),
        ("exchange_source", ""),
        ("exchange_url", ""),
    ];
    for (key, value) in record.iter().chain(changes) {
        match form.iter_mut().find(|(k, _)| k == key) {
            Some(field) => field.1 = value,
            None => form.push((key, value)),
        }
    }
    form
}

fn vat_record() -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", "HMRC VAT sandbox"),
        ("base_url", "https://test-api.service.hmrc.gov.uk"),
        (
            "authorization_url",
            "https://test-api.service.hmrc.gov.uk/oauth/authorize",
        ),
        (
            "token_url",
            "https://test-api.service.hmrc.gov.uk/oauth/token",
        ),
        ("client_id", "vat-client"),
        ("scope", "read:vat"),
    ]
}

fn pages_never_read_the_servers_settings(backend: Backend) {
    let db = TestDb::new(backend);
    let database_url = db.url_string();
    let emsg = Emsg::new(db)
        .with_env("EMSG_MASTER_KEY", MASTER_KEY)
        .with_env("PRIVATE_VARIABLE", PRIVATE)
        .with_env("HMRC_VAT_SANDBOX_CLIENT_ID", "allowed-client-id")
        .with_env("EMSG_PAGE_ENV_VARS", "HMRC_*");
    let apps = emsg.write("apps.yaml", FILE);
    add_user(&emsg, "ada", "administrator", ADA);
    let server = serve_web(&emsg, "127.0.0.1:0", &apps, &[]);
    let before = emsg.export();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ada = Browser::new(&server);
        assert_eq!(ada.log_in("ada", ADA).await.status, 303);
        let form = ada.get("/import").await;
        let csrf = hidden_field(&form.body, "csrf");
        for (id, secret, named) in [
            ("{env: EMSG_MASTER_KEY}", "null", "EMSG_MASTER_KEY"),
            ("{env: EMSG_DATABASE_URL}", "null", "EMSG_DATABASE_URL"),
            ("plain-id", "{env: PRIVATE_VARIABLE}", "PRIVATE_VARIABLE"),
        ] {
            let text = import_text(id, secret);
            let check = ada
                .post_multipart("/import", &[("csrf", None, &csrf), ("text", None, &text)])
                .await;
            assert_eq!(check.status, 422, "{}", check.body);
            assert!(
                check.body.contains(named) && check.body.contains("client_"),
                "the refusal names the variable and the field: {}",
                check.body
            );
        }
        // The edit page is held to the same rule.
        let edit = ada.get("/web-applications/HMRC%20VAT%20sandbox/edit").await;
        let csrf = hidden_field(&edit.body, "csrf");
        let refused = ada
            .post_form(
                "/web-applications/HMRC%20VAT%20sandbox/edit",
                &edit_form(
                    &csrf,
                    &vat_record(),
                    &[("client_id_env", "EMSG_MASTER_KEY")],
                ),
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.body.contains("EMSG_MASTER_KEY"), "{}", refused.body);
        assert_eq!(emsg.export(), before, "nothing was written");
        // What the operator allowed is read.
        let allowed = import_text("{env: HMRC_VAT_SANDBOX_CLIENT_ID}", "null");
        let check = ada
            .post_multipart(
                "/import",
                &[("csrf", None, &csrf), ("text", None, &allowed)],
            )
            .await;
        assert_eq!(check.status, 200, "{}", check.body);
        let key = hidden_field(&check.body, "key");
        let done = ada
            .post_form("/import/confirm", &[("csrf", &csrf), ("key", &key)])
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        let api = ada.get("/api/v1/web-applications/Leak").await;
        assert!(api.body.contains("allowed-client-id"), "{}", api.body);
        let all = ada.get("/api/v1/web-applications").await;
        let secrets = [MASTER_KEY, PRIVATE, database_url.as_str()];
        assert_no_secret(&all.body, &secrets, "the API");
        assert_no_secret(&ada.bodies(), &secrets, "the pages");
    });
    assert_no_secret(&server.stderr(), &[MASTER_KEY, PRIVATE], "the server's log");
}

on_both_backends!(pages_never_read_the_servers_settings);

fn records(provider: &str) -> String {
    format!(
        "web_applications:
  - name: Moved
    base_url: {provider}
    authorization_url: {provider}/authorize
    token_url: {provider}/token
    revocation_url: {provider}/revoke
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: moved-client
    client_secret: {SECRET}
    scope: read:vat
"
    )
}

/// Connects `Moved` for fiona through the command line: get-code, callback, obtain-token.
fn connect(emsg: &Emsg) {
    let url = emsg
        .run(&["auth", "get-code", "Moved", "--user", "fiona"])
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
        "auth", "callback", "--state", &state, "--code", "code-1", "--user", "fiona",
    ])
    .ok();
    emsg.run(&["auth", "obtain-token", "Moved", "--user", "fiona"])
        .ok();
}

fn moving_an_endpoint_sends_no_secret_or_token_to_the_new_host(backend: Backend) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let provider = runtime.block_on(MockServer::start()).unwrap();
    let collector = runtime.block_on(MockServer::start()).unwrap();
    for mock in [&provider, &collector] {
        mock.on("POST", "/token")
            .respond(MockResponse::token(
                "access-token-xyz",
                Some("refresh-token-xyz"),
                Some(3600),
            ))
            .mount();
    }
    let emsg = Emsg::new(TestDb::new(backend));
    let base = provider.url("");
    let file = emsg.write("apps.yaml", &records(base.trim_end_matches('/')));
    emsg.run(&["import", file.to_str().unwrap()]).ok();
    add_user(&emsg, "ada", "administrator", ADA);
    add_user(&emsg, "fiona", "finance", FIONA);
    connect(&emsg);
    let server = serve_web(&emsg, "127.0.0.1:0", &file, &[]);
    let provider_url = base.trim_end_matches('/').to_owned();
    let collector_url = collector.url("");
    let collector_url = collector_url.trim_end_matches('/');
    let moved_token_url = format!("{collector_url}/token");
    let record = vec![
        ("name", "Moved"),
        ("base_url", provider_url.as_str()),
        ("authorization_url", "PLACEHOLDER"),
        ("token_url", "PLACEHOLDER"),
        ("revocation_url", "PLACEHOLDER"),
        ("client_id", "moved-client"),
        ("scope", "read:vat"),
    ];
    let authorize = format!("{provider_url}/authorize");
    let token = format!("{provider_url}/token");
    let revoke = format!("{provider_url}/revoke");
    let record: Vec<(&str, &str)> = record
        .into_iter()
        .map(|(k, v)| match k {
            "authorization_url" => (k, authorize.as_str()),
            "token_url" => (k, token.as_str()),
            "revocation_url" => (k, revoke.as_str()),
            _ => (k, v),
        })
        .collect();
    runtime.block_on(async {
        let ada = Browser::new(&server);
        assert_eq!(ada.log_in("ada", ADA).await.status, 303);
        let edit = ada.get("/web-applications/Moved/edit").await;
        let csrf = hidden_field(&edit.body, "csrf");
        let before = emsg.export();
        // The Import page's dry run names the move and what it drops.
        let moved_file = records(provider_url.as_str())
            .replace(&token, &moved_token_url)
            .replace(SECRET, "null");
        let check = ada
            .post_multipart(
                "/import",
                &[("csrf", None, &csrf), ("text", None, &moved_file)],
            )
            .await;
        assert_eq!(check.status, 200, "{}", check.body);
        assert!(
            check.body.contains("Endpoints moving to another host")
                && check.body.contains(collector_url)
                && check.body.contains("client secret is deleted"),
            "{}",
            check.body
        );
        assert_eq!(emsg.export(), before, "a dry run writes nothing");
        // The page says what the move drops, and saves nothing until it is confirmed.
        let asked = ada
            .post_form(
                "/web-applications/Moved/edit",
                &edit_form(&csrf, &record, &[("token_url", &moved_token_url)]),
            )
            .await;
        assert_eq!(asked.status, 409, "{}", asked.body);
        assert!(
            asked.body.contains(collector_url)
                && asked.body.contains("client secret")
                && asked.body.contains("1 connection"),
            "{}",
            asked.body
        );
        assert_eq!(
            emsg.export(),
            before,
            "nothing saved before the confirmation"
        );
        let saved = ada
            .post_form(
                "/web-applications/Moved/edit",
                &edit_form(
                    &csrf,
                    &record,
                    &[("token_url", &moved_token_url), ("confirm_move", "on")],
                ),
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        // Refresh now has nothing to send: the connection must be authorized again.
        let fiona = Browser::new(&server);
        assert_eq!(fiona.log_in("fiona", FIONA).await.status, 303);
        let fcsrf = fiona.csrf().await;
        let refresh = fiona
            .post_json(
                "/api/v1/web-applications/Moved/refresh",
                Some(&fcsrf),
                &serde_json::json!({}),
            )
            .await;
        assert!(refresh.status >= 400, "{}", refresh.body);
        let connections = fiona.get("/api/v1/connections").await;
        assert!(
            connections.body.contains("reauthorization_required"),
            "{}",
            connections.body
        );
        let audit = ada.get("/api/v1/audit?action=endpoints_moved").await;
        assert!(audit.body.contains("endpoints_moved"), "{}", audit.body);
        assert_no_secret(&ada.bodies(), &[SECRET, "refresh-token-xyz"], "the pages");
        assert_no_secret(&fiona.bodies(), &[SECRET, "refresh-token-xyz"], "the pages");
    });
    // The background refresh had its chance too; nothing ever reached the new host.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let sent = format!("{:?}", collector.requests());
    assert!(collector.requests().is_empty(), "{sent}");
    assert_no_secret(&server.stderr(), &[SECRET, "refresh-token-xyz"], "the log");
}

on_both_backends!(moving_an_endpoint_sends_no_secret_or_token_to_the_new_host);

/// A record as the database may hold it after the file was imported: the token URL names a
/// host that (now) resolves to a loopback address, or is the cloud metadata address.
fn requests_never_reach_private_addresses(backend: Backend) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let provider = runtime.block_on(MockServer::start()).unwrap();
    provider
        .on("POST", "/token")
        .respond(MockResponse::token(
            "access-token-xyz",
            Some("refresh-token-xyz"),
            Some(3600),
        ))
        .mount();
    let emsg = Emsg::new(TestDb::new(backend));
    let base = provider.url("");
    let file = emsg.write("apps.yaml", &records(base.trim_end_matches('/')));
    emsg.run(&["import", file.to_str().unwrap()]).ok();
    add_user(&emsg, "fiona", "finance", FIONA);
    connect(&emsg);
    let port = provider.addr().port();
    for token_url in [
        // `localhost` resolves to 127.0.0.1: only the resolver can tell.
        format!("https://localhost:{port}/token"),
        "https://169.254.169.254/latest/meta-data/token".to_owned(),
    ] {
        use diesel::prelude::*;
        use emsg_store::schema::{connections, web_applications as w};
        let mut conn = emsg.db.connect();
        diesel::update(w::table)
            .set(w::token_url.eq(&token_url))
            .execute(&mut conn)
            .unwrap();
        diesel::update(connections::table)
            .set(connections::access_expires_at.eq(Some(emsg_store::now() - 5)))
            .execute(&mut conn)
            .unwrap();
        let before = provider.requests().len();
        // The production setting: loopback stand-ins not allowed.
        let mut command = emsg.command(&["auth", "refresh", "Moved"]);
        command.env("EMSG_ALLOW_LOOPBACK_URLS", "false");
        let run = emsg.run_command(command, None);
        let said = format!("{}{}", run.stdout, run.stderr);
        assert_ne!(run.code, 0, "{said}");
        assert!(said.contains("refused"), "{token_url}: {said}");
        assert_eq!(
            provider.requests().len(),
            before,
            "{token_url}: nothing was sent"
        );
        assert_no_secret(
            &said,
            &[SECRET, "refresh-token-xyz"],
            "the command's output",
        );
    }
}

on_both_backends!(requests_never_reach_private_addresses);
