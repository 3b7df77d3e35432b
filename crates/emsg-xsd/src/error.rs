//! What is wrong with a schema, and with a document.

use std::fmt;

/// A schema this checker cannot load: malformed, or using a construct outside its subset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("the schema is not XML: {0}")]
    NotXml(String),
    #[error("the schema's root element is `{0}`, not `xsd:schema`")]
    NotASchema(String),
    #[error(
        "line {line}: `{construct}` is outside the XML Schema subset this checker supports; it would not be checked, so the schema is refused"
    )]
    Unsupported { line: u32, construct: String },
    #[error("line {line}: {message}")]
    Invalid { line: u32, message: String },
    #[error("the schema has no type named `{0}`")]
    UnknownType(String),
}

/// One way a document breaks its schema, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub line: u32,
    pub column: u32,
    /// The element's path: `/mvaMeldingDto/skattepliktig/organisasjonsnummer`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}, {}: {}",
            self.line, self.column, self.path, self.message
        )
    }
}
