//! Sealed secrets in the database: wrong key, tampering, swapped rows and key rotation.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use diesel::prelude::*;
use emsg_seal::{MasterKey, SharedKeyRing, key_file};
use emsg_store::StoreError;
use emsg_store::master_key::{self, KeySource};
use emsg_store::rotation::{self, RotationOptions};
use emsg_store::schema::web_applications;
use emsg_store::sealed_columns::sealed_columns;
use emsg_store::web_applications as records;
use emsg_test_db::on_both_backends;

/// The key of a key file, as EMSG_MASTER_KEY would carry it.
fn ring_base64(path: &std::path::Path) -> String {
    key_file::load(path)
        .unwrap()
        .to_base64()
        .expose()
        .to_owned()
}

fn two_records_with_secrets(conn: &mut emsg_store::db::DbConnection, ring: &emsg_seal::KeyRing) {
    import_text(
        conn,
        ring,
        &file(&[
            record("alpha", "alpha-secret"),
            record("beta", "beta-secret"),
        ]),
        &no_env,
    );
}

on_both_backends! {
    fn a_start_with_another_key_is_refused_before_anything_is_read(db) {
        let mut conn = db.connect();
        let ring = ring();
        master_key::verify(&mut conn, &ring).unwrap();
        two_records_with_secrets(&mut conn, &ring);
        let error = master_key::verify(&mut conn, &common::ring()).unwrap_err();
        assert!(matches!(error, StoreError::WrongMasterKey { .. }), "{error}");
        assert!(error.to_string().contains("EMSG_MASTER_KEY"));
    }

    fn a_flipped_byte_in_a_sealed_secret_is_an_error_not_garbage(db) {
        let mut conn = db.connect();
        let ring = ring();
        two_records_with_secrets(&mut conn, &ring);
        let alpha = records::get(&mut conn, "alpha").unwrap();
        let mut sealed: Vec<u8> = web_applications::table.find(alpha.id).select(web_applications::client_secret_sealed).first::<Option<Vec<u8>>>(&mut conn).unwrap().unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 0x01;
        diesel::update(web_applications::table.find(alpha.id)).set(web_applications::client_secret_sealed.eq(sealed)).execute(&mut conn).unwrap();
        let error = records::get(&mut conn, "alpha").unwrap().client_secret(&ring).unwrap_err();
        assert!(error.to_string().contains("web_applications") && error.to_string().contains("client_secret_sealed"), "{error}");
    }

    fn a_secret_copied_to_another_row_fails_to_open(db) {
        let mut conn = db.connect();
        let ring = ring();
        two_records_with_secrets(&mut conn, &ring);
        let (alpha, beta) = (records::get(&mut conn, "alpha").unwrap(), records::get(&mut conn, "beta").unwrap());
        let sealed: Option<Vec<u8>> = web_applications::table.find(alpha.id).select(web_applications::client_secret_sealed).first(&mut conn).unwrap();
        diesel::update(web_applications::table.find(beta.id)).set(web_applications::client_secret_sealed.eq(sealed)).execute(&mut conn).unwrap();
        assert!(records::get(&mut conn, "beta").unwrap().client_secret(&ring).is_err());
        assert_eq!(records::get(&mut conn, "alpha").unwrap().client_secret(&ring).unwrap().unwrap().expose(), "alpha-secret");
    }

    fn rotation_reseals_every_sealed_column_under_the_new_key(db) {
        let mut conn = db.connect();
        let source = KeySource::File(db.dir().join("emsg.key"));
        let (ring, events) = master_key::open_ring(&mut conn, &source).unwrap();
        assert!(events.created_key_file.is_some());
        two_records_with_secrets(&mut conn, &ring);
        let shared = SharedKeyRing::new(ring.clone());
        let rotation = master_key::rotate_to_new_key(&mut conn, &shared, &source, None, &RotationOptions::default()).unwrap().rotation;
        assert_eq!(rotation.values, 3, "the check value and two client secrets");
        let new_key = key_file::load(&db.dir().join("emsg.key")).unwrap();
        assert_eq!(new_key.id().to_string(), rotation.new_key_id);
        assert!(!key_file::pending_path(&db.dir().join("emsg.key")).exists());
        let (reopened, _) = master_key::open_ring(&mut conn, &source).unwrap();
        for column in sealed_columns(&mut conn).unwrap() {
            let sql = format!("SELECT id, {} AS value FROM {} WHERE {} IS NOT NULL", column.column, column.table, column.column);
            #[derive(QueryableByName)]
            struct Row { #[diesel(sql_type = diesel::sql_types::BigInt)] id: i64, #[diesel(sql_type = diesel::sql_types::Binary)] value: Vec<u8> }
            for row in diesel::sql_query(sql).load::<Row>(&mut conn).unwrap() {
                assert_eq!(reopened.key_id_of(&row.value).unwrap(), new_key.id(), "{}.{} row {}", column.table, column.column, row.id);
            }
        }
        assert_eq!(records::get(&mut conn, "beta").unwrap().client_secret(&reopened).unwrap().unwrap().expose(), "beta-secret");
        assert!(master_key::verify(&mut conn, &ring).is_err(), "the old key alone no longer opens the database");
    }

    fn an_interrupted_rotation_leaves_every_value_readable_and_the_next_rotation_finishes_it(db) {
        let mut conn = db.connect();
        let path = db.dir().join("emsg.key");
        let source = KeySource::File(path.clone());
        let (ring, _) = master_key::open_ring(&mut conn, &source).unwrap();
        two_records_with_secrets(&mut conn, &ring);
        let shared = SharedKeyRing::new(ring.clone());
        let interrupted = RotationOptions { fail_after: Some(2), ..RotationOptions::default() };
        let error = master_key::rotate_to_new_key(&mut conn, &shared, &source, None, &interrupted).unwrap_err();
        assert!(error.to_string().contains("interrupted"));
        // The old key alone still opens everything: the new one is in the database, wrapped.
        let (with_old, _) = master_key::open_ring(&mut conn, &KeySource::Env(ring_base64(&path))).unwrap();
        assert_eq!(records::get(&mut conn, "alpha").unwrap().client_secret(&with_old).unwrap().unwrap().expose(), "alpha-secret");
        // The next start takes the new key, which also opens everything.
        let (reopened, _) = master_key::open_ring(&mut conn, &source).unwrap();
        assert_ne!(reopened.current_id(), ring.current_id());
        assert_eq!(records::get(&mut conn, "beta").unwrap().client_secret(&reopened).unwrap().unwrap().expose(), "beta-secret");
        // The next rotation finishes the interrupted one first.
        let report = master_key::rotate_to_new_key(&mut conn, &SharedKeyRing::new(reopened.clone()), &source, None, &RotationOptions::default()).unwrap();
        assert_eq!(report.finished_earlier.unwrap().new_key_id, reopened.current_id().to_string());
        assert_eq!(report.rotation.values, 3);
        assert!(emsg_store::key_ring::unfinished(&mut conn).unwrap().is_none());
        assert!(master_key::verify(&mut conn, &ring).is_err(), "the first key is retired");
    }

    fn an_audited_rotation_writes_one_entry_per_rotation_it_ends_and_none_for_one_that_failed(db) {
        let mut conn = db.connect();
        let path = db.dir().join("emsg.key");
        let source = KeySource::File(path.clone());
        let (ring, _) = master_key::open_ring(&mut conn, &source).unwrap();
        two_records_with_secrets(&mut conn, &ring);
        let operator = emsg_store::audit::Actor::Operator;
        let rotations = |conn: &mut emsg_store::db::DbConnection| -> Vec<(String, String)> {
            let mut entries: Vec<(String, String)> = emsg_store::audit::recent(conn, 100).unwrap().into_iter().filter(|e| e.action == "keys-rotate").map(|e| (e.actor, e.detail)).collect();
            entries.reverse();
            entries
        };
        let interrupted = RotationOptions { fail_after: Some(2), ..RotationOptions::default() };
        master_key::rotate_to_new_key_audited(&mut conn, &SharedKeyRing::new(ring.clone()), &source, None, &interrupted, &operator).unwrap_err();
        assert!(rotations(&mut conn).is_empty(), "a rotation that did not end is not in the audit log");
        let (reopened, _) = master_key::open_ring(&mut conn, &source).unwrap();
        let report = master_key::rotate_to_new_key_audited(&mut conn, &SharedKeyRing::new(reopened.clone()), &source, None, &RotationOptions::default(), &operator).unwrap();
        let earlier = report.finished_earlier.unwrap();
        assert_eq!(rotations(&mut conn), vec![
            ("operator".to_owned(), format!("finished the interrupted rotation: re-sealed {} values under master key {}; 0 values no key opens", earlier.values, earlier.new_key_id)),
            ("operator".to_owned(), format!("re-sealed 3 values under master key {}; 0 values no key opens", report.rotation.new_key_id)),
        ]);
    }

    fn a_rotation_that_committed_before_the_key_file_was_replaced_is_finished_at_the_next_start(db) {
        let mut conn = db.connect();
        let path = db.dir().join("emsg.key");
        let source = KeySource::File(path.clone());
        let (ring, _) = master_key::open_ring(&mut conn, &source).unwrap();
        two_records_with_secrets(&mut conn, &ring);
        // The crash: the new key is in `.next` and the database committed, the rename never ran.
        let new = MasterKey::generate();
        key_file::write_new(&key_file::pending_path(&path), &new).unwrap();
        rotation::rotate(&mut conn, &SharedKeyRing::new(ring.clone()), new.clone(), &RotationOptions::default()).unwrap();
        let (reopened, events) = master_key::open_ring(&mut conn, &source).unwrap();
        assert!(events.finished_rotation);
        assert_eq!(reopened.current_id(), new.id());
        assert_eq!(key_file::load(&path).unwrap().id(), new.id());
        assert_eq!(records::get(&mut conn, "alpha").unwrap().client_secret(&reopened).unwrap().unwrap().expose(), "alpha-secret");
    }

    fn a_rotation_killed_before_its_commit_is_discarded_at_the_next_start(db) {
        let mut conn = db.connect();
        let path = db.dir().join("emsg.key");
        let source = KeySource::File(path.clone());
        let (ring, _) = master_key::open_ring(&mut conn, &source).unwrap();
        two_records_with_secrets(&mut conn, &ring);
        key_file::write_new(&key_file::pending_path(&path), &MasterKey::generate()).unwrap();
        let (reopened, events) = master_key::open_ring(&mut conn, &source).unwrap();
        assert!(events.discarded_rotation);
        assert_eq!(reopened.current_id(), ring.current_id());
        assert!(!key_file::pending_path(&path).exists());
    }

    fn a_missing_key_file_for_a_used_database_is_refused_and_not_replaced(db) {
        let mut conn = db.connect();
        let path = db.dir().join("emsg.key");
        let source = KeySource::File(path.clone());
        master_key::open_ring(&mut conn, &source).unwrap();
        std::fs::remove_file(&path).unwrap();
        let error = master_key::open_ring(&mut conn, &source).unwrap_err();
        assert!(error.to_string().contains("Restore the key file"), "{error}");
        assert!(!path.exists());
    }

    fn a_key_from_the_environment_is_used_and_checked(db) {
        let mut conn = db.connect();
        let key = MasterKey::generate();
        let source = KeySource::Env(key.to_base64().expose().to_owned());
        let (ring, _) = master_key::open_ring(&mut conn, &source).unwrap();
        assert_eq!(ring.current_id(), key.id());
        let other = KeySource::Env(MasterKey::generate().to_base64().expose().to_owned());
        assert!(matches!(master_key::open_ring(&mut conn, &other), Err(StoreError::WrongMasterKey { .. })));
        let bad = KeySource::Env("not base64!".to_owned());
        assert!(master_key::open_ring(&mut conn, &bad).unwrap_err().to_string().contains("EMSG_MASTER_KEY"));
    }
}
