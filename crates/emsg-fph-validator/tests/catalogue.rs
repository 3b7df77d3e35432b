//! The rule catalogue holds together: codes are unique and stable in shape, and every rule is
//! exercised by a test that breaks it.

mod support;

use std::collections::BTreeSet;

use emsg_fph_validator::{
    CONNECTION_METHODS_PAGE, ConnectionMethod, GETTING_IT_RIGHT_PAGE, Header, SPECIFICATION_COMMIT,
    SPECIFICATION_REPOSITORY, SPECIFICATION_VERSION, rules, validate,
};
use support::{COMMIT, SPECIFICATION_FILES, full_set, quote, with};

#[test]
fn rule_codes_are_unique_snake_case() {
    let codes: BTreeSet<&str> = rules::RULES.iter().map(|rule| rule.code).collect();
    assert_eq!(codes.len(), rules::RULES.len());
    for code in codes {
        assert!(
            code.bytes().all(|c| c.is_ascii_lowercase() || c == b'_'),
            "{code}"
        );
    }
}

#[test]
fn every_rule_is_broken_by_a_test_that_expects_its_code() {
    let tests = include_str!("rejections.rs");
    for rule in rules::RULES {
        let constant = format!("rules::{}.code", rule.code.to_ascii_uppercase());
        assert!(tests.contains(&constant), "no test expects {}", rule.code);
    }
}

#[test]
fn the_specification_is_the_pinned_version() {
    assert_eq!(SPECIFICATION_REPOSITORY, "hmrc/txm-fph-specification");
    assert_eq!(SPECIFICATION_COMMIT, COMMIT);
    let issued = quote(
        "source/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Version 3.3 issued 27 January 2025",
    );
    assert!(issued.contains(&format!("Version {SPECIFICATION_VERSION} issued")));
}

#[test]
fn every_finding_cites_a_file_of_the_specification() {
    let mut cited = BTreeSet::new();
    for method in ConnectionMethod::ALL {
        // Every header broken at once: a placeholder, a bad escape, an empty value, and none.
        for broken in ["null", "%", "", "x=1&&,"] {
            let mut headers = full_set(method);
            for header in &Header::ALL[1..] {
                headers = with(headers, *header, broken);
            }
            for finding in validate(&headers) {
                cited.insert(finding.source);
            }
        }
        for finding in validate(&[("Gov-Client-Connection-Method", "CARRIER_PIGEON")]) {
            cited.insert(finding.source);
        }
    }
    for source in &cited {
        assert!(SPECIFICATION_FILES.contains(source), "{source}");
    }
    assert!(cited.contains(GETTING_IT_RIGHT_PAGE) && cited.contains(CONNECTION_METHODS_PAGE));
    assert!(cited.len() >= 10, "{cited:#?}");
}
