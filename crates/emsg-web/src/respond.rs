//! How answers leave the server: an HTML page with the headers every page carries, a redirect,
//! the log-in page's address for a visitor without a session, a record's path segment, and the
//! address of a list's page with its filters.
//! Imports nothing of this crate: errors, pages and routes all build their answers here.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};

/// Where users who must replace a one-time password are sent.
pub const PASSWORD_PATH: &str = "/account/password";

/// An HTML answer with the headers every page carries: never cached, never framed, no
/// scripts but our own.
pub(crate) fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(body)
}

pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The path segment of a record's name, percent-encoded.
pub(crate) fn encode_segment(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `path?name=value&…` with the parameters that have a value, in the order given; `path`
/// alone when none has. The next page of a list keeps the list's filters this way.
pub(crate) fn with_query(path: &str, params: &[(&'static str, String)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// `/login?next=…` for a page an anonymous visitor asked for.
pub(crate) fn login_url(next: &str) -> String {
    let next = without_provider_answer(next);
    if next.is_empty() || next == "/" || next == "/web-applications" {
        return "/login".to_owned();
    }
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/login?next={encoded}")
}

/// Query parameters a provider's answer carries: a page asked for with one of them comes back
/// without its query, so that an answer that reached a page instead of the callback never
/// travels on in a URL of ours (the callback parks them instead).
const PROVIDER_ANSWER: &[&str] = &["code", "state", "access_token", "refresh_token", "id_token"];

fn without_provider_answer(next: &str) -> &str {
    let Some((path, query)) = next.split_once('?') else {
        return next;
    };
    let carries = url::form_urlencoded::parse(query.as_bytes())
        .any(|(key, _)| PROVIDER_ANSWER.contains(&key.as_ref()));
    if carries { path } else { next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_url_never_carries_a_providers_answer() {
        assert_eq!(
            login_url("/web-applications/X?code=SECRET&state=S"),
            "/login?next=%2Fweb-applications%2FX"
        );
        assert_eq!(login_url("/web-applications?code=SECRET"), "/login");
        assert_eq!(
            login_url("/audit?user=fiona"),
            "/login?next=%2Faudit%3Fuser%3Dfiona"
        );
    }
}
