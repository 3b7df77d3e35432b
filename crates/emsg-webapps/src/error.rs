//! Import errors that say where in the file something is wrong and what to do about it.

use std::fmt;

/// One problem in a `web-apps.yaml` file, located by line and column (both 1-based) and by the
/// path of the field it concerns, e.g. `web_applications[2].token_url`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {path}: {message}")]
pub struct ImportError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub path: String,
    pub message: String,
}

/// Every problem found in one file, in the order they appear in it.
///
/// An import is all-or-nothing, so the whole list is handed back at once: the administrator
/// fixes the file in one pass instead of one error per attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", Lines(.0))]
pub struct ImportErrors(pub Vec<ImportError>);

impl ImportErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, ImportError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for ImportErrors {
    type Item = ImportError;
    type IntoIter = std::vec::IntoIter<ImportError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ImportErrors {
    type Item = &'a ImportError;
    type IntoIter = std::slice::Iter<'a, ImportError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Displays one error per line.
struct Lines<'a>(&'a [ImportError]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}
