//! The HTTP face of emsg (actix-web): health checks, the web-application pages and the JSON API.

mod error;
mod routes;
mod state;
mod templates;
mod views;

pub use error::WebError;
pub use routes::config;
pub use state::AppState;
