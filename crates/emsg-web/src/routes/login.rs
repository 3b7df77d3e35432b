//! `GET /login`, `POST /login` and `POST /logout`. Passwords are checked with argon2id off the
//! async workers; failures are throttled per client address, user name and the pair of them
//! ([`crate::throttle`]), in the database.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use emsg_seal::Secret;
use emsg_use_cases::log_in::{check_password, known_user};
use emsg_use_cases::time;
use emsg_use_cases::users::User;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{self, AccountUser};
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::respond::{html, see_other};
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

/// Where to go after logging in: a path of this server, or the Web applications page.
///
/// The text is parsed as a browser would, against a stand-in origin, and must stay on it; it
/// must hold no control character, whitespace or backslash, raw or percent-encoded (browsers
/// drop tabs and newlines and read `\` as `/`, which turns `/\t/evil.example` into
/// `//evil.example`). One exception: `%20`, which the record names' own paths carry and no
/// browser reads as anything but a space inside the path. The answer is the parsed path and
/// query, never the text as given.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    next.and_then(local_path)
        .unwrap_or_else(|| "/web-applications".to_owned())
}

fn local_path(next: &str) -> Option<String> {
    let bad = |c: char| c.is_control() || c.is_whitespace() || c == '\\';
    if !next.starts_with('/') || next.starts_with("//") || next.chars().any(bad) {
        return None;
    }
    let encoded_bad = next
        .split("%20")
        .map(percent_decode)
        .any(|part| String::from_utf8_lossy(&part).chars().any(bad));
    if encoded_bad || percent_decode(next).starts_with(b"//") {
        return None;
    }
    let origin = url::Url::parse("http://emsg.invalid/").ok()?;
    let joined = origin.join(next).ok()?;
    if joined.origin() != origin.origin() {
        return None;
    }
    let mut path = joined.path().to_owned();
    if let Some(query) = joined.query() {
        path.push('?');
        path.push_str(query);
    }
    (path.starts_with('/') && !path.starts_with("//")).then_some(path)
}

/// The bytes `text` percent-decodes to (a `%` not followed by two hex digits stays as it is).
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
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

/// What the check of a log-in found.
enum Checked {
    Right(User),
    Wrong {
        known: Option<i64>,
        tag: String,
    },
    Locked {
        until: i64,
        known: Option<i64>,
        tag: String,
    },
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
    let address = crate::client_address::client_ip(&req);
    let password = Secret::new(password);
    let lookup = name.clone();
    let throttle = state.throttle.clone();
    let now = time::now();
    // One database task: the attempt is counted before the password is checked (parallel
    // attempts cannot all pass a check made before any was counted), and given back when right.
    let checked = state
        .with_conn(move |conn| {
            let attempt = throttle.attempt(conn, &lookup, address)?;
            if let Err(until) = throttle.reserve(conn, &attempt, now)? {
                let known = known_user(conn, &lookup)?;
                return Ok(Checked::Locked {
                    until,
                    known,
                    tag: attempt.name_tag,
                });
            }
            match check_password(conn, &lookup, &password)? {
                Some(user) => {
                    throttle.succeeded(conn, &attempt, now)?;
                    Ok(Checked::Right(user))
                }
                None => {
                    let known = known_user(conn, &lookup)?;
                    Ok(Checked::Wrong {
                        known,
                        tag: attempt.name_tag,
                    })
                }
            }
        })
        .await?;
    // The typed name is never logged (a password typed into it would be): the user's id when
    // the name is a user's, else a keyed hash of it.
    let user = match checked {
        Checked::Right(user) => user,
        Checked::Locked { until, known, tag } => {
            tracing::warn!(user_id = ?known, name_hash = %tag, %address, "log-in refused: too many failed attempts");
            let minutes = u64::try_from(until - now).unwrap_or(0).max(1).div_ceil(60);
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
        Checked::Wrong { known, tag } => {
            tracing::info!(user_id = ?known, name_hash = %tag, %address, "log-in failed");
            return Ok(login_page(
                &state,
                StatusCode::UNAUTHORIZED,
                &next,
                &name,
                Some("The user name or password is not right.".to_owned()),
            )?);
        }
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = "/web-applications";

    #[test]
    fn next_keeps_paths_of_this_server_with_their_query() {
        assert_eq!(
            safe_next(Some("/audit?user=fiona&page=2")),
            "/audit?user=fiona&page=2"
        );
        assert_eq!(
            safe_next(Some("/web-applications/HMRC%20VAT%20sandbox")),
            "/web-applications/HMRC%20VAT%20sandbox"
        );
        assert_eq!(
            safe_next(Some("/oauth/callback?resume=abc_-1")),
            "/oauth/callback?resume=abc_-1"
        );
        assert_eq!(safe_next(None), HOME);
    }

    #[test]
    fn next_refuses_anything_a_browser_could_read_as_another_origin() {
        for next in [
            "/\t/evil.example/x",
            "/%09/evil.example/x",
            "/\n/evil.example",
            "/%0a/evil.example",
            "/%0D%0A/evil.example",
            "/\\evil.example",
            "/%5cevil.example",
            "/%5Cevil.example",
            "//evil.example",
            "/%2F/evil.example",
            "https://evil.example/",
            "evil.example",
            "javascript:alert(1)",
            " /web-applications",
            "/web applications",
            "/x%00y",
            "/x%7f",
            "/x%C2%A0y",
            "",
        ] {
            assert_eq!(safe_next(Some(next)), HOME, "{next:?}");
        }
    }
}
