//! UK National Insurance numbers (NINO), as HMRC's Income Tax APIs expect them: two letters,
//! six digits and a suffix A–D. Spaces are allowed on input (`AB 12 34 56 C`); the stored form
//! is upper case without spaces (`AB123456C`).

/// Checks a NINO as typed and returns it normalised, or says what is wrong with it (the rules
/// live with the other taxpayer identifiers in `emsg_messages::identifiers`).
pub fn normalise(input: &str) -> Result<String, String> {
    emsg_messages::identifiers::nino(input)
}

/// The NINO for display: every character but the last three hidden (`••••••56C`).
pub fn masked(nino: &str) -> String {
    let count = nino.chars().count();
    nino.chars()
        .enumerate()
        .map(|(i, c)| if i + 3 < count { '•' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(input: &str) -> String {
        match normalise(input) {
            Ok(nino) => panic!("{input:?} was accepted as {nino}"),
            Err(message) => message,
        }
    }

    #[test]
    fn valid_numbers_are_normalised() {
        assert_eq!(normalise("AB 12 34 56 C").as_deref(), Ok("AB123456C"));
        assert_eq!(normalise("ab123456c").as_deref(), Ok("AB123456C"));
        assert_eq!(normalise("  JG 10 30 05 A ").as_deref(), Ok("JG103005A"));
        assert_eq!(normalise("ZA000000D").as_deref(), Ok("ZA000000D"));
    }

    #[test]
    fn empty_and_wrong_lengths_are_refused() {
        assert!(refused("").contains("enter your National Insurance number"));
        assert!(refused("   ").contains("enter your National Insurance number"));
        assert!(refused("AB 12 34 56").contains("this one has 8"));
        assert!(refused("AB 12 34 56 CC").contains("this one has 10"));
    }

    #[test]
    fn shape_is_two_letters_six_digits_and_a_suffix() {
        assert!(refused("1B 12 34 56 C").contains("starts with two letters"));
        assert!(refused("A1 12 34 56 C").contains("starts with two letters"));
        assert!(refused("AB 12 3X 56 C").contains("six digits"));
        assert!(refused("AB 12 34 56 E").contains("the last letter must be A, B, C or D, not E"));
        assert!(refused("AB 12 34 56 7").contains("not 7"));
    }

    #[test]
    fn first_letter_rules() {
        for letter in ["D", "F", "I", "Q", "U", "V"] {
            let message = refused(&format!("{letter}A 12 34 56 C"));
            assert!(
                message.contains(&format!("the first letter cannot be {letter}")),
                "{message}"
            );
        }
    }

    #[test]
    fn second_letter_rules() {
        for letter in ["D", "F", "I", "Q", "U", "V", "O"] {
            let message = refused(&format!("A{letter} 12 34 56 C"));
            assert!(
                message.contains(&format!("the second letter cannot be {letter}")),
                "{message}"
            );
        }
    }

    #[test]
    fn prefixes_never_issued() {
        for prefix in ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"] {
            let message = refused(&format!("{prefix} 12 34 56 A"));
            assert_eq!(message, format!("the prefix {prefix} is never issued"));
        }
    }

    #[test]
    fn every_broken_letter_rule_is_named() {
        // QQ is the example prefix of HMRC's documentation: it is never issued.
        assert_eq!(
            refused("QO 12 34 56 C"),
            "the first letter cannot be Q (D, F, I, Q, U and V are never used); \
             the second letter cannot be O (D, F, I, O, Q, U and V are never used)"
        );
        assert!(refused("QQ 12 34 56 C").contains("the first letter cannot be Q"));
    }

    #[test]
    fn masking_keeps_the_last_three() {
        assert_eq!(masked("AB123456C"), "••••••56C");
        assert_eq!(masked("AB"), "AB");
    }
}
