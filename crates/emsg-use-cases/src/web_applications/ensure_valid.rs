//! Ensure a valid access token: the server holds a token of the actor's connection valid
//! beyond the skew (refreshing it first when needed, once however many ask at the same time),
//! for a sender that lets the server use the token; the answer is the connection's status,
//! never the token.

use crate::views::ConnectionPanel;
use crate::{Actor, Context, UseCaseError};

/// Makes the token of the actor's connection to the record `name` valid; its status.
pub async fn ensure_valid(
    ctx: &Context,
    actor: &Actor,
    name: &str,
) -> Result<ConnectionPanel, UseCaseError> {
    actor.require_actions()?;
    let view = ctx
        .engine()
        .ensure_valid(name, None, actor.acting(None))
        .await?;
    Ok(ConnectionPanel::new(&view, emsg_store::now()))
}
