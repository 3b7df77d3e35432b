//! The Web applications page's use cases: list the records, show one with the connection the
//! actor acts on, edit it, set its client secret, run an action of the action pane.

mod actions;
mod edit;
mod list;
mod set_secret;
mod show;

pub use actions::{Action, ActionInput, Outcome, run_action};
pub use edit::{Edit, Edited, Editing, edit, editing, exported};
pub use list::{all_views, connections};
pub use set_secret::set_client_secret;
pub use show::{Chosen, chosen, show};

/// A web application as stored (its client secret sealed).
pub use emsg_store::web_applications::WebApplication;
