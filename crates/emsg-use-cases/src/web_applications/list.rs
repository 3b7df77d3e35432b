//! Every record as the API lists it, the pages of record names the Web applications page lists,
//! and every connection of the company.

use emsg_store::db::DbConnection;
use emsg_store::web_applications as records;

use crate::views::{ConnectionPanel, WebApplicationView};
use crate::{Context, UseCaseError};

/// Every record, without secrets.
pub async fn all_views(ctx: &Context) -> Result<Vec<WebApplicationView>, UseCaseError> {
    ctx.run(|conn| {
        let all = records::list(conn)?;
        let names = records::names_by_id(&all);
        Ok(all
            .iter()
            .map(|r| WebApplicationView::new(r, &names))
            .collect())
    })
    .await
}

/// Every connection of the server's company (statuses only: never a token).
pub async fn connections(ctx: &Context) -> Result<Vec<ConnectionPanel>, UseCaseError> {
    let now = emsg_store::now();
    Ok(ctx
        .engine()
        .status(None, None)
        .await?
        .iter()
        .map(|v| ConnectionPanel::new(v, now))
        .collect())
}

/// Names per page of the Web applications page's list.
pub const NAMES_PER_PAGE: i64 = 100;

/// Page `page` (from 1) of the record names, only those containing `filter` (ignoring case)
/// when given, and how many names match in all. Synchronous on a connection the caller holds,
/// so that a page reads its session, its list and its record in one database task.
pub fn names_page(
    conn: &mut DbConnection,
    filter: Option<&str>,
    page: i64,
) -> Result<(Vec<String>, i64), UseCaseError> {
    Ok(records::names_page(
        conn,
        filter,
        (page - 1) * NAMES_PER_PAGE,
        NAMES_PER_PAGE,
    )?)
}
