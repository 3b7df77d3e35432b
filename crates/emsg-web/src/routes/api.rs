//! The JSON API under `/api/v1`: the same records, statuses and actions as the page, the same
//! roles. A session cookie authenticates; state-changing calls also need `X-CSRF-Token` (from
//! `GET /api/v1/session` or the page's `csrf-token` meta tag).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use emsg_engine::Acting;
use emsg_seal::Secret;
use emsg_use_cases::views::ConnectionPanel;
use emsg_use_cases::web_applications::{self as use_cases, Action, ActionInput, Outcome};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{ApiUser, csrf_header};
use crate::error::WebError;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/session", web::get().to(session))
        .route("/api/v1/connections", web::get().to(connections))
        .route("/api/v1/web-applications", web::get().to(list))
        .route("/api/v1/web-applications/{name}", web::get().to(show))
        .route(
            "/api/v1/web-applications/{name}/client-secret",
            web::post().to(client_secret),
        )
        .route(
            "/api/v1/web-applications/{name}/connection/ensure-valid",
            web::post().to(ensure_valid),
        )
        .route(
            "/api/v1/web-applications/{name}/{action}",
            web::post().to(action),
        )
        .default_service(web::to(not_found));
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        return actix_web::ResponseError::error_response(&WebError::NotFound(format!(
            "there is no API route {} {}",
            req.method(),
            req.path()
        )));
    }
    crate::respond::html(
        StatusCode::NOT_FOUND,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found · emsg</title>\
         <link rel=\"stylesheet\" href=\"/static/emsg.css\"></head><body><main><h1>Not found</h1>\
         <p>There is no such page. <a href=\"/web-applications\">Web applications</a></p></main></body></html>\n"
            .to_owned(),
    )
}

async fn session(ApiUser(user): ApiUser) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "user": user.name,
        "role": user.role.as_str(),
        "csrf_token": user.csrf,
    }))
}

async fn list(state: web::Data<AppState>, _user: ApiUser) -> Result<HttpResponse, WebError> {
    let all = use_cases::all_views(&state.ctx).await?;
    Ok(HttpResponse::Ok().json(json!({ "web_applications": all })))
}

async fn show(
    state: web::Data<AppState>,
    ApiUser(user): ApiUser,
    name: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let chosen = use_cases::show(&state.ctx, &user.actor(), name.into_inner()).await?;
    let (view, connection) = (chosen.view, chosen.connection);
    let mut body = serde_json::to_value(view).map_err(|e| WebError::Internal(e.to_string()))?;
    if let Some(object) = body.as_object_mut() {
        object.insert(
            "connection".to_owned(),
            json!(connection.map(|c| ConnectionPanel::new(&c, emsg_store::now()))),
        );
    }
    Ok(HttpResponse::Ok().json(body))
}

/// Every connection of the server's company (statuses only: never a token).
async fn connections(state: web::Data<AppState>, _user: ApiUser) -> Result<HttpResponse, WebError> {
    let all = use_cases::connections(&state.ctx).await?;
    Ok(HttpResponse::Ok().json(json!({
        "company": state.engine.config().default_company,
        "connections": all,
    })))
}

/// An action's JSON body. Any other field is a choice of the Get authorization code dialog
/// (`"ui_locales": "nb"`), checked against the record's `parameter_choices`.
#[derive(Deserialize, Default)]
struct ActionBody {
    scope: Option<String>,
    code: Option<String>,
    #[serde(flatten)]
    choices: BTreeMap<String, String>,
}

fn parse_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, WebError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        WebError::BadRequest(format!(
            "the request body is not the expected JSON object: {e}"
        ))
    })
}

async fn action(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiUser(user): ApiUser,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    user.check_csrf(csrf_header(&req))?;
    let (name, action) = path.into_inner();
    let action = Action::parse(&action).map_err(WebError::from)?;
    let body: ActionBody = parse_body(&body)?;
    let input = ActionInput {
        scope: body.scope,
        choices: body.choices,
        code: body
            .code
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .map(Secret::new),
    };
    let outcome = use_cases::run_action(&state.ctx, &user.actor(), &name, action, input).await?;
    let message = outcome.message(action);
    let now = emsg_store::now();
    Ok(HttpResponse::Ok().json(match outcome {
        Outcome::Redirect { url, expires_at } => json!({
            "message": message,
            "authorization_url": url,
            "expires_at": expires_at,
        }),
        Outcome::Connection(view) => json!({
            "message": message,
            "connection": ConnectionPanel::new(&view, now),
        }),
        Outcome::Disconnected(done) => json!({
            "message": message,
            "web_application": done.web_application,
            "revoked_at_provider": done.revoked_at_provider,
            "revocation_error": done.revocation_error,
        }),
    }))
}

/// Makes the server hold a token of the connection valid beyond the skew (refreshing it first
/// when needed, once however many ask at the same time), and answers the connection's status:
/// for a sender that lets the server use the token, never for handing the token out.
async fn ensure_valid(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiUser(user): ApiUser,
    name: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    user.check_csrf(csrf_header(&req))?;
    user.require_actions()?;
    let view = state
        .engine
        .ensure_valid(&name.into_inner(), None, Acting::User(user.id))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "message": "The access token is valid.",
        "connection": ConnectionPanel::new(&view, emsg_store::now()),
    })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SecretBody {
    client_secret: Option<String>,
}

async fn client_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiUser(user): ApiUser,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    user.check_csrf(csrf_header(&req))?;
    user.require_admin("Setting a client secret")?;
    let body: SecretBody = parse_body(&body)?;
    let name = name.into_inner();
    use_cases::set_client_secret(
        &state.ctx,
        &user.actor(),
        name.clone(),
        body.client_secret.unwrap_or_default(),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "message": format!("the client secret of {name} was set") })))
}
