//! Key rotation over every sealed column, with other processes running: they learn the new key
//! from the database, the rotation waits for them, and a value changed meanwhile is never
//! overwritten with its old self.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use emsg_seal::{Aad, KeyRing, MasterKey, Secret, SharedKeyRing};
use emsg_store::connections::{self, Authorization, ConnectionKey, Tokens};
use emsg_store::db::DbConnection;
use emsg_store::key_watch::KeyWatch;
use emsg_store::master_key::{self, KeySource};
use emsg_store::pending::{self, NewPending};
use emsg_store::rotation::{self, RotationOptions};
use emsg_store::sealed_columns::{SealedColumn, sealed_columns};
use emsg_store::users::{self, Role};
use emsg_store::web_applications as records;
use emsg_store::{ConnectionId, UserId, key_ring, key_ring_nodes};
use emsg_test_db::on_both_backends;

const ACCESS: &str = "access-token-rotation-test";
const REFRESH: &str = "refresh-token-rotation-test";
const VERIFIER: &str = "pkce-verifier-rotation-test";
const CODE: &str = "authorization-code-rotation-test";

/// A record with a secret, a connected connection and a pending authorization with a code.
struct World {
    connection: ConnectionId,
    pending: i64,
}

fn world(conn: &mut DbConnection, ring: &KeyRing) -> World {
    master_key::verify(conn, ring).unwrap();
    import_text(
        conn,
        ring,
        &file(&[record("alpha", "alpha-secret")]),
        &no_env,
    );
    let record = records::get(conn, "alpha").unwrap();
    let user = users::add(
        conn,
        "fiona",
        Role::Finance,
        &Secret::new("a long enough password 1"),
    )
    .unwrap();
    let connection = connections::store_authorization(
        conn,
        ring,
        &ConnectionKey::new(record.id, "default", false, Some(UserId::new(user.id))),
        &Tokens {
            access_token: Secret::new(ACCESS),
            refresh_token: Some(Secret::new(REFRESH)),
            token_type: "bearer".to_owned(),
            granted_scope: Some("read write".to_owned()),
            access_expires_at: Some(emsg_store::now() + 3600),
        },
        &Authorization {
            authorized_by: Some(UserId::new(user.id)),
            authorized_at: emsg_store::now(),
            authorization_expires_at: None,
            taxpayer_id: None,
        },
        emsg_store::now(),
    )
    .unwrap();
    let now = emsg_store::now();
    let pending = pending::insert(
        conn,
        ring,
        &NewPending {
            state_hash: "state-hash",
            web_application_id: record.id,
            company: "default",
            user_id: UserId::new(user.id),
            scope: "read write",
            redirect_uri: "http://127.0.0.1:8080/oauth/callback",
            verifier: Some(&Secret::new(VERIFIER)),
            nonce: None,
            taxpayer_id: None,
            created_at: now,
            expires_at: now + 600,
        },
    )
    .unwrap();
    assert!(pending::record_code(conn, ring, pending, &Secret::new(CODE), now).unwrap());
    World {
        connection: connection.id,
        pending,
    }
}

/// Every value of the world opens with `ring` and is what was stored.
fn assert_world_opens(conn: &mut DbConnection, ring: &KeyRing, world: &World) {
    let connection = connections::by_id(conn, world.connection).unwrap().unwrap();
    assert_eq!(
        connection.access_token(ring).unwrap().unwrap().expose(),
        ACCESS
    );
    assert_eq!(
        connection.refresh_token(ring).unwrap().unwrap().expose(),
        REFRESH
    );
    let flow = pending::by_state_hash(conn, "state-hash").unwrap().unwrap();
    assert_eq!(flow.id, world.pending);
    assert_eq!(flow.verifier(ring).unwrap().unwrap().expose(), VERIFIER);
    assert_eq!(flow.code(ring).unwrap().unwrap().expose(), CODE);
    let record = records::get(conn, "alpha").unwrap();
    assert_eq!(
        record.client_secret(ring).unwrap().unwrap().expose(),
        "alpha-secret"
    );
}

fn quick() -> RotationOptions {
    RotationOptions {
        wait: Duration::from_secs(20),
        ..RotationOptions::default()
    }
}

on_both_backends! {
    fn the_sealed_columns_are_read_from_the_schema_and_include_every_token_code_and_verifier(db) {
        let mut conn = db.connect();
        let found: Vec<(String, String)> = sealed_columns(&mut conn).unwrap().into_iter().map(|c| (c.table, c.column)).collect();
        for expected in [
            ("connections", "access_token_sealed"),
            ("connections", "refresh_token_sealed"),
            ("master_key_check", "sealed"),
            ("pending_authorizations", "code_sealed"),
            ("pending_authorizations", "verifier_sealed"),
            ("web_applications", "client_secret_sealed"),
        ] {
            assert!(found.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{expected:?} missing from {found:?}");
        }
    }

    fn rotation_reseals_tokens_verifiers_and_codes_and_only_the_new_key_opens_them_afterwards(db) {
        let mut conn = db.connect();
        let old = ring();
        let world = world(&mut conn, &old);
        let new = MasterKey::generate();
        let done = rotation::rotate(&mut conn, &SharedKeyRing::new(old.clone()), new.clone(), &quick()).unwrap();
        assert_eq!(done.values, 6, "the check value, a client secret, two tokens, a verifier and a code");
        assert!(done.unopenable.is_empty());
        let only_new = KeyRing::new(new);
        master_key::verify(&mut conn, &only_new).unwrap();
        assert_world_opens(&mut conn, &only_new, &world);
        assert!(master_key::verify(&mut conn, &old).is_err(), "the old key is retired");
        assert!(key_ring::unfinished(&mut conn).unwrap().is_none(), "no key is left in the database");
        let counts = rotation::values_per_key(&mut conn, &only_new).unwrap();
        assert_eq!(counts, vec![(Some(only_new.current_id().to_string()), 6)]);
    }

    fn a_sealed_column_added_by_a_later_migration_is_rotated_too(db) {
        let mut conn = db.connect();
        let old = ring();
        let world = world(&mut conn, &old);
        let blob = match conn { DbConnection::Postgres(_) => "BYTEA", DbConnection::Sqlite(_) => "BLOB" };
        diesel::RunQueryDsl::execute(diesel::sql_query(format!("ALTER TABLE connections ADD COLUMN id_token_sealed {blob}")), &mut conn).unwrap();
        let column = SealedColumn { table: "connections".to_owned(), column: "id_token_sealed".to_owned() };
        let aad = Aad::new("connections", "id_token_sealed", world.connection.get());
        let value = old.seal(b"an id token", &aad);
        // The column is empty: fill it the way a store function would.
        let (first, second) = match conn { DbConnection::Postgres(_) => ("$1", "$2"), DbConnection::Sqlite(_) => ("?", "?") };
        diesel::RunQueryDsl::execute(
            diesel::sql_query(format!("UPDATE connections SET id_token_sealed = {first} WHERE id = {second}"))
                .bind::<diesel::sql_types::Binary, _>(&value)
                .bind::<diesel::sql_types::BigInt, _>(world.connection),
            &mut conn,
        ).unwrap();
        let new = MasterKey::generate();
        let done = rotation::rotate(&mut conn, &SharedKeyRing::new(old), new.clone(), &quick()).unwrap();
        assert_eq!(done.values, 7);
        let stored = column.load_one(&mut conn, world.connection.get()).unwrap().unwrap();
        assert_eq!(&*KeyRing::new(new).open(&stored, &aad).unwrap(), b"an id token");
    }

    fn a_value_replaced_after_it_was_read_is_never_overwritten_with_the_old_one(db) {
        let mut conn = db.connect();
        let ring = ring();
        let world = world(&mut conn, &ring);
        let column = SealedColumn { table: "connections".to_owned(), column: "refresh_token_sealed".to_owned() };
        let read = column.load_one(&mut conn, world.connection.get()).unwrap().unwrap();
        // A refresh stores a new pair between the rotation's read and its write.
        let aad = Aad::new("connections", "refresh_token_sealed", world.connection.get());
        let refreshed = ring.seal(b"the refreshed token", &aad);
        assert!(column.replace(&mut conn, world.connection.get(), &read, &refreshed).unwrap());
        let stale = ring.seal(REFRESH.as_bytes(), &aad);
        assert!(!column.replace(&mut conn, world.connection.get(), &read, &stale).unwrap(), "the stale write is refused");
        let now = column.load_one(&mut conn, world.connection.get()).unwrap().unwrap();
        assert_eq!(&*ring.open(&now, &aad).unwrap(), b"the refreshed token");
    }

    fn a_running_process_learns_the_new_key_before_it_seals_and_the_rotation_waits_for_it(db) {
        let mut conn = db.connect();
        let old = ring();
        let world = world(&mut conn, &old);
        // The other process: its own ring (the old key only) and its key watcher.
        let theirs = SharedKeyRing::new(old.clone());
        let watch = KeyWatch::start(db.url(), theirs.clone(), "test node".to_owned(), Duration::from_millis(50)).unwrap();
        assert_eq!(key_ring_nodes::live(&mut conn).unwrap().len(), 1);
        let new = MasterKey::generate();
        rotation::rotate(&mut conn, &SharedKeyRing::new(old.clone()), new.clone(), &quick()).unwrap();
        let now_theirs = theirs.load();
        assert_eq!(now_theirs.current_id(), new.id(), "the running process seals with the new key");
        // What it seals from now on opens with the new key alone.
        let aad = Aad::new("connections", "access_token_sealed", world.connection.get());
        let sealed = now_theirs.seal(b"x", &aad);
        assert!(KeyRing::new(new).open(&sealed, &aad).is_ok());
        drop(watch);
        assert!(key_ring_nodes::live(&mut conn).unwrap().is_empty(), "a stopped process deregisters");
    }

    fn a_process_that_does_not_follow_stops_the_rotation_by_name_and_nothing_becomes_unreadable(db) {
        let mut conn = db.connect();
        let path = db.dir().join("emsg.key");
        let source = KeySource::File(path.clone());
        let (old, _) = master_key::open_ring(&mut conn, &source).unwrap();
        let world = world(&mut conn, &old);
        key_ring_nodes::beat(&mut conn, &key_ring_nodes::Beat {
            node_id: "stuck-1",
            description: "emsg serve (pid 4242)",
            sealing_key_id: old.current_id().to_string(),
            known_key_ids: vec![old.current_id().to_string()],
            poll_ms: 60_000,
        }).unwrap();
        let shared = SharedKeyRing::new(old.clone());
        let short = RotationOptions { wait: Duration::from_millis(300), ..RotationOptions::default() };
        let error = master_key::rotate_to_new_key(&mut conn, &shared, &source, None, &short).unwrap_err().to_string();
        assert!(error.contains("emsg serve (pid 4242)") && error.contains("emsg keys rotate"), "{error}");
        // Nothing moved yet, and both keys open everything.
        assert_world_opens(&mut conn, &old, &world);
        let (reopened, _) = master_key::open_ring(&mut conn, &source).unwrap();
        assert_world_opens(&mut conn, &reopened, &world);
        key_ring_nodes::remove(&mut conn, "stuck-1").unwrap();
        let report = master_key::rotate_to_new_key(&mut conn, &SharedKeyRing::new(reopened), &source, None, &quick()).unwrap();
        assert!(report.finished_earlier.is_some());
        let (last, _) = master_key::open_ring(&mut conn, &source).unwrap();
        assert_eq!(last.key_ids().len(), 1, "after the rotation only its key remains");
        assert_world_opens(&mut conn, &last, &world);
    }

    fn values_sealed_under_a_lost_key_are_named_and_a_previous_key_file_opens_them_again(db) {
        let mut conn = db.connect();
        let lost = ring();
        let world = world(&mut conn, &lost);
        // What the old `keys rotate` did: the check value and the secret moved, the tokens did not.
        let current = MasterKey::generate();
        let moved = lost.clone().with_current(current.clone());
        for column in sealed_columns(&mut conn).unwrap() {
            if column.table == "master_key_check" || column.table == "web_applications" {
                for row in column.load_page(&mut conn, 0, 100).unwrap() {
                    let aad = Aad::new(&column.table, &column.column, row.id);
                    let plain = lost.open(&row.value, &aad).unwrap();
                    assert!(column.replace(&mut conn, row.id, &row.value, &moved.seal(&plain, &aad)).unwrap());
                }
            }
        }
        diesel::RunQueryDsl::execute(
            diesel::update(emsg_store::schema::master_key_check::table)
                .set(diesel::ExpressionMethods::eq(emsg_store::schema::master_key_check::key_id, current.id().to_string())),
            &mut conn,
        ).unwrap();
        let only_current = KeyRing::new(current.clone());
        let unopenable = rotation::unopenable(&mut conn, &only_current).unwrap();
        let mut places: Vec<String> = unopenable.iter().map(|u| format!("{}.{}", u.table, u.column)).collect();
        places.sort();
        assert_eq!(places, ["connections.access_token_sealed", "connections.refresh_token_sealed", "pending_authorizations.code_sealed", "pending_authorizations.verifier_sealed"]);
        assert!(unopenable.iter().all(|u| u.key_id.as_deref() == Some(&*lost.current_id().to_string())));
        // The way back: the old key as a previous key, then a rotation seals everything anew.
        let with_previous = only_current.with_extra(lost.get(lost.current_id()).unwrap().clone());
        let next = MasterKey::generate();
        let done = rotation::rotate(&mut conn, &SharedKeyRing::new(with_previous), next.clone(), &quick()).unwrap();
        assert!(done.unopenable.is_empty());
        let only_next = KeyRing::new(next);
        assert!(rotation::unopenable(&mut conn, &only_next).unwrap().is_empty());
        assert_world_opens(&mut conn, &only_next, &world);
    }
}
