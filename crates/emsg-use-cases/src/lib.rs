//! The use cases of emsg, between the faces (the pages, the JSON API, the command line) and what
//! they stand on (the store, the engine, the messenger): show a record, set its client secret,
//! run an action, import a file, take the provider's answer after sign-in, find and send
//! messages, manage users and their API keys, rotate the master key, read the audit log, set up
//! a new database on the server's first start. Each takes a [`Context`] and the [`Actor`] who
//! asks (a user, or the operator at the command line), checks that they may, and returns a
//! view; the faces only read their input and render the answer.

pub mod audit;
pub mod callback;
mod context;
mod error;
pub mod first_run;
pub mod import;
pub mod keys;
pub mod messages;
mod operator;
pub mod users;
pub mod views;
pub mod web_applications;

pub use context::{Actor, Context};
pub use error::UseCaseError;

// The values the faces print, and the clock they print times with.
pub use emsg_store::connections::Status;
pub use emsg_store::messages::MessageStatus;
pub use emsg_store::users::Role;
pub use emsg_store::{MessageId, UserId, format_remaining, format_utc, now};
