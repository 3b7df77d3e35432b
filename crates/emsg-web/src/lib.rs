//! The HTTP face of emsg (actix-web): log-in, the Web applications page with its actions, the
//! OAuth callback, health checks and the JSON API.

mod auth;
mod client_address;
mod error;
mod names_cache;
mod origin;
mod pages;
mod record_form;
mod respond;
mod routes;
mod session;
mod state;
mod templates;
mod throttle;

pub use error::{PageError, WebError};
pub use routes::config;
pub use state::{AppState, DEFAULT_CALLBACK_PATH, WebOptions};
