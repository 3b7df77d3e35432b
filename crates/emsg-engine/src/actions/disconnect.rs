//! Disconnect: revoke at the provider (RFC 7009) when the record has a revocation URL, then
//! delete the tokens. A failed revocation is reported; the local tokens go all the same.

use tracing::Instrument as _;

use emsg_store::UserId;
use emsg_store::audit::{Actor, AuditAction, NewAuditEntry};
use emsg_store::connections;
use emsg_store::web_applications::WebApplication;

use super::{Acting, now};
use crate::Engine;
use crate::error::EngineError;
use crate::{oauth, revocation};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnected {
    pub web_application: String,
    /// Whether the provider confirmed the revocation; `None` when the record has no revocation URL.
    pub revoked_at_provider: Option<bool>,
    /// Why the revocation failed, when it did.
    pub revocation_error: Option<String>,
}

impl Engine {
    pub async fn disconnect(
        &self,
        app: &str,
        company: Option<&str>,
        acting: Acting,
    ) -> Result<Disconnected, EngineError> {
        let actor = acting.actor();
        let record = self.record(app).await?;
        let company = self.company(company).to_owned();
        let key = Self::key(&record, &company, Self::subject(&record, acting)?);
        let found = self
            .db(move |conn, _| Ok(connections::find(conn, &key)?))
            .await?;
        let Some(connection) = found else {
            return Err(EngineError::NotConnected(format!(
                "{} has no connection to disconnect for company {company}",
                record.name
            )));
        };
        let span = tracing::info_span!("disconnect", app = %record.name, connection = connection.id.get(), user = actor.map(UserId::get));
        let mut entry = Some(
            NewAuditEntry::ok(
                Actor::user_or_system(actor.map(UserId::get)),
                AuditAction::Disconnect,
                String::new(),
            )
            .on_web_application(record.id)
            .on_connection(connection.id),
        );
        let result = self
            .disconnect_inner(&record, &connection, &mut entry)
            .instrument(span)
            .await;
        // Not written with the deletion: the tokens could not be deleted.
        if let Some(entry) = entry {
            self.audit(entry, &result).await;
        }
        result
    }

    async fn disconnect_inner(
        &self,
        record: &WebApplication,
        connection: &connections::Connection,
        entry: &mut Option<NewAuditEntry>,
    ) -> Result<Disconnected, EngineError> {
        let mut outcome = Disconnected {
            web_application: record.name.clone(),
            revoked_at_provider: None,
            revocation_error: None,
        };
        if let (Some(url), Some(token)) = (
            &record.revocation_url,
            connection.refresh_token(&self.ring())?,
        ) {
            let revoked = async {
                let credentials = oauth::credentials(record, record.client_secret(&self.ring())?)?;
                revocation::revoke(&self.inner.http, self.inner.config.urls, url, record.client_auth(), &credentials, &token).await.map_err(|failure| {
                    EngineError::Provider {
                        what: format!("Revocation for {}", record.name),
                        failure,
                        advice: "The local tokens were deleted anyway; remove the access in the provider's portal too".to_owned(),
                    }
                })
            }
            .await;
            match revoked {
                Ok(()) => outcome.revoked_at_provider = Some(true),
                Err(error) => {
                    tracing::warn!(%error, "revocation failed; deleting the local tokens anyway");
                    outcome.revoked_at_provider = Some(false);
                    outcome.revocation_error = Some(error.to_string());
                }
            }
        }
        let (id, now) = (connection.id, now());
        let detail = match &outcome {
            Disconnected {
                revocation_error: Some(error),
                ..
            } => format!("tokens deleted; revocation at the provider failed: {error}"),
            Disconnected {
                revoked_at_provider: Some(true),
                ..
            } => "revoked at the provider; tokens deleted".to_owned(),
            _ => "tokens deleted (the record has no revocation URL)".to_owned(),
        };
        *entry = entry.take().map(|entry| NewAuditEntry { detail, ..entry });
        self.commit_with_entry(
            entry,
            move |conn, _| connections::disconnect(conn, id, now),
            |()| None,
        )
        .await?;
        Ok(outcome)
    }
}
