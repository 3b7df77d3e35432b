//! Money amounts with two decimals, held exactly as a whole number of hundredths.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::text::shorten;

/// An amount such as `-1234.50`: at most two decimals, held as hundredths so that sums and
/// comparisons are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i128);

/// Why a text is not an amount; the message says what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AmountError(String);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub fn from_hundredths(hundredths: i128) -> Self {
        Self(hundredths)
    }

    pub fn hundredths(self) -> i128 {
        self.0
    }

    /// Whether the amount has no pence.
    pub fn is_whole(self) -> bool {
        self.0 % 100 == 0
    }

    pub fn abs(self) -> Self {
        Self(self.0.abs())
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Accepts `12`, `-12.5`, `12.50`; refuses thousands separators, exponents, more than two
    /// decimals and more than 15 digits before the point.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let refuse = || {
            AmountError(format!(
                "`{}` is not an amount; write digits with at most two decimals, such as \
                 `1234.50` or `-80`",
                shorten(text, 30)
            ))
        };
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty()
            || whole.len() > 15
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || fraction.len() > 2
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || (digits.contains('.') && fraction.is_empty())
        {
            return Err(refuse());
        }
        let whole: i128 = whole.parse().map_err(|_| refuse())?;
        let fraction: i128 = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i128>().map_err(|_| refuse())? * 10,
            _ => fraction.parse().map_err(|_| refuse())?,
        };
        let value = whole * 100 + fraction;
        Ok(Self(if negative { -value } else { value }))
    }
}

impl fmt::Display for Amount {
    /// Always two decimals: `-1234.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(text: &str) -> Amount {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn amounts_are_read_exactly() {
        assert_eq!(amount("12").hundredths(), 1200);
        assert_eq!(amount("-12.5").hundredths(), -1250);
        assert_eq!(amount("0.05").hundredths(), 5);
        assert_eq!(amount("+7.10").to_string(), "7.10");
        assert_eq!(amount("-0.5").to_string(), "-0.50");
        assert_eq!(amount("9999999999999.99").to_string(), "9999999999999.99");
    }

    #[test]
    fn malformed_amounts_are_refused_with_the_expected_form() {
        for bad in [
            "",
            "-",
            "1.",
            ".5",
            "1.234",
            "1,000",
            "1e3",
            "12a",
            "--1",
            "1234567890123456",
        ] {
            let error = bad.parse::<Amount>().expect_err(bad);
            assert!(
                error.to_string().contains("at most two decimals"),
                "{error}"
            );
        }
    }

    #[test]
    fn whole_pounds_and_sums_are_exact() {
        assert!(amount("100.00").is_whole());
        assert!(!amount("100.01").is_whole());
        assert_eq!(
            amount("0.10").checked_add(amount("0.20")),
            Some(amount("0.30"))
        );
    }
}
