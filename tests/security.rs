//! Attacks from the security review against real `emsg serve` processes on loopback, one module
//! per area (key rotation under running nodes is in cli_keys.rs).
#![allow(clippy::unwrap_used)]

mod support;

#[path = "security/outbound.rs"]
mod outbound;
#[path = "security/users.rs"]
mod users;
#[path = "security/web.rs"]
mod web;
