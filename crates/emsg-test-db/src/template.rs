//! One migrated template per backend and migration set, cloned for every test database: a
//! PostgreSQL `CREATE DATABASE … TEMPLATE`, a copied SQLite file. Running every migration for
//! every test made the suite slower with each migration added.

use std::path::PathBuf;
use std::sync::OnceLock;

use diesel::prelude::*;
use emsg_store::db::{self, DatabaseUrl, DbConnection};

/// Changes whenever a file under `migrations/` changes (see build.rs).
const MIGRATIONS: &str = env!("EMSG_MIGRATIONS_HASH");

/// Serialises template creation across test processes on one PostgreSQL server.
const TEMPLATE_LOCK: i64 = 0x0065_6d73_6774_706c;

/// The migrated SQLite template of this migration set, made once per machine.
pub fn sqlite() -> &'static PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("emsg-test-template-{MIGRATIONS}.db"));
        if path.exists() {
            return path;
        }
        // Made under a name of its own, then renamed: a concurrent test process never sees a
        // half-migrated template.
        let scratch = std::env::temp_dir().join(format!(
            "emsg-test-template-{MIGRATIONS}.{}.tmp",
            std::process::id()
        ));
        {
            let mut conn = DbConnection::open(&DatabaseUrl::Sqlite(scratch.clone()))
                .expect("create the SQLite test template");
            db::run_migrations(&mut conn).expect("migrations apply to the SQLite test template");
            // One file, no WAL beside it, so a plain copy is a whole database.
            diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut conn)
                .ok();
            diesel::sql_query("PRAGMA journal_mode=DELETE")
                .execute(&mut conn)
                .ok();
        }
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", scratch.display()));
        }
        std::fs::rename(&scratch, &path).expect("put the SQLite test template in place");
        path
    })
}

/// The name of the migrated PostgreSQL template of this migration set on the server behind
/// `admin`, made once per server.
pub fn postgres(admin: &mut PgConnection) -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("emsg_template_{MIGRATIONS}");
        diesel::sql_query(format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
            .execute(admin)
            .expect("lock the template creation");
        let exists = diesel::sql_query(format!(
            "SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"
        ))
        .load::<One>(admin)
        .expect("look for the test template")
        .len()
            == 1;
        if !exists {
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(admin)
                .expect("create the PostgreSQL test template");
            let url = crate::database_url(&name);
            let migrated = {
                let mut conn = DbConnection::open(&DatabaseUrl::Postgres(url))
                    .expect("connect to the PostgreSQL test template");
                db::run_migrations(&mut conn)
            };
            if let Err(error) = migrated {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}")).execute(admin);
                panic!("migrations apply to the PostgreSQL test template: {error}");
            }
        }
        diesel::sql_query(format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
            .execute(admin)
            .expect("unlock the template creation");
        name
    })
}

#[derive(QueryableByName)]
struct One {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    #[allow(dead_code)]
    one: i32,
}
