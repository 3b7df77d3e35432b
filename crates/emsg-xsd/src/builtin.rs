//! The built-in types the subset knows, each checked by its lexical form (XML Schema Part 2).

/// A built-in simple type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    String,
    Decimal,
    Integer,
    Long,
    Boolean,
    Date,
    DateTime,
    GYear,
}

impl Builtin {
    pub(crate) fn named(local: &str) -> Option<Self> {
        Some(match local {
            "string" => Self::String,
            "decimal" => Self::Decimal,
            "integer" => Self::Integer,
            "long" => Self::Long,
            "boolean" => Self::Boolean,
            "date" => Self::Date,
            "dateTime" => Self::DateTime,
            "gYear" => Self::GYear,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::String => "xsd:string",
            Self::Decimal => "xsd:decimal",
            Self::Integer => "xsd:integer",
            Self::Long => "xsd:long",
            Self::Boolean => "xsd:boolean",
            Self::Date => "xsd:date",
            Self::DateTime => "xsd:dateTime",
            Self::GYear => "xsd:gYear",
        }
    }

    /// The value as the type sees it: strings keep their white space, the others collapse it.
    pub(crate) fn normalise(self, text: &str) -> String {
        match self {
            Self::String => text.to_owned(),
            _ => text.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }

    /// Whether `value` (normalised) is in the type's lexical space; the error says what it is not.
    pub(crate) fn check(self, value: &str) -> Result<(), String> {
        let ok = match self {
            Self::String => true,
            Self::Decimal => is_decimal(value),
            Self::Integer => is_integer(value),
            Self::Long => is_integer(value) && value.trim_start_matches('+').parse::<i64>().is_ok(),
            Self::Boolean => matches!(value, "true" | "false" | "1" | "0"),
            Self::Date => date(value).is_some_and(timezone),
            Self::DateTime => value
                .split_once('T')
                .and_then(|(d, t)| date(d).filter(|r| r.is_empty()).map(|_| t))
                .is_some_and(time),
            Self::GYear => year(value).is_some_and(timezone),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("`{value}` is not a valid {}", self.name()))
        }
    }
}

fn digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_integer(value: &str) -> bool {
    digits(value.strip_prefix(['+', '-']).unwrap_or(value))
}

fn is_decimal(value: &str) -> bool {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    match unsigned.split_once('.') {
        Some((whole, fraction)) => {
            (digits(whole) || whole.is_empty())
                && (digits(fraction) || fraction.is_empty())
                && !(whole.is_empty() && fraction.is_empty())
        }
        None => digits(unsigned),
    }
}

/// A year of at least four digits (optionally negative); the rest of the text.
fn year(value: &str) -> Option<&str> {
    let unsigned = value.strip_prefix('-').unwrap_or(value);
    let end = unsigned
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(unsigned.len());
    let (digits, rest) = unsigned.split_at(end);
    (digits.len() >= 4 && !(digits.len() > 4 && digits.starts_with('0')) && digits != "0000")
        .then_some(rest)
}

/// `YYYY-MM-DD` with a real day of the month; the rest of the text.
fn date(value: &str) -> Option<&str> {
    let rest = year(value)?;
    let year_text = &value[..value.len() - rest.len()];
    let bytes = rest.as_bytes();
    if bytes.len() < 6 || bytes[0] != b'-' || bytes[3] != b'-' {
        return None;
    }
    let month: u32 = two(&rest[1..3])?;
    let day: u32 = two(&rest[4..6])?;
    let year: i64 = year_text.parse().ok()?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&day).then(|| &rest[6..])
}

fn two(text: &str) -> Option<u32> {
    (text.len() == 2 && digits(text))
        .then(|| text.parse().ok())
        .flatten()
}

/// `hh:mm:ss(.s+)?` then an optional time zone.
fn time(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() < 8 || bytes[2] != b':' || bytes[5] != b':' {
        return false;
    }
    let (Some(h), Some(m), Some(s)) = (two(&value[..2]), two(&value[3..5]), two(&value[6..8]))
    else {
        return false;
    };
    let mut rest = &value[8..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if end == 0 {
            return false;
        }
        rest = &fraction[end..];
    }
    ((h < 24 && m < 60 && s < 60) || (h == 24 && m == 0 && s == 0)) && timezone(rest)
}

/// Nothing, `Z`, or `±hh:mm` up to 14:00.
fn timezone(rest: &str) -> bool {
    match rest {
        "" | "Z" => true,
        _ => {
            let bytes = rest.as_bytes();
            bytes.len() == 6
                && matches!(bytes[0], b'+' | b'-')
                && bytes[3] == b':'
                && match (two(&rest[1..3]), two(&rest[4..6])) {
                    (Some(h), Some(m)) => (h < 14 && m < 60) || (h == 14 && m == 0),
                    _ => false,
                }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Builtin::*;

    #[test]
    fn lexical_forms_are_checked_as_xml_schema_defines_them() {
        for (kind, good, bad) in [
            (
                Decimal,
                &["-2500", "1.5", ".5", "+3.", "0"][..],
                &["1,5", "", ".", "1e3", "--1"][..],
            ),
            (
                Long,
                &["9223372036854775807", "-1"],
                &["9223372036854775808", "1.0"],
            ),
            (
                Date,
                &[
                    "2021-02-28",
                    "2024-02-29",
                    "2021-01-01Z",
                    "2021-01-01+01:00",
                ],
                &[
                    "2021-02-29",
                    "2021-13-01",
                    "21-01-01",
                    "2021-1-01",
                    "2021-01-01T",
                ],
            ),
            (
                DateTime,
                &[
                    "2021-05-21T11:28:13",
                    "2021-05-21T11:28:13.0797162Z",
                    "2022-11-28T17:25:30.258+01:00",
                ],
                &[
                    "2021-05-21",
                    "2021-05-21T25:00:00",
                    "2021-05-21T11:28",
                    "2021-05-21T11:28:13.Z",
                ],
            ),
            (GYear, &["2021", "2021Z"], &["21", "02021", "2021-01"]),
            (Boolean, &["true", "0"], &["yes", "True"]),
        ] {
            for value in good {
                assert!(kind.check(value).is_ok(), "{value} as {}", kind.name());
            }
            for value in bad {
                let error = kind.check(value).unwrap_err();
                assert!(error.contains(kind.name()), "{error}");
            }
        }
    }
}
