//! The OAuth callback at the path of the records' redirect URL: the provider sends the browser
//! back here with `state` and `code` (or `error`). The session must be the one of the user who
//! started; without a session the answer is parked until they log in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use emsg_engine::CallbackParams;
use emsg_seal::Secret;
use serde_json::json;

use super::{encode_segment, html, render};
use crate::auth;
use crate::error::{PageError, WebError};
use crate::session::SessionUser;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig, paths: &[String]) {
    for path in paths {
        cfg.route(path, web::get().to(callback));
    }
}

async fn callback(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    handle(&state, &req, auth::session_user(&req, true).await).await
}

pub(crate) async fn handle(
    state: &AppState,
    req: &HttpRequest,
    user: Option<SessionUser>,
) -> Result<HttpResponse, PageError> {
    let mut query = req.query_string().to_owned();
    // Back from the log-in page: the parked answer, not anything in the URL.
    let resume = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "resume")
        .map(|(_, v)| v.into_owned());
    if let Some(key) = &resume {
        match state.unpark_callback(key) {
            Some(parked) => query = parked,
            None => {
                return Err(WebError::BadRequest(
                    "this sign-in answer waited too long for a log-in (10 minutes) or was already used: \
                     start again with Get authorization code"
                        .to_owned(),
                )
                .into());
            }
        }
    }
    let Some(user) = user else {
        // The code stays on the server while the user logs in: never in a page or a URL of ours.
        let key = state.park_callback(query)?;
        let next = format!("{}?resume={key}", req.path());
        return Err(PageError::Login { next });
    };
    let mut params = CallbackParams::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "state" => params.state = value.into_owned(),
            "code" => params.code = Some(Secret::new(value.into_owned())),
            "error" => params.error = Some(value.into_owned()),
            "error_description" => params.error_description = Some(value.into_owned()),
            "iss" => params.iss = Some(value.into_owned()),
            _ => {}
        }
    }
    if params.state.is_empty() {
        return Ok(page(
            state,
            &user,
            StatusCode::BAD_REQUEST,
            false,
            "This address is where the provider sends you back after signing in, with `state` and `code`; \
             this request has no `state`. Start with Get authorization code on the Web applications page."
                .to_owned(),
            None,
        )?);
    }
    match state.engine.callback(user.id, params).await {
        Ok(outcome) => {
            let message = if outcome.connection.is_some() {
                format!(
                    "Connected: {} is authorized and the access token was obtained. You can close this tab.",
                    outcome.web_application
                )
            } else {
                format!(
                    "The authorization code for {} was received. Close this tab and, on the Web applications page, select Obtain access token.",
                    outcome.web_application
                )
            };
            Ok(page(
                state,
                &user,
                StatusCode::OK,
                true,
                message,
                Some(&outcome.web_application),
            )?)
        }
        Err(e) => {
            let e = WebError::from(e);
            tracing::info!(code = e.code(), "callback refused: {e}");
            let status = if e.status().is_server_error() {
                e.status()
            } else {
                StatusCode::BAD_REQUEST
            };
            Ok(page(state, &user, status, false, e.to_string(), None)?)
        }
    }
}

fn page(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    ok: bool,
    message: String,
    app: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let (back, back_label) = match app {
        Some(name) => (
            format!("/web-applications/{}", encode_segment(name)),
            name.to_owned(),
        ),
        None => (
            "/web-applications".to_owned(),
            "Web applications".to_owned(),
        ),
    };
    let title = if ok {
        "Success"
    } else {
        "Sign-in not completed"
    };
    let body = render(
        state,
        "callback",
        title,
        Some(user),
        json!({ "ok": ok, "message": message, "back": back, "back_label": back_label }),
    )?;
    Ok(html(status, body))
}
