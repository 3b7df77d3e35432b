//! A valid token for senders: the access token when it lives longer than the skew, otherwise
//! refreshed (or exchanged) first. User-specific records serve only the authorizing user.

use emsg_seal::Secret;
use emsg_store::connections::{self, Connection};
use emsg_store::{ConnectionId, UserId};

use super::now;
use super::refresh::{AuditWhen, Need, refresh_entry};
use super::status::expired_message;
use crate::Engine;
use crate::error::EngineError;

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: Secret,
    pub token_type: String,
    pub expires_at: Option<i64>,
    pub connection_id: ConnectionId,
}

impl Engine {
    /// A usable access token of `user`'s connection to `app` (the company's on records that
    /// are not user-specific, or when nobody is named), refreshed or exchanged when it must be.
    pub async fn valid_token(
        &self,
        app: &str,
        company: Option<&str>,
        user: Option<UserId>,
    ) -> Result<AccessToken, EngineError> {
        let company = self.company(company).to_owned();
        let skew = i64::try_from(self.inner.config.token_skew.as_secs()).unwrap_or(60);
        let app_key = emsg_store::web_applications::name_key(app);
        if let Some(token) = self
            .inner
            .tokens
            .get(&app_key, &company, user, now() + skew)
        {
            return Ok(token);
        }
        let started = self.inner.tokens.read_started();
        let token = self.valid_token_uncached(app, &company, user).await?;
        self.inner
            .tokens
            .put(&app_key, &company, user, &token, started);
        Ok(token)
    }

    async fn valid_token_uncached(
        &self,
        app: &str,
        company: &str,
        user: Option<UserId>,
    ) -> Result<AccessToken, EngineError> {
        let company = company.to_owned();
        // The record and the connection in one database call.
        let (name, company_key) = (app.to_owned(), company.clone());
        let (record, found) = self
            .db(move |conn, _| {
                let record = emsg_store::web_applications::get(conn, &name)?;
                let key = Self::key(&record, &company_key, user);
                let found = connections::find(conn, &key)?;
                Ok((record, found))
            })
            .await?;
        let connection = match found {
            Some(c) if c.has_access_token() => c,
            _ if record.is_exchange() => {
                self.exchange(app, Some(&company), user).await?;
                return self
                    .current_token(&record.name, &Self::key(&record, &company, user))
                    .await;
            }
            _ => return Err(self.not_connected(&record, &company, user).await),
        };
        if let Some(message) = expired_message(&record, &connection) {
            return Err(EngineError::NotConnected(message));
        }
        if self.is_usable(&connection, now()) {
            return token_of(self, &connection);
        }
        let refreshed = if record.is_exchange() {
            self.exchange(app, Some(&company), user).await.map(|_| None)
        } else {
            self.refresh_connection(
                &record,
                &connection,
                Need::Usable,
                refresh_entry(user, &record, &connection, "refreshed before use"),
                AuditWhen::Refreshed,
                None,
            )
            .await
            .map(Some)
        };
        match refreshed {
            // The row the refresh ended with is the current one: no second read.
            Ok(Some(current)) if current.has_access_token() => token_of(self, &current),
            Ok(_) => {
                self.current_token(&record.name, &Self::key(&record, &company, user))
                    .await
            }
            // An outage must not stop senders while the current token still works.
            Err(error) if connection.access_expires_at.is_some_and(|at| at > now()) => {
                tracing::warn!(%error, "refresh failed; the current access token is used until it expires");
                token_of(self, &connection)
            }
            Err(error) => Err(error),
        }
    }

    pub(crate) async fn current_token(
        &self,
        name: &str,
        key: &connections::ConnectionKey,
    ) -> Result<AccessToken, EngineError> {
        let key = key.clone();
        let found = self
            .db(move |conn, _| Ok(connections::find(conn, &key)?))
            .await?;
        match found {
            Some(c) if c.has_access_token() => token_of(self, &c),
            _ => Err(EngineError::NotConnected(format!(
                "{name} has no access token: select Get authorization code"
            ))),
        }
    }
}

pub(crate) fn token_of(
    engine: &Engine,
    connection: &Connection,
) -> Result<AccessToken, EngineError> {
    let token = connection.access_token(&engine.ring())?.ok_or_else(|| {
        EngineError::NotConnected("the connection has no access token".to_owned())
    })?;
    Ok(AccessToken {
        token,
        token_type: connection
            .token_type
            .clone()
            .unwrap_or_else(|| "Bearer".to_owned()),
        expires_at: connection.access_expires_at,
        connection_id: connection.id,
    })
}
