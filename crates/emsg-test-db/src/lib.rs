//! A fresh, migrated database per test, on SQLite or PostgreSQL, and [`on_both_backends!`], the
//! one way to run a test on both.
//!
//! PostgreSQL tests create their own database on the server named by `EMSG_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`) and drop it afterwards, so tests run in
//! parallel without seeing each other's rows. Both backends clone a migrated template (see
//! [`template`]) instead of running every migration for every test.

mod template;

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::prelude::*;
use emsg_store::db::{self, DatabaseUrl, DbConnection};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One test's database. Dropping it removes the file or drops the PostgreSQL database.
pub struct TestDb {
    url: DatabaseUrl,
    dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A new, empty, migrated database: a copy of the migrated template.
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory for the test");
        let db = match backend {
            Backend::Sqlite => {
                let path = dir.path().join("emsg.db");
                std::fs::copy(template::sqlite(), &path).expect("copy the SQLite test template");
                Self {
                    url: DatabaseUrl::Sqlite(path),
                    dir,
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let admin = admin_url();
                let mut conn = admin_connection(&admin);
                let template = template::postgres(&mut conn);
                let name = unique_name();
                diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
                    .execute(&mut conn)
                    .expect("create the test database from the template");
                Self {
                    url: DatabaseUrl::Postgres(database_url(&name)),
                    dir,
                    postgres: Some((admin, name)),
                }
            }
        };
        // A no-op on a current template; it proves the copy is what the code expects.
        let mut conn = db.connect();
        db::run_migrations(&mut conn).expect("migrations apply to a fresh test database");
        db
    }

    /// A new database with no tables (for tests of migration itself).
    pub fn empty(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory for the test");
        match backend {
            Backend::Sqlite => Self {
                url: DatabaseUrl::Sqlite(dir.path().join("emsg.db")),
                dir,
                postgres: None,
            },
            Backend::Postgres => {
                let admin = admin_url();
                let name = unique_name();
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin_connection(&admin))
                    .expect("create the test database");
                Self {
                    url: DatabaseUrl::Postgres(database_url(&name)),
                    dir,
                    postgres: Some((admin, name)),
                }
            }
        }
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The URL as the command line takes it.
    pub fn url_string(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    pub fn connect(&self) -> DbConnection {
        DbConnection::open(&self.url).expect("connect to the test database")
    }

    /// A scratch directory that lives as long as the database (key files, exports, logs).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn backend(&self) -> Backend {
        if self.postgres.is_some() {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres
            && let Ok(mut conn) = PgConnection::establish(admin)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

fn admin_url() -> String {
    std::env::var("EMSG_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

fn admin_connection(admin: &str) -> PgConnection {
    PgConnection::establish(admin).unwrap_or_else(|e| {
        panic!("PostgreSQL for tests is not reachable at {admin}: {e}. Start it (bash .ci/run does) or set EMSG_TEST_POSTGRES_URL")
    })
}

/// The URL of database `name` on the test server.
fn database_url(name: &str) -> String {
    let admin = admin_url();
    match admin.rfind('/') {
        Some(slash) => format!("{}/{name}", &admin[..slash]),
        None => panic!("EMSG_TEST_POSTGRES_URL must end with /DATABASE"),
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "emsg_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// Writes a test twice, once per backend: `name::sqlite` and `name::postgres`. The one way to
/// run a test on both backends; three shapes.
///
/// A body that gets its own migrated database ([`TestDb`]):
///
/// ```ignore
/// on_both_backends! {
///     fn reimporting_changes_nothing(db) { ... }
/// }
/// ```
///
/// Tests written as functions of the [`Backend`], elsewhere in the file (they make their own
/// databases: servers, several nodes, command lines). A function may return `()` or a
/// `Result`:
///
/// ```ignore
/// fn first_run_sets_everything_up(backend: Backend) { ... }
/// on_both_backends!(first_run_sets_everything_up);
/// ```
///
/// The same as `async fn`s, each run on its own multi-threaded Tokio runtime (two workers unless
/// told; the test crate depends on `tokio` with `rt-multi-thread`):
///
/// ```ignore
/// async fn a_refused_consent_stores_nothing(backend: Backend) -> anyhow::Result<()> { ... }
/// on_both_backends!(async a_refused_consent_stores_nothing);
/// on_both_backends!(async(worker_threads = 4) two_nodes_refresh_once);
/// ```
///
/// Attributes written before a test (`#[ignore]`, `#[should_panic]`) apply to both.
#[macro_export]
macro_rules! on_both_backends {
    (@runtime $workers:literal) => {
        ::tokio::runtime::Builder::new_multi_thread()
            .worker_threads($workers)
            .enable_all()
            .build()
            .expect("a Tokio runtime for the test")
    };
    ($( $(#[$meta:meta])* fn $name:ident($db:ident) $body:block )*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                $(#[$meta])*
                #[test]
                fn sqlite() {
                    let $db = $crate::TestDb::new($crate::Backend::Sqlite);
                    $body
                }
                $(#[$meta])*
                #[test]
                fn postgres() {
                    let $db = $crate::TestDb::new($crate::Backend::Postgres);
                    $body
                }
            }
        )*
    };
    (async(worker_threads = $workers:literal) $( $(#[$meta:meta])* $name:ident ),+ $(,)?) => {
        $(
            mod $name {
                $(#[$meta])*
                #[test]
                fn sqlite() -> impl ::std::process::Termination {
                    $crate::on_both_backends!(@runtime $workers)
                        .block_on(super::$name($crate::Backend::Sqlite))
                }
                $(#[$meta])*
                #[test]
                fn postgres() -> impl ::std::process::Termination {
                    $crate::on_both_backends!(@runtime $workers)
                        .block_on(super::$name($crate::Backend::Postgres))
                }
            }
        )+
    };
    (async $( $(#[$meta:meta])* $name:ident ),+ $(,)?) => {
        $crate::on_both_backends!(async(worker_threads = 2) $( $(#[$meta])* $name ),+);
    };
    ($( $(#[$meta:meta])* $name:ident ),+ $(,)?) => {
        $(
            mod $name {
                $(#[$meta])*
                #[test]
                fn sqlite() -> impl ::std::process::Termination {
                    super::$name($crate::Backend::Sqlite)
                }
                $(#[$meta])*
                #[test]
                fn postgres() -> impl ::std::process::Termination {
                    super::$name($crate::Backend::Postgres)
                }
            }
        )+
    };
}
