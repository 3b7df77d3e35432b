//! Write transactions and the gateway. On SQLite a transaction that reads and then writes holds
//! the write lock from its start, so another process's write in between makes it wait instead of
//! failing at once; on both backends a write transaction commits or rolls back as a whole, and
//! inside a caller's transaction it is part of it. Work waiting at the gateway waits as a future,
//! and work given up there never runs.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diesel::Connection as _;
use diesel::connection::InstrumentationEvent;
use diesel::prelude::*;
use emsg_seal::{KeyRing, Secret};
use emsg_store::StoreError;
use emsg_store::connections::{self, Authorization, ConnectionKey, Tokens};
use emsg_store::db::{DbConnection, Gateway, GatewayError, write_transaction};
use emsg_store::key_ring_nodes::{self, Beat};
use emsg_store::schema::key_ring_nodes as nodes;
use emsg_store::users::{self, Role};
use emsg_store::web_applications as records;
use emsg_test_db::{Backend, TestDb, on_both_backends};

use common::*;

fn tokens(access: &str) -> Tokens {
    Tokens {
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new("refresh")),
        token_type: "Bearer".to_owned(),
        granted_scope: None,
        access_expires_at: Some(emsg_store::now() + 3600),
    }
}

/// A record with one stored authorization: its key, and who authorized it.
fn authorized(conn: &mut DbConnection, ring: &KeyRing) -> (ConnectionKey, Authorization) {
    import_text(
        conn,
        ring,
        &file(&[record("Writer App", "s3cret-writer")]),
        &no_env,
    );
    let app = records::get(conn, "Writer App").unwrap();
    let fiona = users::add(
        conn,
        "fiona",
        Role::Finance,
        &Secret::new("a long enough password"),
    )
    .unwrap();
    let key = ConnectionKey::new(app.id, "default", false, None);
    let authorization = Authorization {
        authorized_by: Some(emsg_store::UserId::new(fiona.id)),
        authorized_at: emsg_store::now(),
        authorization_expires_at: None,
        taxpayer_id: None,
    };
    connections::store_authorization(
        conn,
        ring,
        &key,
        &tokens("access-0"),
        &authorization,
        emsg_store::now(),
    )
    .unwrap();
    (key, authorization)
}

/// What another process's key watcher writes every few seconds.
fn heartbeat(conn: &mut DbConnection) -> emsg_store::Result<()> {
    key_ring_nodes::beat(
        conn,
        &Beat {
            node_id: "other-process",
            description: "emsg serve on another host",
            sealing_key_id: "k1".to_owned(),
            known_key_ids: vec!["k1".to_owned()],
            poll_ms: 10_000,
        },
    )
}

fn heartbeats(conn: &mut DbConnection) -> i64 {
    nodes::table.count().get_result(conn).unwrap()
}

/// Whether another process's write finished before this connection went on, and its thread.
type Interleaved = Arc<Mutex<Option<(bool, JoinHandle<emsg_store::Result<()>>)>>>;

/// Makes `other` write right after `conn`'s first read, and gives it `wait` to finish before
/// `conn` goes on.
fn write_from_elsewhere_after_the_first_read(
    conn: &mut DbConnection,
    other: DbConnection,
    wait: Duration,
) -> Interleaved {
    let seen: Interleaved = Arc::default();
    let record = Arc::clone(&seen);
    let mut other = Some(other);
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        let InstrumentationEvent::FinishQuery { query, .. } = event else {
            return;
        };
        if !query.to_string().trim_start().starts_with("SELECT") {
            return;
        }
        let Some(mut other) = other.take() else {
            return;
        };
        let (done, finished) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let result = heartbeat(&mut other);
            let _ = done.send(());
            result
        });
        let in_time = finished.recv_timeout(wait).is_ok();
        *record.lock().unwrap() = Some((in_time, thread));
    });
    seen
}

#[test]
fn a_new_authorization_waits_for_another_processs_write_to_sqlite_instead_of_failing() {
    let db = TestDb::new(Backend::Sqlite);
    let ring = ring();
    let mut conn = db.connect();
    let (key, authorization) = authorized(&mut conn, &ring);
    // The key watcher of another `serve` writes after this transaction read the connection
    // and before it writes the new pair (the moment a deferred transaction cannot survive).
    let interleaved = write_from_elsewhere_after_the_first_read(
        &mut conn,
        db.connect(),
        Duration::from_millis(500),
    );

    let stored = connections::store_authorization(
        &mut conn,
        &ring,
        &key,
        &tokens("access-1"),
        &authorization,
        emsg_store::now(),
    )
    .expect("the new authorization is stored, not refused because another process wrote");

    assert_eq!(
        stored.access_token(&ring).unwrap().unwrap().expose(),
        "access-1"
    );
    let (in_time, other) = interleaved
        .lock()
        .unwrap()
        .take()
        .expect("the other process wrote during the transaction");
    assert!(
        !in_time,
        "the other process's write waited for this transaction to commit"
    );
    other
        .join()
        .unwrap()
        .expect("the other process's write went through after it");
    assert_eq!(heartbeats(&mut db.connect()), 1);
}

/// Why the store's transactions begin IMMEDIATE: this is what the one above meets with a plain
/// (deferred) transaction, and what `busy_timeout` cannot help with.
#[test]
fn a_deferred_sqlite_transaction_fails_at_once_when_another_process_wrote_after_its_first_read() {
    let db = TestDb::new(Backend::Sqlite);
    let ring = ring();
    let mut conn = db.connect();
    let (key, _) = authorized(&mut conn, &ring);
    let mut other = db.connect();
    let started = Instant::now();

    let result = conn.transaction(|conn| {
        let row = connections::find(conn, &key)?.unwrap();
        heartbeat(&mut other)?;
        connections::disconnect(conn, row.id, emsg_store::now())
    });

    let Err(StoreError::Database(error)) = result else {
        panic!("expected SQLITE_BUSY, got {result:?}")
    };
    assert!(error.to_string().contains("locked"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it failed at once, without waiting"
    );
}

on_both_backends! {
    fn a_write_transaction_commits_on_ok_and_leaves_nothing_on_err(db) {
        let mut conn = db.connect();
        let committed: emsg_store::Result<()> = write_transaction(&mut conn, heartbeat);
        committed.unwrap();
        assert_eq!(heartbeats(&mut conn), 1);
        let refused: emsg_store::Result<()> = write_transaction(&mut conn, |conn| {
            diesel::delete(nodes::table).execute(conn)?;
            Err(StoreError::Invalid("changed my mind".to_owned()))
        });
        assert!(matches!(refused, Err(StoreError::Invalid(_))));
        assert_eq!(heartbeats(&mut conn), 1, "the delete was rolled back");
    }

    fn a_write_transaction_inside_a_callers_transaction_is_part_of_it(db) {
        let mut conn = db.connect();
        let outer: emsg_store::Result<()> = conn.transaction(|conn| {
            write_transaction(conn, heartbeat)?;
            // An inner failure undoes only the inner work.
            let inner: emsg_store::Result<()> = write_transaction(conn, |conn| {
                diesel::delete(nodes::table).execute(conn)?;
                Err(StoreError::Invalid("inner".to_owned()))
            });
            assert!(inner.is_err());
            assert_eq!(heartbeats(conn), 1);
            Err(StoreError::Invalid("outer".to_owned()))
        });
        assert!(outer.is_err());
        assert_eq!(heartbeats(&mut conn), 0, "the caller's rollback took the inner commit with it");
    }

    fn work_given_up_while_it_waits_for_a_connection_never_runs(db) {
        // One connection: the second piece of work waits for the first. Each clone shares the
        // gate, as the engine, the messenger and the web face of one process do.
        let gateway = Gateway::new(emsg_store::db::pool(db.url(), 1).unwrap());
        let ran = Arc::new(AtomicBool::new(false));
        runtime().block_on(async {
            let busy = gateway.clone();
            let first = tokio::spawn(async move {
                busy.run(|conn| {
                    std::thread::sleep(Duration::from_millis(300));
                    Ok::<_, Failure>(heartbeats(conn))
                })
                .await
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            let flag = Arc::clone(&ran);
            let waiting = gateway.run(move |_| {
                flag.store(true, Ordering::SeqCst);
                Ok::<_, Failure>(())
            });
            // A request whose client went away: its work is dropped while it waits.
            assert!(tokio::time::timeout(Duration::from_millis(50), waiting).await.is_err());
            first.await.unwrap().unwrap();
            // Time enough for a blocking thread parked in the pool to get the connection.
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(gateway.run(|conn| Ok::<_, Failure>(heartbeats(conn))).await.unwrap(), 0);
        });
        assert!(!ran.load(Ordering::SeqCst), "the given-up work never ran");
    }

    fn the_gateways_write_commits_on_ok_and_rolls_back_on_err(db) {
        let gateway = Gateway::new(emsg_store::db::pool(db.url(), 2).unwrap());
        runtime().block_on(async {
            gateway.write(|conn| Ok::<_, Failure>(heartbeat(conn)?)).await.unwrap();
            let refused = gateway
                .write(|conn| {
                    diesel::delete(nodes::table).execute(conn).map_err(StoreError::from)?;
                    Err::<(), _>(Failure::Refused)
                })
                .await;
            assert!(matches!(refused, Err(Failure::Refused)));
            let count = gateway.run(|conn| Ok::<_, Failure>(heartbeats(conn))).await.unwrap();
            assert_eq!(count, 1);
        });
    }
}

/// A caller's own error type, as the engine, the messenger and the web face each have one.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("refused")]
    Refused,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
