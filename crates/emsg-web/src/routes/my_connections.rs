//! `/my-connections`: every user-specific web application with the logged-in user's own
//! connection, and Connect / Disconnect for it (modelled on a landlord platform's
//! "Settings › HMRC Connection"). Any logged-in user; each acts only on their own connection.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use emsg_use_cases::my_connections::{self as use_cases, Connecting, NinoProblem};
use serde::Deserialize;
use serde_json::json;

use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::respond::{encode_segment, html, see_other};
use crate::session::{Flash, SessionUser};
use crate::state::AppState;

const PAGE: &str = "/my-connections";

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(PAGE, web::get().to(page))
        .route("/my-connections/{name}/connect", web::post().to(connect))
        .route(
            "/my-connections/{name}/disconnect",
            web::post().to(disconnect),
        );
}

async fn show(
    state: &AppState,
    user: &SessionUser,
    problem: Option<NinoProblem>,
) -> Result<HttpResponse, PageError> {
    let mut rows = Vec::new();
    for row in use_cases::list(&state.ctx, &user.actor()).await? {
        let problem = problem.as_ref().filter(|p| p.record == row.name);
        let segment = encode_segment(&row.name);
        rows.push(json!({
            "name": row.name,
            "description": row.description,
            "status": row.status,
            "status_text": row.status_text,
            "connected": row.connected,
            "authorized_at": row.authorized_at,
            "access_expires_at": row.access_expires_at,
            "access_expires_on": row.access_expires_on,
            "expires_in": row.expires_in,
            "nino": row.nino,
            "asks_nino": row.asks_nino,
            "is_exchange": row.is_exchange,
            "connect": format!("/my-connections/{segment}/connect"),
            "disconnect": format!("/my-connections/{segment}/disconnect"),
            "nino_error": problem.map(|p| p.message.clone()),
            "nino_typed": problem.map_or(String::new(), |p| p.typed.clone()),
        }));
    }
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = render(
        state,
        "my_connections",
        "My connections",
        Some(user),
        json!({ "records": rows }),
    )?;
    Ok(html(status, body))
}

async fn page(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
) -> Result<HttpResponse, PageError> {
    show(&state, &user, None).await
}

#[derive(Deserialize)]
struct ConnectForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    nino: Option<String>,
}

#[derive(Deserialize)]
struct DisconnectForm {
    #[serde(default)]
    csrf: Option<String>,
}

/// Engine errors the user can act on go back to the page as a message; the rest are pages.
async fn back_with_error(
    state: &AppState,
    user: &SessionUser,
    error: WebError,
) -> Result<HttpResponse, PageError> {
    match error {
        e @ (WebError::Forbidden(_) | WebError::NotFound(_) | WebError::BadRequest(_)) => {
            Err(e.into())
        }
        WebError::Engine(e) if e.code() == "unknown_web_application" => {
            Err(WebError::Engine(e).into())
        }
        e => {
            tracing::info!(code = e.code(), "my connections: {e}");
            state
                .sessions
                .set_flash(&user.session_id, Flash::error(e.to_string()))
                .await;
            Ok(see_other(PAGE))
        }
    }
}

async fn connect(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    name: web::Path<String>,
    form: web::Form<ConnectForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(form.csrf.as_deref())?;
    let connecting =
        use_cases::connect(&state.ctx, &user.actor(), name.into_inner(), form.nino).await?;
    match connecting {
        Ok(Connecting::SignIn { url }) => Ok(see_other(&url)),
        Ok(Connecting::NinoRefused(problem)) => show(&state, &user, Some(problem)).await,
        Err(e) => back_with_error(&state, &user, e.into()).await,
    }
}

async fn disconnect(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    name: web::Path<String>,
    form: web::Form<DisconnectForm>,
) -> Result<HttpResponse, PageError> {
    user.check_csrf(form.csrf.as_deref())?;
    match use_cases::disconnect(&state.ctx, &user.actor(), name.into_inner()).await? {
        Ok(message) => {
            state
                .sessions
                .set_flash(&user.session_id, Flash::success(message))
                .await;
            Ok(see_other(PAGE))
        }
        Err(e) => back_with_error(&state, &user, e.into()).await,
    }
}
