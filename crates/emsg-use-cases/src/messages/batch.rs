//! Messages sent as a batch process from this machine (HMRC's `BATCH_PROCESS_DIRECT`
//! fraud-prevention headers): the command line's origin, and re-sending in a named user's name.

use emsg_messages::{Origin, SendError, Sent};
use emsg_store::{MessageId, UserId};

use crate::{Actor, Context, UseCaseError};

/// This machine as the origin of a batch send, in `user_name`'s name when given.
pub fn batch_origin(user_name: Option<String>) -> Origin {
    // The device ID is filled in from the database by the messenger.
    Origin::BatchProcessDirect(emsg_messages::fraud::this_machine(
        String::new(),
        user_name,
        emsg_store::now() * 1000,
    ))
}

/// Re-sends message `id` (as a new message linked to it) in `user`'s name, from `origin`.
pub async fn resend_batch(
    ctx: &Context,
    actor: &Actor,
    id: MessageId,
    user: Option<UserId>,
    origin: Origin,
) -> Result<Result<Sent, SendError>, UseCaseError> {
    actor.require_actions()?;
    Ok(ctx.messenger()?.resend(id.get(), user, origin).await)
}
