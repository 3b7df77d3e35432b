//! Verdicts read from a body: some providers answer 200 to a refusal (Skatteetaten's
//! validation says `ugyldig skattemelding` in a 200; HMRC's fraud-prevention header validator
//! says `INVALID_HEADERS`), so a step that declares a verdict judges the body, not the status.

use serde::Deserialize;

use crate::error::ExtractError;
use crate::extract::{Source, extract, extract_all};
use crate::response::Response;

/// Where the verdict is and which of its values mean what, as written in web-apps.yaml.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// Where the verdict is read.
    pub from: Source,
    /// The values that mean the provider accepted.
    pub accepted: Vec<String>,
    /// Values that mean accepted with warnings (HMRC's `POTENTIALLY_INVALID_HEADERS`).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Where the reasons are listed (every match of each), shown with a refusal or warnings.
    #[serde(default)]
    pub details: Vec<Source>,
}

/// What a verdict said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Accepted {
        value: String,
    },
    AcceptedWithWarnings {
        value: String,
        details: Vec<String>,
    },
    /// Any value not declared accepted: the step stops as a business error with these details.
    Refused {
        value: String,
        details: Vec<String>,
    },
}

impl Verdict {
    /// Reads the verdict; an answer without one is an error (not a refusal, not an acceptance).
    pub fn judge(&self, response: &Response<'_>) -> Result<Judgement, ExtractError> {
        let value = extract(&self.from, response)?;
        if self.accepted.contains(&value) {
            return Ok(Judgement::Accepted { value });
        }
        let mut details = Vec::new();
        for source in &self.details {
            // A detail that is not there is no reason to hide the verdict.
            details.extend(extract_all(source, response).unwrap_or_default());
        }
        if self.warnings.contains(&value) {
            Ok(Judgement::AcceptedWithWarnings { value, details })
        } else {
            Ok(Judgement::Refused { value, details })
        }
    }

    /// Whether every source is well formed and at least one value is accepted.
    pub fn check(&self) -> Result<(), String> {
        self.from.check()?;
        for source in &self.details {
            source.check()?;
        }
        if self.accepted.is_empty() {
            return Err("a verdict names at least one `accepted` value".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fraud_headers_verdict() -> Verdict {
        serde_yaml::from_str(
            "from: {json: /code}\naccepted: [VALID_HEADERS]\nwarnings: [POTENTIALLY_INVALID_HEADERS]\ndetails: [{json: /errors}, {json: /warnings}]\n",
        )
        .unwrap()
    }

    fn judge(verdict: &Verdict, body: &str) -> Result<Judgement, ExtractError> {
        verdict.judge(&Response {
            status: 200,
            headers: &[],
            body: body.as_bytes(),
        })
    }

    #[test]
    fn a_200_whose_body_refuses_is_a_refusal_with_its_reasons() {
        let verdict = Verdict {
            from: Source::Json("/code".into()),
            accepted: vec!["VALID_HEADERS".into()],
            warnings: vec![],
            details: vec![Source::Json("/errors".into())],
        };
        assert_eq!(
            judge(&verdict, r#"{"code":"INVALID_HEADERS","errors":["gov-client-timezone","gov-vendor-version"]}"#).unwrap(),
            Judgement::Refused {
                value: "INVALID_HEADERS".into(),
                details: vec!["gov-client-timezone".into(), "gov-vendor-version".into()]
            }
        );
        assert_eq!(
            judge(&verdict, r#"{"code":"VALID_HEADERS"}"#).unwrap(),
            Judgement::Accepted {
                value: "VALID_HEADERS".into()
            }
        );
    }

    #[test]
    fn warnings_are_told_apart_from_refusals_and_a_missing_verdict_is_an_error() {
        let verdict = fraud_headers_verdict();
        assert!(matches!(
            judge(
                &verdict,
                r#"{"code":"POTENTIALLY_INVALID_HEADERS","warnings":["x"]}"#
            )
            .unwrap(),
            Judgement::AcceptedWithWarnings { .. }
        ));
        assert!(judge(&verdict, r#"{"message":"no code"}"#).is_err());
        assert!(verdict.check().is_ok());
    }
}
