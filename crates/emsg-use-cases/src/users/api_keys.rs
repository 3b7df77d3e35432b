//! A user's API keys: make one (shown once, only its hash kept), list them, revoke them. Each
//! change commits with its audit entry.

use emsg_seal::Secret;
pub use emsg_store::api_keys::ApiKeyInfo;
use emsg_store::audit::{self, AuditAction, NewAuditEntry};
use emsg_store::users::User;
use emsg_store::{StoreError, api_keys};

use crate::{Actor, Context, UseCaseError};

/// Every key of `user`, live or revoked.
pub async fn list(
    ctx: &Context,
    admin: &Actor,
    user: &User,
) -> Result<Vec<ApiKeyInfo>, UseCaseError> {
    admin.require_admin("API keys")?;
    let id = user.id;
    ctx.run(move |conn| Ok(api_keys::list(conn, id)?)).await
}

/// Makes a key for `user`: the key itself (shown once) and what is kept of it.
pub async fn make(
    ctx: &Context,
    admin: &Actor,
    user: &User,
) -> Result<(Secret, ApiKeyInfo), UseCaseError> {
    admin.require_admin("API keys")?;
    let actor = admin.audit_actor();
    let (id, name) = (user.id, user.name.clone());
    let now = emsg_store::now();
    ctx.run(move |conn| {
        Ok(audit::with_entry(
            conn,
            |conn| api_keys::create(conn, id, now),
            |(_, info)| {
                NewAuditEntry::ok(
                    actor,
                    AuditAction::MakeApiKey,
                    format!("API key {}… made for {name}", info.prefix),
                )
            },
        )?)
    })
    .await
}

/// Revokes `user`'s live key with `prefix` (`*`: every key); how many were revoked. None
/// revoked is an error naming how to list the keys.
pub async fn revoke(
    ctx: &Context,
    admin: &Actor,
    user: &User,
    prefix: String,
) -> Result<usize, UseCaseError> {
    admin.require_admin("API keys")?;
    let actor = admin.audit_actor();
    let (id, name) = (user.id, user.name.clone());
    let now = emsg_store::now();
    ctx.run(move |conn| {
        Ok(audit::with_entry(
            conn,
            |conn| match api_keys::revoke(conn, id, &prefix, now)? {
                0 => Err(StoreError::Invalid(format!(
                    "{name} has no live API key `{prefix}`: `emsg users api-key {name} --list` shows them"
                ))),
                revoked => Ok(revoked),
            },
            |revoked| {
                NewAuditEntry::ok(
                    actor,
                    AuditAction::RevokeApiKey,
                    format!("{revoked} API key(s) of {name} revoked ({prefix})"),
                )
            },
        )?)
    })
    .await
}
