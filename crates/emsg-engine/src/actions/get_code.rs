//! Get authorization code: the authorization URL, and a pending authorization to match the
//! callback against (state, sealed PKCE verifier, nonce, the user, an expiry).

use std::collections::BTreeMap;

use oauth2::{CsrfToken, PkceCodeChallenge, Scope};
use tracing::Instrument as _;

use emsg_seal::Secret;
use emsg_store::UserId;
use emsg_store::audit::{Actor, AuditAction, NewAuditEntry};
use emsg_store::pending::{self, NewPending};
use emsg_store::web_applications as records;

use super::now;
use crate::Engine;
use crate::error::EngineError;
use crate::oauth;
use crate::random;

/// What the "Get authorization code" dialog may change.
#[derive(Debug, Clone, Default)]
pub struct CodeRequest {
    /// Replaces the record's scope when given.
    pub scope: Option<String>,
    /// Added to (or replacing) the record's authorization parameters, e.g. `ui_locales`.
    pub params: BTreeMap<String, String>,
    /// A taxpayer identifier captured at connection (validated by the caller).
    pub taxpayer_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuthorizationStart {
    /// Where to send the user's browser.
    pub url: String,
    pub expires_at: i64,
    pub web_application: String,
}

impl Engine {
    pub async fn get_authorization_code(
        &self,
        app: &str,
        company: Option<&str>,
        user: UserId,
        request: CodeRequest,
    ) -> Result<AuthorizationStart, EngineError> {
        let record = self.record(app).await?;
        let company = self.company(company).to_owned();
        let span = tracing::info_span!("get-code", app = %record.name, user = user.get());
        let mut entry = Some(
            NewAuditEntry::ok(
                Actor::User { id: user.get() },
                AuditAction::GetCode,
                format!("authorization started for company {company}"),
            )
            .on_web_application(record.id),
        );
        let result = self
            .start_authorization(&record, &company, user, request, &mut entry)
            .instrument(span)
            .await;
        // Not written with the pending authorization: none was stored.
        if let Some(entry) = entry {
            self.audit(entry, &result).await;
        }
        result
    }

    async fn start_authorization(
        &self,
        record: &records::WebApplication,
        company: &str,
        user: UserId,
        request: CodeRequest,
        entry: &mut Option<NewAuditEntry>,
    ) -> Result<AuthorizationStart, EngineError> {
        if record.is_exchange() {
            return Err(EngineError::WrongKind(format!(
                "{} gets its token by exchange from its source record: authorize the source, then use Obtain access token here",
                record.name
            )));
        }
        let secret = record.client_secret(&self.ring())?;
        let credentials = oauth::credentials(record, secret)?;
        let scope = request
            .scope
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(&record.scope)
            .to_owned();
        let mut params = record.authorization_params();
        for (key, value) in request.params {
            // The same list the import refuses in the record's parameters.
            if emsg_webapps::is_reserved(&key) {
                return Err(EngineError::Refused(format!(
                    "`{key}` is set by emsg itself and cannot be given as a parameter"
                )));
            }
            params.insert(key, value);
        }
        let state = random::token(32)?;
        let nonce = scope
            .split_whitespace()
            .any(|s| s == "openid")
            .then(|| random::token(32))
            .transpose()?;
        let client = oauth::authorize_client(record, &credentials.client_id)?;
        let state_for_url = state.clone();
        let mut builder = client.authorize_url(move || CsrfToken::new(state_for_url));
        builder = builder.add_scopes(scope.split_whitespace().map(|s| Scope::new(s.to_owned())));
        let verifier = if record.pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            builder = builder.set_pkce_challenge(challenge);
            Some(Secret::new(verifier.secret().clone()))
        } else {
            None
        };
        if let Some(nonce) = &nonce {
            builder = builder.add_extra_param("nonce", nonce.clone());
        }
        for (key, value) in &params {
            builder = builder.add_extra_param(key.clone(), value.clone());
        }
        let (url, _) = builder.url();
        let created_at = now();
        let expires_at =
            created_at + i64::try_from(record.code_lifetime().as_secs()).unwrap_or(600);
        let redirect_uri = record.redirect_url.clone().unwrap_or_default();
        let (app_id, company, taxpayer) = (record.id, company.to_owned(), request.taxpayer_id);
        let state_hash = random::state_hash(&state);
        self.commit_with_entry(
            entry,
            move |conn, ring| {
                pending::insert(
                    conn,
                    ring,
                    &NewPending {
                        state_hash: &state_hash,
                        web_application_id: app_id,
                        company: &company,
                        user_id: user,
                        scope: &scope,
                        redirect_uri: &redirect_uri,
                        verifier: verifier.as_ref(),
                        nonce: nonce.as_deref(),
                        taxpayer_id: taxpayer.as_deref(),
                        created_at,
                        expires_at,
                    },
                )
            },
            |_| None,
        )
        .await?;
        tracing::info!("authorization started; waiting for the callback");
        Ok(AuthorizationStart {
            url: url.to_string(),
            expires_at,
            web_application: record.name.clone(),
        })
    }
}
