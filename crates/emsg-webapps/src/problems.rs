//! The problems found while a file's records and services are read, before they are located
//! by line and column, and the small helpers their messages use: a value described for a
//! message, and the accepted word closest to a typo.

use serde_yaml::Value;

use crate::locate::{Anchor, Path};

/// A problem found in the deserialized values, located later through the [`Locator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) path: Path,
    pub(crate) anchor: Anchor,
    pub(crate) message: String,
}

/// Collects problems while the records are read.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub(crate) Vec<Problem>);

impl Problems {
    /// A problem with the key at `path` (unknown, forbidden, duplicated).
    pub(crate) fn at_key(&mut self, path: Path, message: impl Into<String>) {
        self.0.push(Problem {
            path,
            anchor: Anchor::Key,
            message: message.into(),
        });
    }

    /// A problem with the value at `path`; for a missing field, its parent is pointed at.
    pub(crate) fn at_value(&mut self, path: Path, message: impl Into<String>) {
        self.0.push(Problem {
            path,
            anchor: Anchor::Value,
            message: message.into(),
        });
    }
}

/// A short description of a value for messages: its kind, and for scalars the value itself.
/// Never used for secrets.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) => {
            let short: String = s.chars().take(40).collect();
            if short.len() < s.len() {
                format!("the string {short:?}...")
            } else {
                format!("the string {short:?}")
            }
        }
        Value::Sequence(_) => "a list".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(_) => "a tagged value (`!tag`)".to_owned(),
    }
}

/// The accepted word closest to `word`, when it is close enough to be a typo.
pub(crate) fn closest<'a>(word: &str, accepted: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    accepted
        .iter()
        .map(|candidate| (edit_distance(word, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_of_a_key_is_matched_to_the_intended_key() {
        let keys = ["token_url", "scope", "pkce"];
        assert_eq!(closest("tokne_url", &keys), Some("token_url"));
        assert_eq!(closest("scopes", &keys), Some("scope"));
        assert_eq!(closest("color", &keys), None);
    }
}
