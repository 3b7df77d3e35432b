//! valid_token benchmark: lookups per second of `engine.valid_token(app, None, Some(user))` for a
//! fresh token, many concurrent callers on a multi-thread runtime, on SQLite and PostgreSQL.
//!
//! Run: `cargo bench -p emsg-engine --bench valid_token`
//!
//! Two paths, each run `EMSG_BENCH_RUNS` times for `EMSG_BENCH_SECONDS`:
//! - cached:   every caller asks for the same user; the engine's token cache (entries served for
//!   up to 1 s) answers nearly every call — the normal case.
//! - uncached: every call names a user the process has never asked for. The record is not
//!   user-specific, so all calls resolve to the same connection (user 0), but the cache is keyed
//!   by the requesting user and so always misses: each call reads the record and the connection
//!   from the database and opens the sealed token, as on a cache miss. No source change needed.
//!
//! - cached, refreshes elsewhere: as cached, while 4 tasks refresh 4 *other* connections
//!   (`refresh_access_token`) in a loop, as a sweep does, on a runtime of their own (1 worker)
//!   so that the callers cannot starve them. An audited action drops only its own connection's
//!   cache entry (until 2026-11-23 it cleared the whole cache), so this shows what senders of
//!   other connections get during a sweep.
//!
//! Correctness: every call must return the connection's access token (compared in full).
//!
//! Environment (besides those in `common`):
//! - `EMSG_BENCH_CALLERS` concurrent caller tasks (default 64)
//! - `EMSG_BENCH_SECONDS` seconds per run (default 3)
#![allow(clippy::unwrap_used)]

mod common;

use emsg_engine::Acting;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use common::{Fixture, TokenEndpoint, label, stats};
use emsg_engine::Engine;

const TARGET_SQLITE_CACHED: f64 = 50_000.0;

fn main() {
    let callers = common::env_number("EMSG_BENCH_CALLERS", 64).max(1);
    let seconds = common::env_number("EMSG_BENCH_SECONDS", 3).max(1);
    let runs = common::runs();
    let pool = common::pool_size();
    let workers = common::env_number("EMSG_BENCH_WORKERS", 2);
    let rt = common::runtime();
    let side = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("the refreshers' runtime");
    let endpoint = TokenEndpoint::start();
    println!(
        "emsg valid_token benchmark: {callers} callers, {seconds} s per run, {runs} runs each, \
         {} cores, {workers} tokio workers, pool {pool}; load average {}",
        common::cores(),
        common::load_average()
    );

    let mut rows: Vec<(&'static str, &'static str, Vec<f64>)> = Vec::new();
    for backend in common::backends() {
        let fixture = Fixture::new(backend, &endpoint);
        // The engine's default company, as `valid_token(app, None, user)` asks for.
        fixture.seed_companies(
            &["default", "other-0", "other-1", "other-2", "other-3"].map(str::to_owned),
            emsg_store::now() + 3600,
        );
        let expected = fixture.tokens()[0].0.clone();
        let engine = fixture.engine(pool);
        let next_user = Arc::new(AtomicI64::new(1_000_000));
        // Warm-up (not counted).
        rt.block_on(run(
            &engine,
            &expected,
            callers,
            Duration::from_millis(300),
            None,
        ));
        let mut cached = Vec::new();
        let mut uncached = Vec::new();
        let mut busy = Vec::new();
        let mut busy_refreshes = Vec::new();
        for _ in 0..runs {
            let d = Duration::from_secs(u64::try_from(seconds).unwrap_or(3));
            cached.push(rt.block_on(run(&engine, &expected, callers, d, None)));
            let stop = Arc::new(AtomicBool::new(false));
            let refreshers: Vec<_> = (0..4)
                .map(|i| {
                    let (engine, stop) = (engine.clone(), Arc::clone(&stop));
                    side.spawn(async move {
                        let company = format!("other-{i}");
                        let mut count = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            engine
                                .refresh_access_token(
                                    common::APP,
                                    Some(&company),
                                    Acting::Operator { for_user: None },
                                )
                                .await
                                .unwrap_or_else(|e| panic!("refresh of {company} failed: {e}"));
                            count += 1;
                        }
                        count
                    })
                })
                .collect();
            let rate = rt.block_on(run(&engine, &expected, callers, d, None));
            stop.store(true, Ordering::Relaxed);
            let count: u64 = refreshers
                .into_iter()
                .map(|h| side.block_on(h).expect("a refresher"))
                .sum();
            let refreshes = count as f64 / d.as_secs_f64();
            busy.push(rate);
            busy_refreshes.push(refreshes);
            uncached.push(rt.block_on(run(
                &engine,
                &expected,
                callers,
                d,
                Some(Arc::clone(&next_user)),
            )));
        }
        rows.push((label(backend), "cached (same user)", cached));
        rows.push((label(backend), "uncached (a new user every call)", uncached));
        rows.push((label(backend), "cached, refreshes elsewhere", busy));
        rows.push((
            label(backend),
            "  (refreshes/s meanwhile, 4 tasks)",
            busy_refreshes,
        ));
    }

    println!();
    println!(
        "{:<9} {:<34} {:>10} {:>10} {:>10}",
        "backend", "path", "median/s", "min/s", "max/s"
    );
    for (backend, path, rates) in &rows {
        let (median, min, max) = stats(rates);
        println!("{backend:<9} {path:<34} {median:>10.0} {min:>10.0} {max:>10.0}");
    }
    println!("(valid_token calls per second over all {callers} callers)");
    if let Some((_, _, rates)) = rows
        .iter()
        .find(|(b, p, _)| *b == "sqlite" && p.starts_with("cached"))
    {
        let median = stats(rates).0;
        let verdict = if median >= TARGET_SQLITE_CACHED {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "target: at least {TARGET_SQLITE_CACHED:.0} lookups/s on SQLite (cached): {verdict} ({median:.0})"
        );
    }
    println!("load average at the end: {}", common::load_average());
}

/// `callers` tasks call `valid_token` until `length` has passed; returns calls per second.
/// With `fresh_users`, every call names a new user (the uncached path).
async fn run(
    engine: &Engine,
    expected: &str,
    callers: usize,
    length: Duration,
    fresh_users: Option<Arc<AtomicI64>>,
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let expected: Arc<str> = Arc::from(expected);
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for _ in 0..callers {
        let (engine, stop, expected, fresh) = (
            engine.clone(),
            Arc::clone(&stop),
            Arc::clone(&expected),
            fresh_users.clone(),
        );
        tasks.spawn(async move {
            let mut calls = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let user = fresh
                    .as_ref()
                    .map_or(1, |next| next.fetch_add(1, Ordering::Relaxed));
                let token = engine
                    .valid_token(common::APP, None, Some(emsg_store::UserId::new(user)))
                    .await
                    .unwrap_or_else(|e| panic!("valid_token failed: {e}"));
                assert_eq!(token.token.expose(), &*expected, "the connection's token");
                calls += 1;
                // A cache hit never yields; let the stop flag and the other tasks in.
                if calls.is_multiple_of(64) {
                    tokio::task::yield_now().await;
                }
            }
            calls
        });
    }
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0u64;
    while let Some(joined) = tasks.join_next().await {
        total += joined.expect("a caller task");
    }
    total as f64 / started.elapsed().as_secs_f64()
}
