//! What a provider's answer means for a message: received, a business error (the provider
//! refused the content — HMRC's `DUPLICATE_SUBMISSION`, `INVALID_VRN`…) or a technical error
//! (5xx, throttling, credentials, no answer), with the provider's code and message when it
//! sent them.

use emsg_store::messages::MessageStatus;
use emsg_webapps::ResponseType;
use emsg_webapps::shorten;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: MessageStatus,
    pub code: Option<String>,
    pub message: Option<String>,
}

pub fn classify(
    http_status: u16,
    success: &[u16],
    response_type: ResponseType,
    body: &str,
) -> Verdict {
    if success.contains(&http_status) {
        return Verdict {
            status: MessageStatus::ResponseReceived,
            code: None,
            message: None,
        };
    }
    let (code, message) = provider_error(response_type, body);
    let status = match http_status {
        // Credentials, timeouts and throttling are not about the message's content.
        401 | 407 | 408 | 429 => MessageStatus::TechnicalError,
        400..=499 => MessageStatus::BusinessError,
        _ => MessageStatus::TechnicalError,
    };
    Verdict {
        status,
        code,
        message,
    }
}

/// HMRC-style `{"code": ..., "message": ..., "errors": [{"code": ..., "message": ...}]}`;
/// other bodies give their first line as the message.
fn provider_error(response_type: ResponseType, body: &str) -> (Option<String>, Option<String>) {
    if response_type == ResponseType::Json
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(body)
    {
        let text =
            |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(|t| shorten(t, 300));
        let mut code = text(map.get("code"));
        let mut message = text(map.get("message"));
        if let Some(serde_json::Value::Array(errors)) = map.get("errors") {
            let inner: Vec<(Option<String>, Option<String>)> = errors
                .iter()
                .map(|e| (text(e.get("code")), text(e.get("message"))))
                .collect();
            let codes: Vec<String> = inner.iter().filter_map(|(c, _)| c.clone()).collect();
            let messages: Vec<String> = inner.iter().filter_map(|(_, m)| m.clone()).collect();
            if code.is_none() || code.as_deref() == Some("INVALID_REQUEST") && !codes.is_empty() {
                code = Some(codes.join(", ")).filter(|c| !c.is_empty()).or(code);
            }
            if !messages.is_empty() {
                message = Some(match message {
                    Some(m) => format!("{m}: {}", messages.join("; ")),
                    None => messages.join("; "),
                });
            }
        }
        return (code, message);
    }
    let first = body
        .lines()
        .find(|l| !l.trim().is_empty())
        .map(|t| shorten(t, 300));
    (None, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmrc_refusals_are_business_errors_with_their_code() {
        let verdict = classify(
            403,
            &[201],
            ResponseType::Json,
            r#"{"code":"DUPLICATE_SUBMISSION","message":"The VAT return was already submitted for the given period."}"#,
        );
        assert_eq!(verdict.status, MessageStatus::BusinessError);
        assert_eq!(verdict.code.as_deref(), Some("DUPLICATE_SUBMISSION"));
        let nested = classify(
            400,
            &[201],
            ResponseType::Json,
            r#"{"code":"INVALID_REQUEST","message":"Invalid request","errors":[{"code":"INVALID_MONETARY_AMOUNT","message":"amount should be a monetary value","path":"/vatDueSales"}]}"#,
        );
        assert_eq!(nested.code.as_deref(), Some("INVALID_MONETARY_AMOUNT"));
        assert!(
            nested
                .message
                .unwrap_or_default()
                .contains("monetary value")
        );
    }

    #[test]
    fn outages_and_credentials_are_technical() {
        assert_eq!(
            classify(503, &[200], ResponseType::Json, "Service Unavailable").status,
            MessageStatus::TechnicalError
        );
        assert_eq!(
            classify(
                401,
                &[200],
                ResponseType::Json,
                r#"{"code":"INVALID_CREDENTIALS"}"#
            )
            .status,
            MessageStatus::TechnicalError
        );
        assert_eq!(
            classify(200, &[200], ResponseType::Json, "{}").status,
            MessageStatus::ResponseReceived
        );
    }
}
