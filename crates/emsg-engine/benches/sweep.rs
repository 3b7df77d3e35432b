//! Sweep benchmark: N due connections refreshed by one `Engine::sweep` (the default
//! `SchedulerConfig` but concurrency C), against a bare `oauth2` refresh loop at the same
//! concurrency, with the process's peak memory, on SQLite and PostgreSQL.
//!
//! Run: `cargo bench -p emsg-engine --bench sweep`
//!
//! Connections are inserted directly with `emsg_store::connections::store_authorization`; before
//! every sweep all access tokens are set to expire in 60 s, inside the refresh margin.
//!
//! `sweep` runs C workers that pull from the due list; each worker waits a random 0–199 ms once,
//! before its first refresh (the spread of the start), so the jitter costs a sweep at most
//! 0.2 s. A third row refreshes the same N connections through `refresh_access_token` at
//! concurrency C (plus a record lookup and a view per call), for comparison.
//!
//! Every sweep runs in a fresh child process (this bench binary again, told so by
//! `EMSG_BENCH_SWEEP_CHILD`) on the parent's database, master key and token endpoint: an engine
//! with the same runtime and pool, one `Engine::sweep`, its time and report. That keeps the
//! memory figure clean: the child's VmHWM (/proc/self/status) just before the sweep (runtime,
//! pool and engine built; peak reset to the current RSS with `5` to /proc/self/clear_refs) and
//! just after it (the process's peak during the sweep). In one long-lived process the figure
//! would include what the bench's other loops left in glibc's per-thread arenas.
//!
//! Environment (besides those in `common`):
//! - `EMSG_BENCH_CONNECTIONS` due connections (default 10000)
//! - `EMSG_BENCH_CONCURRENCY` the sweep's concurrency (default 32)
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Fixture, TokenEndpoint, label, stats};
use emsg_engine::{Engine, SchedulerConfig};

const TARGET_PEAK_MIB: f64 = 100.0;

struct Row {
    backend: &'static str,
    sweep: Vec<Duration>,
    direct: Vec<Duration>,
    bare: Vec<Duration>,
    hwm_before: Vec<f64>,
    hwm_after: Vec<f64>,
}

fn main() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    let n = common::env_number("EMSG_BENCH_CONNECTIONS", 10_000).max(1);
    let c = common::env_number("EMSG_BENCH_CONCURRENCY", 32).max(1);
    let runs = common::runs();
    let pool = common::pool_size();
    let rt = common::runtime();
    let endpoint = TokenEndpoint::start();
    let http = common::http_client();
    println!(
        "emsg sweep benchmark: {n} due connections, concurrency {c}, {runs} runs each, {} cores, \
         {} tokio workers, pool {pool}, endpoint delay {} ms; load average {}",
        common::cores(),
        common::env_number("EMSG_BENCH_WORKERS", 2),
        common::env_number("EMSG_BENCH_ENDPOINT_DELAY_MS", 0),
        common::load_average()
    );

    let mut rows = Vec::new();
    for backend in common::backends() {
        let fixture = Fixture::new(backend, &endpoint);
        let seeded = Instant::now();
        fixture.seed(n, emsg_store::now() + 60);
        println!(
            "{}: {n} connections inserted in {:.1} s",
            label(backend),
            seeded.elapsed().as_secs_f64()
        );
        let engine = fixture.engine(pool);
        let mut bare_tokens: Vec<String> = (0..n).map(|i| format!("seed-rt-{i}")).collect();
        let mut row = Row {
            backend: label(backend),
            sweep: Vec::new(),
            direct: Vec::new(),
            bare: Vec::new(),
            hwm_before: Vec::new(),
            hwm_after: Vec::new(),
        };
        for _ in 0..runs {
            // The sweep.
            fixture.expire_all(emsg_store::now() + 60);
            let before = fixture.tokens();
            let issued = endpoint.issued();
            let child = sweep_in_child(&fixture, c);
            row.sweep.push(child.elapsed);
            row.hwm_before.push(child.hwm_before);
            row.hwm_after.push(child.hwm_after);
            if !child.reset {
                println!(
                    "note: /proc/self/clear_refs refused; VmHWM before is the child's peak so far"
                );
            }
            assert_eq!(
                (child.due, child.refreshed, child.failed),
                (n, n, 0),
                "every connection due and refreshed"
            );
            assert_eq!(
                endpoint.issued() - issued,
                n as u64,
                "sweep: N pairs issued"
            );
            common::assert_all_new(&before, &fixture.tokens(), "sweep");

            // The same work without the jitter.
            let before = fixture.tokens();
            let issued = endpoint.issued();
            let started = Instant::now();
            rt.block_on(refresh_all(&engine, n, c));
            row.direct.push(started.elapsed());
            assert_eq!(
                endpoint.issued() - issued,
                n as u64,
                "direct: N pairs issued"
            );
            common::assert_all_new(&before, &fixture.tokens(), "direct");

            // The bare loop.
            let issued = endpoint.issued();
            row.bare.push(rt.block_on(common::bare_refresh_all(
                &http,
                &endpoint.token_url(),
                &mut bare_tokens,
                c,
            )));
            assert_eq!(endpoint.issued() - issued, n as u64, "bare: N pairs issued");
        }
        rows.push(row);
    }

    println!();
    println!(
        "{:<9} {:<40} {:>8} {:>8} {:>8} {:>9} {:>11}",
        "backend", "measurement", "median", "min", "max", "refresh/s", "time/bare"
    );
    let mut verdicts = Vec::new();
    for row in &rows {
        let bare_median = stats(&seconds(&row.bare)).0;
        let line = |name: String, times: &[Duration]| {
            let (median, min, max) = stats(&seconds(times));
            println!(
                "{:<9} {:<40} {median:>8.2} {min:>8.2} {max:>8.2} {:>9.0} {:>11.2}",
                row.backend,
                name,
                n as f64 / median,
                median / bare_median
            );
        };
        line(format!("Engine::sweep (C={c} workers)"), &row.sweep);
        line(format!("refresh_access_token loop (C={c})"), &row.direct);
        line(format!("bare oauth2 loop (C={c})"), &row.bare);
        let (before, bmin, bmax) = stats(&row.hwm_before);
        let (after, amin, amax) = stats(&row.hwm_after);
        println!(
            "{:<9} {:<40} {before:>8.1} {bmin:>8.1} {bmax:>8.1}",
            row.backend, "VmHWM before sweep (MiB, child process)"
        );
        println!(
            "{:<9} {:<40} {after:>8.1} {amin:>8.1} {amax:>8.1}",
            row.backend, "VmHWM after sweep (MiB, child's peak)"
        );
        verdicts.push((row.backend, after, stats(&seconds(&row.sweep)).0));
    }
    println!(
        "(seconds per run of {n} refreshes; refresh/s = {n} / median; time/bare = median / median of the bare loop)"
    );
    println!("jitter: each of the {c} workers waits 0-199 ms once before its first refresh");
    for (backend, peak, sweep) in verdicts {
        let verdict = if peak < TARGET_PEAK_MIB {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "target: peak memory during a sweep under {TARGET_PEAK_MIB:.0} MB ({backend}): {verdict} \
             ({peak:.1} MiB); sweep median {sweep:.2} s"
        );
    }
    println!("load average at the end: {}", common::load_average());
}

fn seconds(times: &[Duration]) -> Vec<f64> {
    times.iter().map(Duration::as_secs_f64).collect()
}

async fn refresh_all(engine: &Engine, n: usize, c: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..c {
        let (engine, next) = (engine.clone(), Arc::clone(&next));
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                engine
                    .refresh_access_token(
                        common::APP,
                        Some(&common::company(i)),
                        emsg_engine::Acting::Operator { for_user: None },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("refresh {i} failed: {e}"));
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("a refresh task");
    }
}

const CHILD: &str = "EMSG_BENCH_SWEEP_CHILD";

struct ChildResult {
    elapsed: Duration,
    due: usize,
    refreshed: usize,
    failed: usize,
    hwm_before: f64,
    hwm_after: f64,
    reset: bool,
}

/// Runs one sweep in a fresh process of this binary and reads its one-line answer.
fn sweep_in_child(fixture: &Fixture, concurrency: usize) -> ChildResult {
    let exe = std::env::current_exe().expect("the bench's own path");
    let output = std::process::Command::new(exe)
        .arg("--bench")
        .env(CHILD, "1")
        .env("EMSG_BENCH_SWEEP_DB", fixture.db.url_string())
        .env("EMSG_BENCH_SWEEP_KEY", fixture.key.expose())
        .env("EMSG_BENCH_CONCURRENCY", concurrency.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run the sweep child");
    assert!(
        output.status.success(),
        "the sweep child failed: {}",
        output.status
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("sweep-child "))
        .unwrap_or_else(|| panic!("no answer from the sweep child: {text}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    let num = |i: usize| -> f64 { f[i].parse().expect("a number from the child") };
    ChildResult {
        elapsed: Duration::from_secs_f64(num(0)),
        due: num(1) as usize,
        refreshed: num(2) as usize,
        failed: num(3) as usize,
        hwm_before: num(4),
        hwm_after: num(5),
        reset: f[6] == "1",
    }
}

/// The child: the engine as `emsg serve` builds it on the parent's database, one sweep.
fn child() {
    let url = std::env::var("EMSG_BENCH_SWEEP_DB").expect("EMSG_BENCH_SWEEP_DB");
    let key = std::env::var("EMSG_BENCH_SWEEP_KEY").expect("EMSG_BENCH_SWEEP_KEY");
    let url = emsg_store::db::DatabaseUrl::parse(&url).expect("the database URL");
    let ring =
        emsg_seal::KeyRing::new(emsg_seal::MasterKey::from_base64(&key).expect("the master key"));
    let config = SchedulerConfig {
        concurrency: common::env_number("EMSG_BENCH_CONCURRENCY", 32).max(1),
        ..SchedulerConfig::default()
    };
    let rt = common::runtime();
    let pool = emsg_store::db::pool(&url, common::pool_size()).expect("the pool");
    let engine = Engine::new(
        pool,
        Arc::new(ring),
        emsg_engine::EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..Default::default()
        },
    )
    .expect("the engine");
    let reset = common::reset_peak();
    let before = common::proc_status_mib("VmHWM:").unwrap_or(f64::NAN);
    let started = Instant::now();
    let report = rt
        .block_on(engine.sweep(&config, None, &Arc::new(Mutex::new(HashSet::new()))))
        .unwrap_or_else(|e| panic!("the sweep failed: {e}"));
    let elapsed = started.elapsed();
    let after = common::proc_status_mib("VmHWM:").unwrap_or(f64::NAN);
    println!(
        "sweep-child {} {} {} {} {before:.1} {after:.1} {}",
        elapsed.as_secs_f64(),
        report.due,
        report.refreshed,
        report.failed,
        u8::from(reset)
    );
}
