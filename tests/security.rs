//! Security: what an administrator can and cannot make a real `emsg serve` do, end to end.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "security/outbound.rs"]
mod outbound;
