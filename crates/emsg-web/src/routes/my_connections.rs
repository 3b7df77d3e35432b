//! `/my-connections`: every user-specific web application with the logged-in user's own
//! connection, and Connect / Disconnect for it (modelled on a landlord platform's
//! "Settings › HMRC Connection"). Any logged-in user; each acts only on their own connection.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use emsg_engine::Acting;
use emsg_engine::CodeRequest;
use emsg_store::connections::Status;
use emsg_store::web_applications::{self as records, WebApplication};
use emsg_use_cases::views::status_text;
use emsg_use_cases::web_applications::{Action, Outcome};
use emsg_webapps::Capture;
use serde::Deserialize;
use serde_json::json;

use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::nino;
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

/// Whether connecting to `record` asks for the user's National Insurance number: when the
/// record says it captures one (`captures: [nino]`, the HMRC Income Tax records).
fn asks_for_nino(record: &WebApplication) -> bool {
    record.captures().contains(&Capture::Nino)
}

/// A refused NINO, shown next to the record it was typed for.
struct NinoProblem {
    record: String,
    message: String,
    typed: String,
}

async fn user_specific_records(state: &AppState) -> Result<Vec<WebApplication>, WebError> {
    state
        .with_conn(|conn| {
            Ok(records::list(conn)?
                .into_iter()
                .filter(|r| r.user_specific)
                .collect())
        })
        .await
}

async fn show(
    state: &AppState,
    user: &SessionUser,
    problem: Option<NinoProblem>,
) -> Result<HttpResponse, PageError> {
    let now = emsg_store::now();
    let mut rows = Vec::new();
    for record in user_specific_records(state).await? {
        let connection = state
            .engine
            .connection(&record.name, None, user.id)
            .await
            .map_err(WebError::from)?
            .filter(|c| c.status != Status::Disconnected);
        let status_text = match connection.as_ref().map(|c| c.status) {
            None | Some(Status::Disconnected) => "Not connected",
            Some(status) => status_text(status),
        };
        let problem = problem.as_ref().filter(|p| p.record == record.name);
        let segment = encode_segment(&record.name);
        rows.push(json!({
            "name": record.name,
            "description": record.description,
            "status": connection.as_ref().map_or("not_connected", |c| c.status.as_str()),
            "status_text": status_text,
            "connected": connection.is_some(),
            "authorized_at": connection.as_ref().and_then(|c| c.authorized_at).map(emsg_store::format_utc),
            "access_expires_at": connection.as_ref().and_then(|c| c.access_expires_at),
            "access_expires_on": connection.as_ref().and_then(|c| c.access_expires_at).map(emsg_store::format_utc),
            "expires_in": connection.as_ref().and_then(|c| c.expires_in(now)).map(emsg_store::format_remaining),
            "nino": connection.as_ref().and_then(|c| c.taxpayer_id.as_deref()).map(nino::masked),
            "asks_nino": asks_for_nino(&record),
            "is_exchange": record.is_exchange(),
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

/// The user-specific record named `name`; shared records are not "my" connections.
async fn user_specific_record(state: &AppState, name: String) -> Result<WebApplication, WebError> {
    let record = state
        .with_conn(move |conn| Ok(records::get(conn, &name)?))
        .await?;
    if record.user_specific {
        Ok(record)
    } else {
        Err(WebError::NotFound(format!(
            "{} is shared by the company, not connected per user: use the Web applications page",
            record.name
        )))
    }
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
    user.require_actions()?;
    let record = user_specific_record(&state, name.into_inner()).await?;
    // The NINO is checked before anything is started: a refused one leaves no trace.
    let taxpayer_id = if asks_for_nino(&record) {
        let typed = form.nino.unwrap_or_default();
        match nino::normalise(&typed) {
            Ok(normalised) => Some(normalised),
            Err(message) => {
                let problem = NinoProblem {
                    record: record.name.clone(),
                    message: format!("National Insurance number not accepted: {message}."),
                    typed,
                };
                return show(&state, &user, Some(problem)).await;
            }
        }
    } else {
        None
    };
    let request = CodeRequest {
        taxpayer_id,
        ..Default::default()
    };
    match state
        .engine
        .get_authorization_code(&record.name, None, user.id, request)
        .await
    {
        Ok(start) => Ok(see_other(&start.url)),
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
    user.require_actions()?;
    let record = user_specific_record(&state, name.into_inner()).await?;
    match state
        .engine
        .disconnect(&record.name, None, Acting::User(user.id))
        .await
    {
        Ok(done) => {
            let message = Outcome::Disconnected(done).message(Action::Disconnect);
            state
                .sessions
                .set_flash(&user.session_id, Flash::success(message))
                .await;
            Ok(see_other(PAGE))
        }
        Err(e) => back_with_error(&state, &user, e.into()).await,
    }
}
