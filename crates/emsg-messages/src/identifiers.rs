//! Taxpayer identifiers, checked before anything is sent: UK VAT registration numbers (VRN),
//! National Insurance numbers (NINO), Norwegian organisation numbers, and HMRC period keys.
//! Each check returns the normalised form or a message saying what is wrong and what is
//! expected.

use emsg_webapps::shorten;

/// First letters HMRC never uses in a NINO.
const NINO_BAD_FIRST: &[char] = &['D', 'F', 'I', 'Q', 'U', 'V'];
/// Second letters HMRC never uses in a NINO.
const NINO_BAD_SECOND: &[char] = &['D', 'F', 'I', 'Q', 'U', 'V', 'O'];
/// NINO prefixes that are never issued.
const NINO_NEVER_ISSUED: &[&str] = &["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"];

fn compact(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A UK VAT registration number: nine digits. Spaces and a leading `GB` are dropped.
pub fn vrn(input: &str) -> Result<String, String> {
    let compacted = compact(input);
    let digits = compacted.strip_prefix("GB").unwrap_or(&compacted);
    if digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits.to_owned())
    } else {
        Err(format!(
            "`{}` is not a VAT registration number; it has nine digits, e.g. 123456789 (a \
             leading GB and spaces are allowed)",
            shorten(input, 30)
        ))
    }
}

/// A UK National Insurance number: two letters, six digits, a suffix A–D. Spaces are allowed
/// on input (`AB 12 34 56 C`); the result is upper case without spaces.
pub fn nino(input: &str) -> Result<String, String> {
    let nino = compact(input);
    if nino.is_empty() {
        return Err(
            "enter your National Insurance number, e.g. AB 12 34 56 C (two letters, six \
             digits, a letter A to D)"
                .to_owned(),
        );
    }
    let chars: Vec<char> = nino.chars().collect();
    if chars.len() != 9 {
        return Err(format!(
            "a National Insurance number has 9 characters (two letters, six digits, a letter A \
             to D, spaces aside); this one has {}",
            chars.len()
        ));
    }
    let (first, second, suffix) = (chars[0], chars[1], chars[8]);
    if !first.is_ascii_alphabetic() || !second.is_ascii_alphabetic() {
        return Err(
            "a National Insurance number starts with two letters, e.g. AB 12 34 56 C".to_owned(),
        );
    }
    if !chars[2..8].iter().all(char::is_ascii_digit) {
        return Err(
            "the two letters of a National Insurance number are followed by six digits, e.g. \
             AB 12 34 56 C"
                .to_owned(),
        );
    }
    if !matches!(suffix, 'A'..='D') {
        return Err(format!(
            "the last letter must be A, B, C or D, not {}",
            suffix.escape_default()
        ));
    }
    let mut problems = Vec::new();
    if NINO_BAD_FIRST.contains(&first) {
        problems.push(format!(
            "the first letter cannot be {first} (D, F, I, Q, U and V are never used)"
        ));
    }
    if NINO_BAD_SECOND.contains(&second) {
        problems.push(format!(
            "the second letter cannot be {second} (D, F, I, O, Q, U and V are never used)"
        ));
    }
    let prefix: String = chars[..2].iter().collect();
    if NINO_NEVER_ISSUED.contains(&prefix.as_str()) {
        problems.push(format!("the prefix {prefix} is never issued"));
    }
    if problems.is_empty() {
        Ok(nino)
    } else {
        Err(problems.join("; "))
    }
}

/// A Norwegian organisation number: nine digits, the last a mod-11 check digit over the first
/// eight with weights 3 2 7 6 5 4 3 2. Spaces are dropped.
pub fn organisation_number(input: &str) -> Result<String, String> {
    let digits = compact(input);
    if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{}` is not an organisation number; it has nine digits, e.g. 974 760 673",
            shorten(input, 30)
        ));
    }
    const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    let values: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    let expected = match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        check => Some(check),
    };
    if expected == Some(values[8]) {
        Ok(digits)
    } else {
        Err(format!(
            "`{}` is not a valid organisation number: its check digit does not match (a typo?); \
             copy it from Brønnøysundregistrene",
            shorten(input, 30)
        ))
    }
}

/// An HMRC VAT period key: four characters, letters, digits or `#` (e.g. `18A1`, `#001`).
pub fn period_key(input: &str) -> Result<String, String> {
    let key = input.trim();
    if key.chars().count() == 4 && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '#') {
        Ok(key.to_owned())
    } else {
        Err(format!(
            "`{}` is not a period key; it has four letters, digits or `#`, e.g. 18A1 — take it \
             from the obligations",
            shorten(input, 30)
        ))
    }
}

/// A calendar date written `YYYY-MM-DD`.
pub fn date(input: &str) -> Result<String, String> {
    let text = input.trim();
    let refuse = || {
        format!(
            "`{}` is not a date; write YYYY-MM-DD, e.g. 2026-04-01",
            shorten(input, 30)
        )
    };
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(refuse());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(refuse());
    }
    let (Ok(year), Ok(month), Ok(day)) = (
        year.parse::<u32>(),
        month.parse::<u32>(),
        day.parse::<u32>(),
    ) else {
        return Err(refuse());
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(refuse()),
    };
    if !(1..=days).contains(&day) || year < 1900 {
        return Err(refuse());
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrns_are_nine_digits() {
        assert_eq!(vrn("GB 123 4567 89").as_deref(), Ok("123456789"));
        for bad in ["12345678", "1234567890", "12345678A", "", "GB12345678"] {
            assert!(vrn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ninos_follow_hmrc_rules() {
        assert_eq!(nino("ab 12 34 56 c").as_deref(), Ok("AB123456C"));
        for (bad, why) in [
            ("QQ123456C", "first letter cannot be Q"),
            ("AO123456C", "second letter cannot be O"),
            ("GB123456A", "never issued"),
            ("AB123456E", "A, B, C or D"),
            ("AB12345C", "9 characters"),
            ("A1123456C", "two letters"),
        ] {
            let error = nino(bad).expect_err(bad);
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn organisation_numbers_carry_a_mod_11_check_digit() {
        // Real, published organisation numbers.
        for good in ["974760673", "974 761 076", "991825827"] {
            assert!(organisation_number(good).is_ok(), "{good}");
        }
        assert!(organisation_number("974760674").is_err());
        assert!(organisation_number("97476067").is_err());
    }

    #[test]
    fn period_keys_and_dates() {
        assert!(period_key("18A1").is_ok());
        assert!(period_key("#001").is_ok());
        assert!(period_key("18A").is_err());
        assert!(period_key("18A1!").is_err());
        assert!(date("2024-02-29").is_ok());
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "01/02/2024",
            "2024-04-31",
        ] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }
}
