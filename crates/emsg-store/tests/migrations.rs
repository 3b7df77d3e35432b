//! Both backends migrate from the same, identically named migrations.

use diesel::prelude::*;
use emsg_store::db::{self, MIGRATION_NAMES_POSTGRES, MIGRATION_NAMES_SQLITE};
use emsg_store::schema::master_key_check;
use emsg_test_db::{Backend, TestDb, on_both_backends};

#[test]
fn both_migration_folders_hold_the_same_migrations() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let list = |backend: &str| {
        let mut names: Vec<String> = std::fs::read_dir(root.join(backend))
            .expect("the migrations folder exists")
            .map(|e| {
                e.expect("readable entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    };
    assert!(!list("sqlite").is_empty());
    assert_eq!(list("sqlite"), list("postgres"));
    assert_eq!(*MIGRATION_NAMES_SQLITE, *MIGRATION_NAMES_POSTGRES);
    for backend in ["sqlite", "postgres"] {
        for name in list(backend) {
            for file in ["up.sql", "down.sql"] {
                assert!(
                    root.join(backend).join(&name).join(file).is_file(),
                    "{backend}/{name}/{file} is missing"
                );
            }
        }
    }
}

fn migrations_apply_once(backend: Backend) {
    let db = TestDb::empty(backend);
    let mut conn = db.connect();
    let first = db::run_migrations(&mut conn).expect("migrate");
    assert_eq!(first.len(), MIGRATION_NAMES_SQLITE.len());
    assert!(
        db::run_migrations(&mut conn)
            .expect("migrate again")
            .is_empty()
    );
}

#[test]
fn migrations_apply_once_on_sqlite() {
    migrations_apply_once(Backend::Sqlite);
}

#[test]
fn migrations_apply_once_on_postgres() {
    migrations_apply_once(Backend::Postgres);
}

on_both_backends! {
    fn flags_and_bytes_round_trip_through_the_multi_backend_connection(db) {
        let mut conn = db.connect();
        let bytes = vec![0u8, 1, 2, 255];
        diesel::insert_into(master_key_check::table)
            .values((
                master_key_check::id.eq(1_i64),
                master_key_check::key_id.eq("k"),
                master_key_check::sealed.eq(&bytes),
                master_key_check::updated_at.eq(0_i64),
            ))
            .execute(&mut conn)
            .expect("insert");
        let back: Vec<u8> = master_key_check::table.select(master_key_check::sealed).first(&mut conn).expect("load");
        assert_eq!(back, bytes);
    }
}
