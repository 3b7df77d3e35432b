//! Messages per second through one connection against a loopback API, next to a bare reqwest
//! loop sending the same request (same headers, same concurrency): what emsg adds per message
//! — checking the fields, rendering, the fraud-prevention headers, a valid token, and the
//! message log's three writes (New, Sent, the answer).
//!
//! `cargo bench -p emsg-messages --bench send`; environment: `EMSG_BENCH_MESSAGES` (default
//! 2000), `EMSG_BENCH_CONCURRENCY` (default `1,8`), `EMSG_BENCH_RUNS` (default 5),
//! `EMSG_BENCH_BACKENDS` (default `sqlite,postgres`), `EMSG_BENCH_ENDPOINT_DELAY_MS` (default 0).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use emsg_engine::{CallbackParams, CodeRequest, Engine, EngineConfig};
use emsg_messages::fraud::{self, BrowserData, WebClient};
use emsg_messages::{Messenger, Origin, SendRequest, Vendor};
use emsg_seal::{KeyRing, MasterKey, Secret};
use emsg_store::UserId;
use emsg_store::audit::Actor;
use emsg_store::messages::MessageStatus;
use emsg_store::users::{self, Role};
use emsg_test_db::{Backend, TestDb};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

const SERVICE: &str = "Bench obligations";
const VRN: &str = "123456789";

fn env_number(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .map(|t| {
            t.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{var}: a number"))
        })
        .unwrap_or(default)
}

/// The loopback API: tokens at POST /token, `{"obligations":[]}` for anything else.
fn start_endpoint() -> SocketAddr {
    let delay = Duration::from_millis(env_number("EMSG_BENCH_ENDPOINT_DELAY_MS", 0) as u64);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(req, delay));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    rx.recv().expect("the endpoint started")
}

async fn answer(
    req: Request<Incoming>,
    delay: Duration,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let is_token = req.uri().path() == "/token";
    let _ = req.into_body().collect().await;
    let body: &'static [u8] = if is_token {
        br#"{"access_token":"bench-access","token_type":"Bearer","refresh_token":"bench-refresh","expires_in":14400}"#
    } else {
        br#"{"obligations":[]}"#
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

fn file(base: &str) -> String {
    format!(
        "web_applications:
  - name: Bench VAT
    base_url: {base}
    authorization_url: {base}/authorize
    token_url: {base}/token
    redirect_url: http://127.0.0.1:8080/oauth/callback
    client_id: bench
    client_secret: bench-secret
    scope: read:vat
    accept: application/vnd.hmrc.1.0+json
web_services:
  - name: {SERVICE}
    web_application: Bench VAT
    method: GET
    url: \"/organisations/vat/{{{{vrn}}}}/obligations?from={{{{from}}}}&to={{{{to}}}}\"
    fraud_prevention: hmrc
    fields:
      - {{name: vrn, type: vrn}}
      - {{name: from, type: date}}
      - {{name: to, type: date}}
"
    )
}

fn origin() -> Origin {
    Origin::WebAppViaServer(WebClient {
        browser: BrowserData::from_json(
            r#"{"screens":[{"width":1920,"height":1080,"scaling_factor":1,"colour_depth":24}],
               "window":{"width":1256,"height":803},"timezone":"UTC+00:00","user_agent":"bench"}"#,
        )
        .expect("browser data"),
        device_id: Some("beec798b-b366-47fa-b1f8-92cede14a1ce".to_owned()),
        public_ip: IpAddr::from([198, 51, 100, 7]),
        public_port: Some(50_000),
        ip_seen_at_ms: 1_795_000_000_000,
        forwarded: Vec::new(),
        user_name: "bench".to_owned(),
    })
}

struct World {
    _db: TestDb,
    messenger: Messenger,
    user: UserId,
}

async fn world(backend: Backend, base: &str) -> World {
    let db = TestDb::new(backend);
    let pool = emsg_store::db::pool(db.url(), 8).expect("pool");
    let ring = Arc::new(KeyRing::new(MasterKey::generate()));
    let user = {
        let mut conn = pool.get().expect("conn");
        let parsed = emsg_webapps::parse("bench.yaml", &file(base)).expect("parses");
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
        .expect("import");
        users::add(
            &mut conn,
            "bench",
            Role::Finance,
            &Secret::new("a long enough password"),
        )
        .map(|u| UserId::new(u.id))
        .expect("user")
    };
    let engine = Engine::new(
        pool.clone(),
        ring,
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .expect("engine");
    let start = engine
        .get_authorization_code("Bench VAT", None, user, CodeRequest::default())
        .await
        .expect("get code");
    let state = url::Url::parse(&start.url)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");
    engine
        .callback(
            user,
            CallbackParams {
                state,
                code: Some(Secret::new("bench-code")),
                ..CallbackParams::default()
            },
        )
        .await
        .expect("callback");
    engine
        .obtain_access_token("Bench VAT", None, user, None)
        .await
        .expect("token");
    let messenger = Messenger::new(engine, pool, Vendor::default());
    World {
        _db: db,
        messenger,
        user,
    }
}

fn request(user: UserId) -> SendRequest {
    let fields: BTreeMap<String, String> =
        [("vrn", VRN), ("from", "2026-01-01"), ("to", "2026-12-31")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    SendRequest {
        service: SERVICE.to_owned(),
        fields,
        company: None,
        user: Some(user),
        origin: origin(),
        idempotency_key: None,
    }
}

async fn emsg_run(world: &World, count: usize, concurrency: usize) -> Duration {
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let messenger = world.messenger.clone();
        let user = world.user;
        let share = count / concurrency + usize::from(worker < count % concurrency);
        workers.spawn(async move {
            for _ in 0..share {
                let sent = messenger.send(request(user)).await.expect("sent");
                assert_eq!(
                    sent.status,
                    MessageStatus::ResponseReceived,
                    "{}",
                    sent.summary
                );
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.expect("worker");
    }
    started.elapsed()
}

async fn bare_run(base: &str, count: usize, concurrency: usize) -> Duration {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let url = format!("{base}/organisations/vat/{VRN}/obligations?from=2026-01-01&to=2026-12-31");
    let headers = fraud::headers(&origin(), &Vendor::default()).headers;
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let (client, url, headers) = (client.clone(), url.clone(), headers.clone());
        let share = count / concurrency + usize::from(worker < count % concurrency);
        workers.spawn(async move {
            for _ in 0..share {
                let mut request = client
                    .get(&url)
                    .header("Authorization", "Bearer bench-access")
                    .header("Accept", "application/vnd.hmrc.1.0+json");
                for (name, value) in &headers {
                    request = request.header(name, value);
                }
                let response = request.send().await.expect("sent");
                assert!(response.status().is_success());
                let _ = response.bytes().await.expect("body");
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.expect("worker");
    }
    started.elapsed()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    values[values.len() / 2]
}

fn main() {
    let count = env_number("EMSG_BENCH_MESSAGES", 2000);
    let runs = env_number("EMSG_BENCH_RUNS", 5).max(1);
    let concurrencies: Vec<usize> = std::env::var("EMSG_BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "1,8".to_owned())
        .split(',')
        .map(|c| c.trim().parse().expect("EMSG_BENCH_CONCURRENCY: numbers"))
        .collect();
    let backends: Vec<Backend> = std::env::var("EMSG_BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".to_owned())
        .split(',')
        .map(|b| match b.trim() {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("EMSG_BENCH_BACKENDS: unknown `{other}`"),
        })
        .collect();
    let addr = start_endpoint();
    let base = format!("http://{addr}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "messages per second through one connection, {count} messages, median of {runs} runs, \
         endpoint delay {} ms",
        env_number("EMSG_BENCH_ENDPOINT_DELAY_MS", 0)
    );
    println!("| backend | concurrency | emsg msg/s | bare reqwest req/s | ratio (bare/emsg) |");
    println!("|---|---|---|---|---|");
    for backend in backends {
        let world = runtime.block_on(world(backend, &base));
        for &concurrency in &concurrencies {
            // One warm-up of each, then alternate.
            runtime.block_on(emsg_run(&world, count / 10 + 1, concurrency));
            runtime.block_on(bare_run(&base, count / 10 + 1, concurrency));
            let (mut emsg, mut bare) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let elapsed = runtime.block_on(emsg_run(&world, count, concurrency));
                emsg.push(count as f64 / elapsed.as_secs_f64());
                let elapsed = runtime.block_on(bare_run(&base, count, concurrency));
                bare.push(count as f64 / elapsed.as_secs_f64());
            }
            let (emsg, bare) = (median(&mut emsg), median(&mut bare));
            println!(
                "| {} | {concurrency} | {emsg:.0} | {bare:.0} | {:.2} |",
                match backend {
                    Backend::Sqlite => "sqlite",
                    Backend::Postgres => "postgres",
                },
                bare / emsg
            );
        }
    }
}
