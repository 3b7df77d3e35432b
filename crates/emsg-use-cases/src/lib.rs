//! The use cases of emsg, between the faces (the pages, the JSON API, the command line) and what
//! they stand on (the store, the engine, the messenger): show, edit and list records, set a
//! client secret, run an action, connect and disconnect one's own connections, import a file
//! (and keep it for Confirm), take the provider's answer after sign-in, check a log-in, find
//! and send messages, manage users and their API keys, rotate the master key, read the audit
//! log, set up a new database on the server's first start. Each takes a [`Context`] and the
//! [`Actor`] who asks (a user, or the operator at the command line), checks that they may, and
//! returns a view; the faces only read their input and render the answer, in the words this
//! crate re-exports.

pub mod audit;
pub mod callback;
mod context;
mod error;
pub mod first_run;
pub mod import;
pub mod keys;
pub mod log_in;
pub mod messages;
pub mod my_connections;
mod operator;
pub mod processings;
pub mod time;
pub mod users;
pub mod views;
pub mod web_applications;

pub use context::{Actor, Context};
/// What the engine and the store answer when they refuse, as a [`UseCaseError`] carries them.
pub use emsg_engine::EngineError;
pub use emsg_store::StoreError;
pub use error::UseCaseError;

/// Who acts, and on what: the ids the faces pass back to the use cases.
pub use emsg_store::UserId;
/// A connection's state, as every face names it.
pub use emsg_store::connections::Status;
