//! Storage: the schema on SQLite and PostgreSQL, web-application records with sealed client
//! secrets, users, their sessions and API keys, the log-in throttle, parked callbacks, import files awaiting
//! Confirm, the audit log, import/export and master-key rotation.

pub mod api_keys;
pub mod audit;
mod clock;
pub mod connections;
pub mod db;
mod error;
pub mod exchanges;
pub mod ids;
pub mod import;
pub mod key_ring;
pub mod key_ring_nodes;
pub mod key_watch;
pub mod login_throttle;
pub mod master_key;
pub mod messages;
pub mod moved;
pub mod next_steps;
pub mod overview;
pub mod parked_callbacks;
pub mod pending;
pub mod pending_imports;
pub mod processings;
pub mod rate_limits;
mod reused;
pub mod rotation;
pub mod runs;
pub mod schedules;
pub mod schema;
pub mod sealed_columns;
pub mod sessions;
pub mod settings;
mod token_hash;
pub mod users;
pub mod web_applications;
pub mod web_services;

pub use clock::{format_iso_millis, format_remaining, format_utc, now};
pub use error::{Result, StoreError};
pub use ids::{ConnectionId, MessageId, Subject, UserId, WebApplicationId};
