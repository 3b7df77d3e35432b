//! Processings (Dynamics 365's *electronic message processing*): a filing declared as data, whose
//! steps feed each other. This crate holds what needs no database and no network: how a step
//! reads values out of a provider's answer ([`Source`], [`extract`]), how it reads a verdict
//! from a body that says 200 to a refusal ([`Verdict`]), and which URLs taken from an answer may
//! be followed ([`followable`]).

mod error;
mod extract;
mod follow;
mod response;
mod verdict;
mod xml_path;

pub use error::ExtractError;
pub use extract::{JsonItem, Source, extract, extract_all};
pub use follow::{FollowError, followable};
pub use response::Response;
pub use verdict::{Judgement, Verdict};
pub use xml_path::{XmlPath, XmlPathError};
