//! Shared setup of the engine's fault-injection tests: a migrated database per test, records
//! pointing at an in-process mock provider, two users, an engine with short timeouts, and a
//! leak check over everything the scenario produced (errors, results, audit log, tracing output).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use emsg_engine::{
    CallbackParams, CodeRequest, ConnectionView, Engine, EngineConfig, EngineError, RetryPolicy,
};
use emsg_seal::{KeyRing, MasterKey, Secret};
use emsg_store::audit::{self, Actor};
use emsg_store::connections::{self, Connection, ConnectionKey};
use emsg_store::db::Pool;
use emsg_store::pending::{self, PendingAuthorization};
use emsg_store::schema::{connections as connections_table, pending_authorizations};
use emsg_store::users::{self, Role};
use emsg_store::web_applications::{self as records, WebApplication};
use emsg_store::{ConnectionId, UserId};
use emsg_test_db::TestDb;
pub use emsg_testkit::log::LogBuffer;
use emsg_testkit::mock::{MockResponse, MockServer, RecordedRequest};

/// HMRC-like: `client_secret_post`, PKCE on, revocation URL, one connection per company.
pub const VAT: &str = "Mock VAT";
pub const VAT_TOKEN: &str = "/vat/oauth/token";
pub const VAT_REVOKE: &str = "/vat/oauth/revoke";
pub const VAT_CLIENT_ID: &str = "vat-client-id";
/// Characters that must be form-encoded in a Basic header or a body.
pub const VAT_SECRET: &str = "vat-secret-Qx7:+/&=%";
pub const VAT_REDIRECT: &str = "http://127.0.0.1:8080/oauth/callback";

/// `client_secret_basic`, PKCE off, no revocation URL, a redirect URL without a path.
pub const OTHER: &str = "Mock Other";
pub const OTHER_TOKEN: &str = "/other/oauth/token";
pub const OTHER_CLIENT_ID: &str = "other client:id";
pub const OTHER_SECRET: &str = "other-secret-Zp4 +:%&";
pub const OTHER_REDIRECT: &str = "http://127.0.0.1:8080";

/// ID-porten-like: user-specific, `client_secret_basic`, PKCE on.
pub const IDP: &str = "Mock IdP";
pub const IDP_TOKEN: &str = "/idp/token";
pub const IDP_CLIENT_ID: &str = "idp-client-id";
pub const IDP_SECRET: &str = "idp-secret-Kw2";

/// Altinn-like: its token is exchanged from the same user's `IDP` token.
pub const ALTINN: &str = "Mock Altinn";
pub const EXCHANGE: &str = "/authentication/api/v1/exchange/id-porten";

pub const COMPANY: &str = "default";

/// Every token, code and secret the scripts hand out; none may ever be shown anywhere.
pub const SCRIPTED_SECRETS: &[&str] = &[
    "access-1",
    "access-2",
    "access-3",
    "refresh-1",
    "refresh-2",
    "refresh-3",
    "code-1",
    "code-2",
    "code-evil",
    VAT_SECRET,
    OTHER_SECRET,
    IDP_SECRET,
    "other-access-1",
    "other-refresh-1",
    "idp-access-1",
    "idp-refresh-1",
    "altinn-plain-token-1",
    "altinn-quoted-token-2",
    "leaky-partial-token",
];

fn records_yaml(mock: &MockServer) -> String {
    let vat = format!(
        "  - name: {VAT}
    base_url: {base}
    authorization_url: {base}/vat/oauth/authorize
    token_url: {token}
    revocation_url: {revoke}
    redirect_url: {VAT_REDIRECT}
    client_id: {VAT_CLIENT_ID}
    client_secret: \"{VAT_SECRET}\"
    scope: read:vat write:vat
    client_auth: client_secret_post
    pkce: true
    code_lifetime: 10m
    authorization_lifetime: 548d
    user_specific: false
    obtain_token_on_callback: false
",
        base = mock.url(""),
        token = mock.url(VAT_TOKEN),
        revoke = mock.url(VAT_REVOKE),
    );
    let other = format!(
        "  - name: {OTHER}
    base_url: {base}
    authorization_url: {base}/other/authorize
    token_url: {token}
    redirect_url: {OTHER_REDIRECT}
    client_id: \"{OTHER_CLIENT_ID}\"
    client_secret: \"{OTHER_SECRET}\"
    scope: read write
    client_auth: client_secret_basic
    pkce: false
    user_specific: false
",
        base = mock.url(""),
        token = mock.url(OTHER_TOKEN),
    );
    let idp = format!(
        "  - name: {IDP}
    base_url: {base}
    authorization_url: {base}/idp/authorize
    token_url: {token}
    redirect_url: {VAT_REDIRECT}
    client_id: {IDP_CLIENT_ID}
    client_secret: {IDP_SECRET}
    scope: skatteetaten:mvameldinginnsending
    client_auth: client_secret_basic
    pkce: true
    authorization_lifetime: 365d
    user_specific: true
",
        base = mock.url(""),
        token = mock.url(IDP_TOKEN),
    );
    let altinn = format!(
        "  - name: {ALTINN}
    base_url: {base}
    exchange: {{source: {IDP}, url: \"{exchange}\"}}
    accept: application/json
    authorization_lifetime: 365d
    user_specific: true
",
        base = mock.url(""),
        exchange = mock.url(EXCHANGE),
    );
    format!("web_applications:\n{vat}{other}{idp}{altinn}")
}

/// One scenario's world.
pub struct Env {
    pub db: TestDb,
    pub pool: Pool,
    pub ring: Arc<KeyRing>,
    pub engine: Engine,
    pub mock: MockServer,
    pub alice: UserId,
    pub bob: UserId,
    pub log: LogBuffer,
    /// Display and Debug of every result the scenario produced through [`Env::ok`] / [`Env::err`].
    shown: RefCell<Vec<String>>,
    /// Secrets the scenario made up besides [`SCRIPTED_SECRETS`] (e.g. a JWT).
    extra_secrets: RefCell<Vec<String>>,
}

pub fn config(http_timeout: Duration) -> EngineConfig {
    EngineConfig {
        retry: RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
        http_timeout,
        // The stand-ins listen on loopback.
        urls: emsg_webapps::UrlRules {
            allow_loopback: true,
        },
        ..EngineConfig::default()
    }
}

/// Runs `scenario` on a fresh world over `db` on a current-thread runtime (so the tracing
/// subscriber set here sees every event of the engine), then checks that nothing leaked.
pub fn run<S>(db: TestDb, scenario: S)
where
    S: AsyncFnOnce(&Env) -> anyhow::Result<()>,
{
    let log = LogBuffer::default();
    let _guard = log.capture_this_thread();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let env = Env::start(db, log).await.expect("the test world starts");
        if let Err(error) = scenario(&env).await {
            panic!("{error:#}");
        }
        env.assert_no_leaks();
    });
}

impl Env {
    async fn start(db: TestDb, log: LogBuffer) -> anyhow::Result<Env> {
        let mock = MockServer::start().await?;
        let pool = emsg_store::db::pool(db.url(), 8)?;
        let ring = Arc::new(KeyRing::new(MasterKey::generate()));
        let (alice, bob) = {
            let mut conn = pool.get()?;
            let parsed = emsg_webapps::parse("web-apps.yaml", &records_yaml(&mock))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            emsg_store::import::import(
                &mut conn,
                &ring,
                &parsed,
                &emsg_store::import::ImportContext::command_line(
                    &|_| None,
                    emsg_webapps::UrlRules {
                        allow_loopback: true,
                    },
                ),
                &Actor::Operator,
                false,
            )?;
            let password = Secret::new("a long enough password");
            let alice = UserId::new(users::add(&mut conn, "alice", Role::Finance, &password)?.id);
            let bob = UserId::new(users::add(&mut conn, "bob", Role::Finance, &password)?.id);
            (alice, bob)
        };
        let engine = Engine::new(
            pool.clone(),
            Arc::clone(&ring),
            config(Duration::from_millis(500)),
        )?;
        Ok(Env {
            db,
            pool,
            ring,
            engine,
            mock,
            alice,
            bob,
            log,
            shown: RefCell::new(Vec::new()),
            extra_secrets: RefCell::new(Vec::new()),
        })
    }

    /// Another engine on the same database with a different HTTP timeout.
    pub fn engine_with_timeout(&self, http_timeout: Duration) -> Engine {
        Engine::new(
            self.pool.clone(),
            Arc::clone(&self.ring),
            config(http_timeout),
        )
        .expect("an engine")
    }

    /// The success of `result`, remembering how it prints; panics with the error otherwise.
    #[track_caller]
    pub fn ok<T: Debug>(&self, result: Result<T, EngineError>) -> T {
        match result {
            Ok(value) => {
                self.shown.borrow_mut().push(format!("{value:?}"));
                value
            }
            Err(error) => {
                self.remember(&error);
                panic!("expected success, got: {error}");
            }
        }
    }

    /// The error of `result`, remembering its Display and Debug; panics on success.
    #[track_caller]
    pub fn err<T: Debug>(&self, result: Result<T, EngineError>) -> EngineError {
        match result {
            Ok(value) => panic!("expected an error, got: {value:?}"),
            Err(error) => {
                self.remember(&error);
                error
            }
        }
    }

    /// Adds a secret of this scenario to the leak check.
    pub fn add_secret(&self, secret: &str) {
        self.extra_secrets.borrow_mut().push(secret.to_owned());
    }

    /// Remembers any text the scenario saw (a `Disconnected`'s revocation error, a message).
    pub fn remember_text(&self, text: impl Into<String>) {
        self.shown.borrow_mut().push(text.into());
    }

    fn remember(&self, error: &EngineError) {
        let mut shown = self.shown.borrow_mut();
        shown.push(error.to_string());
        shown.push(format!("{error:?}"));
    }

    pub fn record(&self, name: &str) -> WebApplication {
        let mut conn = self.pool.get().expect("a pooled connection");
        records::get(&mut conn, name).expect("the record exists")
    }

    pub fn key(&self, app: &str, user: UserId) -> ConnectionKey {
        let record = self.record(app);
        ConnectionKey::new(record.id, COMPANY, record.user_specific, Some(user))
    }

    /// The stored connection of `app` for `user`, straight from the database.
    pub fn connection(&self, app: &str, user: UserId) -> Option<Connection> {
        let key = self.key(app, user);
        let mut conn = self.pool.get().expect("a pooled connection");
        connections::find(&mut conn, &key).expect("reading the connection")
    }

    pub fn stored_tokens(&self, app: &str, user: UserId) -> (Option<String>, Option<String>) {
        let Some(connection) = self.connection(app, user) else {
            return (None, None);
        };
        (
            connection
                .access_token(&self.ring)
                .expect("the access token opens")
                .map(|s| s.expose().to_owned()),
            connection
                .refresh_token(&self.ring)
                .expect("the refresh token opens")
                .map(|s| s.expose().to_owned()),
        )
    }

    /// The newest pending authorization `user` started for `app`.
    pub fn pending(&self, app: &str, user: UserId) -> Option<PendingAuthorization> {
        let record = self.record(app);
        let mut conn = self.pool.get().expect("a pooled connection");
        pending::latest(&mut conn, record.id, COMPANY, user).expect("reading pending")
    }

    pub fn set_access_expiry(&self, connection_id: ConnectionId, at: Option<i64>) {
        let mut conn = self.pool.get().expect("a pooled connection");
        let n = diesel::update(connections_table::table.find(connection_id.get()))
            .set(connections_table::access_expires_at.eq(at))
            .execute(&mut *conn)
            .expect("updating the expiry");
        assert_eq!(n, 1);
    }

    pub fn set_code_received_at(&self, pending_id: i64, at: i64) {
        let mut conn = self.pool.get().expect("a pooled connection");
        let n = diesel::update(pending_authorizations::table.find(pending_id))
            .set(pending_authorizations::code_received_at.eq(Some(at)))
            .execute(&mut *conn)
            .expect("updating code_received_at");
        assert_eq!(n, 1);
    }

    /// Token-endpoint requests at `path` with this grant type.
    pub fn grants(&self, path: &str, grant_type: &str) -> Vec<RecordedRequest> {
        self.mock
            .requests()
            .into_iter()
            .filter(|r| {
                r.path == path && form_value(r, "grant_type").as_deref() == Some(grant_type)
            })
            .collect()
    }

    pub fn refreshes(&self, path: &str) -> Vec<RecordedRequest> {
        self.grants(path, "refresh_token")
    }

    /// Get authorization code as `user`; returns the authorization URL and its `state`.
    pub async fn start_flow(&self, app: &str, user: UserId) -> (url::Url, String) {
        let start = self.ok(self
            .engine
            .get_authorization_code(app, None, user, CodeRequest::default())
            .await);
        let url = url::Url::parse(&start.url).expect("the authorization URL parses");
        let state = query_value(&url, "state").expect("the URL carries a state");
        (url, state)
    }

    pub async fn callback(
        &self,
        user: UserId,
        state: &str,
        code: &str,
    ) -> Result<emsg_engine::CallbackOutcome, EngineError> {
        self.engine
            .callback(
                user,
                CallbackParams {
                    state: state.to_owned(),
                    code: Some(Secret::new(code)),
                    ..CallbackParams::default()
                },
            )
            .await
    }

    /// The whole flow for `user` against the mock: the token route at `token_path` answers
    /// `answer` to the code. Returns the authorization URL and the new connection.
    pub async fn connect_with(
        &self,
        app: &str,
        token_path: &str,
        user: UserId,
        answer: MockResponse,
    ) -> (url::Url, ConnectionView) {
        self.mock.on("POST", token_path).respond(answer).mount();
        let (url, state) = self.start_flow(app, user).await;
        self.ok(self.callback(user, &state, "code-1").await);
        let view = self.ok(self.engine.obtain_access_token(app, None, user, None).await);
        (url, view)
    }

    /// [`Env::connect_with`] with a Bearer token pair.
    pub async fn connect(
        &self,
        app: &str,
        token_path: &str,
        user: UserId,
        access: &str,
        refresh: Option<&str>,
        expires_in: Option<u64>,
    ) -> ConnectionView {
        self.connect_with(
            app,
            token_path,
            user,
            MockResponse::token(access, refresh, expires_in),
        )
        .await
        .1
    }

    /// Every token, code, verifier and secret this scenario used: the scripted ones and
    /// whatever the engine sent to the mock.
    pub fn secrets(&self) -> Vec<String> {
        let mut all: Vec<String> = SCRIPTED_SECRETS.iter().map(|s| (*s).to_owned()).collect();
        all.extend(self.extra_secrets.borrow().iter().cloned());
        for request in self.mock.requests() {
            for (key, value) in request.form() {
                if matches!(
                    key.as_str(),
                    "code" | "code_verifier" | "refresh_token" | "client_secret" | "token"
                ) {
                    all.push(value);
                }
            }
            if let Some((_, secret)) = request.basic_auth() {
                all.push(secret);
            }
            if let Some(auth) = request.header("authorization") {
                all.push(auth.to_owned());
                if let Some((_, credential)) = auth.split_once(' ') {
                    all.push(credential.to_owned());
                }
            }
        }
        all.retain(|s| s.len() >= 6);
        all.sort();
        all.dedup();
        all
    }

    /// Nothing the scenario produced shows a secret: results and errors it saw, the audit log,
    /// the connections' last errors, and the tracing output.
    pub fn assert_no_leaks(&self) {
        let secrets = self.secrets();
        let mut places: Vec<(String, String)> = self
            .shown
            .borrow()
            .iter()
            .map(|s| ("a result or error".to_owned(), s.clone()))
            .collect();
        let mut conn = self.pool.get().expect("a pooled connection");
        for entry in audit::recent(&mut conn, 1000).expect("the audit log") {
            places.push((format!("audit entry {}", entry.id), format!("{entry:?}")));
        }
        for connection in connections::list(&mut conn, None).expect("the connections") {
            places.push((
                format!("connection {}", connection.id),
                format!(
                    "{connection:?} {:?} {:?}",
                    connection.last_error, connection.last_error_code
                ),
            ));
        }
        let log = self.log.text();
        places.push(("the tracing output".to_owned(), log));
        for (place, text) in &places {
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "{place} shows the secret {secret:?}: {text}"
                );
            }
        }
    }
}

pub fn form_value(request: &RecordedRequest, key: &str) -> Option<String> {
    request
        .form()
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

pub fn query_value(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A 200 with this JSON text as the body, as-is (for malformed and odd answers).
pub fn raw_json(status: u16, body: &str) -> MockResponse {
    MockResponse::Reply {
        status,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.as_bytes().to_vec(),
        delay: None,
    }
}
