//! `/users`: who can log in, for administrators (adding users stays on the command line).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use super::{html, render};
use crate::auth::PageUser;
use crate::error::PageError;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(page));
}

async fn page(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
) -> Result<HttpResponse, PageError> {
    user.require_admin("The user list")?;
    let users = state
        .with_conn(|conn| Ok(emsg_store::users::list(conn)?))
        .await?;
    let rows: Vec<_> = users
        .iter()
        .map(|u| json!({ "name": u.name, "role": u.role.as_str(), "created": emsg_store::format_utc(u.created_at) }))
        .collect();
    let body = render(
        &state,
        "users",
        "Users",
        Some(&user),
        json!({ "users": rows }),
    )?;
    Ok(html(StatusCode::OK, body))
}
