//! The rule catalogue holds together: codes are unique and stable in shape, and every rule is
//! exercised by a test that breaks it.

mod support;

use std::collections::BTreeSet;

use emsg_fph_validator::{ConnectionMethod, Header, rules, spec, validate};
use support::{full_set, spec_file, with};

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
fn the_vendored_specification_is_the_pinned_version() {
    assert_eq!(spec::COMMIT, "5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb");
    let readme = spec_file("README.md");
    assert!(readme.contains(spec::COMMIT));
    let home = spec_file("source/index.html.md.erb");
    assert!(home.contains(&format!("Version {} issued", spec::VERSION)));
}

#[test]
fn every_finding_cites_a_file_of_the_vendored_specification() {
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
        assert!(!spec_file(source).is_empty(), "{source}");
    }
    assert!(cited.contains(spec::GETTING_IT_RIGHT) && cited.contains(spec::CONNECTION_METHODS));
    assert!(cited.len() >= 10, "{cited:#?}");
}
