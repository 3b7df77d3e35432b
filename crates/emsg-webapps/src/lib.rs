//! The `web-apps.yaml` format: the records that describe OAuth web applications (HMRC,
//! ID-porten, Altinn), parsed with strict validation and located errors, exported back without
//! secrets, and compared field by field.

mod compare;
mod error;
mod export;
mod lifetime;
mod locate;
mod model;
mod parse;
mod record;
mod source;
mod url_rules;
mod validate;

pub use compare::changed_fields;
pub use error::{ImportError, ImportErrors};
pub use export::export;
pub use lifetime::{Lifetime, LifetimeError};
pub use model::{ClientAuth, Exchange, ParsedFile, UnknownClientAuth, WebApplicationSpec};
pub use parse::{MAX_FILE_BYTES, parse, parse_bytes};
pub use source::{SecretSource, ValueSource};
pub use url_rules::OOB_REDIRECT;
