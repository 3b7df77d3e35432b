//! A checker of XML documents against XML Schema, for the subset of the language that
//! Skatteetaten's mva-melding XSDs use (`Skatteetaten/mva-meldingen`,
//! `docs/informasjonsmodell_filer/xsd`): global elements, named and anonymous complex types made
//! of `sequence` and `choice` with `minOccurs`/`maxOccurs`, simple types restricting the
//! built-in `string`, `decimal`, `integer`, `long`, `boolean`, `date`, `dateTime` and `gYear`
//! (or another simple type) by `enumeration`, `length`, `minLength`, `maxLength` and `pattern`
//! (character classes and quantifiers), and `elementFormDefault`.
//!
//! A schema that uses anything else is refused when it is loaded, naming the construct, so the
//! checker never passes a document it did not really check. No system library is needed: the
//! first command of the README needs only the Rust toolchain.

mod builtin;
mod content;
mod error;
mod pattern;
mod schema;
mod validate;

pub use error::{SchemaError, Violation};
pub use schema::Schema;
