//! Electronic messages on the admin site, end to end: `emsg serve` with the shipped web services
//! pointed at a loopback stand-in of HMRC. A finance user connects HMRC VAT sandbox through the
//! pages, sends VAT obligations from the generated form with the browser's fraud-prevention data
//! and a device cookie, and the stand-in receives the WEB_APP_VIA_SERVER headers; bad fields come
//! back beside their inputs with nothing stored; a 503 is re-sent from the message's page; the
//! JSON API does the same; forged forms are refused; no token appears anywhere.
#![allow(clippy::unwrap_used)]

mod support;

use emsg_test_db::{TestDb, on_both_backends};
use emsg_testkit::mock::{MockResponse, MockServer, RecordedRequest};
use serde_json::{Value, json};
use support::*;

const CLIENT_ID: &str = "vat-sandbox-client-web";
const CLIENT_SECRET: &str = "vat-sandbox-secret-web-4b1f";
const ACCESS: &str = "access-token-web-71c9";
const REFRESH: &str = "refresh-token-web-0d3e";
const CODE: &str = "authorization-code-web-5a2b";
const FIONA: &str = "fiona password long enough";
const RECORD: &str = "/web-applications/HMRC%20VAT%20sandbox";
const OBLIGATIONS: &str = "HMRC VAT obligations sandbox";
const OBLIGATIONS_PATH: &str = "/organisations/vat/123456789/obligations";
const DEVICE_ID: &str = "6f1c2d3e-4a5b-4c7d-8e9f-0a1b2c3d4e5f";
const BROWSER_DATA: &str = r#"{"screens":[{"width":1920,"height":1080,"scaling_factor":1,"colour_depth":24}],"window":{"width":1256,"height":803},"timezone":"UTC+01:00","user_agent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"}"#;

struct World {
    emsg: Emsg,
    server: WebServer,
    mock: MockServer,
    runtime: tokio::runtime::Runtime,
}

fn start(db: TestDb) -> World {
    start_with(db, &[])
}

/// The world with extra `emsg serve` arguments.
fn start_with(db: TestDb, extra: &[&str]) -> World {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockServer::start()).unwrap();
    let port = free_port();
    let base = mock.url("");
    let base = base.trim_end_matches('/');
    let file = std::fs::read_to_string(shipped_file())
        .unwrap()
        .replace("https://test-api.service.hmrc.gov.uk", base)
        .replace("https://test-www.tax.service.gov.uk", base)
        .replace(
            "http://127.0.0.1:8080/oauth/callback",
            &format!("http://127.0.0.1:{port}/oauth/callback"),
        );
    let emsg = Emsg::new(db)
        .with_env("HMRC_VAT_SANDBOX_CLIENT_ID", CLIENT_ID)
        .with_env("HMRC_VAT_SANDBOX_CLIENT_SECRET", CLIENT_SECRET);
    let apps = emsg.write("apps.yaml", &file);
    // The body templates the file names live beside it.
    let templates = emsg.path("templates").join("messages");
    std::fs::create_dir_all(&templates).unwrap();
    let shipped = shipped_file().parent().unwrap().join("templates/messages");
    for entry in std::fs::read_dir(shipped).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), templates.join(entry.file_name())).unwrap();
    }
    add_user(&emsg, "fiona", "finance", FIONA);
    let server = serve_web(&emsg, &format!("127.0.0.1:{port}"), &apps, extra);
    World {
        emsg,
        server,
        mock,
        runtime,
    }
}

fn json_of(answer: &Answer) -> Value {
    serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {}", answer.body))
}

/// Logs fiona in and connects HMRC VAT sandbox through the Web applications page: Get
/// authorization code, the callback with a code, Obtain access token.
async fn connect(world: &World, browser: &Browser) -> String {
    assert_eq!(browser.log_in("fiona", FIONA).await.status, 303);
    let page = browser.get(RECORD).await;
    let csrf = hidden_field(&page.body, "csrf");
    let started = browser
        .post_form(
            &format!("{RECORD}/get-code"),
            &[("csrf", &csrf), ("scope", "read:vat write:vat")],
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.body);
    let authorize = url::Url::parse(&started.location.unwrap()).unwrap();
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let callback = browser
        .get(&format!("/oauth/callback?state={state}&code={CODE}"))
        .await;
    assert_eq!(callback.status, 200, "{}", callback.body);
    world
        .mock
        .on("POST", "/oauth/token")
        .respond(MockResponse::token(ACCESS, Some(REFRESH), Some(14_400)))
        .mount();
    let obtained = browser
        .post_form(
            &format!("{RECORD}/obtain-token"),
            &[("csrf", &csrf), ("code", "")],
        )
        .await;
    assert_eq!(obtained.status, 303, "{}", obtained.body);
    let page = browser.get(RECORD).await;
    assert!(
        page.body
            .contains("Access token was successfully obtained."),
        "{}",
        page.body
    );
    csrf
}

fn api_calls(mock: &MockServer) -> Vec<RecordedRequest> {
    mock.requests()
        .into_iter()
        .filter(|r| r.path == OBLIGATIONS_PATH)
        .collect()
}

fn header<'a>(request: &'a RecordedRequest, name: &str) -> &'a str {
    request
        .header(name)
        .unwrap_or_else(|| panic!("no {name} header in {:?}", request.headers))
}

fn obligations_form<'a>(csrf: &'a str, vrn: &'a str, from: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("service", OBLIGATIONS),
        ("browser_data", BROWSER_DATA),
        ("fields[vrn]", vrn),
        ("fields[from]", from),
        ("fields[to]", "2026-12-31"),
        ("fields[status]", "O"),
    ]
}

fn stored_messages(world: &World) -> usize {
    let mut conn = world.emsg.db.connect();
    emsg_store::messages::search(
        &mut conn,
        &emsg_store::messages::MessageFilter {
            limit: 500,
            ..Default::default()
        },
    )
    .unwrap()
    .len()
}

fn assert_no_leaks(world: &World, browser: &Browser) {
    assert_no_secret(
        &(browser.bodies() + &world.server.stderr() + &world.emsg.transcript()),
        &[ACCESS, REFRESH, CLIENT_SECRET, CODE, FIONA],
        "pages, JSON answers and the server's log",
    );
}

on_both_backends! {
    fn a_finance_user_sends_obligations_from_the_form_with_the_browsers_data(db) {
        let world = start(db);
        let browser = world.runtime.block_on(async {
            let browser = Browser::new(&world.server);
            let csrf = connect(&world, &browser).await;

            let list = browser.get("/messages").await;
            assert_eq!(list.status, 200, "{}", list.body);
            assert!(list.body.contains("<a href=\"/messages\">Messages</a>"));
            assert!(list.body.contains("No messages"), "{}", list.body);
            let choose = browser.get("/messages/new").await;
            assert!(
                choose.body.contains(
                    "<a href=\"/messages/new?service&#x3D;HMRC+VAT+obligations+sandbox\">HMRC VAT obligations sandbox</a>"
                ),
                "{}",
                choose.body
            );
            // The form is generated from the service's fields.
            let form = browser
                .get("/messages/new?service=HMRC+VAT+obligations+sandbox")
                .await;
            assert_eq!(form.status, 200, "{}", form.body);
            assert!(form.body.contains("type=\"date\" id=\"field-1\" name=\"fields[from]\""), "{}", form.body);
            assert!(form.body.contains("<select id=\"field-3\" name=\"fields[status]\">"), "{}", form.body);
            assert!(form.body.contains("VAT registration number <abbr title=\"required\">*</abbr>"));
            assert!(form.body.contains("<script src=\"/static/fraud-prevention.js\" defer></script>"));
            assert!(form.body.contains("name=\"browser_data\""));
            let vat_return = browser
                .get("/messages/new?service=HMRC%20VAT%20return%20sandbox")
                .await;
            assert!(
                vat_return.body.contains("type=\"number\" id=\"field-2\" name=\"fields[vatDueSales]\" value=\"\" step=\"0.01\""),
                "{}",
                vat_return.body
            );
            assert!(vat_return.body.contains("name=\"fields[totalValueSalesExVAT]\" value=\"\" step=\"1\""));
            assert!(vat_return.body.contains("type=\"checkbox\" id=\"field-11\" name=\"fields[finalised]\" value=\"true\""));
            let script = browser.get("/static/fraud-prevention.js").await;
            assert_eq!(script.status, 200);
            assert!(script.body.contains("getTimezoneOffset") && script.body.contains("emsg_device_id"));

            // Bad fields: the form again, each error beside its field, the values kept,
            // nothing stored or sent.
            world
                .mock
                .on("GET", OBLIGATIONS_PATH)
                .respond(MockResponse::json(200, json!({"obligations": [
                    {"periodKey": "18A1", "start": "2026-01-01", "end": "2026-03-31",
                     "due": "2026-05-07", "status": "O"}]})))
                .mount();
            let refused = browser
                .post_form("/messages/new", &obligations_form(&csrf, "12345", "2026-13-01"))
                .await;
            assert_eq!(refused.status, 422, "{}", refused.body);
            assert!(refused.body.contains("Nothing was sent"), "{}", refused.body);
            let vrn_error = refused.body.split("id=\"field-0-error\" data-field=\"vrn\">").nth(1)
                .unwrap_or_else(|| panic!("no error beside vrn: {}", refused.body));
            assert!(vrn_error.starts_with("&#x60;12345&#x60; is not a VAT registration number"), "{vrn_error}");
            assert!(refused.body.contains("id=\"field-1-error\" data-field=\"from\""), "{}", refused.body);
            assert!(!refused.body.contains("id=\"field-2-error\""), "`to` was fine");
            assert!(refused.body.contains("name=\"fields[vrn]\" value=\"12345\""), "{}", refused.body);
            assert!(refused.body.contains("name=\"fields[from]\" value=\"2026-13-01\""));
            assert!(refused.body.contains("<option selected>O</option>"));
            assert_eq!(stored_messages(&world), 0, "a refused form stored a message");
            assert!(api_calls(&world.mock).is_empty());

            // Sent with the browser's data and its device cookie. No proxy is trusted, so a
            // forged X-Forwarded-For changes nothing.
            browser.add_cookie("emsg_device_id", DEVICE_ID);
            let sent = browser
                .post_form_with_headers(
                    "/messages/new",
                    &obligations_form(&csrf, "GB 123 456 789", "2026-01-01"),
                    &[("x-forwarded-for", "192.0.2.1")],
                )
                .await;
            assert_eq!(sent.status, 303, "{}", sent.body);
            assert_eq!(sent.location.as_deref(), Some("/messages/1"));
            let calls = api_calls(&world.mock);
            assert_eq!(calls.len(), 1);
            let call = &calls[0];
            assert_eq!(call.query.as_deref(), Some("from=2026-01-01&to=2026-12-31&status=O"));
            assert_eq!(header(call, "authorization"), format!("Bearer {ACCESS}"));
            assert_eq!(header(call, "gov-client-connection-method"), "WEB_APP_VIA_SERVER");
            // The test's browser is on this machine: no public address to give, so the
            // address and its port go empty (named in the history), never 127.0.0.1.
            assert_eq!(header(call, "gov-client-public-ip"), "");
            assert_eq!(header(call, "gov-client-public-port"), "");
            let stamp = header(call, "gov-client-public-ip-timestamp");
            assert!(stamp.len() == 24 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T', "{stamp}");
            assert_eq!(header(call, "gov-client-device-id"), DEVICE_ID);
            assert_eq!(header(call, "gov-client-screens"), "width=1920&height=1080&scaling-factor=1&colour-depth=24");
            assert_eq!(header(call, "gov-client-window-size"), "width=1256&height=803");
            assert_eq!(header(call, "gov-client-timezone"), "UTC+01:00");
            assert_eq!(
                header(call, "gov-client-browser-js-user-agent"),
                "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"
            );
            assert_eq!(header(call, "gov-client-user-ids"), "emsg=fiona");
            assert_eq!(header(call, "gov-vendor-forwarded"), "", "no hop over the internet to tell");
            assert!(header(call, "gov-vendor-version").starts_with("emsg="));

            let page = browser.get("/messages/1").await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(page.body.contains("Sent message 1: Response received"), "{}", page.body);
            assert!(page.body.contains("<dd class=\"message-status status-response_received\">Response received</dd>"), "{}", page.body);
            assert!(page.body.contains("<dt>VAT registration number</dt><dd><code>123456789</code></dd>"), "{}", page.body);
            assert!(page.body.contains("<th scope=\"row\">Authorization</th><td><code>Bearer [redacted]</code></td>"), "{}", page.body);
            assert!(page.body.contains("<th scope=\"row\">Gov-Client-Device-ID</th>"));
            assert!(page.body.contains("Status <strong>200</strong>"));
            assert!(page.body.contains("  &quot;obligations&quot;: ["), "pretty JSON: {}", page.body);
            assert!(!page.body.contains(">Re-send</button>"), "a message that got through is not re-sent");
            assert!(page.body.contains("<dt>Connection method</dt><dd>WEB_APP_VIA_SERVER</dd>"));
            assert!(page.body.contains("<dt>Sent by</dt><dd>fiona</dd>"), "{}", page.body);
            assert!(
                page.body.contains("request sent without Gov-Client-Public-IP, Gov-Client-Public-Port (the client has no public address")
                    && page.body.contains("without Gov-Vendor-Public-IP (set EMSG_PUBLIC_IP")
                    && page.body.contains("they were sent empty"),
                "only what a loopback test cannot have is missing, each with its reason: {}",
                page.body
            );

            let list = browser.get("/messages").await;
            assert!(list.body.contains("<td><a href=\"/messages/1\">1</a></td>"), "{}", list.body);
            assert!(list.body.contains("<td>fiona</td>"));
            let none = browser.get("/messages?status=business_error&service=&user=").await;
            assert!(none.body.contains("No messages match these filters"), "{}", none.body);
            let by_user = browser.get("/messages?user=fiona&service=HMRC+VAT+obligations+sandbox").await;
            assert!(by_user.body.contains("href=\"/messages/1\""), "{}", by_user.body);

            // The JSON API: the list, one message with its history, a send, refused fields.
            let api_list = json_of(&browser.get("/api/v1/messages").await);
            assert_eq!(api_list["messages"].as_array().unwrap().len(), 1);
            assert_eq!(api_list["messages"][0]["status"], "response_received");
            let one = json_of(&browser.get("/api/v1/messages/1").await);
            assert_eq!(one["fields"]["vrn"], "123456789");
            assert_eq!(one["user"], "fiona");
            assert_eq!(one["response"]["status"], 200);
            let events: Vec<&str> = one["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
            assert_eq!(events, ["new", "sent", "response_received"]);
            assert!(one["request"]["headers"].as_array().unwrap().contains(&json!(["Authorization", "Bearer [redacted]"])));
            let services = json_of(&browser.get("/api/v1/web-services").await);
            assert!(services["web_services"].as_array().unwrap().iter().any(|s| s["name"] == OBLIGATIONS));

            let api_csrf = browser.csrf().await;
            let bad = browser
                .post_json("/api/v1/messages", Some(&api_csrf), &json!({
                    "service": OBLIGATIONS,
                    "fields": {"vrn": "12", "from": "2026-01-01", "to": "2026-12-31"},
                }))
                .await;
            assert_eq!(bad.status, 422, "{}", bad.body);
            let bad = json_of(&bad);
            assert_eq!(bad["error"], "invalid_fields");
            assert_eq!(bad["fields"][0]["field"], "vrn");
            assert_eq!(stored_messages(&world), 1);
            let unknown = browser
                .post_json("/api/v1/messages", Some(&api_csrf), &json!({"service": "Nope", "fields": {}}))
                .await;
            assert_eq!(unknown.status, 404, "{}", unknown.body);
            let forged = browser
                .post_json("/api/v1/messages", Some("forged"), &json!({"service": OBLIGATIONS, "fields": {}}))
                .await;
            assert_eq!(forged.status, 403);
            let created = browser
                .post_json("/api/v1/messages", Some(&api_csrf), &json!({
                    "service": OBLIGATIONS,
                    "fields": {"vrn": "123456789", "from": "2026-01-01", "to": "2026-12-31"},
                    "browser_data": serde_json::from_str::<Value>(BROWSER_DATA).unwrap(),
                }))
                .await;
            assert_eq!(created.status, 201, "{}", created.body);
            assert_eq!(created.location.as_deref(), Some("/api/v1/messages/2"));
            let created = json_of(&created);
            assert_eq!(created["status"], "response_received");
            assert_eq!(created["connection_method"], "WEB_APP_VIA_SERVER");
            let calls = api_calls(&world.mock);
            assert_eq!(calls.len(), 2);
            assert_eq!(header(&calls[1], "gov-client-timezone"), "UTC+01:00");

            // Paging: newest first, `before` goes on from the last one shown.
            let first = json_of(&browser.get("/api/v1/messages?limit=1").await);
            assert_eq!(first["messages"][0]["id"], 2);
            assert_eq!(first["next_before"], 2);
            assert_eq!(first["next"], "/api/v1/messages?limit=1&before=2");
            let second = json_of(&browser.get("/api/v1/messages?limit=1&before=2").await);
            assert_eq!(second["messages"][0]["id"], 1);
            assert_eq!(second["next_before"], Value::Null);
            let page = browser.get("/messages?limit=1").await;
            assert!(page.body.contains("href=\"/messages/2\"") && !page.body.contains("href=\"/messages/1\""), "{}", page.body);
            assert!(page.body.contains("<a rel=\"next\" href=\"/messages?limit&#x3D;1&amp;before&#x3D;2\">Older messages</a>"), "{}", page.body);
            let older = browser.get("/messages?limit=1&before=2").await;
            assert!(older.body.contains("href=\"/messages/1\"") && !older.body.contains("Older messages"), "{}", older.body);
            assert_eq!(header(&calls[1], "gov-client-device-id"), DEVICE_ID);
            browser
        });
        assert_no_leaks(&world, &browser);
    }

    fn a_technical_error_is_re_sent_from_the_messages_page(db) {
        let world = start(db);
        let browser = world.runtime.block_on(async {
            let browser = Browser::new(&world.server);
            let csrf = connect(&world, &browser).await;
            world
                .mock
                .on("GET", OBLIGATIONS_PATH)
                .respond(MockResponse::json(503, json!({"code": "SERVER_ERROR", "message": "down for maintenance"})))
                .then(MockResponse::json(200, json!({"obligations": []})))
                .mount();
            // Without the page's script: no browser data, no device cookie. Still sent.
            let sent = browser
                .post_form("/messages/new", &[
                    ("csrf", csrf.as_str()),
                    ("service", OBLIGATIONS),
                    ("fields[vrn]", "123456789"),
                    ("fields[from]", "2026-01-01"),
                    ("fields[to]", "2026-12-31"),
                ])
                .await;
            assert_eq!(sent.status, 303, "{}", sent.body);
            let page = browser.get("/messages/1").await;
            assert!(page.body.contains("Technical error"), "{}", page.body);
            assert!(page.body.contains("What to do:"), "{}", page.body);
            assert!(page.body.contains("request sent without Gov-Client-Browser-JS-User-Agent, Gov-Client-Device-ID"), "{}", page.body);
            assert!(page.body.contains(">Re-send</button>"), "{}", page.body);
            assert!(page.body.contains("<form method=\"post\" action=\"/messages/1/resend\" data-fraud-prevention>"));
            let failed = browser.get("/messages?status=technical_error").await;
            assert!(failed.body.contains("href=\"/messages/1\""), "{}", failed.body);

            // A forged or missing token re-sends nothing.
            for form in [vec![("csrf", "forged")], vec![]] {
                let forged = browser.post_form("/messages/1/resend", &form).await;
                assert_eq!(forged.status, 403, "{}", forged.body);
            }
            let forged_send = browser
                .post_form("/messages/new", &[("csrf", "forged"), ("service", OBLIGATIONS)])
                .await;
            assert_eq!(forged_send.status, 403);
            assert_eq!(api_calls(&world.mock).len(), 1);
            assert_eq!(stored_messages(&world), 1);

            browser.add_cookie("emsg_device_id", DEVICE_ID);
            let resent = browser
                .post_form("/messages/1/resend", &[("csrf", csrf.as_str()), ("browser_data", BROWSER_DATA)])
                .await;
            assert_eq!(resent.status, 303, "{}", resent.body);
            assert_eq!(resent.location.as_deref(), Some("/messages/2"));
            let page = browser.get("/messages/2").await;
            assert!(page.body.contains("Re-sent as message 2: Response received"), "{}", page.body);
            assert!(page.body.contains("<dt>Re-send of</dt><dd><a href=\"/messages/1\">message 1</a></dd>"), "{}", page.body);
            let calls = api_calls(&world.mock);
            assert_eq!(calls.len(), 2);
            assert_eq!(header(&calls[1], "gov-client-device-id"), DEVICE_ID);
            let original = browser.get("/messages/1").await;
            assert!(original.body.contains("<dt>Re-sent as</dt><dd><a href=\"/messages/2\">message 2</a></dd>"), "{}", original.body);
            assert!(!original.body.contains(">Re-send</button>"), "re-sent once only");

            // Again, through the API: refused, it was already re-sent.
            let api_csrf = browser.csrf().await;
            let again = browser.post_json("/api/v1/messages/1/resend", Some(&api_csrf), &json!({})).await;
            assert_eq!(again.status, 409, "{}", again.body);
            assert_eq!(json_of(&again)["error"], "refused");
            let missing = browser.get("/messages/99").await;
            assert_eq!(missing.status, 404);
            assert_eq!(browser.get("/api/v1/messages/99").await.status, 404);
            browser
        });
        assert_no_leaks(&world, &browser);
    }

    fn an_erps_retry_with_the_same_idempotency_key_never_sends_a_second_message(db) {
        let world = start(db);
        let browser = world.runtime.block_on(async {
            let browser = Browser::new(&world.server);
            connect(&world, &browser).await;
            // The stand-in answers slowly, so that a retry arrives while the first is in flight.
            world
                .mock
                .on("GET", OBLIGATIONS_PATH)
                .respond(
                    MockResponse::json(200, json!({"obligations": []}))
                        .with_delay(std::time::Duration::from_millis(300)),
                )
                .mount();
            let csrf = browser.csrf().await;
            let body = json!({
                "service": OBLIGATIONS,
                "fields": {"vrn": "123456789", "from": "2026-01-01", "to": "2026-12-31"},
            });
            let send = |key: &'static str, body: Value| {
                let (browser, csrf) = (&browser, csrf.clone());
                async move {
                    browser
                        .post_json_with_headers("/api/v1/messages", Some(&csrf), &body, &[("Idempotency-Key", key)])
                        .await
                }
            };

            // Two requests with one key at the same moment: one message, one call.
            let (a, b) = tokio::join!(send("erp-order-4711", body.clone()), send("erp-order-4711", body.clone()));
            let mut answers = [a, b];
            answers.sort_by_key(|a| a.status);
            assert_eq!(answers.iter().map(|a| a.status).collect::<Vec<_>>(), [200, 201], "{answers:?}");
            let (replay, first) = (&answers[0], &answers[1]);
            assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
            assert!(first.headers.get("idempotent-replayed").is_none());
            assert_eq!(replay.location, first.location);
            assert!(json_of(replay)["summary"].as_str().unwrap().contains("nothing was sent again"), "{}", replay.body);
            assert_eq!(api_calls(&world.mock).len(), 1, "the stand-in saw one request");
            assert_eq!(stored_messages(&world), 1);

            // A later retry answers with the message as it is now.
            let later = send("erp-order-4711", body.clone()).await;
            assert_eq!(later.status, 200, "{}", later.body);
            assert_eq!(json_of(&later)["status"], "response_received");
            assert_eq!(json_of(&later)["id"], 1);

            // The same key with another request cannot be a retry: refused, nothing stored or sent.
            let mut other = body.clone();
            other["fields"]["from"] = json!("2026-02-01");
            let reused = send("erp-order-4711", other).await;
            assert_eq!(reused.status, 422, "{}", reused.body);
            assert_eq!(json_of(&reused)["error"], "idempotency_key_reused");
            // A new key is a new request.
            let fresh = send("erp-order-4712", body.clone()).await;
            assert_eq!(fresh.status, 201, "{}", fresh.body);
            // A key no header can carry is refused before anything happens.
            let bad = browser
                .post_json_with_headers("/api/v1/messages", Some(&csrf), &body, &[("Idempotency-Key", &"k".repeat(256))])
                .await;
            assert_eq!(bad.status, 400, "{}", bad.body);
            assert_eq!(api_calls(&world.mock).len(), 2);
            assert_eq!(stored_messages(&world), 2);
            browser
        });
        assert_no_leaks(&world, &browser);
    }

    fn behind_a_trusted_proxy_the_client_is_the_first_address_it_did_not_add(db) {
        let world = start_with(db, &["--trusted-proxy", "127.0.0.1,203.0.113.9"]);
        let browser = world.runtime.block_on(async {
            let browser = Browser::new(&world.server);
            let csrf = connect(&world, &browser).await;
            world
                .mock
                .on("GET", OBLIGATIONS_PATH)
                .respond(MockResponse::json(200, json!({"obligations": []})))
                .mount();
            // 192.0.2.1 is the client's own claim: only what trusted proxies added counts.
            let sent = browser
                .post_form_with_headers(
                    "/messages/new",
                    &obligations_form(&csrf, "123456789", "2026-01-01"),
                    &[("x-forwarded-for", "192.0.2.1, 198.51.100.7, 203.0.113.9")],
                )
                .await;
            assert_eq!(sent.status, 303, "{}", sent.body);
            let calls = api_calls(&world.mock);
            assert_eq!(calls.len(), 1);
            assert_eq!(header(&calls[0], "gov-client-public-ip"), "198.51.100.7");
            assert_eq!(
                header(&calls[0], "gov-vendor-forwarded"),
                "by=203.0.113.9&for=198.51.100.7",
                "only the hop over the internet; those inside the private network are left out"
            );
            assert_eq!(calls[0].header("gov-client-public-port"), Some(""), "a proxy hides the port: sent empty, never left out");
            let page = browser.get("/messages/1").await;
            assert!(page.body.contains("Gov-Client-Public-Port"), "the history names it: {}", page.body);
            browser
        });
        assert_no_leaks(&world, &browser);
    }
}
