//! Refresh access token: one refresh per connection at a time (an in-process single flight
//! plus a lease on the connection row across processes), the new pair committed fenced by the
//! version read, dead grants never retried, outages retried with back-off.

use std::time::{Duration, Instant};

use oauth2::RefreshToken;
use tracing::Instrument as _;

use emsg_store::audit::{Actor, AuditAction, NewAuditEntry};
use emsg_store::connections::{self, Connection, Status, Tokens};
use emsg_store::db::DbConnection;
use emsg_store::web_applications::WebApplication;
use emsg_store::{ConnectionId, UserId};

use super::{Acting, now};
use crate::Engine;
use crate::actions::status::{ConnectionView, Names, view_of};
use crate::audit::concluded;
use crate::error::{EngineError, ProviderFailure, ProviderFailureKind};
use crate::{oauth, random};

/// Whether the provider may be asked to refresh `connection`: it holds a token and the
/// provider has not already said the grant is dead (sending it again cannot help).
fn needs_provider(connection: &Connection) -> bool {
    connection.has_access_token() && connection.status() != Status::ReauthorizationRequired
}

/// The single flight of a connection and the lease taken under it, by the database task that
/// read the connection.
pub(crate) struct Leased {
    flight: tokio::sync::OwnedMutexGuard<()>,
    /// When the lease was asked for.
    now: i64,
    /// The row under the lease; `None`: another node holds it.
    lease: Result<Option<Connection>, EngineError>,
}

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
        acting: Acting,
    ) -> Result<ConnectionView, EngineError> {
        let actor = acting.actor();
        let (name, company_name) = (app.to_owned(), self.company(company).to_owned());
        let engine = self.clone();
        // The record, the connection and the names its view shows, in one statement; then, in
        // the same database task, the lease when nobody else in this process is refreshing.
        let (record, user, found, leased) = self
            .db(move |conn, _| {
                let asked = acting.named_user();
                let (record, found) =
                    connections::find_named_with_record(conn, &name, &company_name, asked)?
                        .ok_or_else(|| {
                            EngineError::from(emsg_store::StoreError::UnknownWebApplication(
                                name.clone(),
                            ))
                        })?;
                // The statement read the connection of `asked`; the subject rule decides
                // whether that is the one meant (or refuses).
                let user = Self::subject(&record, acting)?;
                let found = found.map(|(c, user, by)| {
                    let names = Names::read_with(&c, user, by);
                    (c, names)
                });
                let leased = match &found {
                    Some((c, _)) if !record.is_exchange() && needs_provider(c) => {
                        engine.lease_at_once(conn, c.id)
                    }
                    _ => None,
                };
                Ok((record, user, found, leased))
            })
            .await?;
        if record.is_exchange() {
            return self.exchange(app, company, user).await;
        }
        let Some((connection, names)) = found.filter(|(c, _)| c.has_access_token()) else {
            return Err(self
                .not_connected(&record, self.company(company), user)
                .await);
        };
        if !needs_provider(&connection) {
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
        let span = tracing::info_span!("refresh", app = %record.name, connection = connection.id.get(), user = actor.map(UserId::get));
        let after = self
            .refresh_connection(
                &record,
                &connection,
                Need::Refresh,
                refresh_entry(actor, &record, &connection, "access token refreshed"),
                AuditWhen::Always,
                leased,
            )
            .instrument(span)
            .await?;
        if names.fit(&after) {
            Ok(view_of(&record, after, names))
        } else {
            self.view(after).await
        }
    }

    /// A token usable beyond the skew for `app`'s connection of `user`, refreshing first only
    /// when needed; answers the connection's view, never the token. The audit log gets an entry
    /// only when a refresh was attempted.
    pub async fn ensure_valid(
        &self,
        app: &str,
        company: Option<&str>,
        acting: Acting,
    ) -> Result<ConnectionView, EngineError> {
        let record = self.record(app).await?;
        let user = Self::subject(&record, acting)?;
        self.valid_token(app, company, user).await?;
        let key = Self::key(&record, self.company(company), user);
        let found = self
            .db(move |conn, _| {
                Ok(connections::find_named(conn, &key)?.map(|(c, user, by)| {
                    let names = Names::read_with(&c, user, by);
                    view_of(&record, c, names)
                }))
            })
            .await?;
        found.ok_or_else(|| EngineError::NotConnected(format!("{app} is not connected")))
    }

    pub(crate) fn is_usable(&self, connection: &Connection, now: i64) -> bool {
        let skew = i64::try_from(self.inner.config.token_skew.as_secs()).unwrap_or(60);
        connection.has_access_token()
            && connection
                .access_expires_at
                .is_none_or(|at| at > now + skew)
    }

    /// Whether `current` already answers a caller who read `seen`: someone else refreshed it
    /// meanwhile, or the caller only needs a usable token and it is one.
    fn settled(&self, seen: &Connection, current: &Connection, need: Need, now: i64) -> bool {
        let usable = self.is_usable(current, now);
        usable && (current.version != seen.version || need == Need::Usable)
    }

    /// Takes this process's single flight for connection `id` if it is free and, holding it,
    /// the lease, on the database connection of the task that read the row: a refresh then
    /// costs one trip through the blocking pool less. `None` when another caller of this
    /// process holds the flight (it queues in [`Self::refresh_connection`]).
    pub(crate) fn lease_at_once(
        &self,
        conn: &mut DbConnection,
        id: ConnectionId,
    ) -> Option<Leased> {
        let flight = self.inner.flights.lock_for(id).try_lock_owned().ok()?;
        let now = now();
        let owner = &self.inner.node_id;
        let lease = connections::take_lease(conn, id, owner, now, now + self.lease_seconds())
            .map_err(EngineError::from);
        Some(Leased { flight, now, lease })
    }

    fn lease_seconds(&self) -> i64 {
        i64::try_from(self.inner.config.lease.as_secs()).unwrap_or(180)
    }

    /// Refreshes `seen` (as the caller read it) unless another thread or node refreshed it
    /// meanwhile, in which case that result is returned: one refresh at the provider.
    /// `entry` is written as `when` says. `leased`: the single flight and the lease attempt
    /// already made by the caller ([`Self::lease_at_once`]).
    ///
    /// Database work of an uncontended refresh: one statement taking the lease and returning
    /// the row under it (the fencing re-read), then one transaction storing the pair fenced by
    /// version and lease owner, releasing the lease and writing the audit entry.
    pub(crate) async fn refresh_connection(
        &self,
        record: &WebApplication,
        seen: &Connection,
        need: Need,
        entry: NewAuditEntry,
        when: AuditWhen,
        leased: Option<Leased>,
    ) -> Result<Connection, EngineError> {
        // A caller that had to queue behind another one of this process most likely finds the
        // work done: it reads before trying the lease (a write).
        let (_flight, mut read_first, mut first_lease) = match leased {
            Some(Leased { flight, now, lease }) => (flight, false, Some((now, lease))),
            None => {
                let lock = self.inner.flights.lock_for(seen.id);
                match lock.clone().try_lock_owned() {
                    Ok(flight) => (flight, false, None),
                    Err(_) => (lock.lock_owned().await, true, None),
                }
            }
        };
        let id = seen.id;
        let lease = self.lease_seconds();
        let started = Instant::now();
        let removed =
            || EngineError::NotConnected(format!("the connection of {} was removed", record.name));
        let result = loop {
            let (now, leased) = match first_lease.take() {
                Some(taken) => taken,
                None => {
                    let now = now();
                    if read_first {
                        let current = match self
                            .db(move |conn, _| Ok(connections::by_id(conn, id)?))
                            .await
                        {
                            Ok(current) => current.ok_or_else(removed),
                            Err(error) => Err(error),
                        };
                        match current {
                            Ok(current) if self.settled(seen, &current, need, now) => {
                                break Ok(current);
                            }
                            Ok(_) => {}
                            Err(error) => break Err(error),
                        }
                    }
                    let owner = self.inner.node_id.clone();
                    let leased = self
                        .db(move |conn, _| {
                            Ok(connections::take_lease(conn, id, &owner, now, now + lease)?)
                        })
                        .await;
                    (now, leased)
                }
            };
            match leased {
                Ok(Some(current)) if self.settled(seen, &current, need, now) => {
                    self.release_lease(id).await;
                    break Ok(current);
                }
                // Leased, and the row under the lease still needs the refresh.
                Ok(Some(current)) => return self.refresh_leased(record, &current, entry).await,
                Ok(None) => {}
                Err(error) => break Err(error),
            }
            if started.elapsed() > self.inner.config.wait_for_refresh {
                break Err(EngineError::Refused(format!(
                    "another emsg node has been refreshing {} for longer than expected; try again in a minute",
                    record.name
                )));
            }
            read_first = true;
            tokio::time::sleep(Duration::from_millis(50 + random::u64() % 100)).await;
        };
        // This caller did not call the provider: audit only what the caller asked for.
        if when == AuditWhen::Always || result.is_err() {
            let entry = if result.is_ok() {
                NewAuditEntry {
                    detail: "the access token had just been refreshed by another request"
                        .to_owned(),
                    ..entry
                }
            } else {
                entry
            };
            self.audit(entry, &result).await;
        }
        result
    }

    async fn release_lease(&self, id: ConnectionId) {
        let owner = self.inner.node_id.clone();
        if let Err(error) = self
            .db(move |conn, _| Ok(connections::release_lease(conn, id, &owner)?))
            .await
        {
            tracing::warn!(%error, "could not release the refresh lease; it expires by itself");
        }
    }

    /// The refresh proper, under the lease taken by the caller; always ends by releasing it,
    /// in the same transaction as the outcome and its audit entry.
    async fn refresh_leased(
        &self,
        record: &WebApplication,
        current: &Connection,
        entry: NewAuditEntry,
    ) -> Result<Connection, EngineError> {
        let took = Instant::now();
        let id = current.id;
        let attempt = self.refresh_with_retries(record, current).await;
        let outcome = match &attempt {
            Ok(_) => "ok",
            Err(failure) if failure.status == Some(Status::ReauthorizationRequired) => {
                "reauthorization_required"
            }
            Err(_) => "refresh_failing",
        };
        let owner = self.inner.node_id.clone();
        let name = record.name.clone();
        // Whether the entry went into the transaction that ended the refresh.
        let mut audited_in_transaction = false;
        let finished = match attempt {
            Ok(tokens) => {
                let (version, now) = (current.version, now());
                let audited = entry.clone();
                let stored = self
                    .db(move |conn, ring| {
                        Ok(connections::finish_refresh(
                            conn, ring, id, version, &owner, &tokens, now, &audited,
                        )?)
                    })
                    .await;
                audited_in_transaction = stored.as_ref().is_ok_and(|(_, audited)| *audited);
                match stored.map(|(refreshed, _)| refreshed) {
                    Ok(connections::Refreshed::Stored(after)) => {
                        tracing::info!(
                            expires_at = after.access_expires_at,
                            "access token refreshed"
                        );
                        Ok(after)
                    }
                    Ok(connections::Refreshed::Superseded(after)) => {
                        tracing::warn!("a newer token pair was stored by another node; keeping it");
                        after.ok_or_else(|| {
                            EngineError::NotConnected(format!(
                                "the connection of {name} was removed"
                            ))
                        })
                    }
                    Err(error) => Err(error),
                }
            }
            Err(Failure {
                error,
                status: Some(status),
                message,
                code,
            }) => {
                let failed: Result<Connection, EngineError> = Err(error);
                let audited = concluded(entry.clone(), &failed);
                let now = now();
                tracing::warn!(connection = id.get(), status = %status, "{message}");
                let recorded = self
                    .db(move |conn, _| {
                        Ok(connections::finish_refresh_failed(
                            conn,
                            id,
                            &owner,
                            status,
                            &message,
                            code.as_deref(),
                            now,
                            &audited,
                        )?)
                    })
                    .await;
                audited_in_transaction = recorded.as_ref().is_ok_and(|audited| *audited);
                match recorded {
                    Ok(_) => failed,
                    Err(db_error) => {
                        if let Err(error) = &failed {
                            tracing::error!(%error, "the failed refresh could not be recorded");
                        }
                        Err(db_error)
                    }
                }
            }
            Err(Failure { error, .. }) => {
                self.release_lease(id).await;
                Err(error)
            }
        };
        if let Err(EngineError::Store(_)) = &finished {
            // The transaction that would have released the lease failed.
            self.release_lease(id).await;
        }
        self.inner.metrics.record_refresh(outcome, took.elapsed());
        self.inner.tokens.invalidate(id);
        if !audited_in_transaction {
            self.audit(entry, &finished).await;
        }
        finished
    }

    async fn refresh_with_retries(
        &self,
        record: &WebApplication,
        current: &Connection,
    ) -> Result<Tokens, Failure> {
        let id = current.id;
        let name = record.name.clone();
        let Some(refresh_token) = current
            .refresh_token(&self.ring())
            .map_err(Failure::plain)?
        else {
            let message = format!(
                "{name} has no refresh token (the provider issued none): select Get authorization code to authorize again"
            );
            return Err(Failure {
                error: EngineError::NotConnected(message.clone()),
                status: Some(Status::ReauthorizationRequired),
                message,
                code: None,
            });
        };
        let secret = record.client_secret(&self.ring()).map_err(Failure::plain)?;
        let credentials = oauth::credentials(record, secret).map_err(Failure::plain)?;
        let client = oauth::token_client(record, &credentials).map_err(Failure::plain)?;
        let policy = self.inner.config.retry.clone();
        let lease = self.lease_seconds();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (node, now) = (self.inner.node_id.clone(), now());
            // The caller took the lease just before the first attempt; retries extend it.
            if attempt > 1 {
                self.db(move |conn, _| {
                    Ok(connections::try_lease(conn, id, &node, now, now + lease)?)
                })
                .await
                .map_err(Failure::plain)?;
            }
            let http = self.inner.http.clone();
            let token = RefreshToken::new(refresh_token.expose().to_owned());
            let answer = client
                .exchange_refresh_token(&token)
                .request_async(&crate::http::OAuthHttp(&http, self.inner.config.urls))
                .await;
            let failure = match answer {
                Ok(response) => match oauth::tokens(&response, now) {
                    Ok(tokens) => return Ok(tokens),
                    Err(failure) => failure,
                },
                Err(error) => oauth::classify(&error),
            };
            match failure.kind {
                ProviderFailureKind::Dead => {
                    let message = format!(
                        "the provider no longer accepts the authorization of {name} ({failure}): it was revoked, expired or replaced. Select Get authorization code to authorize again"
                    );
                    let code = failure.code.clone();
                    return Err(Failure {
                        error: EngineError::Provider {
                            what: format!("Refresh access token for {name}"),
                            failure,
                            advice: "Authorize again with Get authorization code".to_owned(),
                        },
                        status: Some(Status::ReauthorizationRequired),
                        message,
                        code,
                    });
                }
                ProviderFailureKind::Rejected => {
                    return Err(Failure::refresh_failing(
                        &name,
                        failure,
                        "An administrator should check the record's client ID and secret",
                    ));
                }
                ProviderFailureKind::Transient if attempt < policy.attempts => {
                    let delay = policy.delay(attempt, random::u64());
                    tracing::warn!(attempt, ?delay, failure = %failure, "refresh failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                ProviderFailureKind::Transient => {
                    return Err(Failure::refresh_failing(
                        &name,
                        failure,
                        "The current access token stays in use until it expires; emsg tries again",
                    ));
                }
            }
        }
    }
}

/// When a refresh writes its entry: always (a user pressed Refresh: an entry even when another
/// request had just refreshed), or only when this call went to the provider or failed (senders
/// and the scheduler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuditWhen {
    Always,
    Refreshed,
}

/// The entry of a refresh of `connection` asked for by `user` (none: the system), with the
/// words that say why it succeeded.
pub(crate) fn refresh_entry(
    user: Option<UserId>,
    record: &WebApplication,
    connection: &Connection,
    detail: &str,
) -> NewAuditEntry {
    NewAuditEntry::ok(
        Actor::user_or_system(user.map(UserId::get)),
        AuditAction::Refresh,
        detail,
    )
    .on_web_application(record.id)
    .on_connection(connection.id)
}

/// Why a refresh attempt ended without a pair, and what to record on the connection.
struct Failure {
    error: EngineError,
    /// The status to record, with `message` and the provider's `code`; `None`: record nothing
    /// (an internal or database error, not the connection's fault).
    status: Option<Status>,
    message: String,
    code: Option<String>,
}

impl Failure {
    fn plain(error: impl Into<EngineError>) -> Self {
        Self {
            error: error.into(),
            status: None,
            message: String::new(),
            code: None,
        }
    }

    fn refresh_failing(name: &str, failure: ProviderFailure, advice: &str) -> Self {
        let message = format!("refreshing {name} failed ({failure}). {advice}");
        let code = failure.code.clone();
        Self {
            error: EngineError::Provider {
                what: format!("Refresh access token for {name}"),
                failure,
                advice: advice.to_owned(),
            },
            status: Some(Status::RefreshFailing),
            message,
            code,
        }
    }
}
