//! What the faces show: views built once from the store's rows and the engine's answers.

mod connection;
mod web_application;

pub use connection::{ConnectionPanel, status_text};
pub use web_application::WebApplicationView;
