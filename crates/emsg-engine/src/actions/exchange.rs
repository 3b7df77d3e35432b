//! Exchange (exchange-type records such as NO Altinn): the same user's token of the source
//! record, refreshed first when needed, traded at the exchange URL for this record's token.
//!
//! A refusal is read from the answer: a 401 that says the source token is invalid or expired
//! (`WWW-Authenticate: Bearer error="invalid_token"`, or such words in the body) means the user
//! must authorize the source again, and this record's connection is marked
//! `reauthorization_required`. Any other 401 (the exchange service's own lookups failing), 408,
//! 429 and 5xx are transient: try again later, the connection is kept as it is.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tracing::Instrument as _;

use emsg_seal::Secret;
use emsg_store::UserId;
use emsg_store::audit::{Actor, AuditAction, NewAuditEntry};
use emsg_store::connections::{self, Authorization, Status, Tokens};
use emsg_store::web_applications::WebApplication;

use super::now;
use crate::Engine;
use crate::actions::status::ConnectionView;
use crate::error::{EngineError, ProviderFailure, ProviderFailureKind};
use crate::http::HttpFailure;

impl Engine {
    /// Exchanges the source record's token of `user` (the company's when none is named) for
    /// this record's.
    pub async fn exchange(
        &self,
        app: &str,
        company: Option<&str>,
        user: Option<UserId>,
    ) -> Result<ConnectionView, EngineError> {
        let record = self.record(app).await?;
        let company = self.company(company).to_owned();
        let span =
            tracing::info_span!("exchange", app = %record.name, user = user.map(UserId::get));
        let mut entry = Some(
            NewAuditEntry::ok(
                Actor::user_or_system(user.map(UserId::get)),
                AuditAction::Exchange,
                "token exchanged",
            )
            .on_web_application(record.id),
        );
        let result = self
            .exchange_inner(&record, &company, user, &mut entry)
            .instrument(span)
            .await;
        // Not written with a change: the exchange failed before making one.
        if let Some(entry) = entry {
            self.audit(entry, &result).await;
        }
        result
    }

    async fn exchange_inner(
        &self,
        record: &WebApplication,
        company: &str,
        user: Option<UserId>,
        entry: &mut Option<NewAuditEntry>,
    ) -> Result<ConnectionView, EngineError> {
        let (Some(source_id), Some(url)) =
            (record.exchange_source_id(), record.exchange_url.clone())
        else {
            return Err(EngineError::WrongKind(format!(
                "{} is not an exchange-type record: use Get authorization code and Obtain access token",
                record.name
            )));
        };
        self.inner
            .config
            .urls
            .check_destination(&url)
            .map_err(EngineError::Refused)?;
        let source = self.record_by_id(source_id).await?;
        let source_token = Box::pin(self.valid_token(&source.name, Some(company), user))
            .await
            .map_err(|error| {
                EngineError::NotConnected(format!(
                    "{} needs a token of {} first: {error}",
                    record.name, source.name
                ))
            })?;
        let source_key = Self::key(&source, company, user);
        let source_connection = self
            .db(move |conn, _| Ok(connections::find(conn, &source_key)?))
            .await?
            .ok_or_else(|| {
                EngineError::NotConnected(format!("{} is not connected", source.name))
            })?;
        let mut request = self
            .inner
            .http
            .get(&url)
            .bearer_auth(source_token.token.expose());
        if let Some(accept) = &record.accept {
            request = request.header(reqwest::header::ACCEPT, accept);
        }
        let what = format!("Exchange for {}", record.name);
        let failure = |kind, code: Option<&str>, message: String| EngineError::Provider {
            what: what.clone(),
            failure: ProviderFailure {
                kind,
                code: code.map(str::to_owned),
                message,
            },
            advice: match kind {
                ProviderFailureKind::Transient => {
                    "Try again later; the connection is kept as it is".to_owned()
                }
                ProviderFailureKind::Dead => format!(
                    "Authorize {} again with Get authorization code, then exchange",
                    source.name
                ),
                ProviderFailureKind::Rejected => format!(
                    "An administrator should check the record's exchange URL; if it is right, \
                     authorize {} again with Get authorization code, then exchange",
                    source.name
                ),
            },
        };
        let response = request.send().await.map_err(|e| {
            failure(
                ProviderFailureKind::Transient,
                None,
                HttpFailure::from_reqwest(&e).to_string(),
            )
        })?;
        let status = response.status();
        if !status.is_success() {
            let challenge = response
                .headers()
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(", ");
            // A short look at the body is enough to tell; it is never quoted back.
            let body = response.text().await.unwrap_or_default();
            let kind = classify_refusal(status.as_u16(), &challenge, &body);
            let (code, message) = match kind {
                ProviderFailureKind::Dead => (
                    Some("invalid_token"),
                    format!(
                        "the exchange endpoint answered HTTP {}: it does not accept the token of {}",
                        status.as_u16(),
                        source.name
                    ),
                ),
                _ => (
                    None,
                    format!("the exchange endpoint answered HTTP {}", status.as_u16()),
                ),
            };
            let error = failure(kind, code, message.clone());
            if kind == ProviderFailureKind::Dead {
                let key = Self::key(record, company, user);
                let now = now();
                // The connection is marked with the entry of the failed exchange.
                *entry = entry
                    .take()
                    .map(|entry| entry.failed(error.code(), error.to_string()));
                self.commit_with_entry(
                    entry,
                    move |conn, _| {
                        if let Some(existing) = connections::find(conn, &key)? {
                            connections::record_failure(
                                conn,
                                existing.id,
                                Status::ReauthorizationRequired,
                                &message,
                                Some("invalid_token"),
                                now,
                            )?;
                        }
                        Ok(())
                    },
                    |()| None,
                )
                .await?;
            }
            return Err(error);
        }
        let body = response.text().await.map_err(|e| {
            failure(
                ProviderFailureKind::Transient,
                None,
                HttpFailure::from_reqwest(&e).to_string(),
            )
        })?;
        let token = parse_exchanged(&body).ok_or_else(|| {
            failure(
                ProviderFailureKind::Transient,
                None,
                "the exchange endpoint's answer is not a token".to_owned(),
            )
        })?;
        let now = now();
        let tokens = Tokens {
            access_expires_at: jwt_expiry(token.expose()).or(source_token.expires_at),
            access_token: token,
            refresh_token: None,
            token_type: "Bearer".to_owned(),
            granted_scope: source_connection.granted_scope.clone(),
        };
        let authorization = Authorization {
            authorized_by: user,
            authorized_at: now,
            authorization_expires_at: source_connection.authorization_expires_at,
            taxpayer_id: source_connection.taxpayer_id.clone(),
        };
        let key = Self::key(record, company, user);
        let stored = self
            .commit_with_entry(
                entry,
                move |conn, ring| {
                    connections::store_authorization(conn, ring, &key, &tokens, &authorization, now)
                },
                |stored: &connections::Connection| Some(stored.id),
            )
            .await?;
        debug_assert_eq!(stored.status(), Status::Connected);
        self.view(stored).await
    }
}

/// How a failed exchange answer is handled: `Dead` (authorize the source again) only for a 401
/// that says the token is invalid or expired; `Transient` for any other 401, 408, 429 and 5xx;
/// `Rejected` for the other 4xx (a setup problem).
fn classify_refusal(status: u16, challenge: &str, body: &str) -> ProviderFailureKind {
    const REFUSED_TOKEN: &[&str] = &[
        "invalid_token",
        "invalid token",
        "token is invalid",
        "token is not valid",
        "token expired",
        "token is expired",
        "token has expired",
        "expired token",
    ];
    let says_refused = |text: &str| {
        let lower = text.to_ascii_lowercase();
        REFUSED_TOKEN.iter().any(|words| lower.contains(words))
    };
    match status {
        401 if says_refused(challenge)
            || says_refused(&body.chars().take(4096).collect::<String>()) =>
        {
            ProviderFailureKind::Dead
        }
        401 | 408 | 429 | 500..=599 => ProviderFailureKind::Transient,
        _ => ProviderFailureKind::Rejected,
    }
}

/// The token of an exchange answer: the body as plain text, or a quoted JSON string.
fn parse_exchanged(body: &str) -> Option<Secret> {
    let body = body.trim();
    let token = if body.starts_with('"') {
        serde_json::from_str::<String>(body).ok()?
    } else {
        body.to_owned()
    };
    let plausible =
        !token.is_empty() && token.len() < 16 * 1024 && token.bytes().all(|b| b.is_ascii_graphic());
    plausible.then(|| Secret::new(token))
}

/// The `exp` of a JWT, read without verifying it (the token is only stored and forwarded).
fn jwt_expiry(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchanged_token_is_read_plain_or_quoted() {
        assert_eq!(
            parse_exchanged("abc.def.ghi\n").map(|s| s.expose().to_owned()),
            Some("abc.def.ghi".to_owned())
        );
        assert_eq!(
            parse_exchanged("\"abc.def.ghi\"").map(|s| s.expose().to_owned()),
            Some("abc.def.ghi".to_owned())
        );
        assert!(parse_exchanged("<html>oops</html> with spaces").is_none());
        assert!(parse_exchanged("").is_none());
    }

    #[test]
    fn only_a_401_that_refuses_the_token_asks_to_authorize_again() {
        use ProviderFailureKind::{Dead, Rejected, Transient};
        let bearer = r#"Bearer error="invalid_token", error_description="The token expired at '12/07/2026 10:00:00'""#;
        assert_eq!(classify_refusal(401, bearer, ""), Dead);
        assert_eq!(classify_refusal(401, "", "Token is expired"), Dead);
        assert_eq!(classify_refusal(401, "Bearer", ""), Transient);
        assert_eq!(
            classify_refusal(401, "", "could not look up the party"),
            Transient
        );
        assert_eq!(classify_refusal(503, bearer, ""), Transient);
        assert_eq!(classify_refusal(429, "", ""), Transient);
        assert_eq!(classify_refusal(404, "", ""), Rejected);
    }

    #[test]
    fn the_expiry_of_a_jwt_is_read_from_its_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp":1900000000,"sub":"x"}"#);
        assert_eq!(
            jwt_expiry(&format!("e30.{payload}.sig")),
            Some(1_900_000_000)
        );
        assert_eq!(jwt_expiry("opaque-token"), None);
    }
}
