//! Storage: the schema on SQLite and PostgreSQL, web-application records with sealed client
//! secrets, users, the audit log, import/export and master-key rotation.

pub mod db;
pub mod schema;
