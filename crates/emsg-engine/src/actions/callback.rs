//! The callback at the redirect URL: state + code (or state + error). An unknown, expired or
//! used state, or one started by another user, is refused and changes nothing. For a record
//! with an issuer, the answer's `iss` must be that issuer (RFC 9207), and an answer without
//! `iss` is refused when the issuer's discovery says it always sends one.

use emsg_seal::Secret;
use emsg_store::UserId;
use emsg_store::audit::{Actor, AuditAction, NewAuditEntry};
use emsg_store::pending::{self, PendingAuthorization};
use tracing::Instrument as _;

use super::now;
use crate::Engine;
use crate::actions::status::ConnectionView;
use crate::error::EngineError;
use crate::random;

/// The query parameters of the callback.
#[derive(Debug, Clone, Default)]
pub struct CallbackParams {
    pub state: String,
    pub code: Option<Secret>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The issuer the provider names in its answer (RFC 9207), when it does.
    pub iss: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CallbackOutcome {
    pub web_application: String,
    pub company: String,
    /// Set when the record obtains the token at once on callback.
    pub connection: Option<ConnectionView>,
}

impl Engine {
    /// Handles the callback for `user`, the user whose session (or `--user`) it arrived in.
    pub async fn callback(
        &self,
        user: UserId,
        params: CallbackParams,
    ) -> Result<CallbackOutcome, EngineError> {
        let state_hash = random::state_hash(&params.state);
        self.callback_for_state_hash(user, state_hash, params).await
    }

    /// [`Engine::callback`] for an answer that was kept by the hash of its state only (parked
    /// while its user logged in): `params.state` is not read.
    pub async fn callback_for_state_hash(
        &self,
        user: UserId,
        state_hash: String,
        params: CallbackParams,
    ) -> Result<CallbackOutcome, EngineError> {
        let found = self
            .db(move |conn, _| Ok(pending::by_state_hash(conn, &state_hash)?))
            .await?;
        let Some(flow) = found else {
            let result: Result<CallbackOutcome, EngineError> = Err(EngineError::Refused(
                "this sign-in answer does not belong to any authorization emsg started (unknown state). \
                 Nothing was changed; start again with Get authorization code"
                    .to_owned(),
            ));
            let entry = NewAuditEntry::ok(
                Actor::User { id: user.get() },
                AuditAction::Callback,
                String::new(),
            );
            self.audit(entry, &result).await;
            return result;
        };
        let record = self.record_by_id(flow.web_application_id).await?;
        let span = tracing::info_span!("callback", app = %record.name, user = user.get());
        let result = self
            .accept_callback(
                &record.name,
                record.obtain_token_on_callback,
                record.issuer.as_deref(),
                user,
                &flow,
                params,
            )
            .instrument(span)
            .await;
        let detail = match &result {
            Ok(outcome) if outcome.connection.is_some() => {
                "code received; access token obtained".to_owned()
            }
            _ => "code received".to_owned(),
        };
        // Written when the callback ends, whatever it did: the code it stored is a step of the
        // sign-in, and obtaining the token at once writes its own entry with the tokens.
        let entry = NewAuditEntry::ok(
            Actor::User { id: user.get() },
            AuditAction::Callback,
            detail,
        )
        .on_web_application(record.id);
        self.audit(entry, &result).await;
        result
    }

    async fn accept_callback(
        &self,
        app: &str,
        obtain_at_once: bool,
        issuer: Option<&str>,
        user: UserId,
        flow: &PendingAuthorization,
        params: CallbackParams,
    ) -> Result<CallbackOutcome, EngineError> {
        let again = "Nothing was changed; start again with Get authorization code";
        // RFC 9207: an answer naming another issuer is a mix-up attack or a misconfiguration.
        if let (Some(expected), Some(named)) = (issuer, params.iss.as_deref())
            && expected != named
        {
            return Err(EngineError::Refused(format!(
                "the sign-in answer for {app} names the issuer `{}`, not `{expected}`. {again}",
                named.chars().take(100).collect::<String>()
            )));
        }
        if let (Some(expected), None) = (issuer, params.iss.as_deref()) {
            let discovery = self.inner.verifier.discover(expected).await.map_err(|e| {
                EngineError::Refused(format!(
                    "the sign-in answer for {app} names no issuer, and {expected}'s discovery \
                     document, which says whether it must, could not be read ({e}). Nothing was \
                     changed; try the sign-in again later"
                ))
            })?;
            if discovery.authorization_response_iss_parameter_supported {
                return Err(EngineError::Refused(format!(
                    "the sign-in answer for {app} names no issuer, though {expected} names itself \
                     in every answer (RFC 9207): it may not come from {expected}. {again}"
                )));
            }
        }
        if flow.user_id != user {
            return Err(EngineError::Refused(format!(
                "this sign-in for {app} was started by another user; only they can complete it. {again}"
            )));
        }
        if flow.callback_at.is_some() || flow.used_at.is_some() {
            return Err(EngineError::Refused(format!(
                "this sign-in answer for {app} was already used. {again}"
            )));
        }
        let now = now();
        if flow.expires_at < now {
            return Err(EngineError::Refused(format!(
                "the sign-in for {app} took longer than the {} minutes allowed. {again}",
                (flow.expires_at - flow.created_at) / 60
            )));
        }
        let id = flow.id;
        if let Some(error) = params.error {
            let error: String = error.chars().take(60).collect();
            let description: Option<String> = params
                .error_description
                .map(|d| d.chars().take(300).collect());
            let (e, d) = (error.clone(), description.clone());
            self.db(move |conn, _| Ok(pending::record_error(conn, id, &e, d.as_deref(), now)?))
                .await?;
            let advice = if error == "access_denied" {
                "The sign-in was cancelled or consent was refused at the provider. Start again with Get authorization code and choose Allow"
            } else {
                "Start again with Get authorization code; if it happens again, an administrator should check the record's scope and parameters"
            };
            return Err(EngineError::Denied {
                message: format!(
                    "the provider answered `{error}`{} for {app}. {advice}",
                    description.map(|d| format!(" ({d})")).unwrap_or_default()
                ),
                code: error,
            });
        }
        let Some(code) = params.code.filter(|c| !c.is_empty()) else {
            return Err(EngineError::Refused(format!(
                "the provider's answer for {app} carries neither a code nor an error. {again}"
            )));
        };
        let stored = self
            .db(move |conn, ring| Ok(pending::record_code(conn, ring, id, &code, now)?))
            .await?;
        if !stored {
            return Err(EngineError::Refused(format!(
                "this sign-in answer for {app} was already used. {again}"
            )));
        }
        let connection = if obtain_at_once {
            Some(
                self.obtain_access_token(app, Some(&flow.company), user, None)
                    .await?,
            )
        } else {
            None
        };
        Ok(CallbackOutcome {
            web_application: app.to_owned(),
            company: flow.company.clone(),
            connection,
        })
    }
}
