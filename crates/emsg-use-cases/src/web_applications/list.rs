//! Every record as the API lists it, and every connection of the company.

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
