//! The administrators' user management (add a user with a one-time password, a new one-time
//! password, role, disable, enable, remove, log out everywhere) and a user's own password
//! change. Each change ends the sessions and API keys it must and is audited in the store.

use emsg_seal::Secret;
/// What a password change or a removal ended: sessions and API keys.
pub use emsg_store::users::Ended;
/// A user, their role, and the shortest password a user may choose.
pub use emsg_store::users::{MIN_PASSWORD_CHARS, Role, User};
use emsg_store::{UserId, users};
use serde::Serialize;

use crate::{Actor, Context, UseCaseError};

mod account;
pub mod api_keys;

pub use account::{Applied, add_with_password, apply, find, named};

/// One change an administrator (or the operator) makes to a user.
#[derive(Debug, Clone)]
pub enum Change {
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

impl Change {
    /// The change named in a path (`password`, `role`, `disable`, `enable`, `remove`,
    /// `logout-everywhere`), with its options.
    pub fn parse(
        change: &str,
        role: Option<&str>,
        revoke_api_keys: bool,
    ) -> Result<Self, UseCaseError> {
        Ok(match change {
            "password" => Self::Password {
                password: None,
                revoke_api_keys,
            },
            "role" => Self::Role(
                role.ok_or_else(|| {
                    UseCaseError::Invalid("say which role: `administrator` or `finance`".to_owned())
                })?
                .parse()
                .map_err(UseCaseError::input)?,
            ),
            "disable" => Self::Disable,
            "enable" => Self::Enable,
            "remove" => Self::Remove,
            "logout-everywhere" => Self::LogOutEverywhere { revoke_api_keys },
            other => {
                return Err(UseCaseError::NotFound(format!(
                    "there is no user change `{other}`: use password, role, disable, enable, \
                     remove or logout-everywhere"
                )));
            }
        })
    }
}

/// What a change did: the sentence for the page or the JSON, and the one-time password when
/// one was made (to be shown once, never stored in clear).
pub struct Changed {
    pub message: String,
    pub one_time_password: Option<Secret>,
}

/// Runs `change` on the user named `name`, as `admin`: the sentence the pages show.
pub async fn change(
    ctx: &Context,
    admin: &Actor,
    name: String,
    change: Change,
) -> Result<Changed, UseCaseError> {
    let by = admin.name.clone();
    let applied = apply(ctx, admin, name.clone(), change.clone()).await?;
    let (user, ended) = (&applied.user.name, &applied.ended);
    let message = match change {
        Change::Password { .. } => format!(
            "{user} has a new one-time password and must choose their own at the next log-in; {ended}"
        ),
        Change::Role(role) => format!("{user} is now {role}; {ended}"),
        Change::Disable => format!("{user} is disabled; {ended}"),
        Change::Enable => format!("{user} can log in again"),
        Change::Remove => format!("{user} was removed; {ended}"),
        Change::LogOutEverywhere { .. } => {
            format!("{user} was logged out everywhere; {ended}")
        }
    };
    if applied.one_time_password.is_none() {
        tracing::info!(user = %name, by = %by, "{message}");
    }
    Ok(Changed {
        message,
        one_time_password: applied.one_time_password,
    })
}

/// Adds a user with a one-time password, as `admin`.
pub async fn add(
    ctx: &Context,
    admin: &Actor,
    name: String,
    role: &str,
) -> Result<(User, Secret), UseCaseError> {
    admin.require_admin("Adding users")?;
    let role: Role = role.parse().map_err(UseCaseError::input)?;
    let actor = admin.audit_actor();
    ctx.run(move |conn| {
        users::add_with_one_time_password(conn, name.trim(), role, &actor)
            .map_err(UseCaseError::input)
    })
    .await
}

/// The user as the page and the JSON API show them (never a password or hash).
#[derive(Debug, Serialize)]
pub struct UserView {
    /// For telling the actor's own row; not shown.
    #[serde(skip)]
    pub id: UserId,
    pub name: String,
    pub role: &'static str,
    pub created: String,
    pub disabled: bool,
    pub must_change_password: bool,
}

impl UserView {
    pub fn new(u: &User) -> Self {
        Self {
            id: UserId::new(u.id),
            name: u.name.clone(),
            role: u.role.as_str(),
            created: emsg_store::format_utc(u.created_at),
            disabled: u.disabled,
            must_change_password: u.must_change_password,
        }
    }
}

/// Every user, for administrators.
pub async fn list(ctx: &Context, admin: &Actor) -> Result<Vec<UserView>, UseCaseError> {
    admin.require_admin("The user list")?;
    let all = ctx
        .run(|conn| Ok::<_, UseCaseError>(users::list(conn)?))
        .await?;
    Ok(all.iter().map(UserView::new).collect())
}

/// Changes the actor's own password (the current one is needed); every other session ends
/// but `keep_session`, and API keys too when asked.
pub async fn change_own_password(
    ctx: &Context,
    actor: &Actor,
    current: Secret,
    new: Secret,
    keep_session: Option<String>,
    revoke_api_keys: bool,
) -> Result<Ended, UseCaseError> {
    let id = actor.require_user("Changing one's own password")?.get();
    let ended = ctx
        .run(move |conn| {
            users::change_own_password(
                conn,
                id,
                &current,
                &new,
                keep_session.as_deref(),
                revoke_api_keys,
            )
            .map_err(UseCaseError::input)
        })
        .await?;
    tracing::info!(user = %actor.name, "changed their password");
    Ok(ended)
}
