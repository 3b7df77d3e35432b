//! What went wrong reading a value out of an answer: always says where, never quotes a token.

/// A value a step needed was not in the answer, or not in the shape declared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("the answer is not JSON ({reason}), so `{pointer}` cannot be read from it")]
    NotJson { pointer: String, reason: String },
    #[error("the answer is not XML ({reason}), so `{path}` cannot be read from it")]
    NotXml { path: String, reason: String },
    #[error("the answer has no `{place}`")]
    Missing { place: String },
    #[error("`{place}` in the answer is {found}, not a single value")]
    NotAValue { place: String, found: &'static str },
    #[error("the answer has no header `{name}`")]
    NoHeader { name: String },
    #[error(
        "no element of the list at `{list}` has `{member}` starting with `{prefix}` (found: {found})"
    )]
    NoListItem {
        list: String,
        member: String,
        prefix: String,
        found: String,
    },
}
