//! The actions as the operator runs them at the command line: in a named user's name or the
//! company's, for the server's company. One engine call each; the connection views come back
//! for the command line to print.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

pub use emsg_engine::{
    AccessToken, AuthorizationStart, CallbackOutcome, CallbackParams, ConnectionView, Disconnected,
    SweepReport,
};
use emsg_engine::{CodeRequest, SchedulerConfig};
use emsg_seal::Secret;
use emsg_store::UserId;

use crate::{Actor, Context, UseCaseError};

/// Get authorization code for `user`: the address to sign in at, with `scope` instead of the
/// record's and `params` added to the authorization request.
pub async fn get_code(
    ctx: &Context,
    actor: &Actor,
    app: &str,
    user: UserId,
    scope: Option<String>,
    params: BTreeMap<String, String>,
) -> Result<AuthorizationStart, UseCaseError> {
    actor.require_actions()?;
    let request = CodeRequest {
        scope,
        params,
        taxpayer_id: None,
    };
    Ok(ctx
        .engine()
        .get_authorization_code(app, None, user, request)
        .await?)
}

/// The provider's answer to `user`'s authorization, handed over by hand.
pub async fn callback(
    ctx: &Context,
    actor: &Actor,
    user: UserId,
    params: CallbackParams,
) -> Result<CallbackOutcome, UseCaseError> {
    actor.require_actions()?;
    Ok(ctx.engine().callback(user, params).await?)
}

/// Obtain access token for `user`, with the code the callback captured or a pasted one.
pub async fn obtain_token(
    ctx: &Context,
    actor: &Actor,
    app: &str,
    user: UserId,
    code: Option<Secret>,
) -> Result<ConnectionView, UseCaseError> {
    actor.require_actions()?;
    Ok(ctx
        .engine()
        .obtain_access_token(app, None, user, code)
        .await?)
}

/// A valid access token of `user`'s connection (none: the company's), refreshed only if it is
/// due, as a sender would have it.
pub async fn valid_token(
    ctx: &Context,
    actor: &Actor,
    app: &str,
    user: Option<UserId>,
) -> Result<AccessToken, UseCaseError> {
    actor.require_actions()?;
    Ok(ctx.engine().valid_token(app, None, user).await?)
}

/// Refresh access token now, of `for_user`'s connection or the company's.
pub async fn refresh(
    ctx: &Context,
    actor: &Actor,
    app: &str,
    for_user: Option<UserId>,
) -> Result<ConnectionView, UseCaseError> {
    actor.require_actions()?;
    Ok(ctx
        .engine()
        .refresh_access_token(app, None, actor.acting(for_user))
        .await?)
}

/// Refreshes every connection that is due, as the server's scheduler does, telling `progress`
/// how far it is (done, total).
pub async fn refresh_due(
    ctx: &Context,
    actor: &Actor,
    progress: Arc<dyn Fn(usize, usize) + Send + Sync>,
) -> Result<SweepReport, UseCaseError> {
    actor.require_actions()?;
    let warned = Arc::new(Mutex::new(HashSet::new()));
    Ok(ctx
        .engine()
        .sweep(&SchedulerConfig::default(), Some(progress), &warned)
        .await?)
}

/// Exchange the source record's token for `app`'s (NO Altinn), for `user`.
pub async fn exchange(
    ctx: &Context,
    actor: &Actor,
    app: &str,
    user: UserId,
) -> Result<ConnectionView, UseCaseError> {
    actor.require_actions()?;
    Ok(ctx.engine().exchange(app, None, Some(user)).await?)
}

/// Disconnect `for_user`'s connection or the company's: revoke at the provider when possible,
/// then delete the tokens.
pub async fn disconnect(
    ctx: &Context,
    actor: &Actor,
    app: &str,
    for_user: Option<UserId>,
) -> Result<Disconnected, UseCaseError> {
    actor.require_actions()?;
    Ok(ctx
        .engine()
        .disconnect(app, None, actor.acting(for_user))
        .await?)
}

/// The connections of the company (of `app` only, when given): never a token.
pub async fn status(
    ctx: &Context,
    actor: &Actor,
    app: Option<&str>,
) -> Result<Vec<ConnectionView>, UseCaseError> {
    actor.require_actions()?;
    Ok(ctx.engine().status(app, None).await?)
}
