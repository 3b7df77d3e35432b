//! The Web applications page's use cases: list the records, show one with the connection the
//! actor acts on, edit it, set its client secret, run an action of the action pane, and make
//! the actor's access token valid for a sender.

mod actions;
mod edit;
mod ensure_valid;
mod export;
mod list;
pub mod on_behalf;
mod set_secret;
mod show;

pub use actions::{Action, ActionInput, Outcome, run_action};
pub use edit::{Edit, Edited, Editing, edit, editing, exported};
pub use ensure_valid::ensure_valid;
pub use export::{ExportedRecord, Summary, export, export_one, summaries};
pub use list::{NAMES_PER_PAGE, all_views, connections, names_page};
pub use set_secret::set_client_secret;
pub use show::{Chosen, chosen, show};

/// A web application as stored (its client secret sealed).
pub use emsg_store::web_applications::WebApplication;
