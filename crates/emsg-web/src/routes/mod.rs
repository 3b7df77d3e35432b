//! Routes, one module per resource; each exposes `config`.

pub(crate) mod account;
mod api;
mod assets;
mod audit;
mod callback;
mod edit_record;
mod health;
mod import;
pub(crate) mod login;
mod messages;
mod messages_api;
mod my_connections;
mod users;
mod users_api;
mod web_applications;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::error::WebError;
use crate::session::SessionUser;
use crate::state::AppState;

/// Registers every route with its shared state; `main` and the tests use the same builder.
pub fn config(state: AppState) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg| {
        cfg.app_data(web::Data::new(state.clone()))
            .app_data(web::FormConfig::default().limit(64 * 1024))
            .app_data(web::PayloadConfig::new(64 * 1024));
        health::config(cfg);
        assets::config(cfg);
        login::config(cfg);
        // Before the record's actions: `/web-applications/{name}/edit` is not an action.
        edit_record::config(cfg);
        web_applications::config(cfg);
        users::config(cfg);
        users_api::config(cfg);
        account::config(cfg);
        my_connections::config(cfg);
        audit::config(cfg);
        import::config(cfg);
        messages::config(cfg);
        api::config(cfg);
        callback::config(cfg, &state.callback_paths);
    }
}

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

/// Renders `page` inside the layout with the user, their anti-forgery token and the flash
/// message (taken: shown once).
pub(crate) fn render(
    state: &AppState,
    page: &str,
    title: &str,
    user: Option<&SessionUser>,
    mut data: Value,
) -> Result<String, WebError> {
    let flash = user.and_then(|u| u.flash.clone());
    if let Some(object) = data.as_object_mut() {
        object.insert("title".to_owned(), json!(title));
        object.insert(
            "user".to_owned(),
            user.map_or(
                Value::Null,
                |u| json!({ "name": u.name, "role": u.role.as_str(), "is_admin": u.is_admin() }),
            ),
        );
        object.insert(
            "csrf".to_owned(),
            user.map_or(Value::Null, |u| json!(u.csrf)),
        );
        object.insert("flash".to_owned(), json!(flash));
    }
    state.templates.render(page, &data)
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
