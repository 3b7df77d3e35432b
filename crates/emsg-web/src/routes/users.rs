//! `/users`: who can log in, for administrators: add a user (with a one-time password shown
//! once), give a new one-time password, change the role, disable, enable, remove, log out
//! everywhere. The JSON API's `/api/v1/users…` ([`super::users_api`]) runs the same changes
//! ([`change`], [`add`]); each ends the sessions and API keys it must and is audited in the
//! store ([`emsg_store::users`]).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use emsg_seal::Secret;
use emsg_store::StoreError;
use emsg_store::audit::Actor;
use emsg_store::users::{self, Role, User};
use serde::Deserialize;
use serde_json::json;

use super::{encode_segment, html, render, see_other};
use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::session::{Flash, SessionUser};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(page))
        .route("/users", web::post().to(add_submit))
        .route("/users/{name}/{change}", web::post().to(change_submit));
}

/// One change an administrator makes to a user.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change {
    /// A new one-time password (shown once); every session ends.
    Password {
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
    pub(crate) fn parse(
        change: &str,
        role: Option<&str>,
        revoke_api_keys: bool,
    ) -> Result<Self, WebError> {
        Ok(match change {
            "password" => Self::Password { revoke_api_keys },
            "role" => Self::Role(
                role.ok_or_else(|| {
                    WebError::BadRequest("say which role: `administrator` or `finance`".to_owned())
                })?
                .parse()
                .map_err(user_error)?,
            ),
            "disable" => Self::Disable,
            "enable" => Self::Enable,
            "remove" => Self::Remove,
            "logout-everywhere" => Self::LogOutEverywhere { revoke_api_keys },
            other => {
                return Err(WebError::NotFound(format!(
                    "there is no user change `{other}`: use password, role, disable, enable, \
                     remove or logout-everywhere"
                )));
            }
        })
    }
}

/// What a change did: the sentence for the page or the JSON, and the one-time password when
/// one was made (to be shown once, never stored in clear).
pub(crate) struct Changed {
    pub message: String,
    pub one_time_password: Option<Secret>,
}

/// A user's mistake said as such (400/404/409), not as a storage failure.
pub(crate) fn user_error(e: StoreError) -> WebError {
    match e {
        StoreError::Invalid(message) => WebError::BadRequest(message),
        other => WebError::Store(other),
    }
}

/// Runs `change` on the user named `name`, as `admin`.
pub(crate) async fn change(
    state: &AppState,
    admin: &SessionUser,
    name: String,
    change: Change,
) -> Result<Changed, WebError> {
    admin.require_admin("Managing users")?;
    let actor = Actor::User { id: admin.id };
    let by = admin.name.clone();
    state
        .with_conn(move |conn| {
            let user = users::find_or_err(conn, &name).map_err(user_error)?;
            let done = match change {
                Change::Password { revoke_api_keys } => {
                    let password = users::generate_password()?;
                    let ended = users::set_password(
                        conn,
                        user.id,
                        &password,
                        true,
                        revoke_api_keys,
                        &actor,
                    )
                    .map_err(user_error)?;
                    return Ok(Changed {
                        message: format!(
                            "{} has a new one-time password and must choose their own at the next log-in; {ended}",
                            user.name
                        ),
                        one_time_password: Some(password),
                    });
                }
                Change::Role(role) => {
                    let ended = users::set_role(conn, user.id, role, &actor).map_err(user_error)?;
                    format!("{} is now {role}; {ended}", user.name)
                }
                Change::Disable => {
                    let ended = users::disable(conn, user.id, &actor).map_err(user_error)?;
                    format!("{} is disabled; {ended}", user.name)
                }
                Change::Enable => {
                    users::enable(conn, user.id, &actor).map_err(user_error)?;
                    format!("{} can log in again", user.name)
                }
                Change::Remove => {
                    let ended = users::remove(conn, user.id, &actor).map_err(user_error)?;
                    format!("{} was removed; {ended}", user.name)
                }
                Change::LogOutEverywhere { revoke_api_keys } => {
                    let ended = users::log_out_everywhere(conn, user.id, revoke_api_keys, &actor)
                        .map_err(user_error)?;
                    format!("{} was logged out everywhere; {ended}", user.name)
                }
            };
            tracing::info!(user = %name, by = %by, "{done}");
            Ok(Changed {
                message: done,
                one_time_password: None,
            })
        })
        .await
}

/// Adds a user with a one-time password, as `admin`.
pub(crate) async fn add(
    state: &AppState,
    admin: &SessionUser,
    name: String,
    role: &str,
) -> Result<(User, Secret), WebError> {
    admin.require_admin("Adding users")?;
    let role: Role = role.parse().map_err(user_error)?;
    let actor = Actor::User { id: admin.id };
    state
        .with_conn(move |conn| {
            users::add_with_one_time_password(conn, name.trim(), role, &actor).map_err(user_error)
        })
        .await
}

/// The user as the page and the JSON API show them (never a password or hash).
pub(crate) fn user_json(u: &User) -> serde_json::Value {
    json!({
        "name": u.name,
        "role": u.role.as_str(),
        "created": emsg_store::format_utc(u.created_at),
        "disabled": u.disabled,
        "must_change_password": u.must_change_password,
    })
}

async fn render_page(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    one_time: Option<(&str, &Secret)>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let all = state
        .with_conn(|conn| Ok(emsg_store::users::list(conn)?))
        .await?;
    let rows: Vec<_> = all
        .iter()
        .map(|u| {
            let mut row = user_json(u);
            if let Some(object) = row.as_object_mut() {
                object.insert("path".to_owned(), json!(encode_segment(&u.name)));
                object.insert("is_finance".to_owned(), json!(u.role == Role::Finance));
                object.insert("is_me".to_owned(), json!(u.id == user.id));
            }
            row
        })
        .collect();
    let body = render(
        state,
        "users",
        "Users",
        Some(user),
        json!({
            "users": rows,
            "error": error,
            // Shown on this answer only (it is `no-store`), never kept in a flash message.
            "one_time": one_time.map(|(name, password)| json!({ "name": name, "password": password.expose() })),
        }),
    )?;
    Ok(html(status, body))
}

async fn page(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
) -> Result<HttpResponse, PageError> {
    user.require_admin("The user list")?;
    render_page(&state, &user, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
struct AddForm {
    csrf: Option<String>,
    name: String,
    role: String,
}

async fn add_submit(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    form: web::Form<AddForm>,
) -> Result<HttpResponse, PageError> {
    let AddForm { csrf, name, role } = form.into_inner();
    user.check_csrf(csrf.as_deref())?;
    user.require_admin("Adding users")?;
    match add(&state, &user, name, &role).await {
        Ok((added, password)) => {
            render_page(
                &state,
                &user,
                StatusCode::OK,
                Some((&added.name, &password)),
                None,
            )
            .await
        }
        Err(e) if e.status().is_client_error() => {
            render_page(&state, &user, e.status(), None, Some(e.to_string())).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ChangeForm {
    csrf: Option<String>,
    role: Option<String>,
    #[serde(default)]
    revoke_api_keys: Option<String>,
    /// Removal asks for a ticked "I mean it".
    #[serde(default)]
    confirm: Option<String>,
}

async fn change_submit(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, PageError> {
    let (name, which) = path.into_inner();
    let form = form.into_inner();
    user.check_csrf(form.csrf.as_deref())?;
    user.require_admin("Managing users")?;
    let what = Change::parse(&which, form.role.as_deref(), form.revoke_api_keys.is_some())?;
    if matches!(what, Change::Remove) && form.confirm.as_deref() != Some("yes") {
        return render_page(
            &state,
            &user,
            StatusCode::BAD_REQUEST,
            None,
            Some(format!(
                "{name} was not removed: tick \"I mean it\" beside Remove to confirm"
            )),
        )
        .await;
    }
    match change(&state, &user, name.clone(), what).await {
        Ok(Changed {
            one_time_password: Some(password),
            ..
        }) => {
            render_page(
                &state,
                &user,
                StatusCode::OK,
                Some((&name, &password)),
                None,
            )
            .await
        }
        Ok(Changed { message, .. }) => {
            state
                .sessions
                .set_flash(&user.session_id, Flash::success(message))
                .await;
            Ok(see_other("/users"))
        }
        Err(e) if e.status().is_client_error() => {
            render_page(&state, &user, e.status(), None, Some(e.to_string())).await
        }
        Err(e) => Err(e.into()),
    }
}
