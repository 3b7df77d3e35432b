//! Electronic messages: web services described as data (in web-apps.yaml), their fields checked
//! before anything is sent, requests rendered with each value escaped for its place, HMRC's
//! fraud-prevention headers, sending with the engine's always-valid token, and the message log.

mod clock;
pub mod fields;
pub mod fraud;
pub mod idempotency;
pub mod identifiers;
mod metrics;
mod processor;
mod rate_limit;
pub mod render;
mod response;
mod send;

pub use fields::{FieldError, FieldErrors};
pub use fraud::{BatchClient, BrowserData, Origin, Vendor, WebClient};
pub use processor::{DEFAULT_CONCURRENCY, DEFAULT_LEASE, Processor, StartRequest, Started};
pub use response::{Verdict, classify};
pub use send::{MAX_RESPONSE_BYTES, Messenger, SendError, SendRequest, Sent, new_device_id};
