//! Who is asking: extractors that find the session from the `emsg_session` cookie (or, on the
//! JSON API, the user of an `Authorization: Bearer` API key). Pages send an anonymous visitor to
//! the log-in page; the JSON API answers 401.
//!
//! A user who logged in with a one-time password reaches nothing but the password change: every
//! extractor here refuses them ([`PageError::PasswordChange`], `password_change_required` on the
//! API) except [`AccountUser`] and [`ApiAccountUser`], which the password change takes.
//!
//! A page's session is read on the database connection of the page's own task (hence the
//! store's connection type here): the session is this face's, the API key's user a use case.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use crate::error::{PageError, WebError};
use crate::session::{self, SessionUser};
use crate::state::AppState;

/// What the extractors return: they read the database, so they are not ready at once.
type LocalBoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// The value of one cookie of the request.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The logged-in user of this request, if any, and only once any one-time password was replaced
/// (until then the session counts for nothing but [`AccountUser`]). With `take_flash` (a page
/// view) the session's one-shot message comes along. A database failure counts as no session
/// (and is logged).
pub async fn session_user(req: &HttpRequest, take_flash: bool) -> Option<SessionUser> {
    any_session_user(req, take_flash)
        .await
        .filter(|u| !u.must_change_password)
}

/// The session's user, even one who must still change a one-time password.
async fn any_session_user(req: &HttpRequest, take_flash: bool) -> Option<SessionUser> {
    let state = req.app_data::<web::Data<AppState>>()?.clone();
    let id = cookie(req, session::COOKIE)?;
    match state.sessions.get(&id, take_flash).await {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!(error = %e, "the session could not be read");
            None
        }
    }
}

/// A logged-in user on a page; anonymous visitors are redirected to `/login?next=…`, users who
/// must still change a one-time password to the password change.
pub struct PageUser(pub SessionUser);

impl FromRequest for PageUser {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let account = AccountUser::from_request(req, payload);
        Box::pin(async move {
            let AccountUser(user) = account.await?;
            if user.must_change_password {
                return Err(PageError::PasswordChange);
            }
            Ok(Self(user))
        })
    }
}

/// A logged-in user on a page, even one who must still change a one-time password: only for
/// the password change itself.
pub struct AccountUser(pub SessionUser);

impl FromRequest for AccountUser {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let is_get = req.method() == actix_web::http::Method::GET;
            match any_session_user(&req, is_get).await {
                Some(user) => Ok(Self(user)),
                None => {
                    // A POST cannot be replayed after logging in: come back to the page instead.
                    let next = if is_get {
                        req.uri()
                            .path_and_query()
                            .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned())
                    } else {
                        "/web-applications".to_owned()
                    };
                    Err(PageError::Login { next })
                }
            }
        })
    }
}

/// A page's session cookie, not yet looked up: the handler reads the session in the same
/// database task as its page's data ([`PageSession::user`]), one trip to the blocking pool
/// instead of two. For the busiest pages; the others take [`PageUser`].
pub struct PageSession {
    id: Option<String>,
    next: String,
    limits: Option<emsg_store::sessions::Limits>,
}

impl PageSession {
    /// The logged-in user (their flash message taken), or the log-in page, or the password
    /// change for a user who must still replace a one-time password.
    pub fn user(
        &self,
        conn: &mut emsg_store::db::DbConnection,
    ) -> Result<Result<SessionUser, PageError>, WebError> {
        let found = match (&self.id, self.limits) {
            (Some(id), Some(limits)) => session::find(conn, id, limits, true)?,
            _ => None,
        };
        Ok(match found {
            Some(user) if user.must_change_password => Err(PageError::PasswordChange),
            Some(user) => Ok(user),
            None => Err(PageError::Login {
                next: self.next.clone(),
            }),
        })
    }
}

impl FromRequest for PageSession {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self {
            id: cookie(req, session::COOKIE),
            limits: req
                .app_data::<web::Data<AppState>>()
                .map(|state| state.sessions.limits()),
            next: req
                .uri()
                .path_and_query()
                .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned()),
        }))
    }
}

/// The `Authorization: Bearer …` value of a request, if it has one.
fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim().to_owned())
}

/// A user of the JSON API: by API key (`Authorization: Bearer`) or by session cookie.
/// Anonymous callers, and callers with a wrong or revoked key, get 401; users who must still
/// change a one-time password get 403 `password_change_required`.
pub struct ApiUser(pub SessionUser);

impl FromRequest for ApiUser {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let account = ApiAccountUser::from_request(req, payload);
        Box::pin(async move {
            let ApiAccountUser(user) = account.await?;
            if user.must_change_password {
                return Err(WebError::PasswordChangeRequired);
            }
            Ok(Self(user))
        })
    }
}

/// A user of the JSON API even if they must still change a one-time password: only for the
/// password change itself.
pub struct ApiAccountUser(pub SessionUser);

impl FromRequest for ApiAccountUser {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(key) = bearer(&req) {
                let state = req
                    .app_data::<web::Data<AppState>>()
                    .ok_or_else(|| WebError::Internal("no application state".to_owned()))?
                    .clone();
                let user = emsg_use_cases::log_in::api_key_user(&state.ctx, key).await?;
                return user
                    .map(|u| Self(SessionUser::from_api_key(u)))
                    .ok_or(WebError::BadApiKey);
            }
            any_session_user(&req, false)
                .await
                .map(Self)
                .ok_or(WebError::Unauthenticated)
        })
    }
}

/// The `X-CSRF-Token` header of a JSON API call.
pub fn csrf_header(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
}
