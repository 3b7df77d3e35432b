//! Where a client ID or client secret comes from: typed on the admin page later (`Unset`),
//! written in the file (`Inline`), or read from an environment variable (`Env`).
//!
//! Parsing only names the variable; it is read in one place, the store's import and edit,
//! and only if the importer's [`crate::EnvAccess`] allows it.

use emsg_seal::Secret;
use serde_yaml::Value;

/// The source of a value that is not secret (the client ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// Not in the file: the administrator types it on the admin page.
    Unset,
    Inline(String),
    Env {
        var: String,
    },
}

/// The source of a secret (the client secret). `Debug` never shows an inline value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Not in the file: the administrator types it on the admin page.
    Unset,
    Inline(Secret),
    Env {
        var: String,
    },
}

const ACCEPTED: &str = "write the value as a string, `{env: VARIABLE_NAME}` to read it from \
                        the environment, or `null` to type it on the admin page";

/// Whether `name` is a portable environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_env_var_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The shared reading of both forms; `Ok(None)` means unset. Messages never contain the value.
fn read(value: &Value, field: &str) -> Result<Option<Result<String, String>>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.is_empty() => Ok(None),
        Value::String(text) => {
            if text.chars().any(char::is_control) {
                Err(format!(
                    "`{field}` contains a control character; {ACCEPTED}"
                ))
            } else if text.trim() != text {
                Err(format!(
                    "`{field}` has leading or trailing spaces; remove them (a copied value \
                     with spaces would never match at the provider)"
                ))
            } else {
                Ok(Some(Ok(text.clone())))
            }
        }
        Value::Mapping(map) => {
            let only_env = map.len() == 1;
            match (only_env, map.get("env")) {
                (true, Some(Value::String(var))) if is_env_var_name(var) => {
                    Ok(Some(Err(var.clone())))
                }
                (true, Some(Value::String(var))) if var.is_empty() => Err(format!(
                    "`{field}: {{env: ...}}` has an empty variable name; name the environment \
                     variable, e.g. `{{env: HMRC_VAT_CLIENT_ID}}`"
                )),
                // The name is not repeated: a secret pasted there by mistake must not leak.
                (true, Some(Value::String(_))) => Err(format!(
                    "`{field}: {{env: ...}}` does not name a valid environment variable; use \
                     letters, digits and `_`, not starting with a digit"
                )),
                (true, Some(_)) => Err(format!(
                    "`{field}: {{env: ...}}` needs the variable name as a string"
                )),
                _ => {
                    let keys: Vec<String> = map
                        .keys()
                        .map(|k| k.as_str().map_or_else(|| "?".to_owned(), str::to_owned))
                        .collect();
                    Err(format!(
                        "`{field}` as a mapping must have exactly the key `env`, not `{}`; \
                         {ACCEPTED}",
                        keys.join("`, `")
                    ))
                }
            }
        }
        Value::Bool(_) | Value::Number(_) => Err(format!(
            "`{field}` must be a string; put the value in quotes so nothing is converted, or \
             {ACCEPTED}"
        )),
        Value::Sequence(_) | Value::Tagged(_) => Err(format!(
            "`{field}` must not be a list or a tagged value; {ACCEPTED}"
        )),
    }
}

impl ValueSource {
    pub(crate) fn from_yaml(value: &Value, field: &str) -> Result<Self, String> {
        Ok(match read(value, field)? {
            None => ValueSource::Unset,
            Some(Ok(text)) => ValueSource::Inline(text),
            Some(Err(var)) => ValueSource::Env { var },
        })
    }
}

impl SecretSource {
    pub(crate) fn from_yaml(value: &Value, field: &str) -> Result<Self, String> {
        Ok(match read(value, field)? {
            None => SecretSource::Unset,
            Some(Ok(text)) => SecretSource::Inline(Secret::new(text)),
            Some(Err(var)) => SecretSource::Env { var },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names_are_letters_digits_and_underscores_not_starting_with_a_digit() {
        for good in ["A", "_", "HMRC_VAT_CLIENT_ID", "a1", "_9"] {
            assert!(is_env_var_name(good), "{good}");
        }
        for bad in ["", "1A", "A-B", "A B", "Æ", "A.B", "$A"] {
            assert!(!is_env_var_name(bad), "{bad}");
        }
    }
}
