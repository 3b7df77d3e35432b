//! What the validator reports: a finding names the header, the rule broken, and the page of the
//! specification the rule comes from.

use std::fmt;

use crate::header::Header;
use crate::rules::{Rule, Severity};

/// One rule broken by one header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The header's name as the specification spells it.
    pub header: String,
    /// The rule's stable code, one of [`crate::rules::RULES`].
    pub rule: &'static str,
    /// What is wrong and what to send instead.
    pub message: String,
    pub severity: Severity,
    /// The specification file the rule comes from, relative to the repository's root.
    pub source: &'static str,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{severity} [{}] {}: {} (see {})",
            self.rule, self.header, self.message, self.source
        )
    }
}

/// The findings of one validation, in the order they were found.
#[derive(Default)]
pub(crate) struct Findings(Vec<Finding>);

impl Findings {
    pub(crate) fn add(
        &mut self,
        header: Header,
        rule: &Rule,
        source: &'static str,
        message: impl Into<String>,
    ) {
        self.0.push(Finding {
            header: header.name().to_owned(),
            rule: rule.code,
            message: message.into(),
            severity: rule.severity,
            source,
        });
    }

    pub(crate) fn into_vec(self) -> Vec<Finding> {
        self.0
    }
}
