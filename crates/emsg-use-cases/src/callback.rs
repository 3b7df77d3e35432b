//! The provider's answer after sign-in (the OAuth callback): handed to the engine for the user
//! who started the flow, or — when it reaches a browser without a session — parked, sealed,
//! until that user logs in, then resumed by a random key that never carries the code.

use emsg_engine::CallbackParams;
/// What the engine made of the provider's answer, or why it refused it.
pub use emsg_engine::{CallbackOutcome, EngineError};
use emsg_store::parked_callbacks::{self, Taken};
/// The provider's answer, and whether it was kept for its user's log-in.
pub use emsg_store::parked_callbacks::{Answer, Parked};

use crate::{Actor, Context, UseCaseError};

/// The answer's parameters for the engine.
pub fn params(state: String, answer: Answer) -> CallbackParams {
    CallbackParams {
        state,
        code: answer.code,
        error: answer.error,
        error_description: answer.error_description,
        iss: answer.iss,
    }
}

/// An answer that arrived with the actor's session. The engine's refusal is the answer's
/// outcome, not a failure of the use case: the page shows it.
pub async fn receive(
    ctx: &Context,
    actor: &Actor,
    state: String,
    answer: Answer,
) -> Result<CallbackOutcome, EngineError> {
    let Some(user) = actor.user_id() else {
        return Err(EngineError::Refused(
            "a sign-in answer belongs to the user who started the sign-in; log in as them"
                .to_owned(),
        ));
    };
    ctx.engine().callback(user, params(state, answer)).await
}

/// Keeps an answer that arrived without a session under `resume_key` until its user logs in,
/// when a flow waits for it; says why not otherwise.
pub async fn park(
    ctx: &Context,
    state: &str,
    resume_key: &str,
    answer: Answer,
) -> Result<Parked, UseCaseError> {
    let (state_hash, key_hash) = (
        emsg_engine::state_hash(state),
        emsg_store::sessions::hash(resume_key),
    );
    let ring = ctx.ring();
    ctx.run(move |conn| {
        Ok(parked_callbacks::park(
            conn,
            &ring,
            &state_hash,
            &key_hash,
            &answer,
            emsg_store::now(),
        )?)
    })
    .await
}

/// The answer parked under `resume_key`, taken (once) and handed to the engine for the actor,
/// who has logged in since; the engine refuses another user's.
pub async fn resume(
    ctx: &Context,
    actor: &Actor,
    resume_key: &str,
) -> Result<Result<CallbackOutcome, EngineError>, UseCaseError> {
    let user = actor.require_user("Taking a sign-in answer")?;
    let (key_hash, user_id) = (emsg_store::sessions::hash(resume_key), user);
    let ring = ctx.ring();
    let taken = ctx
        .run(move |conn| {
            Ok::<_, UseCaseError>(parked_callbacks::take(
                conn,
                &ring,
                &key_hash,
                user_id.get(),
                emsg_store::now(),
            )?)
        })
        .await?;
    let (state_hash, params) = match taken {
        Taken::Answer { state_hash, answer } => (state_hash, params(String::new(), answer)),
        // The engine refuses it as another user's sign-in (and records the attempt).
        Taken::OtherUser { state_hash } => (state_hash, CallbackParams::default()),
        Taken::Missing => {
            return Err(UseCaseError::Invalid(
                "this sign-in answer waited too long for a log-in or was already used: \
                 start again with Get authorization code"
                    .to_owned(),
            ));
        }
    };
    Ok(ctx
        .engine()
        .callback_for_state_hash(user, state_hash, params)
        .await)
}
