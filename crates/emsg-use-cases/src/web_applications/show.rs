//! One record as the page and the API show it: its setup, the connection the actor acts on,
//! and the code the actor's flow is waiting with.

use emsg_engine::ConnectionView;
use emsg_store::Subject;
use emsg_store::db::DbConnection;
use emsg_store::web_applications::{self as records, WebApplication};

use crate::views::WebApplicationView;
use crate::{Actor, Context, UseCaseError};

/// The chosen record and what the page shows about it, read on one pooled connection.
pub struct Chosen {
    pub record: WebApplication,
    pub view: WebApplicationView,
    /// A captured code waiting for Obtain access token, in words (never the code).
    pub waiting: Option<String>,
    pub connection: Option<ConnectionView>,
}

/// The record `name` with the connection the user acts on, its authorizer and the user's
/// waiting code (one statement), and its exchange source's name: lookups by key, never a scan.
/// Synchronous on a connection the caller holds, so that a page reads its session, its list
/// and its record in one database task.
pub fn chosen(
    conn: &mut DbConnection,
    name: &str,
    company: &str,
    actor: &Actor,
) -> Result<Option<Chosen>, UseCaseError> {
    let now = emsg_store::now();
    let user = actor.require_user("A web application's page")?;
    let Some(found) = emsg_store::overview::find(conn, name, company, user, now)? else {
        return Ok(None);
    };
    let record = found.record;
    let mut names = std::collections::HashMap::new();
    if let Some(source) = record.exchange_source_id()
        && let Some(source_name) = records::name_of(conn, source)?
    {
        names.insert(source, source_name);
    }
    let view = WebApplicationView::new(&record, &names);
    // Flows belong to the user who started them, whatever the record; an exchange has none.
    let waiting = found
        .code_waiting_since
        .filter(|_| !record.is_exchange())
        .map(|at| code_waiting(&record, at));
    let connection = found.connection.map(|c| {
        // The connection's key holds this user (user-specific) or nobody (the company's).
        let owner = matches!(c.subject(), Subject::User(_)).then(|| actor.name.clone());
        ConnectionView::from_rows(&record, c, owner, found.authorized_by.clone())
    });
    Ok(Some(Chosen {
        record,
        view,
        waiting,
        connection,
    }))
}

/// [`chosen`], or a 404 naming the record.
pub async fn show(ctx: &Context, actor: &Actor, name: String) -> Result<Chosen, UseCaseError> {
    let company = ctx.company().to_owned();
    let actor = actor.clone();
    ctx.run(move |conn| {
        chosen(conn, &name, &company, &actor)?
            .ok_or_else(|| UseCaseError::NotFound(format!("no web application is named `{name}`")))
    })
    .await
}

fn code_waiting(record: &WebApplication, arrived_at: i64) -> String {
    let lifetime = i64::try_from(record.code_lifetime().as_secs()).unwrap_or(600);
    format!(
        "An authorization code arrived at {}; select OK to obtain the access token before {}.",
        emsg_store::format_utc(arrived_at),
        emsg_store::format_utc(arrived_at + lifetime)
    )
}
