//! `/users`: who can log in, for administrators: add a user (with a one-time password shown
//! once), give a new one-time password, change the role, disable, enable, remove, log out
//! everywhere. The JSON API's `/api/v1/users…` ([`super::users_api`]) runs the same changes
//! ([`change`], [`add`]); each ends the sessions and API keys it must and is audited in the
//! store (through [`emsg_use_cases::users`]).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use emsg_seal::Secret;
use emsg_use_cases::users::{self as use_cases, Change, Changed};
use serde::Deserialize;
use serde_json::json;

use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::respond::{encode_segment, html, see_other};
use crate::session::{Flash, SessionUser};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(page))
        .route("/users", web::post().to(add_submit))
        .route("/users/{name}/{change}", web::post().to(change_submit));
}

async fn render_page(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    one_time: Option<(&str, &Secret)>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let all = use_cases::list(&state.ctx, &user.actor()).await?;
    let rows: Vec<_> = all
        .iter()
        .map(|u| {
            let mut row = json!(u);
            if let Some(object) = row.as_object_mut() {
                object.insert("path".to_owned(), json!(encode_segment(&u.name)));
                object.insert("is_finance".to_owned(), json!(u.role == "finance"));
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
    match use_cases::add(&state.ctx, &user.actor(), name, &role)
        .await
        .map_err(WebError::from)
    {
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
    let what = Change::parse(&which, form.role.as_deref(), form.revoke_api_keys.is_some())
        .map_err(WebError::from)?;
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
    match use_cases::change(&state.ctx, &user.actor(), name.clone(), what)
        .await
        .map_err(WebError::from)
    {
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
