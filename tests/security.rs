//! Security findings, end to end against a real `emsg serve` on loopback: one module per area.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "security/users.rs"]
mod users;
