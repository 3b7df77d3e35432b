//! The `web-apps.yaml` format: the records that describe OAuth web applications (HMRC,
//! ID-porten, Altinn) and the web services called through them, parsed with strict validation
//! and located errors, exported back without secrets, and compared field by field.

mod amount;
mod compare;
mod env_access;
mod error;
mod export;
mod keys;
mod lifetime;
mod locate;
mod model;
mod params;
mod parse;
mod placeholders;
mod problems;
mod processing;
mod processing_read;
mod read_record;
mod record;
mod service;
mod service_read;
mod source;
mod templates;
mod text;
mod url_rules;
mod validate;

pub use amount::{Amount, AmountError};
pub use compare::changed_fields;
pub use env_access::{EnvAccess, PAGE_ENV_VARS_SETTING, PageEnvVars};
pub use error::{ImportError, ImportErrors};
pub use export::{export, export_processings, export_services};
pub use keys::{FieldValue, KEYS, Key, Kinds, Widget, key};
pub use lifetime::{Lifetime, LifetimeError};
pub use model::{
    Capture, ClientAuth, EXCHANGE, Exchange, Kind, ParsedFile, UnknownClientAuth,
    WebApplicationSpec,
};
pub use params::{RESERVED_AUTHORIZATION_PARAMS, is_reserved, parameter_label};
pub use parse::{MAX_FILE_BYTES, parse, parse_bytes, parse_bytes_with, parse_with};
pub use placeholders::{is_field_name, placeholders};
pub use processing::{
    Action, Call, Condition, Confirm, Poll, ProcessingSpec, Reconcile, Schedule, Split, Step,
};
pub use service::{
    BodyEscaping, Check, CheckRule, FieldKind, FieldSpec, FraudPrevention, Method, ResponseType,
    WebServiceSpec,
};
pub use source::{SecretSource, ValueSource};
pub use templates::{MessageTemplates, NotLoaded, TemplateSource};
pub use text::shorten;
pub use url_rules::{ALLOW_LOOPBACK_SETTING, OOB_REDIRECT, UrlRules};
