//! `/api/v1/users…`: the administrators' user changes for scripts, the same use cases as the
//! `/users` page ([`emsg_use_cases::users`]).

use actix_web::{HttpRequest, HttpResponse, web};
use emsg_use_cases::users::{self as use_cases, Change, Changed, UserView};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{ApiUser, csrf_header};
use crate::error::WebError;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/users", web::get().to(list))
        .route("/api/v1/users", web::post().to(add))
        .route("/api/v1/users/{name}/{change}", web::post().to(change));
}

async fn list(
    state: web::Data<AppState>,
    ApiUser(user): ApiUser,
) -> Result<HttpResponse, WebError> {
    let all = use_cases::list(&state.ctx, &user.actor()).await?;
    Ok(HttpResponse::Ok().json(json!({ "users": all })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    name: String,
    role: String,
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WebError> {
    serde_json::from_slice(body).map_err(|e| {
        WebError::BadRequest(format!(
            "the request body is not the expected JSON object: {e}"
        ))
    })
}

/// `{"name", "role"}` → 201 with the user and its one-time password (shown this once).
async fn add(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiUser(user): ApiUser,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    user.check_csrf(csrf_header(&req))?;
    let body: AddBody = parse(&body)?;
    let (added, password) =
        use_cases::add(&state.ctx, &user.actor(), body.name, &body.role).await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "message": format!("{} was added; they must choose their own password at the first log-in", added.name),
            "user": UserView::new(&added),
            "one_time_password": password.expose(),
        })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    role: Option<String>,
    #[serde(default)]
    revoke_api_keys: bool,
}

/// `POST /api/v1/users/{name}/{password|role|disable|enable|remove|logout-everywhere}`.
async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiUser(user): ApiUser,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    user.check_csrf(csrf_header(&req))?;
    user.require_admin("Managing users")?;
    let (name, which) = path.into_inner();
    let body: ChangeBody = if body.iter().all(u8::is_ascii_whitespace) {
        ChangeBody::default()
    } else {
        parse(&body)?
    };
    let what = Change::parse(&which, body.role.as_deref(), body.revoke_api_keys)?;
    let Changed {
        message,
        one_time_password,
    } = use_cases::change(&state.ctx, &user.actor(), name, what).await?;
    let mut answer = json!({ "message": message });
    if let (Some(password), Some(object)) = (one_time_password, answer.as_object_mut()) {
        object.insert("one_time_password".to_owned(), json!(password.expose()));
    }
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(answer))
}
