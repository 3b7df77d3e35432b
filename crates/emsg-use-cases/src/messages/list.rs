//! The messages as the command line lists them: every company's, newest first, with the
//! service, status and count asked for; and one message with its history.

use emsg_store::MessageId;
use emsg_store::messages::{self, Message, MessageEvent, MessageFilter, MessageStatus};

use crate::{Actor, Context, UseCaseError};

/// The newest `limit` messages of `service` in `status` (`new`, `sent`, …), any when none.
pub async fn list(
    ctx: &Context,
    actor: &Actor,
    service: Option<String>,
    status: Option<String>,
    limit: i64,
) -> Result<Vec<Message>, UseCaseError> {
    actor.require_actions()?;
    let status = status.map(|s| s.parse::<MessageStatus>()).transpose()?;
    let filter = MessageFilter {
        service,
        status,
        limit,
        ..MessageFilter::default()
    };
    ctx.run(move |conn| Ok(messages::search(conn, &filter)?))
        .await
}

/// Message `id` with its history, if there is one.
pub async fn with_events(
    ctx: &Context,
    actor: &Actor,
    id: MessageId,
) -> Result<Option<(Message, Vec<MessageEvent>)>, UseCaseError> {
    actor.require_actions()?;
    let id = id.get();
    ctx.run(move |conn| match messages::get(conn, id)? {
        Some(message) => Ok(Some((message, messages::events(conn, id)?))),
        None => Ok(None),
    })
    .await
}
