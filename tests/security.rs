//! Attacks from the security review against real `emsg serve` processes on loopback, one module
//! per area.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "security/web.rs"]
mod web;
