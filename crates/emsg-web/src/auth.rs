//! Who is asking: extractors that find the session from the `emsg_session` cookie. Pages send an
//! anonymous visitor to the log-in page; the JSON API answers 401.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use crate::error::{PageError, WebError};
use crate::session::{self, SessionUser};
use crate::state::AppState;

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

/// The logged-in user of this request, if any.
pub fn session_user(req: &HttpRequest) -> Option<SessionUser> {
    let state = req.app_data::<web::Data<AppState>>()?;
    let id = cookie(req, session::COOKIE)?;
    state.sessions.get(&id)
}

/// A logged-in user on a page; anonymous visitors are redirected to `/login?next=…`.
pub struct PageUser(pub SessionUser);

impl FromRequest for PageUser {
    type Error = PageError;
    type Future = Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match session_user(req) {
            Some(user) => Ok(Self(user)),
            None => {
                // A POST cannot be replayed after logging in: come back to the page instead.
                let next = if req.method() == actix_web::http::Method::GET {
                    req.uri()
                        .path_and_query()
                        .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned())
                } else {
                    "/web-applications".to_owned()
                };
                Err(PageError::Login { next })
            }
        })
    }
}

/// A logged-in user of the JSON API; anonymous callers get 401.
pub struct ApiUser(pub SessionUser);

impl FromRequest for ApiUser {
    type Error = WebError;
    type Future = Ready<Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(session_user(req).map(Self).ok_or(WebError::Unauthenticated))
    }
}

/// The `X-CSRF-Token` header of a JSON API call.
pub fn csrf_header(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
}
