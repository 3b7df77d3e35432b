//! The claims of a verified ID token and the checks OpenID Connect Core 3.1.3.7 asks of the
//! client: issuer, audience and authorized party, expiry, issue time, nonce.

use serde_json::{Map, Value};

use crate::error::{IdTokenError, echo};

/// What the caller knows about the token it is about to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expectations<'a> {
    /// The issuer exactly as configured, e.g. `https://idporten.no`.
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce sent with the authorization request, if one was.
    pub nonce: Option<&'a str>,
    /// The current time, Unix seconds. The verifier reads no clock of its own.
    pub now: i64,
    /// Clock skew tolerated on `exp`, `iat` and `nbf`, e.g. 60.
    pub leeway_secs: i64,
}

/// What a verified ID token says about the sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub issuer: String,
    /// `sub`: the user at this issuer (a pairwise pseudonym at ID-porten).
    pub subject: String,
    pub audience: Vec<String>,
    /// `exp`, Unix seconds.
    pub expires_at: i64,
    /// `iat`, Unix seconds.
    pub issued_at: Option<i64>,
    pub nonce: Option<String>,
    /// Authentication context, e.g. `idporten-loa-substantial`.
    pub acr: Option<String>,
}

/// Checks the claims of a token whose signature has already been verified.
pub(crate) fn check(
    claims: &Map<String, Value>,
    expected: &Expectations<'_>,
) -> Result<IdTokenClaims, IdTokenError> {
    let issuer = string(claims, "iss")?.ok_or(IdTokenError::MissingClaim { claim: "iss" })?;
    if issuer != expected.issuer {
        return Err(IdTokenError::WrongIssuer {
            expected: expected.issuer.to_owned(),
            found: echo(&issuer),
        });
    }

    let audience = audience(claims)?;
    let wrong_audience = || IdTokenError::WrongAudience {
        client_id: expected.client_id.to_owned(),
    };
    if !audience.iter().any(|aud| aud == expected.client_id) {
        return Err(wrong_audience());
    }
    match string(claims, "azp")? {
        Some(azp) if azp != expected.client_id => return Err(wrong_audience()),
        // With other audiences beside us, only azp says the token was issued to us.
        None if audience.len() > 1 => return Err(IdTokenError::MissingClaim { claim: "azp" }),
        _ => {}
    }

    let leeway = expected.leeway_secs.max(0);
    let expires_at = number(claims, "exp")?.ok_or(IdTokenError::MissingClaim { claim: "exp" })?;
    if expected.now >= expires_at.saturating_add(leeway) {
        return Err(IdTokenError::Expired {
            expired_at: expires_at,
        });
    }
    let issued_at = number(claims, "iat")?;
    let not_before = number(claims, "nbf")?;
    let latest_start = expected.now.saturating_add(leeway);
    if issued_at.is_some_and(|iat| iat > latest_start)
        || not_before.is_some_and(|nbf| nbf > latest_start)
    {
        return Err(IdTokenError::NotYetValid);
    }

    let subject = string(claims, "sub")?.ok_or(IdTokenError::MissingClaim { claim: "sub" })?;
    if subject.is_empty() {
        return Err(IdTokenError::MissingClaim { claim: "sub" });
    }

    let nonce = string(claims, "nonce")?;
    if let Some(sent) = expected.nonce {
        match nonce.as_deref() {
            None => return Err(IdTokenError::NonceMissing),
            Some(received) if received != sent => return Err(IdTokenError::NonceMismatch),
            Some(_) => {}
        }
    }

    Ok(IdTokenClaims {
        issuer,
        subject,
        audience,
        expires_at,
        issued_at,
        nonce,
        acr: string(claims, "acr")?,
    })
}

fn malformed(claim: &str, what: &str) -> IdTokenError {
    IdTokenError::Malformed {
        reason: format!("claim `{claim}` is not {what}"),
    }
}

fn string(claims: &Map<String, Value>, claim: &str) -> Result<Option<String>, IdTokenError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(malformed(claim, "a string")),
    }
}

/// A NumericDate (RFC 7519 section 2): seconds, possibly with a fraction, which is dropped.
fn number(claims: &Map<String, Value>, claim: &str) -> Result<Option<i64>, IdTokenError> {
    let Some(value) = claims.get(claim) else {
        return Ok(None);
    };
    let not_a_date = || malformed(claim, "a number of seconds");
    let Value::Number(number) = value else {
        return Err(not_a_date());
    };
    if let Some(whole) = number.as_i64() {
        return Ok(Some(whole));
    }
    match number.as_f64() {
        // The range check keeps the cast exact enough and out of saturation.
        Some(float) if float.is_finite() && float.abs() < 1e15 => Ok(Some(float.floor() as i64)),
        _ => Err(not_a_date()),
    }
}

/// `aud`: one string, or an array of strings (RFC 7519 section 4.1.3).
fn audience(claims: &Map<String, Value>) -> Result<Vec<String>, IdTokenError> {
    match claims.get("aud") {
        None => Err(IdTokenError::MissingClaim { claim: "aud" }),
        Some(Value::String(one)) => Ok(vec![one.clone()]),
        Some(Value::Array(many)) => many
            .iter()
            .map(|aud| match aud {
                Value::String(aud) => Ok(aud.clone()),
                _ => Err(malformed("aud", "a string or an array of strings")),
            })
            .collect(),
        Some(_) => Err(malformed("aud", "a string or an array of strings")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::{Map, Value, json};

    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn expectations(nonce: Option<&str>) -> Expectations<'_> {
        Expectations {
            issuer: "https://idporten.no",
            client_id: "client",
            nonce,
            now: NOW,
            leeway_secs: 60,
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("test claims are an object"),
        }
    }

    fn base() -> Value {
        json!({"iss": "https://idporten.no", "sub": "u1", "aud": "client",
               "exp": NOW + 120, "iat": NOW, "nonce": "n"})
    }

    fn with(changes: Value) -> Map<String, Value> {
        let mut map = claims(base());
        for (k, v) in claims(changes) {
            if v.is_null() {
                map.remove(&k);
            } else {
                map.insert(k, v);
            }
        }
        map
    }

    #[test]
    fn a_token_within_the_leeway_after_expiry_is_still_accepted() {
        let token = with(json!({"exp": NOW - 59}));
        assert!(check(&token, &expectations(Some("n"))).is_ok());
        let token = with(json!({"exp": NOW - 60}));
        assert_eq!(
            check(&token, &expectations(Some("n"))),
            Err(IdTokenError::Expired {
                expired_at: NOW - 60
            })
        );
    }

    #[test]
    fn an_issue_time_beyond_the_leeway_in_the_future_is_not_yet_valid() {
        let token = with(json!({"iat": NOW + 60}));
        assert!(check(&token, &expectations(None)).is_ok());
        let token = with(json!({"iat": NOW + 61}));
        assert_eq!(
            check(&token, &expectations(None)),
            Err(IdTokenError::NotYetValid)
        );
        let token = with(json!({"nbf": NOW + 3600}));
        assert_eq!(
            check(&token, &expectations(None)),
            Err(IdTokenError::NotYetValid)
        );
    }

    #[test]
    fn fractional_dates_are_read_and_text_dates_are_malformed() {
        let token = with(json!({"exp": (NOW + 120) as f64 + 0.5}));
        assert_eq!(
            check(&token, &expectations(None)).unwrap().expires_at,
            NOW + 120
        );
        let token = with(json!({"exp": "tomorrow"}));
        assert!(matches!(
            check(&token, &expectations(None)),
            Err(IdTokenError::Malformed { .. })
        ));
    }

    #[test]
    fn required_claims_are_named_when_missing() {
        for claim in ["iss", "sub", "aud", "exp"] {
            let token = with(json!({ claim: null }));
            assert_eq!(
                check(&token, &expectations(None)),
                Err(IdTokenError::MissingClaim { claim })
            );
        }
    }

    #[test]
    fn an_azp_naming_another_client_is_refused_even_with_a_single_audience() {
        let token = with(json!({"azp": "someone-else"}));
        assert_eq!(
            check(&token, &expectations(None)),
            Err(IdTokenError::WrongAudience {
                client_id: "client".to_owned()
            })
        );
    }

    #[test]
    fn a_nonce_in_the_token_is_ignored_when_none_was_sent() {
        let claims = check(&with(json!({})), &expectations(None)).unwrap();
        assert_eq!(claims.nonce.as_deref(), Some("n"));
    }
}
