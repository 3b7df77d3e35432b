//! Shared by the engine benches: a minimal token endpoint, database set-up, the bare `oauth2`
//! refresh loop the engine is compared with, and the statistics and table printing.
//!
//! Environment (every bench):
//! - `EMSG_BENCH_RUNS`     runs per measurement (default 5)
//! - `EMSG_BENCH_BACKENDS` `sqlite`, `postgres` or `sqlite,postgres` (the default)
//! - `EMSG_BENCH_WORKERS`  tokio worker threads of the engine's runtime (default 2)
//! - `EMSG_BENCH_POOL`     database pool size of the engine (default 8, as `emsg serve`)
//!
//! PostgreSQL as for the tests: `EMSG_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test` (a fresh database per backend run, dropped after).
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use diesel::Connection as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse,
    RefreshToken, TokenResponse as _, TokenUrl,
};

/// The benches measure the engine with the allocator the `emsg` binary ships with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use emsg_engine::{Engine, EngineConfig};
use emsg_seal::{KeyRing, MasterKey, Secret};
use emsg_store::WebApplicationId;
use emsg_store::audit::Actor;
use emsg_store::connections::{self, Authorization, ConnectionKey, Tokens};
use emsg_store::db::DbConnection;
use emsg_store::users::{self, Role};
use emsg_test_db::{Backend, TestDb};

pub const APP: &str = "Bench VAT";
pub const CLIENT_ID: &str = "bench-client";
pub const CLIENT_SECRET: &str = "bench-client-secret-5e884898da28047151d0e56f8dc62927";
/// Lifetime of every token the endpoint issues.
pub const EXPIRES_IN: u64 = 3600;

// ---------------------------------------------------------------------------------------------
// The token endpoint

/// A loopback token endpoint that records nothing: every POST whose form says
/// `grant_type=refresh_token` gets a fresh pair `at-N` / `rt-N` (N counts the answers), anything
/// else a 400; at once, or after `EMSG_BENCH_ENDPOINT_DELAY_MS` to stand in for a real
/// provider's latency. It runs on its own thread and runtime, so it does not share the engine's workers.
pub struct TokenEndpoint {
    pub addr: SocketAddr,
    issued: Arc<AtomicU64>,
    _thread: std::thread::JoinHandle<()>,
}

impl TokenEndpoint {
    /// Answers after `EMSG_BENCH_ENDPOINT_DELAY_MS` (default 0: at once).
    pub fn start() -> Self {
        let delay = Duration::from_millis(env_number("EMSG_BENCH_ENDPOINT_DELAY_MS", 0) as u64);
        let issued = Arc::new(AtomicU64::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let counter = Arc::clone(&issued);
        let thread = std::thread::Builder::new()
            .name("token-endpoint".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the token endpoint's runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                        .await
                        .expect("bind the token endpoint");
                    tx.send(listener.local_addr().expect("its address"))
                        .expect("report the address");
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        };
                        let _ = stream.set_nodelay(true);
                        let counter = Arc::clone(&counter);
                        tokio::spawn(async move {
                            let service =
                                service_fn(move |req| answer(req, Arc::clone(&counter), delay));
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                });
            })
            .expect("spawn the token endpoint");
        let addr = rx.recv().expect("the token endpoint started");
        Self {
            addr,
            issued,
            _thread: thread,
        }
    }

    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Token pairs issued so far.
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }
}

async fn answer(
    req: Request<Incoming>,
    issued: Arc<AtomicU64>,
    delay: Duration,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let body = match req.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let is_refresh = body
        .split(|b| *b == b'&')
        .any(|pair| pair == b"grant_type=refresh_token");
    let has_token = body
        .split(|b| *b == b'&')
        .any(|pair| pair.starts_with(b"refresh_token=") && pair.len() > 14);
    let mut reply = if is_refresh && has_token {
        let n = issued.fetch_add(1, Ordering::Relaxed) + 1;
        Response::new(Full::new(Bytes::from(format!(
            r#"{{"access_token":"at-{n}","token_type":"Bearer","refresh_token":"rt-{n}","expires_in":{EXPIRES_IN}}}"#
        ))))
    } else {
        let mut r = Response::new(Full::new(Bytes::from_static(
            br#"{"error":"invalid_request","error_description":"not a refresh"}"#,
        )));
        *r.status_mut() = StatusCode::BAD_REQUEST;
        r
    };
    let headers = reply.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    Ok(reply)
}

// ---------------------------------------------------------------------------------------------
// Database and engine

pub fn label(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// A migrated database holding one OAuth record (not user-specific, `client_secret_post`)
/// whose token URL is `endpoint`, and one user (the authorizer of every connection).
pub struct Fixture {
    pub db: TestDb,
    pub ring: Arc<KeyRing>,
    /// The master key (base64), for a child process that opens the same database.
    pub key: Secret,
    pub app_id: WebApplicationId,
    pub user: i64,
}

impl Fixture {
    pub fn new(backend: Backend, endpoint: &TokenEndpoint) -> Self {
        let db = TestDb::new(backend);
        let master = MasterKey::generate();
        let key = master.to_base64();
        let ring = Arc::new(KeyRing::new(master));
        let yaml = format!(
            "web_applications:
  - name: {APP}
    base_url: {base}
    authorization_url: {base}/authorize
    token_url: {token}
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: {CLIENT_ID}
    client_secret: {CLIENT_SECRET}
    scope: read:vat write:vat
    client_auth: client_secret_post
",
            base = endpoint.base_url(),
            token = endpoint.token_url(),
        );
        let mut conn = db.connect();
        let parsed = emsg_webapps::parse("bench.yaml", &yaml).expect("the bench record parses");
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
        )
        .expect("import the bench record");
        let app_id = emsg_store::web_applications::get(&mut conn, APP)
            .expect("the bench record")
            .id;
        let user = users::add(
            &mut conn,
            "bench",
            Role::Finance,
            &Secret::new("a long enough bench password"),
        )
        .expect("add the bench user")
        .id;
        Self {
            db,
            ring,
            key,
            app_id,
            user,
        }
    }

    pub fn connect(&self) -> DbConnection {
        self.db.connect()
    }

    /// `n` connected connections (companies `company-00000` …), inserted directly with
    /// `store_authorization` in one transaction; access tokens expire at `expires_at`.
    pub fn seed(&self, n: usize, expires_at: i64) {
        self.seed_companies(&(0..n).map(company).collect::<Vec<_>>(), expires_at);
    }

    /// One connection per company named, as [`Fixture::seed`].
    pub fn seed_companies(&self, companies: &[String], expires_at: i64) {
        let mut conn = self.connect();
        let now = emsg_store::now();
        conn.transaction::<_, emsg_store::StoreError, _>(|conn| {
            for (i, name) in companies.iter().enumerate() {
                let key = ConnectionKey::new(self.app_id, name, false, None);
                connections::store_authorization(
                    conn,
                    &self.ring,
                    &key,
                    &Tokens {
                        access_token: Secret::new(format!("seed-at-{i}")),
                        refresh_token: Some(Secret::new(format!("seed-rt-{i}"))),
                        token_type: "Bearer".to_owned(),
                        granted_scope: Some("read:vat write:vat".to_owned()),
                        access_expires_at: Some(expires_at),
                    },
                    &Authorization {
                        authorized_by: Some(emsg_store::UserId::new(self.user)),
                        authorized_at: now,
                        authorization_expires_at: None,
                        taxpayer_id: None,
                    },
                    now,
                )?;
            }
            Ok(())
        })
        .expect("seed the connections");
    }

    /// Every connection's (access token, refresh token), in id order.
    pub fn tokens(&self) -> Vec<(String, String)> {
        let mut conn = self.connect();
        connections::list(&mut conn, None)
            .expect("list the connections")
            .iter()
            .map(|c| {
                let open = |s: Option<Secret>| s.map(|s| s.expose().to_owned()).unwrap_or_default();
                (
                    open(c.access_token(&self.ring).expect("open")),
                    open(c.refresh_token(&self.ring).expect("open")),
                )
            })
            .collect()
    }

    /// Sets every connection's access token to expire at `at` (to make them due again).
    pub fn expire_all(&self, at: i64) {
        use diesel::prelude::*;
        use emsg_store::schema::connections as table;
        let rows = diesel::update(table::table)
            .set(table::access_expires_at.eq(Some(at)))
            .execute(&mut self.connect());
        rows.expect("expire the access tokens");
    }

    pub fn engine(&self, pool_size: u32) -> Engine {
        let pool = emsg_store::db::pool(self.db.url(), pool_size).expect("the engine's pool");
        Engine::new(
            pool,
            Arc::clone(&self.ring),
            EngineConfig {
                urls: emsg_webapps::UrlRules {
                    allow_loopback: true,
                },
                ..EngineConfig::default()
            },
        )
        .expect("the engine")
    }
}

pub fn company(i: usize) -> String {
    format!("company-{i:05}")
}

/// Asserts that every connection's tokens differ from `before` and from every other's, and
/// that all were issued by the endpoint (`at-N`).
pub fn assert_all_new(before: &[(String, String)], after: &[(String, String)], what: &str) {
    assert_eq!(before.len(), after.len(), "{what}: connection count");
    let mut seen = std::collections::HashSet::with_capacity(after.len());
    for (i, ((old_at, old_rt), (at, rt))) in before.iter().zip(after).enumerate() {
        assert!(
            at != old_at && rt != old_rt && at.starts_with("at-") && rt.starts_with("rt-"),
            "{what}: connection {i} did not get a new token pair"
        );
        assert!(
            seen.insert(at.clone()),
            "{what}: access token {at} given twice"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The bare `oauth2` loop

/// The engine's HTTP client settings (crates/emsg-engine/src/http.rs `client`).
pub fn http_client() -> reqwest::Client {
    let config = EngineConfig {
        urls: emsg_webapps::UrlRules {
            allow_loopback: true,
        },
        ..EngineConfig::default()
    };
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.http_timeout)
        .connect_timeout(config.http_timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("emsg/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client")
}

/// A plain `oauth2` adapter over reqwest: the request as is, the answer as is.
pub struct BareHttp(pub reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for BareHttp {
    type Error = reqwest::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, reqwest::Error>> + Send + 'c>,
    >;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut outgoing = self
                .0
                .request(parts.method, parts.uri.to_string())
                .body(body);
            for (name, value) in &parts.headers {
                outgoing = outgoing.header(name, value);
            }
            let response = outgoing.send().await?;
            let mut builder = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let bytes = response.bytes().await?.to_vec();
            Ok(builder.body(bytes).expect("a response"))
        })
    }
}

type BareClient = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn bare_client(token_url: &str) -> BareClient {
    BasicClient::new(ClientId::new(CLIENT_ID.to_owned()))
        .set_client_secret(ClientSecret::new(CLIENT_SECRET.to_owned()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(token_url.to_owned()).expect("the token URL"))
}

/// Refreshes every token of `refresh_tokens` once with `concurrency` tasks, straight through
/// `oauth2` (`exchange_refresh_token(..).request_async(..)`), no database; rotates the tokens
/// in place. Returns the elapsed time; asserts every answer carried a new pair.
pub async fn bare_refresh_all(
    http: &reqwest::Client,
    token_url: &str,
    refresh_tokens: &mut [String],
    concurrency: usize,
) -> Duration {
    let client = Arc::new(bare_client(token_url));
    let http = Arc::new(BareHttp(http.clone()));
    let tokens: Arc<Vec<String>> = Arc::new(refresh_tokens.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (client, http, tokens, next) = (
            Arc::clone(&client),
            Arc::clone(&http),
            Arc::clone(&tokens),
            Arc::clone(&next),
        );
        tasks.spawn(async move {
            let mut got = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(token) = tokens.get(i) else { break };
                let response = client
                    .exchange_refresh_token(&RefreshToken::new(token.clone()))
                    .request_async(http.as_ref())
                    .await
                    .unwrap_or_else(|e| panic!("bare refresh {i} failed: {e:?}"));
                let rt = response
                    .refresh_token()
                    .map(|t| t.secret().clone())
                    .expect("a refresh token");
                assert!(response.access_token().secret().starts_with("at-"));
                got.push((i, rt));
            }
            got
        });
    }
    let mut results = Vec::with_capacity(refresh_tokens.len());
    while let Some(joined) = tasks.join_next().await {
        results.extend(joined.expect("a bare refresh task"));
    }
    let elapsed = started.elapsed();
    assert_eq!(
        results.len(),
        refresh_tokens.len(),
        "bare: every token refreshed"
    );
    for (i, rt) in results {
        assert_ne!(refresh_tokens[i], rt, "bare: token {i} rotated");
        refresh_tokens[i] = rt;
    }
    elapsed
}

// ---------------------------------------------------------------------------------------------
// Running, statistics, output

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(env_number("EMSG_BENCH_WORKERS", 2).max(1))
        .enable_all()
        .build()
        .expect("the bench runtime")
}

pub fn runs() -> usize {
    env_number("EMSG_BENCH_RUNS", 5).max(1)
}

pub fn pool_size() -> u32 {
    u32::try_from(env_number("EMSG_BENCH_POOL", 8).max(1)).unwrap_or(8)
}

pub fn backends() -> Vec<Backend> {
    let wanted = std::env::var("EMSG_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    wanted
        .split(',')
        .map(|name| match name.trim() {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            other => panic!("EMSG_BENCH_BACKENDS: unknown backend `{other}`"),
        })
        .collect()
}

pub fn env_number(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Ok(text) => text
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{var} must be a whole number, not `{text}`")),
        Err(_) => default,
    }
}

pub fn env_list(var: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(var) {
        Ok(text) => text
            .split(',')
            .map(|t| {
                t.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{var} must be numbers separated by commas"))
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// A `VmHWM`/`VmRSS`-style line of /proc/self/status, in MiB.
pub fn proc_status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets VmHWM to the current RSS (Linux: `5` to /proc/self/clear_refs). False if refused.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

pub fn median<T: Copy + PartialOrd>(values: &[T]) -> T {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    sorted[sorted.len() / 2]
}

/// Median, min and max; for an even count the median is the upper middle value.
pub fn stats(values: &[f64]) -> (f64, f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (median(values), min, max)
}

pub fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
}

/// The whole machine's CPU time so far (/proc/stat, all processes: the bench, PostgreSQL, the
/// token endpoint), in clock ticks of 10 ms (Linux's `USER_HZ`).
#[derive(Debug, Clone, Copy)]
pub struct CpuTimes {
    busy: u64,
    total: u64,
}

impl CpuTimes {
    pub fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        // cpu user nice system idle iowait irq softirq steal guest guest_nice
        let ticks: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|t| t.parse().ok())
            .collect::<Option<_>>()?;
        let [user, nice, system, idle, iowait, irq, softirq, steal] = ticks[..] else {
            return None;
        };
        let busy = user + nice + system + irq + softirq;
        Some(Self {
            busy,
            total: busy + idle + iowait + steal,
        })
    }

    /// Since `earlier`: the share of all cores busy, and the busy CPU time per `count` operations
    /// in microseconds.
    pub fn since(&self, earlier: &Self, count: usize) -> (f64, f64) {
        let busy = self.busy.saturating_sub(earlier.busy) as f64;
        let total = self.total.saturating_sub(earlier.total).max(1) as f64;
        (busy / total, busy * 10_000.0 / count.max(1) as f64)
    }
}
