//! The user's own account: `GET`/`POST /account/password` (the Change password page, which a
//! user with a one-time password is sent to before anything else) and
//! `POST /api/v1/account/password`. The change needs the current password; the user's other
//! sessions end, the one it was made from lives on, and API keys stay unless asked.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use emsg_seal::Secret;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{AccountUser, ApiAccountUser, csrf_header};
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::respond::{html, see_other};
use crate::session::{Flash, SessionUser};
use crate::state::AppState;

use crate::respond::PASSWORD_PATH;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(PASSWORD_PATH, web::get().to(form))
        .route(PASSWORD_PATH, web::post().to(submit))
        .route("/api/v1/account/password", web::post().to(api));
}

/// Changes `user`'s own password; the sentence to show.
async fn change(
    state: &AppState,
    user: &SessionUser,
    current: Secret,
    new: Secret,
    revoke_api_keys: bool,
) -> Result<String, WebError> {
    let keep = (!user.via_api_key).then(|| user.session_id.clone());
    let ended = emsg_use_cases::users::change_own_password(
        &state.ctx,
        &user.actor(),
        current,
        new,
        keep,
        revoke_api_keys,
    )
    .await?;
    Ok(format!(
        "Your password was changed. {} other session(s) ended; {}.",
        ended.sessions,
        if revoke_api_keys {
            format!("{} API key(s) revoked", ended.api_keys)
        } else {
            "your API keys still work".to_owned()
        }
    ))
}

fn page(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let body = render(
        state,
        "account_password",
        "Change password",
        Some(user),
        json!({
            "must_change": user.must_change_password,
            "error": error,
            "min_chars": emsg_use_cases::users::MIN_PASSWORD_CHARS,
        }),
    )?;
    Ok(html(status, body))
}

async fn form(
    state: web::Data<AppState>,
    AccountUser(user): AccountUser,
) -> Result<HttpResponse, PageError> {
    page(&state, &user, StatusCode::OK, None)
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: Option<String>,
    current_password: String,
    new_password: String,
    confirm_password: String,
    #[serde(default)]
    revoke_api_keys: Option<String>,
}

async fn submit(
    state: web::Data<AppState>,
    AccountUser(user): AccountUser,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(form.csrf.as_deref())?;
    if form.new_password != form.confirm_password {
        return page(
            &state,
            &user,
            StatusCode::BAD_REQUEST,
            Some("The new password and its confirmation differ: type them again.".to_owned()),
        );
    }
    let result = change(
        &state,
        &user,
        Secret::new(form.current_password),
        Secret::new(form.new_password),
        form.revoke_api_keys.is_some(),
    )
    .await;
    match result {
        Ok(message) => {
            state
                .sessions
                .set_flash(&user.session_id, Flash::success(message))
                .await;
            Ok(see_other("/web-applications"))
        }
        Err(e) if e.status().is_client_error() => {
            page(&state, &user, e.status(), Some(e.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    new_password: String,
    #[serde(default)]
    revoke_api_keys: bool,
}

/// `{"current_password", "new_password", "revoke_api_keys"?}` → `{"message"}`.
async fn api(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiAccountUser(user): ApiAccountUser,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    user.check_csrf(csrf_header(&req))?;
    let body: PasswordBody = serde_json::from_slice(&body).map_err(|e| {
        WebError::BadRequest(format!(
            "the request body is not the expected JSON object: {e}"
        ))
    })?;
    let message = change(
        &state,
        &user,
        Secret::new(body.current_password),
        Secret::new(body.new_password),
        body.revoke_api_keys,
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "message": message })))
}
