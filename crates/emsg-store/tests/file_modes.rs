//! The SQLite database holds message logs with taxpayer identifiers (NINOs): the database file
//! and its -wal and -shm files are readable by their owner only, whatever the umask.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt as _;

use diesel::prelude::*;
use emsg_store::db::{DatabaseUrl, DbConnection, run_migrations};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_sqlite_database_and_its_wal_and_shm_files_are_created_0600() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("emsg.db");
    let url = DatabaseUrl::parse(&format!("sqlite://{}", file.display())).unwrap();
    let mut conn = DbConnection::open(&url).unwrap();
    run_migrations(&mut conn).unwrap();
    diesel::sql_query("CREATE TABLE IF NOT EXISTS probe (x INTEGER)")
        .execute(&mut conn)
        .unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.path().join(format!("emsg.db{suffix}"));
        assert!(
            path.exists(),
            "{} exists while the database is open",
            path.display()
        );
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    drop(conn);

    // A database made by an older version with 0644 is narrowed at the next open.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _again = DbConnection::open(&url).unwrap();
    assert_eq!(mode(&file), 0o600);
}
