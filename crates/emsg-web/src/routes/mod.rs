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
mod message_steps;
mod messages;
mod messages_api;
mod my_connections;
mod processings_api;
mod users;
mod users_api;
mod web_applications;

use actix_web::web;

use crate::state::AppState;

/// Registers every route with its shared state; `main` and the tests use the same builder.
pub fn config(state: AppState) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg| {
        cfg.app_data(web::Data::new(state.clone()))
            .app_data(web::FormConfig::default().limit(64 * 1024))
            .app_data(web::PayloadConfig::new(64 * 1024));
        // First: a provider's answer that reaches a page is the callback's.
        callback::config(cfg, &state.callback_paths);
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
        message_steps::config(cfg);
        messages::config(cfg);
        messages_api::config(cfg);
        processings_api::config(cfg);
        api::config(cfg);
    }
}
