//! Faults met by the background refresh (the scheduler inside `emsg serve`), on SQLite and
//! PostgreSQL: an outage leaves the connection `refresh_failing` with its token in use and heals
//! by itself; a dead grant needs re-authorization, is not retried in a loop, and leaves the other
//! connections alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use diesel::prelude::*;
use emsg_engine::SchedulerConfig;
use emsg_store::ConnectionId;
use emsg_store::connections::Status;
use emsg_store::schema::connections as connections_table;
use emsg_test_db::on_both_backends;
use emsg_testkit::mock::MockResponse;
use tokio::sync::watch;

use support::*;

fn now() -> i64 {
    emsg_store::now()
}

/// Sweeps every 100 ms (the default is 30 s) with the default margins and back-off.
fn often() -> SchedulerConfig {
    SchedulerConfig {
        interval: Duration::from_millis(100),
        shutdown_grace: Duration::from_secs(5),
        ..SchedulerConfig::default()
    }
}

/// Waits until `check` holds, for at most `limit`.
async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    check()
}

/// Makes the back-off pause of a failing connection look spent (its last failure an hour ago).
fn back_off_spent(env: &Env, connection_id: ConnectionId) {
    let mut conn = env.pool.get().unwrap();
    diesel::update(connections_table::table.find(connection_id.get()))
        .set(connections_table::updated_at.eq(now() - 3600))
        .execute(&mut *conn)
        .unwrap();
}

on_both_backends! {
    fn a_provider_outage_leaves_the_connection_refresh_failing_with_its_token_and_it_heals_by_itself(db) {
        run(db, async |env: &Env| {
            let vat = env.connect(VAT, VAT_TOKEN, env.alice, "access-1", Some("refresh-1"), Some(3600)).await;
            // Due (inside the 5-minute margin) but still valid for two minutes.
            env.set_access_expiry(vat.connection_id, Some(now() + 120));
            env.mock.on("POST", VAT_TOKEN).respond(MockResponse::text(503, "busy")).mount();
            let (stop, stopped) = watch::channel(false);
            let scheduler = tokio::spawn({
                let engine = env.engine.clone();
                async move { engine.run_scheduler(often(), stopped).await }
            });

            assert!(
                eventually(Duration::from_secs(10), || env
                    .connection(VAT, env.alice)
                    .is_some_and(|c| c.status() == Status::RefreshFailing))
                .await,
                "the outage shows as refresh_failing"
            );
            let failed_requests = env.refreshes(VAT_TOKEN).len();
            assert_eq!(failed_requests, 3, "one sweep: `attempts` requests");
            assert_eq!(
                env.stored_tokens(VAT, env.alice),
                (Some("access-1".to_owned()), Some("refresh-1".to_owned())),
                "the pair is kept"
            );
            let token = env.ok(env.engine.valid_token(VAT, None, Some(env.alice)).await);
            assert_eq!(token.token.expose(), "access-1", "senders keep using the current token");

            // Many sweeps later, the back-off (30 s after the first failure) holds the provider off.
            tokio::time::sleep(Duration::from_millis(800)).await;
            assert_eq!(env.refreshes(VAT_TOKEN).len(), failed_requests, "no retry loop");

            // The provider recovers; once the back-off pause has passed, the next sweep heals it.
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(MockResponse::token("access-2", Some("refresh-2"), Some(3600)))
                .mount();
            back_off_spent(env, vat.connection_id);
            assert!(
                eventually(Duration::from_secs(10), || env
                    .connection(VAT, env.alice)
                    .is_some_and(|c| c.status() == Status::Connected))
                .await,
                "the connection recovers by itself"
            );
            let healed = env.connection(VAT, env.alice).unwrap();
            assert_eq!(healed.last_error, None);
            assert_eq!(healed.refresh_failures, 0);
            assert_eq!(
                env.stored_tokens(VAT, env.alice),
                (Some("access-2".to_owned()), Some("refresh-2".to_owned()))
            );

            let _ = stop.send(true);
            tokio::time::timeout(Duration::from_secs(10), scheduler).await??;
            Ok(())
        })
    }

    fn a_revoked_grant_met_by_the_scheduler_needs_reauthorization_once_and_other_connections_go_on(db) {
        run(db, async |env: &Env| {
            let vat = env.connect(VAT, VAT_TOKEN, env.alice, "access-1", Some("refresh-1"), Some(3600)).await;
            let other = env.connect(OTHER, OTHER_TOKEN, env.alice, "other-access-1", Some("other-refresh-1"), Some(3600)).await;
            env.set_access_expiry(vat.connection_id, Some(now() + 120));
            env.set_access_expiry(other.connection_id, Some(now() + 120));
            let other_before = env.connection(OTHER, env.alice).unwrap().version;
            env.mock
                .on("POST", VAT_TOKEN)
                .respond(MockResponse::oauth_error(400, "invalid_grant", "Bad refresh token"))
                .mount();
            env.mock
                .on("POST", OTHER_TOKEN)
                .respond(MockResponse::token("access-2", Some("refresh-2"), Some(3600)))
                .mount();
            let (stop, stopped) = watch::channel(false);
            let scheduler = tokio::spawn({
                let engine = env.engine.clone();
                async move { engine.run_scheduler(often(), stopped).await }
            });

            assert!(
                eventually(Duration::from_secs(10), || {
                    env.connection(VAT, env.alice)
                        .is_some_and(|c| c.status() == Status::ReauthorizationRequired)
                        && env.connection(OTHER, env.alice).is_some_and(|c| c.version > other_before)
                })
                .await,
                "the dead grant is marked, the other connection refreshed"
            );
            // Many sweeps, even with any back-off spent: the dead grant is never sent again.
            back_off_spent(env, vat.connection_id);
            tokio::time::sleep(Duration::from_millis(800)).await;
            assert_eq!(env.refreshes(VAT_TOKEN).len(), 1, "invalid_grant is not retried");
            let dead = env.connection(VAT, env.alice).unwrap();
            assert!(
                dead.last_error.as_deref().unwrap_or_default().contains("Get authorization code"),
                "{:?}",
                dead.last_error
            );
            assert_eq!(
                env.stored_tokens(VAT, env.alice).0.as_deref(),
                Some("access-1"),
                "nothing is deleted"
            );
            let entries = emsg_store::audit::recent(&mut env.pool.get().unwrap(), 100).unwrap();
            let failures: Vec<_> = entries
                .iter()
                .filter(|e| e.action == "refresh" && e.connection_id == Some(vat.connection_id.get()))
                .collect();
            assert_eq!(failures.len(), 1, "one audit entry for the dead grant");
            assert_eq!(failures[0].outcome, "error");
            assert_eq!(failures[0].error_code.as_deref(), Some("invalid_grant"));

            let healthy = env.connection(OTHER, env.alice).unwrap();
            assert_eq!(healthy.status(), Status::Connected);
            assert_eq!(
                env.stored_tokens(OTHER, env.alice),
                (Some("access-2".to_owned()), Some("refresh-2".to_owned()))
            );
            assert_eq!(env.refreshes(OTHER_TOKEN).len(), 1, "one refresh, then fresh");

            let _ = stop.send(true);
            tokio::time::timeout(Duration::from_secs(10), scheduler).await??;
            Ok(())
        })
    }
}
