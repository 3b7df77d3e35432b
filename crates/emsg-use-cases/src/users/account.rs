//! A user's account as the operator changes it: each change answers the user as stored, what
//! it ended and the one-time password it made, for the command line to word.

use emsg_seal::Secret;
use emsg_store::audit::{self, AuditAction, NewAuditEntry};
use emsg_store::users::{self, Ended, Role, User};

use crate::{Actor, Context, UseCaseError};

/// One change to a user's account.
pub enum AccountChange {
    /// `password`, or a one-time password made here (shown once; the user must choose their
    /// own at the next log-in). Every session ends; API keys when asked.
    Password {
        password: Option<Secret>,
        revoke_api_keys: bool,
    },
    Role(Role),
    Disable,
    Enable,
    Remove,
    LogOutEverywhere {
        revoke_api_keys: bool,
    },
}

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
    change: AccountChange,
) -> Result<Applied, UseCaseError> {
    admin.require_admin("Managing users")?;
    let actor = admin.audit_actor();
    ctx.run(move |conn| {
        let user = users::find_or_err(conn, &name)?;
        let mut one_time_password = None;
        let ended = match change {
            AccountChange::Password {
                password,
                revoke_api_keys,
            } => {
                let (password, one_time) = match password {
                    Some(password) => (password, false),
                    None => (users::generate_password()?, true),
                };
                let ended = users::set_password(
                    conn,
                    user.id,
                    &password,
                    one_time,
                    revoke_api_keys,
                    &actor,
                )?;
                one_time_password = one_time.then_some(password);
                ended
            }
            AccountChange::Role(role) => users::set_role(conn, user.id, role, &actor)?,
            AccountChange::Disable => users::disable(conn, user.id, &actor)?,
            AccountChange::Enable => {
                users::enable(conn, user.id, &actor)?;
                Ended::default()
            }
            AccountChange::Remove => users::remove(conn, user.id, &actor)?,
            AccountChange::LogOutEverywhere { revoke_api_keys } => {
                users::log_out_everywhere(conn, user.id, revoke_api_keys, &actor)?
            }
        };
        Ok(Applied {
            user,
            ended,
            one_time_password,
        })
    })
    .await
}
