//! A message's fields checked against its web service before anything is sent: each value by
//! its type, then the rules between amounts. Bad input is refused with every problem named.

use std::collections::BTreeMap;
use std::fmt;

use emsg_webapps::{Amount, CheckRule, FieldKind, WebServiceSpec};
use serde::Serialize;

use crate::identifiers;

/// One checked value, normalised (`AB123456C`, `123456789`, `1200.00`, `true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Value {
    pub text: String,
    /// Amounts and booleans are JSON literals; everything else is a string.
    pub literal: bool,
}

/// The checked fields of one message, by name. Optional fields left out are empty strings, so
/// that `{{#if field}}` works.
pub type Values = BTreeMap<String, Value>;

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every problem of a message's fields; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct FieldErrors(pub Vec<FieldError>);

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        write!(f, "{}; nothing was sent", parts.join("; "))
    }
}

/// Checks `input` against `service`: unknown fields, missing required ones, each value by its
/// type, then the service's checks between amounts.
pub fn check(
    service: &WebServiceSpec,
    input: &BTreeMap<String, String>,
) -> Result<Values, FieldErrors> {
    let mut errors = Vec::new();
    let mut values = Values::new();
    for name in input.keys() {
        if service.field(name).is_none() {
            let known: Vec<&str> = service.fields.iter().map(|f| f.name.as_str()).collect();
            errors.push(FieldError {
                field: name.clone(),
                message: format!(
                    "{} has no field `{name}`; its fields are: {}",
                    service.name,
                    if known.is_empty() {
                        "(none)".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            });
        }
    }
    for field in &service.fields {
        let raw = input.get(&field.name).map(|v| v.trim()).unwrap_or("");
        if raw.is_empty() {
            if field.required {
                errors.push(FieldError {
                    field: field.name.clone(),
                    message: format!("{} is required", describe(&field.name, &field.label)),
                });
            }
            values.insert(
                field.name.clone(),
                Value {
                    text: String::new(),
                    literal: false,
                },
            );
            continue;
        }
        match check_value(&field.kind, raw) {
            Ok(value) => {
                values.insert(field.name.clone(), value);
            }
            Err(message) => errors.push(FieldError {
                field: field.name.clone(),
                message,
            }),
        }
    }
    if errors.is_empty() {
        check_rules(service, &values, &mut errors);
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(FieldErrors(errors))
    }
}

fn describe(name: &str, label: &str) -> String {
    if label.is_empty() {
        format!("`{name}`")
    } else {
        format!("{label} (`{name}`)")
    }
}

fn check_value(kind: &FieldKind, raw: &str) -> Result<Value, String> {
    let string = |text: String| Value {
        text,
        literal: false,
    };
    match kind {
        FieldKind::Text { max_chars } => {
            if raw.chars().any(char::is_control) {
                Err("contains a control character (such as a line break); remove it".to_owned())
            } else if raw.chars().count() > *max_chars {
                Err(format!("is longer than {max_chars} characters; shorten it"))
            } else {
                Ok(string(raw.to_owned()))
            }
        }
        FieldKind::OneOf { values } => {
            if values.iter().any(|v| v == raw) {
                Ok(string(raw.to_owned()))
            } else {
                Err(format!(
                    "`{raw}` is not accepted; write one of: {}",
                    values.join(", ")
                ))
            }
        }
        FieldKind::Date => identifiers::date(raw).map(string),
        FieldKind::Vrn => identifiers::vrn(raw).map(string),
        FieldKind::Nino => identifiers::nino(raw).map(string),
        FieldKind::OrganisationNumber => identifiers::organisation_number(raw).map(string),
        FieldKind::PeriodKey => identifiers::period_key(raw).map(string),
        FieldKind::Amount {
            min,
            max,
            whole_pounds,
        } => {
            let amount: Amount = raw
                .parse()
                .map_err(|e: emsg_webapps::AmountError| e.to_string())?;
            if amount < *min || amount > *max {
                return Err(format!(
                    "{amount} is outside the accepted range {min} to {max}"
                ));
            }
            if *whole_pounds && !amount.is_whole() {
                return Err(format!(
                    "{amount} has pence; this box takes whole pounds only (e.g. {}.00)",
                    amount.hundredths() / 100
                ));
            }
            // Whole-pound boxes are sent as whole numbers (`1000`, not `1000.00`).
            let text = if *whole_pounds {
                (amount.hundredths() / 100).to_string()
            } else {
                amount.to_string()
            };
            Ok(Value {
                text,
                literal: true,
            })
        }
        FieldKind::Boolean { must_be } => {
            let value = match raw.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => true,
                "false" | "no" | "off" => false,
                _ => return Err(format!("`{raw}` is not true or false")),
            };
            if let Some(required) = must_be
                && value != *required
            {
                return Err(format!(
                    "must be {required}: the web service accepts nothing else (a declaration \
                     such as `finalised` must be confirmed before sending)"
                ));
            }
            Ok(Value {
                text: value.to_string(),
                literal: true,
            })
        }
    }
}

fn check_rules(service: &WebServiceSpec, values: &Values, errors: &mut Vec<FieldError>) {
    let amount = |name: &str| -> Option<Amount> { values.get(name)?.text.parse().ok() };
    for rule in &service.checks {
        let Some(actual) = amount(&rule.field) else {
            continue; // an optional amount left empty
        };
        let parts: Option<Vec<Amount>> = rule.of.iter().map(|n| amount(n)).collect();
        let Some(parts) = parts else {
            continue;
        };
        let (expected, how) = match rule.equals {
            CheckRule::Sum => (
                parts
                    .iter()
                    .try_fold(Amount::ZERO, |acc, a| acc.checked_add(*a)),
                format!("the sum of {}", rule.of.join(" and ")),
            ),
            CheckRule::AbsoluteDifference => (
                parts[0].checked_sub(parts[1]).map(Amount::abs),
                format!(
                    "the difference between {} and {} (as a positive amount)",
                    rule.of[0], rule.of[1]
                ),
            ),
        };
        if expected != Some(actual) {
            let shown = expected.map_or_else(|| "too large".to_owned(), |e| e.to_string());
            errors.push(FieldError {
                field: rule.field.clone(),
                message: format!("is {actual} but must be {how}, which is {shown}"),
            });
        }
    }
}
