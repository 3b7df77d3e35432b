//! The refresh lease and its fence: one owner at a time, the row under the lease in the same
//! statement, and a node whose lease ran out can never overwrite the pair of the node that took
//! over. The closing transaction stores, releases and audits together.
#![allow(clippy::unwrap_used)]

mod common;

use emsg_seal::Secret;
use emsg_store::ConnectionId;
use emsg_store::audit::{self, Actor, AuditAction, NewAuditEntry};
use emsg_store::connections::{self, Authorization, ConnectionKey, Refreshed, Tokens};
use emsg_store::web_applications as records;
use emsg_test_db::on_both_backends;

use common::*;

fn tokens(access: &str, refresh: &str) -> Tokens {
    Tokens {
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new(refresh)),
        token_type: "Bearer".to_owned(),
        granted_scope: None,
        access_expires_at: Some(emsg_store::now() + 3600),
    }
}

fn entry(connection_id: ConnectionId) -> NewAuditEntry {
    NewAuditEntry::ok(
        Actor::System,
        AuditAction::Refresh,
        "access token refreshed",
    )
    .on_connection(connection_id)
}

/// A connection holding `access-0`/`refresh-0`; its id.
fn connected(conn: &mut emsg_store::db::DbConnection, ring: &emsg_seal::KeyRing) -> ConnectionId {
    import_text(
        conn,
        ring,
        &file(&[record("Lease App", "s3cret-lease")]),
        &no_env,
    );
    let app = records::get(conn, "Lease App").unwrap();
    let key = ConnectionKey::new(app.id, "default", false, None);
    let fiona = emsg_store::users::add(
        conn,
        "fiona",
        emsg_store::users::Role::Finance,
        &Secret::new("a long enough password"),
    )
    .unwrap();
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
        &tokens("access-0", "refresh-0"),
        &authorization,
        emsg_store::now(),
    )
    .unwrap()
    .id
}

on_both_backends! {
    fn one_owner_holds_the_lease_and_gets_the_row_under_it(db) {
        let mut conn = db.connect();
        let ring = ring();
        let id = connected(&mut conn, &ring);
        let now = emsg_store::now();
        let row = connections::take_lease(&mut conn, id, "node-a", now, now + 60).unwrap().unwrap();
        assert_eq!(row.lease_owner.as_deref(), Some("node-a"));
        assert_eq!(row.access_token(&ring).unwrap().unwrap().expose(), "access-0");
        assert!(connections::take_lease(&mut conn, id, "node-b", now, now + 60).unwrap().is_none());
        // The owner may extend it.
        assert!(connections::take_lease(&mut conn, id, "node-a", now, now + 120).unwrap().is_some());
    }

    fn a_node_whose_lease_ran_out_cannot_overwrite_the_pair_of_the_node_that_took_over(db) {
        let mut conn = db.connect();
        let ring = ring();
        let id = connected(&mut conn, &ring);
        let now = emsg_store::now();
        let seen_by_a = connections::take_lease(&mut conn, id, "node-a", now - 100, now - 10).unwrap().unwrap();
        // A's lease has run out: B takes over, refreshes and stores.
        let seen_by_b = connections::take_lease(&mut conn, id, "node-b", now, now + 60).unwrap().unwrap();
        let (stored, audited) = connections::finish_refresh(&mut conn, &ring, id, seen_by_b.version, "node-b", &tokens("access-b", "refresh-b"), now, &entry(id)).unwrap();
        assert!(audited);
        let Refreshed::Stored(after_b) = stored else { panic!("B's pair must be stored") };
        assert_eq!(after_b.lease_owner, None, "stored and released in one go");
        assert_eq!(after_b.version, seen_by_b.version + 1);

        // A comes back late: fenced out, nothing written, B's pair stays.
        let (late, _) = connections::finish_refresh(&mut conn, &ring, id, seen_by_a.version, "node-a", &tokens("access-a", "refresh-a"), now, &entry(id)).unwrap();
        let Refreshed::Superseded(Some(current)) = late else { panic!("A must be fenced out") };
        assert_eq!(current.access_token(&ring).unwrap().unwrap().expose(), "access-b");
        assert_eq!(current.refresh_token(&ring).unwrap().unwrap().expose(), "refresh-b");
        assert_eq!(current.version, after_b.version);

        // Even holding a fresh lease, a stale version is fenced out.
        connections::take_lease(&mut conn, id, "node-a", now, now + 60).unwrap().unwrap();
        let (stale, _) = connections::finish_refresh(&mut conn, &ring, id, seen_by_a.version, "node-a", &tokens("access-a", "refresh-a"), now, &entry(id)).unwrap();
        assert!(matches!(stale, Refreshed::Superseded(Some(_))));
        let row = connections::by_id(&mut conn, id).unwrap().unwrap();
        assert_eq!(row.access_token(&ring).unwrap().unwrap().expose(), "access-b");
        assert_eq!(row.lease_owner, None, "the fenced-out node released its lease");
    }

    fn the_pair_the_release_and_the_entry_are_stored_together(db) {
        let mut conn = db.connect();
        let ring = ring();
        let id = connected(&mut conn, &ring);
        let now = emsg_store::now();
        let seen = connections::take_lease(&mut conn, id, "node-a", now, now + 60).unwrap().unwrap();
        let before = audit::recent(&mut conn, 1000).unwrap().len();
        // Without a new refresh token or scope the stored ones stay.
        let mut pair = tokens("access-1", "unused");
        pair.refresh_token = None;
        let refreshed_at = now - 7;
        let (stored, audited) = connections::finish_refresh(&mut conn, &ring, id, seen.version, "node-a", &pair, refreshed_at, &entry(id)).unwrap();
        assert!(audited);
        let Refreshed::Stored(after) = stored else { panic!("the pair must be stored") };
        assert_eq!(after.access_token(&ring).unwrap().unwrap().expose(), "access-1");
        assert_eq!(after.refresh_token(&ring).unwrap().unwrap().expose(), "refresh-0", "kept");
        assert_eq!((after.version, after.lease_owner.clone(), after.lease_until), (seen.version + 1, None, None));
        assert_eq!(after.last_refreshed_at, Some(refreshed_at));
        let entries = audit::recent(&mut conn, 1000).unwrap();
        assert_eq!(entries.len(), before + 1);
        let refresh = entries.iter().find(|e| e.action == "refresh").unwrap();
        assert_eq!(refresh.connection_id, Some(id.get()));
        if db.backend() == emsg_test_db::Backend::Postgres {
            // One statement: the entry carries the refresh's own time.
            assert_eq!(refresh.at, refreshed_at);
        }
        let row = connections::by_id(&mut conn, id).unwrap().unwrap();
        assert_eq!(row.version, after.version);

        // A scope the provider omits is the one granted before, with or without a new refresh
        // token (both ways of storing agree).
        let mut scoped = tokens("access-2", "refresh-2");
        scoped.granted_scope = Some("read write".to_owned());
        let seen = connections::take_lease(&mut conn, id, "node-a", now, now + 60).unwrap().unwrap();
        connections::finish_refresh(&mut conn, &ring, id, seen.version, "node-a", &scoped, now, &entry(id)).unwrap();
        let seen = connections::take_lease(&mut conn, id, "node-a", now, now + 60).unwrap().unwrap();
        let (stored, _) = connections::finish_refresh(&mut conn, &ring, id, seen.version, "node-a", &tokens("access-3", "refresh-3"), now, &entry(id)).unwrap();
        let Refreshed::Stored(after) = stored else { panic!("the pair must be stored") };
        assert_eq!(after.granted_scope.as_deref(), Some("read write"));
        assert_eq!(after.refresh_token(&ring).unwrap().unwrap().expose(), "refresh-3");
    }

    fn the_statements_of_a_refresh_are_prepared_once_per_database_connection(db) {
        use diesel::Connection as _;
        use diesel::connection::InstrumentationEvent;
        use std::sync::{Arc, Mutex};
        let mut conn = db.connect();
        let ring = ring();
        let id = connected(&mut conn, &ring);
        let prepared = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen_by_hook = Arc::clone(&prepared);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                seen_by_hook.lock().unwrap().push(sql.to_owned());
            }
        });
        for i in 0..3 {
            let now = emsg_store::now();
            let seen = connections::take_lease(&mut conn, id, "node-a", now, now + 60).unwrap().unwrap();
            let pair = tokens(&format!("access-{i}"), &format!("refresh-{i}"));
            let (stored, _) = connections::finish_refresh(&mut conn, &ring, id, seen.version, "node-a", &pair, now, &entry(id)).unwrap();
            assert!(matches!(stored, Refreshed::Stored(_)));
        }
        let count = |start: &str| {
            let prepared = prepared.lock().unwrap();
            // SQLite's identifiers are quoted with backticks.
            let matching = prepared.iter().filter(|sql| sql.replace('`', "\"").starts_with(start));
            (matching.count(), format!("{prepared:#?}"))
        };
        let lease = "UPDATE \"connections\" SET \"lease_owner\"";
        // diesel alone would send both to be parsed and planned on every refresh.
        let (leases, all) = count(lease);
        assert_eq!(leases, 1, "{all}");
        let postgres = db.backend() == emsg_test_db::Backend::Postgres;
        if postgres {
            let (ends, all) = count("WITH stored AS");
            assert_eq!(ends, 1, "{all}");
        }
        // Inside a transaction the lease on PostgreSQL is another statement (no `set_config`),
        // prepared apart: no shape runs another's SQL.
        conn.transaction(|conn| {
            let now = emsg_store::now();
            let leased = connections::take_lease(conn, id, "node-a", now, now + 60)?;
            assert!(leased.is_some());
            connections::release_lease(conn, id, "node-a")
        })
        .unwrap();
        assert_eq!(connections::by_id(&mut conn, id).unwrap().unwrap().lease_owner, None);
        let (leases, all) = count(lease);
        assert_eq!(leases, if postgres { 2 } else { 1 }, "{all}");
    }

    fn an_audit_entry_leaves_its_web_application_unlocked(db) {
        use diesel::prelude::*;
        let mut conn = db.connect();
        let ring = ring();
        let id = connected(&mut conn, &ring);
        let app = records::get(&mut conn, "Lease App").unwrap();
        let mut other = db.connect();
        conn.transaction(|conn| {
            audit::record(conn, &[entry(id).on_web_application(app.id)])?;
            if db.backend() == emsg_test_db::Backend::Postgres {
                // Before, the entry's key locked the record's row (FOR KEY SHARE) until the
                // transaction ended: every refresh of any of its connections queued on it.
                diesel::sql_query("SELECT id FROM web_applications WHERE id = $1 FOR UPDATE NOWAIT")
                    .bind::<diesel::sql_types::BigInt, _>(app.id)
                    .execute(&mut other)
                    .expect("no lock held on the record's row");
            }
            Ok::<_, emsg_store::StoreError>(())
        })
        .unwrap();
        let entries = audit::recent(&mut conn, 10).unwrap();
        assert!(entries.iter().any(|e| e.web_application_id == Some(app.id.get())));
    }

    fn an_audit_entry_that_cannot_be_written_does_not_cost_the_new_pair(db) {
        let mut conn = db.connect();
        let ring = ring();
        let id = connected(&mut conn, &ring);
        let now = emsg_store::now();
        let seen = connections::take_lease(&mut conn, id, "node-a", now, now + 60).unwrap().unwrap();
        let before = audit::recent(&mut conn, 1000).unwrap().len();
        // A user that does not exist: the entry's foreign key fails.
        let broken = NewAuditEntry { actor: Actor::User { id: 987_654 }, ..entry(id) };
        let (stored, audited) = connections::finish_refresh(&mut conn, &ring, id, seen.version, "node-a", &tokens("access-1", "refresh-1"), now, &broken).unwrap();
        assert!(!audited);
        let Refreshed::Stored(after) = stored else { panic!("the pair must be stored") };
        assert_eq!(after.access_token(&ring).unwrap().unwrap().expose(), "access-1");
        assert_eq!(after.lease_owner, None);
        assert_eq!(audit::recent(&mut conn, 1000).unwrap().len(), before);
    }
}
