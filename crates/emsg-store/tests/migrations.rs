//! Both backends migrate from the same, identically named migrations.

mod common;

use common::*;
use diesel::prelude::*;
use emsg_store::db::{self, MIGRATION_NAMES_POSTGRES, MIGRATION_NAMES_SQLITE};
use emsg_store::schema::master_key_check;
use emsg_store::web_applications as records;
use emsg_test_db::{Backend, TestDb, on_both_backends};
use emsg_webapps::Capture;

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

on_both_backends!(migrations_apply_once);

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

fn applied_count(conn: &mut db::DbConnection) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    diesel::sql_query("SELECT COUNT(*) AS count FROM __diesel_schema_migrations")
        .get_result::<Count>(conn)
        .expect("count the applied migrations")
        .count
}

on_both_backends! {
    fn nodes_starting_together_on_an_empty_database_migrate_it_once(db) {
        let db = TestDb::empty(db.backend());
        let url = db.url().clone();
        let starts: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let mut conn = db::connect(&url).expect("connect");
                    db::run_migrations(&mut conn).map(|applied| applied.len())
                })
            })
            .collect();
        let applied: Vec<usize> = starts
            .into_iter()
            .map(|s| s.join().expect("no panic").expect("every node starts"))
            .collect();
        assert_eq!(applied.iter().sum::<usize>(), MIGRATION_NAMES_SQLITE.len(), "{applied:?}: one node migrated, the others found nothing to do");
        assert_eq!(applied_count(&mut db.connect()), MIGRATION_NAMES_SQLITE.len() as i64);
    }

    fn a_database_migrated_by_a_newer_emsg_is_refused_saying_which_version(db) {
        let mut conn = db.connect();
        diesel::sql_query("INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000001')")
            .execute(&mut conn)
            .expect("a migration from the future");
        let before = applied_count(&mut conn);
        let error = db::run_migrations(&mut conn).expect_err("refused").to_string();
        assert!(error.contains("newer emsg") && error.contains("29991231000001"), "{error}");
        assert!(error.contains("Run the emsg version that migrated it"), "{error}");
        assert_eq!(applied_count(&mut conn), before, "nothing was written");
    }
}

/// Runs a migration's SQL again on a migrated database: its `down.sql`, then its `up.sql`.
fn redo(conn: &mut db::DbConnection, backend: Backend, down: [&str; 2], up: [&str; 2]) {
    use diesel::connection::SimpleConnection as _;
    let index = match backend {
        Backend::Sqlite => 0,
        Backend::Postgres => 1,
    };
    conn.batch_execute(down[index]).expect("down");
    conn.batch_execute(up[index]).expect("up");
}

on_both_backends! {
    fn records_stored_before_captures_and_parameter_choices_keep_the_behaviour_the_code_gave_them(db) {
        let mut conn = db.connect();
        let ring = ring();
        let with = |name: &str, extra: &str| format!("{}{extra}", record(name, "null"));
        let text = file(&[
            with("ITSA", "    user_specific: true\n").replace("scope: read write", "scope: read:self-assessment write:self-assessment"),
            with("VAT", "").replace("scope: read write", "scope: read:vat write:vat"),
            with("Longer scope", "").replace("scope: read write", "scope: read:self-assessment-extra"),
            with("Upper case", "").replace("scope: read write", "scope: READ:SELF-ASSESSMENT"),
            with("ID-porten", "    authorization_params: {acr_values: idporten-loa-substantial, ui_locales: en}\n"),
            with("Other parameter", "    authorization_params: {x_ui_locales: en}\n"),
            "  - name: Exchanged\n    base_url: https://platform.example.test\n    scope: read:self-assessment\n    exchange: {source: ID-porten, url: https://platform.example.test/exchange}\n".to_owned(),
        ]);
        import_text(&mut conn, &ring, &text, &no_env);
        redo(
            &mut conn,
            db.backend(),
            [
                include_str!("../../../migrations/sqlite/2026-12-07-000050_record_captures_and_parameter_choices/down.sql"),
                include_str!("../../../migrations/postgres/2026-12-07-000050_record_captures_and_parameter_choices/down.sql"),
            ],
            [
                include_str!("../../../migrations/sqlite/2026-12-07-000050_record_captures_and_parameter_choices/up.sql"),
                include_str!("../../../migrations/postgres/2026-12-07-000050_record_captures_and_parameter_choices/up.sql"),
            ],
        );
        let get = |conn: &mut db::DbConnection, name: &str| records::get(conn, name).expect("the record");
        assert_eq!(get(&mut conn, "ITSA").captures(), [Capture::Nino]);
        for name in ["VAT", "Longer scope", "Upper case", "ID-porten", "Exchanged"] {
            assert!(get(&mut conn, name).captures().is_empty(), "{name}");
        }
        let idporten = get(&mut conn, "ID-porten").parameter_choices();
        assert_eq!(idporten.len(), 1);
        assert_eq!(idporten["ui_locales"], ["nb", "nn", "en", "se"]);
        for name in ["ITSA", "Other parameter", "Exchanged"] {
            assert!(get(&mut conn, name).parameter_choices().is_empty(), "{name}");
        }
    }
}
