//! `GET /login`, `POST /login` and `POST /logout`. Passwords are checked with argon2id off the
//! async workers; failures are throttled per user name and per client address.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use emsg_seal::Secret;
use serde::Deserialize;
use serde_json::json;

use super::{html, render, see_other};
use crate::auth::{self, AccountUser};
use crate::error::{PageError, WebError};
use crate::session::{self, COOKIE, constant_time_eq};
use crate::state::AppState;

/// Double-submit cookie that protects the log-in form itself (there is no session yet).
const LOGIN_CSRF_COOKIE: &str = "emsg_login_csrf";

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/login", web::get().to(form))
        .route("/login", web::post().to(submit))
        .route("/logout", web::post().to(logout));
}

async fn home(req: HttpRequest) -> HttpResponse {
    if auth::session_user(&req, false).await.is_some() {
        see_other("/web-applications")
    } else {
        see_other("/login")
    }
}

/// `/login?next=…` for a page an anonymous visitor asked for.
pub(crate) fn login_url(next: &str) -> String {
    if next.is_empty() || next == "/" || next == "/web-applications" {
        return "/login".to_owned();
    }
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/login?next={encoded}")
}

/// Only paths of this server: no scheme, no host, no `//` (an open redirect otherwise).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/web-applications".to_owned(),
    }
}

fn cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> String {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        text.push_str("; Secure");
    }
    text
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn login_page(
    state: &AppState,
    status: StatusCode,
    next: &str,
    name: &str,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let token = session::random_token()?;
    let body = render(
        state,
        "login",
        "Log in",
        None,
        json!({ "next": next, "name": name, "error": error, "login_csrf": token }),
    )?;
    let mut response = html(status, body);
    response.headers_mut().append(
        header::SET_COOKIE,
        header::HeaderValue::from_str(&cookie(
            LOGIN_CSRF_COOKIE,
            &token,
            state.secure_cookies,
            Some(3600),
        ))
        .map_err(|e| WebError::Internal(e.to_string()))?,
    );
    Ok(response)
}

async fn form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let next = safe_next(query.next.as_deref());
    if auth::session_user(&req, false).await.is_some() {
        return Ok(see_other(&next));
    }
    Ok(login_page(&state, StatusCode::OK, &next, "", None)?)
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    csrf: Option<String>,
}

async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let LoginForm {
        name,
        password,
        next,
        csrf,
    } = form.into_inner();
    let next = safe_next(next.as_deref());
    let name = name.trim().to_owned();
    let cookie_token = auth::cookie(&req, LOGIN_CSRF_COOKIE);
    let csrf_ok = matches!((&cookie_token, &csrf), (Some(c), Some(f)) if constant_time_eq(c.as_bytes(), f.as_bytes()));
    if !csrf_ok {
        return Ok(login_page(
            &state,
            StatusCode::FORBIDDEN,
            &next,
            &name,
            Some("The log-in form expired or was not sent from this site: try again.".to_owned()),
        )?);
    }
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let keys = [
        format!("user:{}", name.to_lowercase()),
        format!("ip:{address}"),
    ];
    if let Some(left) = state.throttle.locked(&keys) {
        tracing::warn!(user = %name, %address, "log-in refused: too many failed attempts");
        let minutes = left.as_secs().div_ceil(60);
        return Ok(login_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &name,
            Some(format!(
                "Too many failed log-ins for this user name or from this address. Try again in {minutes} minutes, or ask an administrator."
            )),
        )?);
    }
    let password = Secret::new(password);
    let lookup = name.clone();
    let user = state
        .with_conn(move |conn| {
            Ok(emsg_store::users::verify_password(
                conn, &lookup, &password,
            )?)
        })
        .await?;
    let Some(user) = user else {
        state.throttle.fail(&keys);
        tracing::info!(user = %name, %address, "log-in failed");
        return Ok(login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            &next,
            &name,
            Some("The user name or password is not right.".to_owned()),
        )?);
    };
    state.throttle.succeed(&keys[0]);
    // A new id at every log-in, so a planted cookie never becomes a logged-in session.
    if let Some(old) = auth::cookie(&req, COOKIE) {
        state.sessions.remove(&old).await?;
    }
    let id = state.sessions.create(&user).await?;
    tracing::info!(user = %user.name, role = %user.role, "logged in");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .append_header((
            header::SET_COOKIE,
            cookie(COOKIE, &id, state.secure_cookies, None),
        ))
        .append_header((
            header::SET_COOKIE,
            cookie(LOGIN_CSRF_COOKIE, "", state.secure_cookies, Some(0)),
        ))
        .finish())
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf: Option<String>,
}

async fn logout(
    state: web::Data<AppState>,
    // Also a user who must still replace a one-time password may log out.
    AccountUser(user): AccountUser,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, PageError> {
    user.check_csrf(form.csrf.as_deref())?;
    state.sessions.remove(&user.session_id).await?;
    tracing::info!(user = %user.name, "logged out");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login"))
        .append_header((
            header::SET_COOKIE,
            cookie(COOKIE, "", state.secure_cookies, Some(0)),
        ))
        .finish())
}
