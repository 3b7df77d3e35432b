//! Importing web applications: all or nothing, idempotent, secrets sealed, on both backends.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use emsg_store::audit::Actor;
use emsg_store::import::{self, RecordChange};
use emsg_store::web_applications as records;
use emsg_test_db::{Backend, on_both_backends};

on_both_backends! {
    fn the_shipped_file_imports_all_eight_records(db) {
        let mut conn = db.connect();
        let ring = ring();
        let report = import_text(&mut conn, &ring, SHIPPED, &no_env);
        assert_eq!(report.count(|c| *c == RecordChange::Added), 8);
        let names: Vec<String> = records::list(&mut conn).unwrap().into_iter().map(|r| r.name).collect();
        for name in ["HMRC VAT", "HMRC VAT sandbox", "HMRC ITSA", "HMRC ITSA sandbox", "NO ID-Porten", "NO ID-Porten test", "NO Altinn", "NO Altinn test"] {
            assert!(names.contains(&name.to_owned()), "{name} missing from {names:?}");
        }
        let altinn = records::get(&mut conn, "NO Altinn test").unwrap();
        let source = records::by_id(&mut conn, altinn.exchange_source_id().unwrap()).unwrap().unwrap();
        assert_eq!(source.name, "NO ID-Porten test");
        assert!(report.warnings.iter().any(|w| w.contains("HMRC_VAT_CLIENT_SECRET")), "unset variables are named: {:?}", report.warnings);
    }

    fn an_import_never_makes_a_source_user_specific_under_a_shared_exchange_record_left_in_the_database(db) {
        let mut conn = db.connect();
        let ring = ring();
        let exchange = "  - name: Ex\n    base_url: https://platform.example.test\n    exchange: {source: Src, url: https://platform.example.test/exchange}\n";
        import_text(&mut conn, &ring, &file(&[record("Src", "src-secret"), exchange.to_owned()]), &no_env);
        // Only the source, now user-specific: the shared exchange record stays in the database.
        let source = format!("{}    user_specific: true\n", record("Src", "src-secret"));
        let parsed = parse(&file(&[source]));
        let error = import::import(&mut conn, &ring, &parsed, &context(&no_env), &Actor::Operator, false).unwrap_err();
        assert!(
            error.to_string().contains("`Src` is user-specific, so `Ex` (in the database, not in this file)"),
            "{error}"
        );
        assert!(!records::get(&mut conn, "Src").unwrap().user_specific, "nothing was imported");
        let dry = import::import(&mut conn, &ring, &parsed, &context(&no_env), &Actor::Operator, true);
        assert!(dry.is_err(), "the dry run says so too");
    }

    fn an_edit_never_lets_an_exchange_record_share_a_user_specific_sources_token(db) {
        let mut conn = db.connect();
        let ring = ring();
        import_text(&mut conn, &ring, SHIPPED, &no_env);
        let names = |conn: &mut emsg_store::db::DbConnection| {
            records::names_by_id(&records::list(conn).unwrap())
        };
        // The Altinn record made shared while its ID-porten source is user-specific.
        let altinn = records::get(&mut conn, "NO Altinn test").unwrap();
        let mut spec = altinn.to_spec(&names(&mut conn));
        spec.user_specific = false;
        let error = import::edit(&mut conn, &ring, altinn.id, &spec, None, &context(&no_env), &Actor::Operator, false).unwrap_err();
        assert!(error.to_string().contains("user_specific: `NO ID-Porten test` is user-specific"), "{error}");
        // Or: a shared source made user-specific under a shared exchange record.
        let idporten = records::get(&mut conn, "NO ID-Porten test").unwrap();
        let mut source = idporten.to_spec(&names(&mut conn));
        source.user_specific = false;
        import::edit(&mut conn, &ring, idporten.id, &source, None, &context(&no_env), &Actor::Operator, false).unwrap();
        import::edit(&mut conn, &ring, altinn.id, &spec, None, &context(&no_env), &Actor::Operator, false).unwrap();
        source.user_specific = true;
        let error = import::edit(&mut conn, &ring, idporten.id, &source, None, &context(&no_env), &Actor::Operator, false).unwrap_err();
        assert!(error.to_string().contains("NO Altinn test take(s) this record's token"), "{error}");
    }

    fn reimporting_the_same_file_changes_nothing_and_says_so(db) {
        let mut conn = db.connect();
        let ring = ring();
        assert_eq!(records::names_generation(&mut conn).unwrap(), 0);
        import_text(&mut conn, &ring, SHIPPED, &no_env);
        let generation = records::names_generation(&mut conn).unwrap();
        assert!(generation > 0, "adding records changes the names' generation");
        let before = import::export(&mut conn).unwrap();
        let updated_before: Vec<i64> = records::list(&mut conn).unwrap().iter().map(|r| r.updated_at).collect();
        let report = import_text(&mut conn, &ring, SHIPPED, &no_env);
        assert_eq!(records::names_generation(&mut conn).unwrap(), generation, "nothing written");
        assert!(!report.changes_anything());
        assert!(report.to_string().contains("nothing to change"), "{report}");
        assert_eq!(import::export(&mut conn).unwrap(), before);
        let updated_after: Vec<i64> = records::list(&mut conn).unwrap().iter().map(|r| r.updated_at).collect();
        assert_eq!(updated_before, updated_after);
    }

    fn a_dry_run_reports_changed_fields_and_writes_nothing(db) {
        let mut conn = db.connect();
        let ring = ring();
        import_text(&mut conn, &ring, &file(&[record("alpha", "null"), record("beta", "null")]), &no_env);
        let before = import::export(&mut conn).unwrap();
        let changed = file(&[record("alpha", "null").replace("read write", "read"), record("gamma", "null")]);
        let report = import::import(&mut conn, &ring, &parse(&changed), &context(&no_env), &Actor::Operator, true).unwrap();
        assert_eq!(report.records[0].change, RecordChange::Changed(vec!["scope".to_owned()]));
        assert_eq!(report.records[1].change, RecordChange::Added);
        assert_eq!(report.untouched, vec!["beta".to_owned()]);
        assert!(report.to_string().contains("nothing was written (dry run)"));
        assert_eq!(import::export(&mut conn).unwrap(), before);
        assert_eq!(records::names_generation(&mut conn).unwrap(), 1, "the first import only");
    }

    fn records_absent_from_the_file_are_left_alone_and_listed(db) {
        let mut conn = db.connect();
        let ring = ring();
        import_text(&mut conn, &ring, &file(&[record("alpha", "null"), record("beta", "null")]), &no_env);
        let report = import_text(&mut conn, &ring, &file(&[record("alpha", "null")]), &no_env);
        assert_eq!(report.untouched, vec!["beta".to_owned()]);
        assert!(records::find(&mut conn, "beta").unwrap().is_some());
    }

    fn a_secret_from_the_environment_is_sealed_and_opens_again(db) {
        let mut conn = db.connect();
        let ring = ring();
        let env = |var: &str| (var == "ALPHA_SECRET").then(|| "s3cret-from-env".to_owned());
        let report = import_text(&mut conn, &ring, &file(&[record("alpha", "{env: ALPHA_SECRET}")]), &env);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        let alpha = records::get(&mut conn, "alpha").unwrap();
        assert_eq!(alpha.client_secret(&ring).unwrap().unwrap().expose(), "s3cret-from-env");
        assert_eq!(alpha.client_secret_env.as_deref(), Some("ALPHA_SECRET"));
        let export = import::export(&mut conn).unwrap();
        assert!(!export.contains("s3cret-from-env"));
        assert!(export.contains("env: ALPHA_SECRET"));
    }

    fn an_unset_variable_on_reimport_keeps_the_stored_secret(db) {
        let mut conn = db.connect();
        let ring = ring();
        let text = file(&[record("alpha", "{env: ALPHA_SECRET}")]);
        import_text(&mut conn, &ring, &text, &|_| Some("first-value".to_owned()));
        let report = import_text(&mut conn, &ring, &text, &no_env);
        assert!(!report.changes_anything());
        assert!(report.warnings[0].contains("ALPHA_SECRET") && report.warnings[0].contains("now: set"), "{:?}", report.warnings);
        let alpha = records::get(&mut conn, "alpha").unwrap();
        assert_eq!(alpha.client_secret(&ring).unwrap().unwrap().expose(), "first-value");
    }

    fn a_new_secret_value_is_reported_as_a_change_without_showing_it(db) {
        let mut conn = db.connect();
        let ring = ring();
        let text = file(&[record("alpha", "{env: ALPHA_SECRET}")]);
        import_text(&mut conn, &ring, &text, &|_| Some("first-value".to_owned()));
        let report = import_text(&mut conn, &ring, &text, &|_| Some("second-value".to_owned()));
        assert_eq!(report.records[0].change, RecordChange::Changed(vec!["client_secret".to_owned()]));
        assert!(!report.to_string().contains("second-value") && !format!("{report:?}").contains("second-value"));
        let alpha = records::get(&mut conn, "alpha").unwrap();
        assert_eq!(alpha.client_secret(&ring).unwrap().unwrap().expose(), "second-value");
    }

    fn export_then_import_gives_identical_records(db) {
        let mut conn = db.connect();
        let ring = ring();
        import_text(&mut conn, &ring, SHIPPED, &no_env);
        let exported = import::export(&mut conn).unwrap();
        let other = emsg_test_db::TestDb::new(db.backend());
        let mut other_conn = other.connect();
        import_text(&mut other_conn, &ring, &exported, &no_env);
        assert_eq!(import::export(&mut other_conn).unwrap(), exported);
        let report = import_text(&mut conn, &ring, &exported, &no_env);
        assert!(!report.changes_anything(), "{report}");
    }

    fn every_import_writes_audit_entries_without_secrets(db) {
        let mut conn = db.connect();
        let ring = ring();
        import_text(&mut conn, &ring, &file(&[record("alpha", "inline-secret-value")]), &no_env);
        let entries = emsg_store::audit::recent(&mut conn, 10).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].action, "import");
        assert!(!format!("{entries:?}").contains("inline-secret-value"));
    }
}

#[test]
fn a_secret_from_the_environment_is_not_in_the_sqlite_file_in_plain_text() {
    let db = emsg_test_db::TestDb::new(Backend::Sqlite);
    let mut conn = db.connect();
    let ring = ring();
    let secret = "plain-text-needle-7f3a9c";
    import_text(
        &mut conn,
        &ring,
        &file(&[record("alpha", "{env: ALPHA_SECRET}")]),
        &|_| Some(secret.to_owned()),
    );
    drop(conn);
    let emsg_store::db::DatabaseUrl::Sqlite(path) = db.url() else {
        unreachable!()
    };
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(bytes) = std::fs::read(&file) {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the secret",
                file.display()
            );
        }
    }
}
