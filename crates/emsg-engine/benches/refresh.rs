//! Refresh benchmark: N connections refreshed through the engine (`refresh_access_token`, C at a
//! time) against a bare `oauth2` refresh loop at the same concurrency, on SQLite and PostgreSQL.
//!
//! Run: `cargo bench -p emsg-engine --bench refresh`
//!
//! The token endpoint is a minimal loopback HTTP/1.1 server on its own thread that records
//! nothing and answers every refresh at once with a fresh pair (`common::TokenEndpoint`).
//! Engine runs and bare runs alternate, so load from elsewhere hits both alike.
//!
//! Environment (besides those in `common`):
//! - `EMSG_BENCH_CONNECTIONS` connections (default 2000)
//! - `EMSG_BENCH_CONCURRENCY` concurrencies, comma-separated (default `8,32`)
//! - `EMSG_BENCH_PHASES=1`    after the table, time the parts of one engine refresh one by one
//!   (sequentially) to show where the time goes
//!
//! Correctness: after every engine run each connection holds a token pair it did not hold
//! before, all access tokens differ, and the endpoint issued exactly N pairs; the bare loop
//! checks every answer and rotates its refresh tokens.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{CpuTimes, Fixture, TokenEndpoint, company, label, rate, stats};
use emsg_engine::Engine;
use emsg_store::connections::Status;
use emsg_store::{ConnectionId, WebApplicationId};
use emsg_test_db::Backend;

const TARGET_RATIO: f64 = 1.2;

struct Row {
    backend: &'static str,
    concurrency: usize,
    engine: Vec<Duration>,
    bare: Vec<Duration>,
    /// Per run: the share of the machine's cores busy, and busy CPU µs per refresh.
    engine_cpu: Vec<(f64, f64)>,
    bare_cpu: Vec<(f64, f64)>,
}

fn main() {
    let n = common::env_number("EMSG_BENCH_CONNECTIONS", 2000).max(1);
    let concurrencies = common::env_list("EMSG_BENCH_CONCURRENCY", &[8, 32]);
    let runs = common::runs();
    let pool = common::pool_size();
    let rt = common::runtime();
    let endpoint = TokenEndpoint::start();
    let http = common::http_client();
    println!(
        "emsg refresh benchmark: {n} connections, concurrency {concurrencies:?}, {runs} runs each, \
         {} cores, {} tokio workers, pool {pool}, endpoint delay {} ms; load average {}",
        common::cores(),
        common::env_number("EMSG_BENCH_WORKERS", 2),
        common::env_number("EMSG_BENCH_ENDPOINT_DELAY_MS", 0),
        common::load_average()
    );

    let mut rows = Vec::new();
    for backend in common::backends() {
        let fixture = Fixture::new(backend, &endpoint);
        fixture.seed(n, emsg_store::now() + 3600);
        let engine = fixture.engine(pool);
        let mut bare_tokens: Vec<String> = (0..n).map(|i| format!("seed-rt-{i}")).collect();
        // Warm-up (not counted): pools, keep-alive connections, page caches.
        let warm = concurrencies.iter().copied().max().unwrap_or(8);
        engine_pass(&rt, &fixture, &endpoint, &engine, n, warm);
        rt.block_on(common::bare_refresh_all(
            &http,
            &endpoint.token_url(),
            &mut bare_tokens,
            warm,
        ));
        for &c in &concurrencies {
            let mut row = Row {
                backend: label(backend),
                concurrency: c,
                engine: Vec::new(),
                bare: Vec::new(),
                engine_cpu: Vec::new(),
                bare_cpu: Vec::new(),
            };
            for _ in 0..runs {
                let (elapsed, cpu) = engine_pass(&rt, &fixture, &endpoint, &engine, n, c);
                row.engine.push(elapsed);
                row.engine_cpu.extend(cpu);
                let (issued, cpu) = (endpoint.issued(), CpuTimes::now());
                row.bare.push(rt.block_on(common::bare_refresh_all(
                    &http,
                    &endpoint.token_url(),
                    &mut bare_tokens,
                    c,
                )));
                row.bare_cpu.extend(
                    cpu.zip(CpuTimes::now())
                        .map(|(cpu, end)| end.since(&cpu, n)),
                );
                assert_eq!(endpoint.issued() - issued, n as u64, "bare: N pairs issued");
            }
            rows.push(row);
        }
    }

    println!();
    println!(
        "{:<9} {:>3} | {:>24} | {:>24} | {:>12}",
        "backend", "C", "engine refreshes/s", "bare oauth2 refreshes/s", "engine/bare"
    );
    println!(
        "{:<9} {:>3} | {:>8}{:>8}{:>8} | {:>8}{:>8}{:>8} | {:>12}",
        "", "", "median", "min", "max", "median", "min", "max", "time"
    );
    let mut verdicts = Vec::new();
    for row in &rows {
        let engine: Vec<f64> = row.engine.iter().map(|d| rate(n, *d)).collect();
        let bare: Vec<f64> = row.bare.iter().map(|d| rate(n, *d)).collect();
        let (em, emin, emax) = stats(&engine);
        let (bm, bmin, bmax) = stats(&bare);
        // Time ratio of the medians: engine time / bare time = bare rate / engine rate.
        let ratio = bm / em;
        println!(
            "{:<9} {:>3} | {em:>8.0}{emin:>8.0}{emax:>8.0} | {bm:>8.0}{bmin:>8.0}{bmax:>8.0} | {ratio:>12.2}",
            row.backend, row.concurrency
        );
        verdicts.push((row.backend, row.concurrency, ratio));
    }
    println!(
        "(refreshes per second = {n} / run time; engine/bare = median engine time / median bare time)"
    );
    println!();
    println!(
        "{:<9} {:>3} | {:>22} | {:>22}",
        "backend", "C", "engine: busy, CPU/ref.", "bare: busy, CPU/ref."
    );
    for row in &rows {
        let share = |cpu: &[(f64, f64)]| {
            if cpu.is_empty() {
                return "?".to_owned();
            }
            let busy: Vec<f64> = cpu.iter().map(|(busy, _)| busy * 100.0).collect();
            let micros: Vec<f64> = cpu.iter().map(|(_, us)| *us).collect();
            format!(
                "{:>3.0} %, {:>6.0} µs",
                common::median(&busy),
                common::median(&micros)
            )
        };
        println!(
            "{:<9} {:>3} | {:>22} | {:>22}",
            row.backend,
            row.concurrency,
            share(&row.engine_cpu),
            share(&row.bare_cpu)
        );
    }
    println!(
        "(the whole machine's CPU during the runs, medians: the share of all cores busy, and busy \
         CPU time per refresh, the bench, PostgreSQL and the endpoint together, from /proc/stat)"
    );
    for (backend, c, ratio) in verdicts {
        let verdict = if ratio <= TARGET_RATIO {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "target: engine at most {:.0}% slower than bare oauth2 ({backend}, C={c}): {verdict} ({ratio:.2})",
            (TARGET_RATIO - 1.0) * 100.0
        );
    }
    println!("load average at the end: {}", common::load_average());

    if std::env::var("EMSG_BENCH_PHASES").is_ok_and(|v| !v.is_empty() && v != "0") {
        for backend in common::backends() {
            phases(&rt, backend, &endpoint, &http, pool);
        }
    }
}

/// Refreshes every connection once through the engine, `c` at a time; checks the outcome.
/// Answers the time taken and the machine's CPU meanwhile (see [`CpuTimes::since`]).
fn engine_pass(
    rt: &tokio::runtime::Runtime,
    fixture: &Fixture,
    endpoint: &TokenEndpoint,
    engine: &Engine,
    n: usize,
    c: usize,
) -> (Duration, Option<(f64, f64)>) {
    let before = fixture.tokens();
    let issued = endpoint.issued();
    let cpu = CpuTimes::now();
    let elapsed = rt.block_on(engine_refresh_all(engine, n, c));
    let cpu = cpu
        .zip(CpuTimes::now())
        .map(|(cpu, end)| end.since(&cpu, n));
    assert_eq!(
        endpoint.issued() - issued,
        n as u64,
        "engine: N pairs issued"
    );
    common::assert_all_new(&before, &fixture.tokens(), "engine");
    (elapsed, cpu)
}

async fn engine_refresh_all(engine: &Engine, n: usize, c: usize) -> Duration {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..c.max(1) {
        let (engine, next) = (engine.clone(), Arc::clone(&next));
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let view = engine
                    .refresh_access_token(
                        common::APP,
                        Some(&company(i)),
                        emsg_engine::Acting::Operator { for_user: None },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("engine refresh {i} failed: {e}"));
                assert_eq!(view.status, Status::Connected);
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("an engine refresh task");
    }
    started.elapsed()
}

/// The parts of one engine refresh timed one by one, sequentially (C = 1), `k` times each, in
/// microseconds: what `refresh_access_token` does per call, through the public store API.
fn phases(
    rt: &tokio::runtime::Runtime,
    backend: Backend,
    endpoint: &TokenEndpoint,
    http: &reqwest::Client,
    pool_size: u32,
) {
    use emsg_seal::Secret;
    use emsg_store::audit::{self, Actor, AuditAction, NewAuditEntry};
    use emsg_store::connections::{self, ConnectionKey, Tokens};
    use emsg_store::web_applications as records;

    let refresh_entry = |app: WebApplicationId, connection: ConnectionId| {
        NewAuditEntry::ok(
            Actor::System,
            AuditAction::Refresh,
            "access token refreshed",
        )
        .on_web_application(app)
        .on_connection(connection)
    };
    let k = common::env_number("EMSG_BENCH_PHASE_ITERATIONS", 500).max(1);
    let fixture = Fixture::new(backend, endpoint);
    fixture.seed(k, emsg_store::now() + 3600);
    let engine = fixture.engine(pool_size);
    let mut lines: Vec<(String, f64, f64)> = Vec::new(); // name, µs each, times per refresh
    let per = |d: Duration| d.as_secs_f64() * 1e6 / k as f64;

    // Whole refreshes first, sequentially.
    engine_pass(rt, &fixture, endpoint, &engine, k, 1);
    let (whole, _) = engine_pass(rt, &fixture, endpoint, &engine, k, 1);
    lines.push(("engine refresh_access_token, C=1".into(), per(whole), 0.0));
    let mut tokens: Vec<String> = fixture.tokens().into_iter().map(|(_, rt)| rt).collect();
    let bare = rt.block_on(common::bare_refresh_all(
        http,
        &endpoint.token_url(),
        &mut tokens,
        1,
    ));
    lines.push(("bare oauth2 refresh, C=1".into(), per(bare), 1.0));

    // Engine::db: spawn_blocking + pool checkout (r2d2 tests each checkout with a ping).
    let pool = emsg_store::db::pool(fixture.db.url(), pool_size).expect("pool");
    let started = Instant::now();
    rt.block_on(async {
        for _ in 0..k {
            let pool = pool.clone();
            tokio::task::spawn_blocking(move || drop(pool.get().expect("checkout")))
                .await
                .expect("blocking task");
        }
    });
    lines.push((
        "spawn_blocking + pool.get".into(),
        per(started.elapsed()),
        3.0,
    ));
    let started = Instant::now();
    for _ in 0..k {
        drop(pool.get().expect("checkout"));
    }
    lines.push((
        "  of which pool.get alone".into(),
        per(started.elapsed()),
        0.0,
    ));

    let mut conn = fixture.connect();
    let ring = Arc::clone(&fixture.ring);
    let app = records::get(&mut conn, common::APP).expect("record");
    let ids: Vec<ConnectionId> = connections::list(&mut conn, None)
        .expect("list")
        .iter()
        .map(|c| c.id)
        .collect();
    let mut time = |name: &str, count: f64, f: &mut dyn FnMut(usize)| {
        let started = Instant::now();
        for i in 0..k {
            f(i);
        }
        lines.push((name.to_owned(), per(started.elapsed()), count));
    };
    time("SELECT 1 (a round trip)", 0.0, &mut |_| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT 1").expect("select 1");
    });
    time("records::get", 1.0, &mut |_| {
        records::get(&mut conn, common::APP).expect("get");
    });
    time("connections::find", 1.0, &mut |i| {
        let key = ConnectionKey::new(app.id, &company(i), false, None);
        connections::find(&mut conn, &key).expect("find");
    });
    time("connections::by_id", 0.0, &mut |i| {
        connections::by_id(&mut conn, ids[i]).expect("by_id");
    });
    // Is the cost preparing the statement or reading the row? The same query on the backend's
    // own diesel connection (not the MultiConnection enum), and a one-column query.
    {
        use diesel::prelude::*;
        use emsg_store::connections::Connection;
        use emsg_store::db::DbConnection;
        use emsg_store::schema::connections as table;
        let mut raw = fixture.connect();
        time("  by_id on the inner diesel connection", 0.0, &mut |i| {
            let _: Connection = match &mut raw {
                DbConnection::Sqlite(c) => table::table
                    .find(ids[i])
                    .select(Connection::as_select())
                    .first(c),
                DbConnection::Postgres(c) => table::table
                    .find(ids[i])
                    .select(Connection::as_select())
                    .first(c),
            }
            .expect("row");
        });
        time("  SELECT id only, by id", 0.0, &mut |i| {
            let _: i64 = table::table
                .find(ids[i])
                .select(table::id)
                .first(&mut conn)
                .expect("row");
        });
    }
    time("users::get (view: user, authorized_by)", 2.0, &mut |_| {
        emsg_store::users::get(&mut conn, fixture.user).expect("user");
    });
    let owner = "bench-node";
    let now = emsg_store::now();
    time(
        "connections::take_lease (UPDATE … RETURNING)",
        1.0,
        &mut |i| {
            assert!(
                connections::take_lease(&mut conn, ids[i], owner, now, now + 180)
                    .expect("lease")
                    .is_some()
            );
        },
    );
    let versions: Vec<i64> = ids
        .iter()
        .map(|id| {
            connections::by_id(&mut conn, *id)
                .expect("by_id")
                .expect("row")
                .version
        })
        .collect();
    time(
        "connections::finish_refresh (1 transaction, seals 2)",
        1.0,
        &mut |i| {
            let tokens = Tokens {
                access_token: Secret::new(format!("phase-at-{i}")),
                refresh_token: Some(Secret::new(format!("phase-rt-{i}"))),
                token_type: "Bearer".to_owned(),
                granted_scope: None,
                access_expires_at: Some(now + 3600),
            };
            let entry = refresh_entry(app.id, ids[i]);
            let stored = connections::finish_refresh(
                &mut conn,
                &ring,
                ids[i],
                versions[i],
                owner,
                &tokens,
                now,
                &entry,
            )
            .expect("store");
            assert!(matches!(stored, (connections::Refreshed::Stored(_), true)));
        },
    );
    time("  of which audit::record (INSERT) alone", 0.0, &mut |i| {
        audit::record(&mut conn, &[refresh_entry(app.id, ids[i])]).expect("audit");
    });
    time("records::by_id", 0.0, &mut |_| {
        records::by_id(&mut conn, app.id).expect("by_id");
    });
    time("open client secret + refresh token", 1.0, &mut |i| {
        let c = connections::by_id(&mut conn, ids[i])
            .expect("by_id")
            .expect("row");
        std::hint::black_box(app.client_secret(&ring).expect("open"));
        std::hint::black_box(c.refresh_token(&ring).expect("open"));
    });
    // The last line includes a by_id; take it out.
    let by_id = lines
        .iter()
        .find(|l| l.0 == "connections::by_id")
        .map_or(0.0, |l| l.1);
    if let Some(last) = lines.last_mut() {
        last.1 = (last.1 - by_id).max(0.0);
    }

    let estimate: f64 = lines.iter().skip(1).map(|(_, us, count)| us * count).sum();
    println!();
    println!(
        "phases on {} (sequential, {k} times each; microseconds per call; x = calls per engine refresh):",
        label(backend)
    );
    for (name, us, count) in &lines {
        let times = if *count > 0.0 {
            format!("x{count:.0}")
        } else {
            String::new()
        };
        println!("  {name:<44} {us:>9.1} {times:>4}");
    }
    println!(
        "  {:<44} {estimate:>9.1}",
        "sum of the parts x calls (bare HTTP + store)"
    );
}
