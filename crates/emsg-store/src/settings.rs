//! Installation-wide values made once and then kept, such as the batch device ID.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::Result;
use crate::schema::settings;

/// The value of `name`, made with `make` and stored on first use. Two nodes racing to make it
/// agree on the first one stored.
pub fn get_or_create(
    conn: &mut DbConnection,
    name: &str,
    make: impl FnOnce() -> String,
) -> Result<String> {
    if let Some(value) = get(conn, name)? {
        return Ok(value);
    }
    let inserted = diesel::insert_into(settings::table)
        .values((settings::name.eq(name), settings::value.eq(make())))
        .execute(conn);
    if let Err(error) = inserted {
        tracing::debug!(%error, "setting {name} was made by another node");
    }
    Ok(get(conn, name)?.unwrap_or_default())
}

fn get(conn: &mut DbConnection, name: &str) -> Result<Option<String>> {
    Ok(settings::table
        .find(name)
        .select(settings::value)
        .first(conn)
        .optional()?)
}
