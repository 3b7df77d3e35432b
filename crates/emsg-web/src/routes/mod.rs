//! Routes, one module per resource; each exposes `config`.

mod health;
mod web_applications;

use actix_web::web;

use crate::state::AppState;

/// Registers every route with its shared state; `main` and the tests use the same builder.
pub fn config(state: AppState) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg| {
        cfg.app_data(web::Data::new(state.clone()));
        health::config(cfg);
        web_applications::config(cfg);
    }
}
