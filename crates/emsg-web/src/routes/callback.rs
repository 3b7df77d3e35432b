//! The OAuth callback at the path of the records' redirect URL: the provider sends the browser
//! back here with `state` and `code` (or `error`). The session must be the one of the user who
//! started; without a session the answer is parked until they log in.
//!
//! Parking is bounded: the request's size is limited before anything is read, and only an
//! answer to a live pending authorization is kept — in the database, sealed, one per flow, for
//! the flow's lifetime (`emsg_use_cases::callback::park`) — so any `serve` node resumes it and
//! anonymous requests cannot fill memory or the table. The code never appears in a URL or page
//! of ours: the browser carries a random resume key instead.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use emsg_seal::Secret;
use emsg_use_cases::callback::{self as answer, Answer, CallbackOutcome, EngineError, Parked};
use serde_json::json;

use crate::auth;
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::respond::{encode_segment, html};
use crate::session::SessionUser;
use crate::state::AppState;

/// The longest query string read: providers' answers are far shorter.
pub(crate) const MAX_QUERY: usize = 8 * 1024;
/// The longest value of each parameter kept.
const MAX_STATE: usize = 512;
const MAX_CODE: usize = 4096;
const MAX_ERROR: usize = 200;
const MAX_DESCRIPTION: usize = 1024;
const MAX_ISS: usize = 1024;
const MAX_RESUME: usize = 128;

/// The callback paths of the records, and the Web applications pages when a provider's answer
/// arrives there (Dynamics' habit: the redirect URL is the page itself). Such an answer is the
/// callback's, with or without a session: an anonymous one is parked like at the callback path,
/// never carried on to the log-in page in its URL. Registered before the pages.
pub fn config(cfg: &mut web::ServiceConfig, paths: &[String]) {
    for path in paths {
        cfg.route(path, web::get().to(callback));
    }
    let answer = || {
        actix_web::guard::fn_guard(|ctx| is_callback(ctx.head().uri.query().unwrap_or_default()))
    };
    cfg.route("/web-applications", web::get().guard(answer()).to(callback))
        .route(
            "/web-applications/{name}",
            web::get().guard(answer()).to(callback),
        );
}

async fn callback(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    handle(&state, &req, auth::session_user(&req, true).await).await
}

/// The parameters of a callback's query.
#[derive(Default)]
struct Query {
    state: String,
    resume: Option<String>,
    answer: Answer,
}

/// Whether a query carries a provider's answer (or the key of a parked one): such a request is
/// the callback's to handle, wherever it arrived.
fn is_callback(query: &str) -> bool {
    url::form_urlencoded::parse(query.as_bytes())
        .any(|(key, _)| matches!(key.as_ref(), "state" | "code" | "error" | "resume"))
}

fn too_long(what: &str, limit: usize) -> WebError {
    WebError::BadRequest(format!(
        "the sign-in answer's `{what}` is longer than {limit} characters, more than any provider \
         sends: nothing was kept. Start again with Get authorization code"
    ))
}

/// Reads the query, refusing over-long or repeated parameters before anything is looked up.
fn read(query: &str) -> Result<Query, WebError> {
    if query.len() > MAX_QUERY {
        return Err(WebError::BadRequest(format!(
            "the sign-in answer is longer than {} KiB, more than any provider sends: nothing was \
             kept. Start again with Get authorization code",
            MAX_QUERY / 1024
        )));
    }
    let mut read = Query::default();
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let limit = match key.as_ref() {
            "state" => MAX_STATE,
            "code" => MAX_CODE,
            "error" => MAX_ERROR,
            "error_description" => MAX_DESCRIPTION,
            "iss" => MAX_ISS,
            "resume" => MAX_RESUME,
            _ => continue,
        };
        if value.len() > limit {
            return Err(too_long(&key, limit));
        }
        if seen.contains(&key.to_string()) {
            return Err(WebError::BadRequest(format!(
                "the sign-in answer carries `{key}` twice: nothing was kept. Start again with Get \
                 authorization code"
            )));
        }
        seen.push(key.to_string());
        let value = value.into_owned();
        match key.as_ref() {
            "state" => read.state = value,
            "code" => read.answer.code = Some(Secret::new(value)),
            "error" => read.answer.error = Some(value),
            "error_description" => read.answer.error_description = Some(value),
            "iss" => read.answer.iss = Some(value),
            _ => read.resume = Some(value),
        }
    }
    Ok(read)
}

async fn handle(
    state: &AppState,
    req: &HttpRequest,
    user: Option<SessionUser>,
) -> Result<HttpResponse, PageError> {
    let query = read(req.query_string())?;
    // Back from the log-in page: the parked answer, not anything in the URL.
    if let Some(key) = query.resume {
        let Some(user) = user else {
            return Err(PageError::Login {
                next: format!("{}?resume={key}", req.path()),
            });
        };
        let result = answer::resume(&state.ctx, &user.actor(), &key).await?;
        return outcome(state, &user, result);
    }
    let Some(user) = user else {
        return park(state, req, query).await;
    };
    if query.state.is_empty() {
        return Ok(page(
            state,
            Some(&user),
            StatusCode::BAD_REQUEST,
            false,
            NO_STATE.to_owned(),
            None,
        )?);
    }
    let result = answer::receive(&state.ctx, &user.actor(), query.state, query.answer).await;
    outcome(state, &user, result)
}

const NO_STATE: &str = "This address is where the provider sends you back after signing in, with `state` and `code`; \
     this request has no `state`. Start with Get authorization code on the Web applications page.";

/// An answer without a session: kept for its flow until its user logs in, or refused at once
/// (nothing kept) when no flow waits for it.
async fn park(
    state: &AppState,
    req: &HttpRequest,
    query: Query,
) -> Result<HttpResponse, PageError> {
    if query.state.is_empty() {
        return Ok(page(
            state,
            None,
            StatusCode::BAD_REQUEST,
            false,
            NO_STATE.to_owned(),
            None,
        )?);
    }
    let key = crate::session::random_token()?;
    let parked = answer::park(&state.ctx, &query.state, &key, query.answer).await?;
    let message = match parked {
        // The code stays on the server while the user logs in: never in a page or a URL of ours.
        Parked::Kept => {
            return Err(PageError::Login {
                next: format!("{}?resume={key}", req.path()),
            });
        }
        Parked::NoLiveFlow => {
            "This sign-in answer does not belong to an authorization waiting for one: it is \
             unknown, expired or was already used, and nothing was kept. Log in and start again \
             with Get authorization code."
        }
        Parked::AlreadyParked => {
            "This sign-in answer already arrived and waits for its user to log in in the browser \
             it first reached; nothing more was kept. If that browser is gone, log in and start \
             again with Get authorization code."
        }
    };
    tracing::info!(outcome = ?parked, "callback without a session not kept");
    Ok(page(
        state,
        None,
        StatusCode::BAD_REQUEST,
        false,
        message.to_owned(),
        None,
    )?)
}

fn outcome(
    state: &AppState,
    user: &SessionUser,
    result: Result<CallbackOutcome, EngineError>,
) -> Result<HttpResponse, PageError> {
    match result {
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
                Some(user),
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
            Ok(page(state, Some(user), status, false, e.to_string(), None)?)
        }
    }
}

fn page(
    state: &AppState,
    user: Option<&SessionUser>,
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
        user,
        json!({ "ok": ok, "message": message, "back": back, "back_label": back_label }),
    )?;
    Ok(html(status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_over_long_or_repeated_answer_is_refused_before_anything_is_looked_up() {
        assert!(read(&format!("state=s&code={}", "c".repeat(MAX_QUERY))).is_err());
        assert!(read(&format!("state={}&code=c", "s".repeat(MAX_STATE + 1))).is_err());
        assert!(read(&format!("state=s&code={}", "c".repeat(MAX_CODE + 1))).is_err());
        assert!(read("state=s&code=a&code=b").is_err());
        assert!(read("state=s&state=t&code=a").is_err());
        let ok = read("state=s&code=c&iss=https%3A%2F%2Fi&other=x").map_err(|e| e.to_string());
        assert!(
            matches!(ok, Ok(q) if q.state == "s" && q.answer.iss.as_deref() == Some("https://i"))
        );
    }

    #[test]
    fn only_a_query_with_an_answer_is_the_callbacks() {
        assert!(is_callback("state=s&code=c"));
        assert!(is_callback("resume=k"));
        assert!(is_callback("code=c"));
        assert!(!is_callback("q=state%3D&page=2"));
        assert!(!is_callback(""));
    }
}
