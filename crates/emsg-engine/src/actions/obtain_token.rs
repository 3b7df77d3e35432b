//! Obtain access token: the code (captured by the callback, or pasted) for a token pair.

use oauth2::{AuthorizationCode, PkceCodeVerifier};
use tracing::Instrument as _;

use emsg_seal::Secret;
use emsg_store::UserId;
use emsg_store::audit::{Actor, AuditAction, NewAuditEntry};
use emsg_store::connections::{self, Authorization};
use emsg_store::pending;
use emsg_store::web_applications::WebApplication;

use super::now;
use crate::Engine;
use crate::actions::status::ConnectionView;
use crate::error::{EngineError, ProviderFailureKind};
use crate::oauth;

impl Engine {
    /// Exchanges the code of `user`'s newest authorization for tokens. `pasted_code` is for
    /// redirect URLs that are not this server (e.g. `urn:ietf:wg:oauth:2.0:oob`). Exchange-type
    /// records obtain their token by exchange instead.
    pub async fn obtain_access_token(
        &self,
        app: &str,
        company: Option<&str>,
        user: UserId,
        pasted_code: Option<Secret>,
    ) -> Result<ConnectionView, EngineError> {
        let record = self.record(app).await?;
        if record.is_exchange() {
            return self.exchange(app, company, Some(user)).await;
        }
        let company = self.company(company).to_owned();
        let span = tracing::info_span!("obtain-token", app = %record.name, user = user.get());
        let mut entry = Some(
            NewAuditEntry::ok(
                Actor::User { id: user.get() },
                AuditAction::ObtainToken,
                "access token obtained",
            )
            .on_web_application(record.id),
        );
        let result = self
            .obtain(&record, &company, user, pasted_code, &mut entry)
            .instrument(span)
            .await;
        // Not written with the tokens: the action failed before storing them.
        if let Some(entry) = entry {
            self.audit(entry, &result).await;
        }
        result
    }

    async fn obtain(
        &self,
        record: &WebApplication,
        company: &str,
        user: UserId,
        pasted_code: Option<Secret>,
        entry: &mut Option<NewAuditEntry>,
    ) -> Result<ConnectionView, EngineError> {
        let name = record.name.clone();
        let (app_id, company_owned) = (record.id, company.to_owned());
        let flow = self
            .db(move |conn, _| Ok(pending::latest(conn, app_id, &company_owned, user)?))
            .await?;
        let Some(flow) = flow else {
            return Err(EngineError::Refused(format!(
                "you have not started an authorization for {name}: select Get authorization code first"
            )));
        };
        if flow.used_at.is_some() {
            return Err(EngineError::Refused(format!(
                "the authorization code for {name} was already used; codes work once: select Get authorization code again"
            )));
        }
        let now = now();
        let minutes = record.code_lifetime().as_secs() / 60;
        let expired = || {
            EngineError::Refused(format!(
                "the authorization code is valid for {minutes} minutes and that time has passed; select Get authorization code again"
            ))
        };
        let code = match pasted_code.filter(|c| !c.is_empty()) {
            Some(code) => {
                if flow.expires_at < now {
                    return Err(expired());
                }
                code
            }
            None => {
                let lifetime = i64::try_from(record.code_lifetime().as_secs()).unwrap_or(600);
                if flow.code_received_at.is_some_and(|at| at + lifetime < now) {
                    return Err(expired());
                }
                match flow.code(&self.ring())? {
                    Some(code) => code,
                    None if flow.error.is_some() => {
                        return Err(EngineError::Refused(format!(
                            "the provider refused the sign-in for {name} (`{}`); select Get authorization code again",
                            flow.error.clone().unwrap_or_default()
                        )));
                    }
                    None if flow.expires_at < now => return Err(expired()),
                    None => {
                        return Err(EngineError::Refused(format!(
                            "no authorization code for {name} has arrived yet: finish signing in at the provider, or paste the code"
                        )));
                    }
                }
            }
        };
        let verifier = flow.verifier(&self.ring())?;
        let credentials = oauth::credentials(record, record.client_secret(&self.ring())?)?;
        // The code is single-use: mark it used before it leaves, so no second request sends it.
        let flow_id = flow.id;
        if !self
            .db(move |conn, _| Ok(pending::mark_used(conn, flow_id, now)?))
            .await?
        {
            return Err(EngineError::Refused(format!(
                "the authorization code for {name} was already used; select Get authorization code again"
            )));
        }
        let client = oauth::token_client(record, &credentials)?;
        let mut request = client.exchange_code(AuthorizationCode::new(code.expose().to_owned()));
        if let Some(verifier) = &verifier {
            request =
                request.set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()));
        }
        let http = self.inner.http.clone();
        let response = request.request_async(&crate::http::OAuthHttp(&http, self.inner.config.urls)).await.map_err(|error| {
            let failure = oauth::classify(&error);
            let advice = match failure.kind {
                ProviderFailureKind::Dead => format!(
                    "The code is single-use and valid for {minutes} minutes: select Get authorization code again and then Obtain access token at once"
                ),
                ProviderFailureKind::Rejected => "An administrator should check the client ID, client secret and redirect URL of the record".to_owned(),
                ProviderFailureKind::Transient => "The provider could not be reached; the code may now be spent: select Get authorization code again".to_owned(),
            };
            EngineError::Provider { what: format!("Obtain access token for {name}"), failure, advice }
        })?;
        let tokens = oauth::tokens(&response, now).map_err(|failure| EngineError::Provider {
            what: format!("Obtain access token for {name}"),
            failure,
            advice: "Nothing was stored".to_owned(),
        })?;
        if let Some(id_token) = &response.extra_fields().id_token {
            self.check_id_token(
                record,
                &credentials.client_id,
                id_token,
                flow.nonce.as_deref(),
                now,
            )
            .await?;
        }
        let key = Self::key(record, company, Some(user));
        let authorization = Authorization {
            authorized_by: Some(user),
            authorized_at: now,
            authorization_expires_at: record
                .authorization_lifetime()
                .map(|l| now.saturating_add(i64::try_from(l.as_secs()).unwrap_or(i64::MAX))),
            taxpayer_id: flow.taxpayer_id.clone(),
        };
        let stored = self
            .commit_with_entry(
                entry,
                move |conn, ring| {
                    connections::store_authorization(conn, ring, &key, &tokens, &authorization, now)
                },
                |stored: &connections::Connection| Some(stored.id),
            )
            .await?;
        tracing::info!(connection = stored.id.get(), "access token obtained");
        self.view(stored).await
    }

    async fn check_id_token(
        &self,
        record: &WebApplication,
        client_id: &str,
        id_token: &str,
        nonce: Option<&str>,
        now: i64,
    ) -> Result<(), EngineError> {
        let Some(issuer) = record.issuer.as_deref() else {
            return Err(EngineError::NotConfigured(format!(
                "the provider sent an ID token for {}, but the record has no `issuer` to check it against; \
                 an administrator sets `issuer` in web-apps.yaml. Nothing was stored",
                record.name
            )));
        };
        let expectations = emsg_oidc::Expectations {
            issuer,
            client_id,
            nonce,
            now,
            leeway_secs: i64::try_from(self.inner.config.id_token_leeway.as_secs()).unwrap_or(60),
        };
        self.inner.verifier.verify(id_token, &expectations).await?;
        Ok(())
    }
}
