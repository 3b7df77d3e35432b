//! The clock every use case reads, and how the faces write its times: `format_utc` for a moment
//! (`2026-01-31 14:05 UTC`), `format_remaining` for what is left (`3h 59m`).

pub use emsg_store::{format_remaining, format_utc, now};
