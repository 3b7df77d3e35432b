//! Migrations, one folder per backend with identical names, embedded and run at start.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::connection::DbConnection;

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Applies every pending migration; returns the versions applied.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, MigrationFailed> {
    let applied = match conn {
        DbConnection::Sqlite(conn) => conn.run_pending_migrations(SQLITE),
        DbConnection::Postgres(conn) => conn.run_pending_migrations(POSTGRES),
    }
    .map_err(|source| MigrationFailed(source.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
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
