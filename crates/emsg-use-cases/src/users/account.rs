//! A user's account as an administrator or the operator changes it: each change answers the
//! user as stored, what it ended and the one-time password it made, for the face to word.

use emsg_seal::Secret;
use emsg_store::audit::{self, Actor as AuditActor, AuditAction, NewAuditEntry};
use emsg_store::db::DbConnection;
use emsg_store::users::{self, Ended, Role, User};

use super::Change;
use crate::{Actor, Context, UseCaseError};

/// What a change did.
pub struct Applied {
    pub user: User,
    /// The sessions and API keys it ended (none for enabling).
    pub ended: Ended,
    /// The one-time password it made, to be shown once.
    pub one_time_password: Option<Secret>,
}

/// The user named `name`, or the store's error naming where the users are listed.
pub async fn named(ctx: &Context, admin: &Actor, name: String) -> Result<User, UseCaseError> {
    admin.require_admin("Managing users")?;
    ctx.run(move |conn| Ok(users::find_or_err(conn, &name)?))
        .await
}

/// The user named `name`, if there is one (disabled or not).
pub async fn find(
    ctx: &Context,
    actor: &Actor,
    name: String,
) -> Result<Option<User>, UseCaseError> {
    actor.require_actions()?;
    ctx.run(move |conn| Ok(users::find(conn, &name)?)).await
}

/// Adds a user with the password `password` (which is not a one-time one), as `admin`.
pub async fn add_with_password(
    ctx: &Context,
    admin: &Actor,
    name: String,
    role: Role,
    password: Secret,
) -> Result<User, UseCaseError> {
    admin.require_admin("Adding users")?;
    let actor = admin.audit_actor();
    ctx.run(move |conn| {
        Ok(audit::with_entry(
            conn,
            |conn| users::add(conn, &name, role, &password),
            |user| {
                NewAuditEntry::ok(
                    actor,
                    AuditAction::AddUser,
                    format!("user {} added with role {}", user.name, user.role),
                )
            },
        )?)
    })
    .await
}

/// Makes `change` to the user named `name`, as `admin`.
pub async fn apply(
    ctx: &Context,
    admin: &Actor,
    name: String,
    change: Change,
) -> Result<Applied, UseCaseError> {
    admin.require_admin("Managing users")?;
    let actor = admin.audit_actor();
    ctx.run(move |conn| {
        let user = users::find_or_err(conn, &name).map_err(UseCaseError::input)?;
        // The store's refusals (the last administrator, a short password) are the asker's.
        let (ended, one_time_password) =
            make(conn, &user, change, &actor).map_err(UseCaseError::input)?;
        Ok(Applied {
            user,
            ended,
            one_time_password,
        })
    })
    .await
}

/// Writes `change` of `user` with its audit entry; what it ended and the one-time password it
/// made.
fn make(
    conn: &mut DbConnection,
    user: &User,
    change: Change,
    actor: &AuditActor,
) -> emsg_store::Result<(Ended, Option<Secret>)> {
    Ok(match change {
        Change::Password {
            password,
            revoke_api_keys,
        } => {
            let (password, one_time) = match password {
                Some(password) => (password, false),
                None => (users::generate_password()?, true),
            };
            let ended =
                users::set_password(conn, user.id, &password, one_time, revoke_api_keys, actor)?;
            (ended, one_time.then_some(password))
        }
        Change::Role(role) => (users::set_role(conn, user.id, role, actor)?, None),
        Change::Disable => (users::disable(conn, user.id, actor)?, None),
        Change::Enable => {
            users::enable(conn, user.id, actor)?;
            (Ended::default(), None)
        }
        Change::Remove => (users::remove(conn, user.id, actor)?, None),
        Change::LogOutEverywhere { revoke_api_keys } => (
            users::log_out_everywhere(conn, user.id, revoke_api_keys, actor)?,
            None,
        ),
    })
}
