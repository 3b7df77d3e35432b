//! Refresh access token: one refresh per connection at a time (an in-process single flight
//! plus a lease on the connection row across processes), the new pair committed fenced by the
//! version read, dead grants never retried, outages retried with back-off.

use std::time::{Duration, Instant};

use oauth2::RefreshToken;
use tracing::Instrument as _;

use emsg_store::connections::{self, Connection, Status};
use emsg_store::web_applications::WebApplication;

use super::now;
use crate::Engine;
use crate::actions::status::ConnectionView;
use crate::audit::Entry;
use crate::error::{EngineError, ProviderFailure, ProviderFailureKind};
use crate::{oauth, random};

/// Whether a caller needs a new token whatever the current one, or only a usable one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// "Refresh access token" pressed: refresh unless someone else just did.
    Refresh,
    /// A sender wants a token valid beyond the skew.
    Usable,
}

impl Engine {
    pub async fn refresh_access_token(
        &self,
        app: &str,
        company: Option<&str>,
        actor: Option<i64>,
        for_user: Option<i64>,
    ) -> Result<ConnectionView, EngineError> {
        let record = self.record(app).await?;
        let user = Self::subject(&record, actor, for_user)?;
        if record.is_exchange() {
            return self.exchange(app, company, user).await;
        }
        let key = Self::key(&record, self.company(company), user);
        let found = self
            .db(move |conn, _| Ok(connections::find(conn, &key)?))
            .await?;
        let Some(connection) = found.filter(Connection::has_access_token) else {
            return Err(self
                .not_connected(&record, self.company(company), user)
                .await);
        };
        if connection.status() == Status::ReauthorizationRequired {
            // The provider already said the grant is dead: sending it again cannot help.
            return Err(EngineError::NotConnected(
                connection.last_error.clone().unwrap_or_else(|| {
                    format!(
                        "{} must be authorized again: select Get authorization code",
                        record.name
                    )
                }),
            ));
        }
        let span = tracing::info_span!("refresh", app = %record.name, connection = connection.id, user = actor.unwrap_or(0));
        let result = self
            .refresh_connection(&record, &connection, Need::Refresh)
            .instrument(span)
            .await;
        let audit = self.audit(
            Entry {
                user: actor,
                action: "refresh",
                web_application_id: Some(record.id),
                connection_id: Some(connection.id),
            },
            &result,
            "access token refreshed".to_owned(),
        );

        audit.await;
        self.view(result?).await
    }

    pub(crate) fn is_usable(&self, connection: &Connection, now: i64) -> bool {
        let skew = i64::try_from(self.inner.config.token_skew.as_secs()).unwrap_or(60);
        connection.has_access_token()
            && connection
                .access_expires_at
                .is_none_or(|at| at > now + skew)
    }

    /// Refreshes `seen` (as the caller read it) unless another thread or node refreshed it
    /// meanwhile, in which case that result is returned: one refresh at the provider.
    pub(crate) async fn refresh_connection(
        &self,
        record: &WebApplication,
        seen: &Connection,
        need: Need,
    ) -> Result<Connection, EngineError> {
        let lock = self.inner.flights.lock_for(seen.id);
        let _flight = lock.lock().await;
        let id = seen.id;
        let node = self.inner.node_id.clone();
        let lease = i64::try_from(self.inner.config.lease.as_secs()).unwrap_or(180);
        let started = Instant::now();
        loop {
            let current = self
                .db(move |conn, _| Ok(connections::by_id(conn, id)?))
                .await?;
            let current = current.ok_or_else(|| {
                EngineError::NotConnected(format!("the connection of {} was removed", record.name))
            })?;
            let now = now();
            let refreshed_meanwhile =
                current.version != seen.version && self.is_usable(&current, now);
            if refreshed_meanwhile || (need == Need::Usable && self.is_usable(&current, now)) {
                return Ok(current);
            }
            let owner = node.clone();
            if self
                .db(move |conn, _| Ok(connections::try_lease(conn, id, &owner, now, now + lease)?))
                .await?
            {
                // Re-read under the lease: a node may have committed just before we took it.
                let current = self
                    .db(move |conn, _| Ok(connections::by_id(conn, id)?))
                    .await?;
                let current = current.ok_or_else(|| {
                    EngineError::NotConnected(format!(
                        "the connection of {} was removed",
                        record.name
                    ))
                })?;
                let result = if current.version != seen.version && self.is_usable(&current, now) {
                    Ok(current)
                } else {
                    let took = Instant::now();
                    let result = self.refresh_with_retries(record, &current).await;
                    let outcome = match &result {
                        Ok(_) => "ok",
                        Err(EngineError::Provider { failure, .. })
                            if failure.kind == ProviderFailureKind::Dead =>
                        {
                            "reauthorization_required"
                        }
                        Err(_) => "refresh_failing",
                    };
                    self.inner.metrics.record_refresh(outcome, took.elapsed());
                    result
                };
                let owner = node.clone();
                if let Err(error) = self
                    .db(move |conn, _| Ok(connections::release_lease(conn, id, &owner)?))
                    .await
                {
                    tracing::warn!(%error, "could not release the refresh lease; it expires by itself");
                }
                return result;
            }
            if started.elapsed() > self.inner.config.wait_for_refresh {
                return Err(EngineError::Refused(format!(
                    "another emsg node has been refreshing {} for longer than expected; try again in a minute",
                    record.name
                )));
            }
            tokio::time::sleep(Duration::from_millis(50 + random::u64() % 100)).await;
        }
    }

    async fn refresh_with_retries(
        &self,
        record: &WebApplication,
        current: &Connection,
    ) -> Result<Connection, EngineError> {
        let id = current.id;
        let name = record.name.clone();
        let Some(refresh_token) = current.refresh_token(self.ring())? else {
            let message = format!(
                "{name} has no refresh token (the provider issued none): select Get authorization code to authorize again"
            );
            self.fail(id, Status::ReauthorizationRequired, &message, None)
                .await?;
            return Err(EngineError::NotConnected(message));
        };
        let credentials = oauth::credentials(record, record.client_secret(self.ring())?)?;
        let client = oauth::token_client(record, &credentials)?;
        let policy = self.inner.config.retry.clone();
        let lease = i64::try_from(self.inner.config.lease.as_secs()).unwrap_or(180);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (node, now) = (self.inner.node_id.clone(), now());
            // The caller took the lease just before the first attempt; retries extend it.
            if attempt > 1 {
                self.db(move |conn, _| {
                    Ok(connections::try_lease(conn, id, &node, now, now + lease)?)
                })
                .await?;
            }
            let http = self.inner.http.clone();
            let token = RefreshToken::new(refresh_token.expose().to_owned());
            let answer = client
                .exchange_refresh_token(&token)
                .request_async(&crate::http::OAuthHttp(&http))
                .await;
            let failure = match answer {
                Ok(response) => match oauth::tokens(&response, now) {
                    Ok(tokens) => {
                        let (node, version) = (self.inner.node_id.clone(), current.version);
                        let stored = self
                            .db(move |conn, ring| {
                                Ok(connections::store_refreshed(
                                    conn, ring, id, version, &node, &tokens, now,
                                )?)
                            })
                            .await?;
                        let after = self
                            .db(move |conn, _| Ok(connections::by_id(conn, id)?))
                            .await?;
                        let after = after.ok_or_else(|| {
                            EngineError::NotConnected(format!(
                                "the connection of {name} was removed"
                            ))
                        })?;
                        if !stored {
                            tracing::warn!(
                                "a newer token pair was stored by another node; keeping it"
                            );
                        }
                        tracing::info!(
                            expires_at = after.access_expires_at,
                            "access token refreshed"
                        );
                        return Ok(after);
                    }
                    Err(failure) => failure,
                },
                Err(error) => oauth::classify(&error),
            };
            match failure.kind {
                ProviderFailureKind::Dead => {
                    let message = format!(
                        "the provider no longer accepts the authorization of {name} ({failure}): it was revoked, expired or replaced. Select Get authorization code to authorize again"
                    );
                    self.fail(
                        id,
                        Status::ReauthorizationRequired,
                        &message,
                        failure.code.as_deref(),
                    )
                    .await?;
                    return Err(EngineError::Provider {
                        what: format!("Refresh access token for {name}"),
                        failure,
                        advice: "Authorize again with Get authorization code".to_owned(),
                    });
                }
                ProviderFailureKind::Rejected => {
                    return Err(self
                        .refresh_failing(
                            id,
                            &name,
                            failure,
                            "An administrator should check the record's client ID and secret",
                        )
                        .await?);
                }
                ProviderFailureKind::Transient if attempt < policy.attempts => {
                    let delay = policy.delay(attempt, random::u64());
                    tracing::warn!(attempt, ?delay, failure = %failure, "refresh failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                ProviderFailureKind::Transient => {
                    return Err(self
                        .refresh_failing(id, &name, failure, "The current access token stays in use until it expires; emsg tries again")
                        .await?);
                }
            }
        }
    }

    async fn refresh_failing(
        &self,
        id: i64,
        name: &str,
        failure: ProviderFailure,
        advice: &str,
    ) -> Result<EngineError, EngineError> {
        let message = format!("refreshing {name} failed ({failure}). {advice}");
        self.fail(
            id,
            Status::RefreshFailing,
            &message,
            failure.code.as_deref(),
        )
        .await?;
        Ok(EngineError::Provider {
            what: format!("Refresh access token for {name}"),
            failure,
            advice: advice.to_owned(),
        })
    }

    pub(crate) async fn fail(
        &self,
        id: i64,
        status: Status,
        message: &str,
        code: Option<&str>,
    ) -> Result<(), EngineError> {
        let (message, code, now) = (message.to_owned(), code.map(str::to_owned), now());
        tracing::warn!(connection = id, status = %status, "{message}");
        self.db(move |conn, _| {
            Ok(connections::record_failure(
                conn,
                id,
                status,
                &message,
                code.as_deref(),
                now,
            )?)
        })
        .await
    }
}
