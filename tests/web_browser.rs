//! The pages in a real browser: headless Chromium driven by chromedriver over the W3C WebDriver
//! protocol. A finance user connects an HMRC-like record through the oidc-provider stand-in,
//! obtains, refreshes and disconnects; an administrator imports a file with an error, then a
//! good one. A screenshot of each page goes to `$EMSG_TEST_OUTPUT` (default
//! `target/test-output/screenshots`), and no secret, code or token appears in any page source
//! or in the server's log. Needs `scripts/browser-deps` (Debian's chromium and chromium-driver).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use emsg_test_db::{Backend, TestDb, on_both_backends};
use emsg_testkit::mock::{MockResponse, MockServer};
use emsg_testkit::{OidcPeer, PeerClient, Profile};
use serde_json::{Value, json};
use support::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Typed into the edit form's "Set a new client secret": must appear nowhere afterwards.
const EDITED_SECRET: &str = "browser-edited-secret-5d1c";
const CLIENT_SECRET: &str = "browser-client-secret-5d1e";
const FIONA: &str = "fiona password long enough";
const ADA: &str = "ada password long enough";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn file(issuer: &str, redirect: &str, api: &str) -> String {
    format!(
        "web_applications:
  - name: HMRC VAT browser
    description: Making Tax Digital for VAT (stand-in)
    base_url: {issuer}
    authorization_url: {issuer}/auth
    token_url: {issuer}/token
    revocation_url: {issuer}/token/revocation
    redirect_url: {redirect}
    client_id: emsg-browser
    client_secret: {{env: WEB_CLIENT_SECRET}}
    scope: read:vat write:vat
    client_auth: client_secret_post
    pkce: true
web_services:
  - name: HMRC VAT obligations browser
    web_application: HMRC VAT browser
    base_url: {api}
    method: GET
    url: \"/organisations/vat/{{{{vrn}}}}/obligations?from={{{{from}}}}&to={{{{to}}}}\"
    fraud_prevention: hmrc
    fields:
      - {{name: vrn, label: VAT registration number, type: vrn}}
      - {{name: from, label: From, type: date}}
      - {{name: to, label: To, type: date}}
"
    )
}

const BAD_IMPORT: &str = "web_applications:
  - name: HMRC ITSA browser
    base_url: https://test-api.service.hmrc.gov.uk
    token_url: not a url
    client_id: itsa-client
";

const GOOD_IMPORT: &str = "web_applications:
  - name: HMRC ITSA browser
    base_url: https://test-api.service.hmrc.gov.uk
    authorization_url: https://test-api.service.hmrc.gov.uk/oauth/authorize
    token_url: https://test-api.service.hmrc.gov.uk/oauth/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: itsa-client
    client_secret: null
    scope: read:self-assessment
";

/// chromedriver as a child process, killed on drop.
struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver session; keeps every page source it read and saves screenshots.
struct Session {
    http: reqwest::Client,
    url: String,
    shots: PathBuf,
    sources: String,
    count: usize,
}

impl Session {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if answer["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The page's source, kept for the leak search.
    async fn source(&mut self) -> String {
        let source = self
            .call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_owned();
        self.sources.push_str(&source);
        source
    }

    async fn find(&self, css: &str) -> String {
        // Pages load synchronously after a click, but give slow machines a moment.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let answer: Value = self
                .http
                .post(format!("{}/element", self.url))
                .json(&json!({ "using": "css selector", "value": css }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(id) = answer["value"][ELEMENT].as_str() {
                return id.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no element `{css}` on {}: {}",
                self.current_url().await,
                answer["value"]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Saves a PNG of the page as `NN-name.png` and returns the page source.
    async fn shot(&mut self, name: &str) -> String {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        self.count += 1;
        let path = self.shots.join(format!("{:02}-{name}.png", self.count));
        std::fs::write(&path, bytes).unwrap();
        self.source().await
    }

    /// Runs a script in the page (date inputs do not take typed text the same way in every
    /// locale: their values are set directly).
    async fn execute(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    async fn close(&self) {
        let _ = self.http.delete(&self.url).send().await;
    }
}

fn start_driver() -> Driver {
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: run scripts/browser-deps (installs Debian's {package}) before this test"
        );
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        // East of UTC, so that the fraud-prevention script's timezone sign is tested: JavaScript
        // counts the offset the other way round.
        .env("TZ", "Europe/Oslo")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{CHROMEDRIVER} did not start ({e}): run scripts/browser-deps"));
    Driver {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn open_session(driver: &Driver, profile: &Path, shots: PathBuf) -> Session {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = http.get(format!("{}/status", driver.base)).send().await;
        if let Ok(answer) = ready
            && let Ok(status) = answer.json::<Value>().await
            && status["value"]["ready"] == true
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let capabilities = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    }}});
    let answer: Value = http
        .post(format!("{}/session", driver.base))
        .json(&capabilities)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = answer["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no WebDriver session: {answer}"));
    Session {
        http,
        url: format!("{}/session/{id}", driver.base),
        shots,
        sources: String::new(),
        count: 0,
    }
}

fn screenshot_dir(backend: Backend) -> PathBuf {
    let dir = std::env::var_os("EMSG_TEST_OUTPUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-output/screenshots")
        })
        .join("web_browser")
        .join(match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        });
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The stored tokens of the company connection, read through the key file.
fn stored_tokens(emsg: &Emsg, app: &str) -> Vec<String> {
    let mut conn = emsg.db.connect();
    let source = emsg_store::master_key::KeySource::File(emsg.key_file());
    let (ring, _) = emsg_store::master_key::open_ring(&mut conn, &source).unwrap();
    let record = emsg_store::web_applications::get(&mut conn, app).unwrap();
    let key = emsg_store::connections::ConnectionKey::new(record.id, "default", false, None);
    let Some(connection) = emsg_store::connections::find(&mut conn, &key).unwrap() else {
        return Vec::new();
    };
    [
        connection.access_token(&ring).unwrap(),
        connection.refresh_token(&ring).unwrap(),
    ]
    .into_iter()
    .flatten()
    .map(|t| t.expose().to_owned())
    .collect()
}

async fn log_in(session: &mut Session, server: &WebServer, name: &str, password: &str) {
    session.go(&server.url("/login")).await;
    session.shot(&format!("login-{name}")).await;
    session.type_into("input[name=name]", name).await;
    session.type_into("input[name=password]", password).await;
    session
        .click("form[action='/login'] button[type=submit]")
        .await;
    session.find("form.logout").await;
}

on_both_backends!(the_pages_work_in_a_real_browser);

fn the_pages_work_in_a_real_browser(backend: Backend) {
    let driver = start_driver();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/oauth/callback");
    let peer = runtime
        .block_on(OidcPeer::start(
            Profile::Hmrc,
            &[PeerClient::new("emsg-browser", CLIENT_SECRET, &redirect)],
        ))
        .unwrap();
    let emsg = Emsg::new(TestDb::new(backend)).with_env("WEB_CLIENT_SECRET", CLIENT_SECRET);
    let api = runtime.block_on(MockServer::start()).unwrap();
    api.on("GET", "/organisations/vat/123456789/obligations")
        .respond(MockResponse::json(
            200,
            json!({"obligations": [{"periodKey": "18A1", "start": "2026-01-01",
                "end": "2026-03-31", "due": "2026-05-07", "status": "O"}]}),
        ))
        .mount();
    let apps = emsg.write(
        "apps.yaml",
        &file(peer.issuer(), &redirect, api.url("").trim_end_matches('/')),
    );
    add_user(&emsg, "fiona", "finance", FIONA);
    add_user(&emsg, "ada", "administrator", ADA);
    let server = serve_web(&emsg, &format!("127.0.0.1:{port}"), &apps, &[]);
    let profile = tempfile::tempdir().unwrap();
    let shots = screenshot_dir(backend);
    let mut secrets = vec![CLIENT_SECRET.to_owned(), EDITED_SECRET.to_owned()];

    let sources = runtime.block_on(async {
        let mut s = open_session(&driver, profile.path(), shots.clone()).await;

        // Finance: connect, obtain, refresh, disconnect.
        log_in(&mut s, &server, "fiona", FIONA).await;
        s.go(&server.url("/web-applications/HMRC%20VAT%20browser"))
            .await;
        let page = s.shot("record-not-connected").await;
        assert!(page.contains("Not connected"), "{page}");
        s.click("details.dialog summary").await; // Get authorization code
        s.shot("get-code-dialog").await;
        s.click("form[action$='/get-code'] button[type=submit]")
            .await;
        s.find("form#login").await;
        assert!(s.current_url().await.starts_with(peer.issuer()));
        s.shot("provider-login").await;
        s.type_into("form#login input[name=login]", "vat-company-1")
            .await;
        s.type_into("form#login input[name=password]", "anything")
            .await;
        s.click("form#login button[type=submit]").await;
        s.find("form#consent").await;
        s.shot("provider-consent").await;
        s.click("form#consent button[value=allow]").await;
        s.find("main h1").await;
        let landed = s.current_url().await;
        if let Some(code) = url::Url::parse(&landed)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
        {
            secrets.push(code);
        }
        let callback = s.shot("callback-success").await;
        assert!(
            callback.contains("<h1>Success</h1>"),
            "{landed}\n{callback}"
        );

        s.click("main p a").await; // Back to the record
        s.find("section.details").await;
        // The Obtain access token dialog: open it, OK.
        let summaries = "section.actions details:nth-of-type(2) summary";
        s.click(summaries).await;
        s.shot("obtain-token-dialog").await;
        s.click("form[action$='/obtain-token'] button[type=submit]")
            .await;
        let obtained = s.shot("connected").await;
        assert!(obtained.contains("Granted scope"), "{obtained}");
        assert!(obtained.contains("read:vat"), "{obtained}");
        assert!(
            obtained.contains("Access token will expire in"),
            "{obtained}"
        );
        assert!(
            obtained.contains("data-expires-at"),
            "the countdown: {obtained}"
        );
        secrets.extend(stored_tokens(&emsg, "HMRC VAT browser"));

        s.click("form[action$='/refresh'] button[type=submit]")
            .await;
        let refreshed = s.shot("refreshed").await;
        assert!(refreshed.contains("flash-success"), "{refreshed}");
        assert!(refreshed.contains("Access token will expire in"));
        secrets.extend(stored_tokens(&emsg, "HMRC VAT browser"));

        // A message from the generated form: the page's script reports the browser.
        s.go(&server.url("/messages/new?service=HMRC%20VAT%20obligations%20browser"))
            .await;
        let form = s.shot("message-form").await;
        assert!(form.contains("name=\"fields[vrn]\""), "{form}");
        s.execute(
            "document.querySelector('[name=\"fields[vrn]\"]').value = '123456789';\
             document.querySelector('[name=\"fields[from]\"]').value = '2026-01-01';\
             document.querySelector('[name=\"fields[to]\"]').value = '2026-12-31';",
        )
        .await;
        s.click("form.message-form button[type=submit]").await;
        s.find("h2#error-h, table.history").await;
        let message = s.shot("message-sent").await;
        assert!(message.contains("Response received"), "{message}");
        let calls: Vec<_> = api
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/obligations"))
            .collect();
        assert_eq!(calls.len(), 1);
        let header = |name: &str| calls[0].header(name).unwrap_or_default().to_owned();
        assert_eq!(header("gov-client-connection-method"), "WEB_APP_VIA_SERVER");
        let screens = header("gov-client-screens");
        assert!(
            screens.starts_with("width=")
                && screens.contains("&scaling-factor=")
                && screens.contains("&colour-depth="),
            "{screens}"
        );
        let window = header("gov-client-window-size");
        assert!(
            window.starts_with("width=") && window.contains("&height="),
            "{window}"
        );
        let zone = header("gov-client-timezone");
        assert!(
            zone == "UTC+01:00" || zone == "UTC+02:00",
            "Oslo is one or two hours ahead of UTC: {zone}"
        );
        assert!(header("gov-client-browser-js-user-agent").contains("Chrome"));
        let device = header("gov-client-device-id");
        assert_eq!(device.len(), 36, "{device}");
        assert_eq!(
            header("gov-client-public-ip"),
            "",
            "a browser on this machine has no public address: sent empty, never 127.0.0.1"
        );
        s.go(&server.url("/messages")).await;
        let list = s.shot("messages").await;
        assert!(list.contains("href=\"/messages/1\""), "{list}");
        s.go(&server.url("/web-applications/HMRC%20VAT%20browser"))
            .await;

        s.click("section.actions details:last-of-type summary")
            .await;
        s.shot("disconnect-confirmation").await;
        s.click("form[action$='/disconnect'] button.danger").await;
        let disconnected = s.shot("disconnected").await;
        assert!(disconnected.contains("Disconnected"), "{disconnected}");
        s.go(&server.url("/audit")).await;
        let audit = s.shot("audit-log").await;
        assert!(audit.contains("<td>fiona</td>"), "{audit}");
        s.click("form.logout button").await;
        s.find("form[action='/login']").await;

        // Administrator: a file with an error, then a good one.
        let before = emsg.export();
        log_in(&mut s, &server, "ada", ADA).await;
        let bad = emsg.write("bad.yaml", BAD_IMPORT);
        let good = emsg.write("good.yaml", GOOD_IMPORT);
        s.go(&server.url("/import")).await;
        s.shot("import-form").await;
        s.type_into("input#file", bad.to_str().unwrap()).await;
        s.click("form[action='/import'] button[type=submit]").await;
        s.find("section.import-errors").await;
        let errors = s.shot("import-errors").await;
        assert!(
            errors.contains("bad.yaml has errors; nothing was imported"),
            "{errors}"
        );
        assert!(errors.contains("<td>4</td>"), "line of token_url: {errors}");
        assert_eq!(emsg.export(), before, "nothing changed");
        s.type_into("input#file", good.to_str().unwrap()).await;
        s.click("form[action='/import'] button[type=submit]").await;
        s.find("form[action='/import/confirm']").await;
        let dry = s.shot("import-dry-run").await;
        assert!(dry.contains("<td>added</td>"), "{dry}");
        assert_eq!(emsg.export(), before, "a dry run writes nothing");
        s.click("form[action='/import/confirm'] button[type=submit]")
            .await;
        let done = s.shot("import-done").await;
        assert!(done.contains("The import was written: 1 added"), "{done}");
        assert!(emsg.export().contains("HMRC ITSA browser"));

        // Administrator: edit a record on the page, with a new client secret (write-only).
        s.go(&server.url("/web-applications/HMRC%20VAT%20browser/edit"))
            .await;
        s.shot("edit-form").await;
        s.type_into("textarea#description", " (edited)").await;
        s.type_into("input#new_client_secret", EDITED_SECRET).await;
        s.click("form.edit-record button[type=submit]").await;
        s.find("section.details").await;
        let edited = s.shot("edit-saved").await;
        assert!(
            edited.contains("Saved. Changed: description, client_secret."),
            "{edited}"
        );
        s.close().await;
        s.sources
    });

    let log = server.stderr();
    assert!(
        secrets.len() >= 4,
        "secret, code and tokens collected: {}",
        secrets.len()
    );
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_no_secret(&sources, &secrets, "a page source");
    assert_no_secret(&log, &secrets, "the server's log");
    let saved = std::fs::read_dir(&shots).unwrap().count();
    assert!(saved >= 15, "screenshots in {}: {saved}", shots.display());
}
