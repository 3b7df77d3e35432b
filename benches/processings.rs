//! Processings under load, through real `emsg serve` nodes (a plain `fn main` bench; prints a
//! table). See bench/README.md.
//!
//! 1. **Rate limits**: 6,000 three-step messages (a check, a filing, a receipt) through two
//!    nodes on PostgreSQL against a loopback stand-in that allows each of 20 client IDs 10
//!    requests in any fixed one-second window (counted at the stand-in): the busiest window,
//!    throughput against the sum of the limits, duplicates, and each node's peak memory.
//! 2. **Overhead**: without limits and with a 20 ms stand-in, one node running N messages at
//!    a concurrency of C against a bare reqwest loop making the same three calls with C
//!    workers; SQLite and PostgreSQL, C = 8 and 32.
//!
//! Environment: `EMSG_BENCH_MESSAGES` (default 6000), `EMSG_BENCH_OVERHEAD_MESSAGES` (default
//! 400), `EMSG_BENCH_PARTS` (`limits,overhead`, default both), `EMSG_TEST_POSTGRES_URL` as for
//! the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use emsg_store::schema::messages;
use emsg_test_db::{Backend, TestDb};
use emsg_testkit::filing_desk::{FilingDesk, Options};

const PASSWORD: &str = "a long enough bench password";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `clients` records, each with its own client ID, rate limit and the three-step processing.
fn file(desk: &FilingDesk, clients: usize, rate_limit: Option<u32>) -> String {
    let base = desk.base_url();
    let mut apps = String::from("web_applications:\n");
    let mut services = String::from("web_services:\n");
    let mut processings = String::from("processings:\n");
    for n in 0..clients {
        let app = format!("Desk {n:02}");
        apps.push_str(&format!(
            "  - name: {app}\n    base_url: {base}\n    authorization_url: {base}/authorize\n    \
             token_url: {base}/token\n    redirect_url: http://127.0.0.1:9/oauth/callback\n    \
             client_id: desk-client-{n:02}\n    client_secret: desk-secret-{n:02}\n    \
             scope: write:filings\n{}",
            rate_limit.map_or(String::new(), |r| format!("    rate_limit: {r}\n"))
        ));
        for (kind, method, status) in [
            ("check", "GET", 200),
            ("file", "POST", 201),
            ("filed", "GET", 200),
            ("receipt", "GET", 200),
        ] {
            services.push_str(&format!(
                "  - name: {app} {kind}\n    web_application: {app}\n    method: {method}\n    \
                 url: \"/desk/{{{{reference}}}}/{kind}\"\n    success_statuses: [{status}]\n    \
                 fields:\n      - {{name: reference, type: text, max_chars: 40}}\n"
            ));
        }
        processings.push_str(&format!(
            "  - name: {app} filing\n    steps:\n      - name: Check\n        request: {app} check\n      \
             - name: File\n        request: {app} file\n        extract:\n          receipt: {{json: /receipt}}\n        \
             reconcile:\n          request: {app} filed\n          done_when: {{status: 200}}\n          \
             extract:\n            receipt: {{json: /receipt}}\n      - name: Receipt\n        request: {app} receipt\n"
        ));
    }
    format!("{apps}{services}{processings}")
}

struct Emsg {
    db: TestDb,
}

impl Emsg {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_emsg"));
        command
            .args(args)
            .env_remove("EMSG_MASTER_KEY")
            .env_remove("EMSG_PAGE_ENV_VARS")
            .env("EMSG_ALLOW_LOOPBACK_URLS", "true")
            .env("EMSG_DATABASE_URL", self.db.url_string())
            .env("EMSG_KEY_FILE", self.db.dir().join("emsg.key"))
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .current_dir(self.db.dir());
        command
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.command(args).output().unwrap();
        assert!(
            out.status.success(),
            "emsg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) {
        use std::io::Write as _;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

struct Node {
    child: Child,
    address: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    fn start(emsg: &Emsg, apps: &Path, extra: &[&str]) -> Node {
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--web-apps",
            apps.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let mut child = emsg
            .command(&args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe = child.stderr.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let address = loop {
            let line = lines.recv_timeout(Duration::from_secs(60)).unwrap();
            if let Some(rest) = line.split("open http://").nth(1) {
                break rest
                    .trim_end_matches('/')
                    .split('/')
                    .next()
                    .unwrap()
                    .to_owned();
            }
        };
        Node { child, address }
    }

    /// Peak resident memory (VmHWM) in MiB.
    fn peak_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

/// A database with the records imported, `fiona` (finance) and every record connected.
fn world(
    backend: Backend,
    desk: &FilingDesk,
    clients: usize,
    limit: Option<u32>,
) -> (Emsg, PathBuf) {
    let emsg = Emsg {
        db: TestDb::new(backend),
    };
    let apps = emsg.db.dir().join("apps.yaml");
    std::fs::write(&apps, file(desk, clients, limit)).unwrap();
    emsg.run(&["import", apps.to_str().unwrap()]);
    emsg.run_with_stdin(
        &[
            "users",
            "add",
            "fiona",
            "--role",
            "finance",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    for n in 0..clients {
        let app = format!("Desk {n:02}");
        let url = emsg.run(&["auth", "get-code", &app, "--user", "fiona"]);
        let url = url::Url::parse(url.trim()).unwrap();
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        emsg.run(&[
            "auth", "callback", "--state", &state, "--code", "c", "--user", "fiona",
        ]);
        emsg.run(&["auth", "obtain-token", &app, "--user", "fiona"]);
    }
    (emsg, apps)
}

/// Logs in as fiona on `node`; the client and the anti-forgery token.
async fn log_in(node: &Node) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", node.address);
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let answer = client
        .post(format!("{base}/login"))
        .form(&[
            ("name", "fiona"),
            ("password", PASSWORD),
            ("csrf", csrf.as_str()),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 303, "log-in");
    let session: serde_json::Value = client
        .get(format!("{base}/api/v1/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (client, session["csrf_token"].as_str().unwrap().to_owned())
}

/// Starts `count` messages spread over `clients` processings through `node`'s API.
async fn start_messages(node: &Node, count: usize, clients: usize) {
    let (client, csrf) = log_in(node).await;
    let base = format!("http://{}", node.address);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (client, csrf, base, next) = (client.clone(), csrf.clone(), base.clone(), next.clone());
        workers.spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= count {
                    return;
                }
                let processing = format!("Desk%20{:02}%20filing", n % clients);
                let answer = client
                    .post(format!("{base}/api/v1/processings/{processing}/messages"))
                    .header("x-csrf-token", &csrf)
                    .json(&serde_json::json!({"fields": {"reference": format!("ref-{n}")}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    answer.status().as_u16(),
                    202,
                    "{}",
                    answer.text().await.unwrap()
                );
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }
}

fn wait_completed(db: &TestDb, count: usize, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let done: i64 = messages::table
            .filter(messages::status.eq("completed"))
            .count()
            .get_result(&mut db.connect())
            .unwrap();
        if usize::try_from(done).unwrap_or(0) >= count {
            return started.elapsed();
        }
        let failed: i64 = messages::table
            .filter(messages::status.eq_any([
                "business_error",
                "technical_error",
                "outcome_unknown",
            ]))
            .count()
            .get_result(&mut db.connect())
            .unwrap();
        assert_eq!(failed, 0, "messages failed");
        assert!(
            started.elapsed() < limit,
            "only {done} of {count} completed in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn limits(runtime: &tokio::runtime::Runtime) {
    let count = env_number("EMSG_BENCH_MESSAGES", 6000);
    let clients = 20;
    let per_second = 10;
    let desk = runtime
        .block_on(FilingDesk::start_with(Options {
            file_delay: Duration::from_millis(5),
            delay: Duration::from_millis(5),
            per_second: Some(per_second),
        }))
        .unwrap();
    let (emsg, apps) = world(Backend::Postgres, &desk, clients, Some(per_second));
    let nodes = [
        Node::start(&emsg, &apps, &[]),
        Node::start(&emsg, &apps, &[]),
    ];
    let started = Instant::now();
    runtime.block_on(start_messages(&nodes[0], count, clients));
    let created = started.elapsed();
    wait_completed(&emsg.db, count, Duration::from_secs(1800));
    let tally = desk.tally();
    let sum = f64::from(per_second) * clients as f64;
    let throughput = tally.requests as f64 * 1000.0 / tally.span_ms.max(1) as f64;
    println!(
        "\n## Rate limits: {count} three-step messages, two nodes, PostgreSQL, {clients} clients at {per_second}/s\n"
    );
    println!("| figure | value | target |");
    println!("| --- | --- | --- |");
    println!(
        "| messages started (API) | {count} in {:.1} s | |",
        created.as_secs_f64()
    );
    println!(
        "| requests at the stand-in | {} ({} answered 429) | {} + reconciles |",
        tally.requests,
        tally.throttled,
        count * 3
    );
    println!(
        "| busiest client window | {} requests | ≤ {per_second} |",
        tally.busiest_window
    );
    println!(
        "| throughput | {throughput:.1} requests/s = {:.0}% of {sum:.0} | ≥ 90% |",
        throughput * 100.0 / sum
    );
    println!("| duplicates | {} | 0 |", tally.duplicates);
    for (n, node) in nodes.iter().enumerate() {
        println!(
            "| node {} peak memory | {:.1} MiB | < 100 MiB |",
            n + 1,
            node.peak_mib()
        );
    }
}

/// The same three calls for `count` references with `workers` concurrent loops, plain reqwest.
async fn bare_loop(desk: &FilingDesk, count: usize, workers: usize) -> Duration {
    let client = reqwest::Client::new();
    let base = desk.base_url();
    let token = format!("{}.bare", emsg_testkit::filing_desk::ACCESS_TOKEN);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (client, base, token, next) =
            (client.clone(), base.clone(), token.clone(), next.clone());
        set.spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= count {
                    return;
                }
                for (method, kind) in [("GET", "check"), ("POST", "file"), ("GET", "receipt")] {
                    let url = format!("{base}/desk/bare-{n}/{kind}");
                    let request = if method == "GET" {
                        client.get(url)
                    } else {
                        client.post(url)
                    };
                    let answer = request.bearer_auth(&token).send().await.unwrap();
                    assert!(answer.status().is_success());
                    answer.bytes().await.unwrap();
                }
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
    started.elapsed()
}

fn overhead(runtime: &tokio::runtime::Runtime) {
    let count = env_number("EMSG_BENCH_OVERHEAD_MESSAGES", 400);
    println!("\n## Overhead: {count} three-step messages, one node, a 20 ms stand-in, no limits\n");
    println!("| backend | C | bare reqwest | emsg | ratio | target |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        for concurrency in [8usize, 32] {
            let desk = runtime
                .block_on(FilingDesk::start_with(Options {
                    file_delay: Duration::from_millis(20),
                    delay: Duration::from_millis(20),
                    per_second: None,
                }))
                .unwrap();
            let bare_desk = runtime
                .block_on(FilingDesk::start_with(Options {
                    file_delay: Duration::from_millis(20),
                    delay: Duration::from_millis(20),
                    per_second: None,
                }))
                .unwrap();
            let bare = runtime.block_on(bare_loop(&bare_desk, count, concurrency));
            let (emsg, apps) = world(backend, &desk, 1, None);
            // The messages are started through a node that runs no steps; then one node runs
            // them, and the stand-in times the calls from the first to the last, as for the
            // bare loop.
            let front = Node::start(&emsg, &apps, &["--step-concurrency", "0"]);
            runtime.block_on(start_messages(&front, count, 1));
            let c = concurrency.to_string();
            let _node = Node::start(&emsg, &apps, &["--step-concurrency", &c]);
            wait_completed(&emsg.db, count, Duration::from_secs(900));
            let took = Duration::from_millis(desk.tally().span_ms);
            let ratio = took.as_secs_f64() / bare.as_secs_f64();
            println!(
                "| {backend:?} | {concurrency} | {:.2} s | {:.2} s | {ratio:.2} | {} |",
                bare.as_secs_f64(),
                took.as_secs_f64(),
                if concurrency == 8 {
                    "≤ 1.3"
                } else {
                    "(reported)"
                }
            );
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let parts = std::env::var("EMSG_BENCH_PARTS").unwrap_or_else(|_| "limits,overhead".to_owned());
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if parts.contains("limits") {
        limits(&runtime);
    }
    if parts.contains("overhead") {
        overhead(&runtime);
    }
}
