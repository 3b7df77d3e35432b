//! Migrations, one folder per backend with identical names, embedded and run at start.

use diesel::RunQueryDsl as _;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::connection::DbConnection;

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Serialises migration across the nodes of one PostgreSQL database (an advisory lock key).
const MIGRATION_LOCK: i64 = 0x0065_6d73_676d_6967;

/// Applies every pending migration, once however many nodes start together; returns the
/// versions applied. A database migrated by a newer emsg (a migration this binary does not
/// know) is refused before anything is changed.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, MigrationFailed> {
    let failed = |e: &dyn std::fmt::Display| MigrationFailed(e.to_string());
    let applied = match conn {
        // One writer at a time on SQLite: the check and the migrations in one IMMEDIATE
        // transaction, so a second process waits (busy_timeout) and then finds nothing to do.
        DbConnection::Sqlite(sqlite) => sqlite
            .immediate_transaction(|c| {
                refuse_newer(c, &SQLITE).map_err(|e| Wrapped(e.0))?;
                c.run_pending_migrations(SQLITE)
                    .map(|done| done.iter().map(ToString::to_string).collect())
                    .map_err(|e| Wrapped(e.to_string()))
            })
            .map_err(|e| failed(&e.0))?,
        DbConnection::Postgres(pg) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .execute(pg)
                .map_err(|e| failed(&e))?;
            let result = refuse_newer(pg, &POSTGRES).and_then(|()| {
                pg.run_pending_migrations(POSTGRES)
                    .map(|done| done.iter().map(ToString::to_string).collect())
                    .map_err(|e| failed(&e))
            });
            let unlocked =
                diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                    .execute(pg);
            let applied = result?;
            unlocked.map_err(|e| failed(&e))?;
            applied
        }
    };
    Ok(applied)
}

/// A migration error carried out of a diesel transaction.
struct Wrapped(String);

impl From<diesel::result::Error> for Wrapped {
    fn from(error: diesel::result::Error) -> Self {
        Self(error.to_string())
    }
}

/// Refuses a database that has a migration this binary does not know: it was migrated by a
/// newer emsg, and this one would misread it.
fn refuse_newer<DB, C>(conn: &mut C, embedded: &EmbeddedMigrations) -> Result<(), MigrationFailed>
where
    DB: diesel::backend::Backend,
    C: MigrationHarness<DB>,
    EmbeddedMigrations: diesel::migration::MigrationSource<DB>,
{
    use diesel::migration::MigrationSource;
    let known: Vec<String> = embedded
        .migrations()
        .map_err(|e| MigrationFailed(e.to_string()))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let applied = conn
        .applied_migrations()
        .map_err(|e| MigrationFailed(e.to_string()))?;
    let unknown: Vec<String> = applied
        .iter()
        .map(ToString::to_string)
        .filter(|v| !known.contains(v))
        .collect();
    match unknown.iter().max() {
        None => Ok(()),
        Some(newest) => Err(MigrationFailed(format!(
            "this database was migrated by a newer emsg: it has schema version {newest}, which this \
             binary (emsg {}, schema up to {}) does not know. Run the emsg version that migrated it \
             (or a later one); nothing was read or written",
            env!("CARGO_PKG_VERSION"),
            known.iter().max().map_or("none", String::as_str)
        ))),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the database could not be migrated: {0}")]
pub struct MigrationFailed(String);

/// The embedded migration names, for the test that both folders stay in step.
pub static MIGRATION_NAMES_SQLITE: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| names(&SQLITE));
pub static MIGRATION_NAMES_POSTGRES: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| names(&POSTGRES));

fn names(migrations: &EmbeddedMigrations) -> Vec<String> {
    use diesel::migration::MigrationSource;
    let source: &dyn MigrationSource<diesel::sqlite::Sqlite> = migrations;
    source
        .migrations()
        .map(|list| list.iter().map(|m| m.name().to_string()).collect())
        .unwrap_or_default()
}
