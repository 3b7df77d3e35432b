//! Reading one record: which keys its kind has (declared in [`crate::keys`]), the unknown,
//! missing and misplaced ones, then each key's value by its declared reader.

use serde_yaml::Value;

use crate::keys::{self, KEYS, Kinds, listed};
use crate::locate::Path;
use crate::model::{EXCHANGE, Kind, WebApplicationSpec};
use crate::problems::{Problems, closest, describe};
use crate::record::Record;

/// Reads one record. Problems are collected in `problems`; the returned spec then holds
/// defaults in place of the bad values and is only used for the checks across records.
pub(crate) fn read_record(
    value: &Value,
    path: &Path,
    problems: &mut Problems,
) -> WebApplicationSpec {
    let Value::Mapping(map) = value else {
        problems.at_value(
            path.clone(),
            format!(
                "each record must be a mapping of fields (`name: ...`, `base_url: ...`), not {}",
                describe(value)
            ),
        );
        return WebApplicationSpec::default();
    };
    let kind = if map.contains_key(EXCHANGE) {
        Kind::Exchange
    } else {
        Kind::OAuth
    };
    let mut record = Record {
        map,
        path,
        problems,
        kind,
    };
    record.check_keys();
    record.check_presence();
    let mut spec = WebApplicationSpec::default();
    for key in KEYS.iter().filter(|key| key.is_for(kind)) {
        (key.read)(&mut record, key.name, &mut spec);
    }
    spec
}

/// The keys required on records of exactly `kinds`, as `a, b and c` with `quote` around each.
fn required_on(kinds: Kinds, quote: &str) -> String {
    let names: Vec<String> = KEYS
        .iter()
        .filter(|key| key.required == kinds)
        .map(|key| format!("{quote}{}{quote}", key.name))
        .collect();
    listed(&names)
}

impl Record<'_> {
    fn check_keys(&mut self) {
        let accepted: Vec<&str> = keys::names().collect();
        for key in self.map.keys() {
            let Some(key) = key.as_str() else {
                self.problems.at_value(
                    self.path.clone(),
                    format!(
                        "a key of this record is {}; keys are field names such as `name`",
                        describe(key)
                    ),
                );
                continue;
            };
            if accepted.contains(&key) {
                continue;
            }
            let hint = if key == "<<" {
                "merge keys (`<<`) are not supported, write each field out; ".to_owned()
            } else if let Some(near) = closest(key, &accepted) {
                format!("did you mean `{near}`? ")
            } else {
                String::new()
            };
            self.problems.at_key(
                self.path.key(key),
                format!(
                    "unknown key `{key}`; {hint}accepted keys are: {}",
                    accepted.join(", ")
                ),
            );
        }
    }

    /// Keys the record's kind needs and does not have, and keys it may not have.
    fn check_presence(&mut self) {
        for key in &KEYS {
            let present = self.map.contains_key(key.name);
            if !key.is_for(self.kind) {
                if present {
                    let message = match self.kind {
                        Kind::Exchange => format!(
                            "exchange-type records get their token from the source record; \
                             remove `{}`",
                            key.name
                        ),
                        Kind::OAuth => format!(
                            "`{}` is for exchange records only; remove it, or add `{EXCHANGE}`",
                            key.name
                        ),
                    };
                    self.problems.at_key(self.path.key(key.name), message);
                }
                continue;
            }
            if present || !key.required.has(self.kind) {
                continue;
            }
            let name = key.name;
            let message = if key.required == Kinds::EVERY {
                format!(
                    "missing `{name}`; every record needs {}",
                    required_on(Kinds::EVERY, "`")
                )
            } else {
                let hint = match key.widget {
                    keys::Widget::Source | keys::Widget::Secret => format!(
                        " (write `{name}: null` to type it on the admin page, or \
                         `{name}: {{env: VARIABLE}}`)"
                    ),
                    _ => String::new(),
                };
                format!(
                    "missing `{name}`{hint}; OAuth records (those without `{EXCHANGE}`) need {}",
                    required_on(Kinds::OAUTH, "")
                )
            };
            self.problems.at_value(self.path.key(name), message);
        }
    }
}
