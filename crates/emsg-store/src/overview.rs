//! What the Web applications page shows about one record, read in one statement: the record,
//! the connection the user acts on (their own for a user-specific record, the company's
//! otherwise) with the name of the user who authorized it, and the authorization code the
//! user's latest flow captured, while it waits for Obtain access token.

use diesel::dsl::max;
use diesel::prelude::*;

use crate::connections::{Connection, of_record_for};
use crate::db::DbConnection;
use crate::error::Result;
use crate::ids::UserId;
use crate::schema::{connections, pending_authorizations as pending, users, web_applications};
use crate::web_applications::{WebApplication, name_key};

#[derive(Debug, Clone)]
pub struct RecordOverview {
    pub record: WebApplication,
    pub connection: Option<Connection>,
    /// The name of the user who authorized the connection.
    pub authorized_by: Option<String>,
    /// When the code waiting for Obtain access token arrived: the user's latest flow for the
    /// record has a code, not yet used, and has not expired at `now`.
    pub code_waiting_since: Option<i64>,
}

/// The record, the connection, the authorizer's name, the waiting code's arrival.
type OverviewRow = (
    WebApplication,
    Option<Connection>,
    Option<String>,
    Option<i64>,
);

// The same table again, for the subquery that finds the latest flow.
diesel::alias!(pending as flows: Flows);

/// The overview of the record named `name` (ignoring case) for `user` in `company`.
pub fn find(
    conn: &mut DbConnection,
    name: &str,
    company: &str,
    user: UserId,
    now: i64,
) -> Result<Option<RecordOverview>> {
    // The user's latest flow for the record (ids grow with every flow started).
    let latest_flow = flows
        .filter(
            flows
                .field(pending::web_application_id)
                .eq(web_applications::id),
        )
        .filter(flows.field(pending::company).eq(company.to_owned()))
        .filter(flows.field(pending::user_id).eq(user))
        .select(max(flows.field(pending::id)))
        .single_value();
    let waiting = pending::code_sealed
        .is_not_null()
        .and(pending::used_at.is_null())
        .and(pending::expires_at.gt(now));
    let found: Option<OverviewRow> = web_applications::table
        .left_join(connections::table.on(of_record_for(company, Some(user))))
        .left_join(users::table.on(connections::authorized_by.eq(users::id.nullable())))
        .left_join(pending::table.on(pending::id.nullable().eq(latest_flow).and(waiting)))
        .filter(web_applications::name_key.eq(name_key(name)))
        .select((
            WebApplication::as_select(),
            Option::<Connection>::as_select(),
            users::name.nullable(),
            pending::code_received_at.nullable(),
        ))
        .get_result(conn)
        .optional()?;
    Ok(found.map(
        |(record, connection, authorized_by, code_waiting_since)| RecordOverview {
            record,
            connection,
            authorized_by,
            code_waiting_since,
        },
    ))
}
