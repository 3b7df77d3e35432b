//! `Lifetime`: a whole number of seconds written as `90s`, `10m`, `4h` or `365d`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A positive duration in whole seconds, at most [`Lifetime::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lifetime(u64);

/// Why a duration was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifetimeError {
    #[error(
        "`{0}` is not a duration; write a positive whole number followed by s, m, h or d, \
         e.g. `90s`, `10m`, `4h` or `365d`"
    )]
    Malformed(String),
    #[error("`{0}` is zero; a lifetime must be at least one second")]
    Zero(String),
    #[error("`{0}` is too long; the longest lifetime accepted is 36500d")]
    TooLong(String),
}

const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

impl Lifetime {
    /// One hundred years: far beyond any grant, small enough for every timestamp type.
    pub const MAX: Lifetime = Lifetime(36_500 * 86_400);

    /// The default `code_lifetime`: HMRC's authorization codes live ten minutes.
    pub const TEN_MINUTES: Lifetime = Lifetime(600);

    /// Parses `<positive integer><unit>` with unit `s`, `m`, `h` or `d`. Nothing else: no
    /// spaces, signs, fractions or combined forms, so a typo cannot become a surprising length.
    pub fn parse(text: &str) -> Result<Self, LifetimeError> {
        let malformed = || LifetimeError::Malformed(text.to_owned());
        let unit_char = text.chars().last().ok_or_else(malformed)?;
        let (_, unit) = UNITS
            .iter()
            .find(|(c, _)| *c == unit_char)
            .ok_or_else(malformed)?;
        let digits = &text[..text.len() - unit_char.len_utf8()];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        let too_long = || LifetimeError::TooLong(text.to_owned());
        let count: u64 = digits.parse().map_err(|_| too_long())?;
        let secs = count.checked_mul(*unit).ok_or_else(too_long)?;
        Self::from_secs(secs).ok_or_else(|| {
            if secs == 0 {
                LifetimeError::Zero(text.to_owned())
            } else {
                too_long()
            }
        })
    }

    /// A lifetime of `secs` seconds; `None` for zero or more than [`Lifetime::MAX`].
    pub const fn from_secs(secs: u64) -> Option<Self> {
        if secs == 0 || secs > Self::MAX.0 {
            None
        } else {
            Some(Self(secs))
        }
    }

    pub const fn as_secs(self) -> u64 {
        self.0
    }

    pub const fn as_duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
}

impl fmt::Display for Lifetime {
    /// The canonical form: the largest unit that divides the seconds evenly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (unit, size) = UNITS
            .iter()
            .find(|(_, size)| self.0.is_multiple_of(*size))
            .copied()
            .unwrap_or(('s', 1));
        write!(f, "{}{unit}", self.0 / size)
    }
}

impl FromStr for Lifetime {
    type Err = LifetimeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_parses_to_seconds() {
        assert_eq!(Lifetime::parse("90s").map(Lifetime::as_secs), Ok(90));
        assert_eq!(Lifetime::parse("10m").map(Lifetime::as_secs), Ok(600));
        assert_eq!(Lifetime::parse("4h").map(Lifetime::as_secs), Ok(14_400));
        assert_eq!(
            Lifetime::parse("548d").map(Lifetime::as_secs),
            Ok(548 * 86_400)
        );
    }

    #[test]
    fn display_uses_the_largest_unit_that_divides_evenly() {
        let shown = |secs| Lifetime::from_secs(secs).map(|l| l.to_string());
        assert_eq!(shown(600).as_deref(), Some("10m"));
        assert_eq!(shown(86_400).as_deref(), Some("1d"));
        assert_eq!(shown(90).as_deref(), Some("90s"));
        assert_eq!(shown(5_400).as_deref(), Some("90m"));
        assert_eq!(shown(7_200).as_deref(), Some("2h"));
    }

    #[test]
    fn anything_but_a_positive_integer_and_one_unit_is_rejected() {
        for text in [
            "",
            "10",
            "m",
            "10 minutes",
            "10 m",
            " 10m",
            "-5m",
            "+5m",
            "1.5h",
            "1h30m",
            "10M",
            "１0m",
            "5w",
        ] {
            assert!(
                matches!(Lifetime::parse(text), Err(LifetimeError::Malformed(_))),
                "{text:?} was accepted"
            );
        }
        assert!(matches!(Lifetime::parse("0m"), Err(LifetimeError::Zero(_))));
        assert!(matches!(
            Lifetime::parse("36501d"),
            Err(LifetimeError::TooLong(_))
        ));
        assert!(matches!(
            Lifetime::parse("99999999999999999999999d"),
            Err(LifetimeError::TooLong(_))
        ));
    }

    #[test]
    fn from_secs_refuses_zero_and_more_than_the_maximum() {
        assert_eq!(Lifetime::from_secs(0), None);
        assert_eq!(Lifetime::from_secs(Lifetime::MAX.as_secs() + 1), None);
        assert_eq!(Lifetime::from_secs(1).map(Lifetime::as_secs), Some(1));
    }
}
