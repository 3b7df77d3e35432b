//! The background refresh: connections whose access token expires within the margin are
//! refreshed (exchange records exchanged again) with bounded concurrency and jitter; grants
//! nearing their end raise a warning in the audit log.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use emsg_store::audit::{Actor, AuditAction, NewAuditEntry};
use emsg_store::connections::{self, Connection, Status};
use emsg_store::web_applications as records;
use emsg_store::{ConnectionId, UserId, WebApplicationId};

use crate::Engine;
use crate::actions::refresh::{AuditWhen, Need, refresh_entry};
use crate::error::EngineError;
use crate::random;

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Time between sweeps (with up to 20% jitter so nodes do not sweep in step).
    pub interval: Duration,
    /// The smallest refresh margin; the margin is the larger of this and a quarter of the
    /// token's lifetime.
    pub min_margin: Duration,
    /// Refreshes running at once.
    pub concurrency: usize,
    /// Warn this long before an authorization (grant) ends.
    pub warn_before_authorization_ends: Duration,
    /// How long a stopping server lets in-flight refreshes finish.
    pub shutdown_grace: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            min_margin: Duration::from_secs(300),
            concurrency: 8,
            warn_before_authorization_ends: Duration::from_secs(30 * 86_400),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub due: usize,
    pub refreshed: usize,
    pub failed: usize,
}

/// Whether `connection` should be refreshed now.
pub fn is_due(connection: &Connection, now: i64, min_margin: Duration) -> bool {
    if !connection.has_access_token()
        || !matches!(
            connection.status(),
            Status::Connected | Status::RefreshFailing
        )
    {
        return false;
    }
    let Some(expires_at) = connection.access_expires_at else {
        return false;
    };
    let issued_at = connection
        .last_refreshed_at
        .or(connection.authorized_at)
        .unwrap_or(now);
    let lifetime = (expires_at - issued_at).max(0);
    let margin = i64::try_from(min_margin.as_secs())
        .unwrap_or(300)
        .max(lifetime / 4);
    if expires_at - now > margin {
        return false;
    }
    // A failing connection is retried with back-off across sweeps: 30 s, 1 min, 2 min … 30 min.
    if connection.status() == Status::RefreshFailing {
        let pause = 30_i64
            .saturating_mul(1 << connection.refresh_failures.clamp(0, 6))
            .min(1_800);
        return now >= connection.updated_at + pause;
    }
    true
}

impl Engine {
    /// Sweeps until `shutdown` turns true; in-flight refreshes get `shutdown_grace` to finish.
    pub async fn run_scheduler(
        &self,
        config: SchedulerConfig,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let warned = Arc::new(Mutex::new(HashSet::new()));
        loop {
            let sweep = self.sweep_until(&config, None, &warned, Some(shutdown.clone()));
            tokio::pin!(sweep);
            let report = tokio::select! {
                report = &mut sweep => Some(report),
                _ = shutdown.changed() => {
                    // Stopping: let the refreshes in flight finish, for a bounded time.
                    tracing::info!(grace = ?config.shutdown_grace, "stopping: letting in-flight refreshes finish");
                    tokio::time::timeout(config.shutdown_grace, &mut sweep).await.ok()
                }
            };
            match report {
                Some(Ok(report)) if report.due > 0 => tracing::info!(?report, "refresh sweep done"),
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::warn!(%error, "refresh sweep failed; trying again at the next one")
                }
                None => {
                    tracing::warn!("in-flight refreshes did not finish within the grace period")
                }
            }
            if *shutdown.borrow() {
                break;
            }
            let jitter = config
                .interval
                .mul_f64((random::u64() % 200) as f64 / 1000.0);
            tokio::select! {
                () = tokio::time::sleep(config.interval + jitter) => {}
                _ = shutdown.changed() => break,
            }
        }
        tracing::info!("refresh scheduler stopped");
    }

    /// One sweep over every due connection. `progress` is told (done, total) as refreshes end.
    pub async fn sweep(
        &self,
        config: &SchedulerConfig,
        progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>>,
        warned: &Arc<Mutex<HashSet<(ConnectionId, i64)>>>,
    ) -> Result<SweepReport, EngineError> {
        self.sweep_until(config, progress, warned, None).await
    }

    /// [`sweep`](Self::sweep) that takes no new connection once `stop` turns true (a stopping
    /// server): the refreshes already started finish, the others wait for another node or the
    /// next start.
    ///
    /// `concurrency` workers pull from the due list, so memory stays flat however many
    /// connections are due (a task per due connection cost about 5.5 KB each).
    pub(crate) async fn sweep_until(
        &self,
        config: &SchedulerConfig,
        progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>>,
        warned: &Arc<Mutex<HashSet<(ConnectionId, i64)>>>,
        stop: Option<watch::Receiver<bool>>,
    ) -> Result<SweepReport, EngineError> {
        let (all, apps) = self
            .db(|conn, _| Ok((connections::list(conn, None)?, records::list(conn)?)))
            .await?;
        let now = emsg_store::now();
        self.warn_expiring_authorizations(&all, &apps, now, config, warned)
            .await;
        let apps: HashMap<WebApplicationId, Arc<records::WebApplication>> =
            apps.into_iter().map(|r| (r.id, Arc::new(r))).collect();
        let due: Vec<(Arc<records::WebApplication>, Connection)> = all
            .into_iter()
            .filter(|c| is_due(c, now, config.min_margin))
            .filter_map(|c| Some((apps.get(&c.web_application_id)?.clone(), c)))
            .collect();
        let total = due.len();
        let queue = Arc::new(Mutex::new(due.into_iter()));
        let counts = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let mut workers = JoinSet::new();
        for _ in 0..config.concurrency.max(1).min(total) {
            let (engine, queue, counts, progress, stop) = (
                self.clone(),
                queue.clone(),
                counts.clone(),
                progress.clone(),
                stop.clone(),
            );
            workers.spawn(async move {
                // Spread the workers' starts so a sweep is not a burst at the provider.
                tokio::time::sleep(Duration::from_millis(random::u64() % 200)).await;
                loop {
                    if stop.as_ref().is_some_and(|stop| *stop.borrow()) {
                        break;
                    }
                    let next = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .next();
                    let Some((record, connection)) = next else {
                        break;
                    };
                    let (refreshed, failed) = &*counts;
                    match engine.refresh_in_background(&record, &connection).await {
                        Ok(()) => refreshed.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                    if let Some(progress) = &progress {
                        let done =
                            refreshed.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed);
                        progress(done, total);
                    }
                }
            });
        }
        while let Some(joined) = workers.join_next().await {
            if let Err(error) = joined {
                tracing::error!(%error, "a sweep worker stopped unexpectedly");
            }
        }
        let (refreshed, failed) = &*counts;
        Ok(SweepReport {
            due: total,
            refreshed: refreshed.load(Ordering::Relaxed),
            failed: failed.load(Ordering::Relaxed),
        })
    }

    async fn refresh_in_background(
        &self,
        record: &records::WebApplication,
        connection: &Connection,
    ) -> Result<(), EngineError> {
        let result = if record.is_exchange() {
            // The source token is the authorizer's (a user-specific record's owner's).
            let user = connection
                .authorized_by
                .filter(|id| *id > 0)
                .map(UserId::new)
                .or(connection.subject().user());
            Box::pin(self.exchange(&record.name, Some(&connection.company), user))
                .await
                .map(|_| ())
        } else {
            self.refresh_connection(
                record,
                connection,
                Need::Refresh,
                refresh_entry(None, record, connection, "refreshed in the background"),
                AuditWhen::Refreshed,
                None,
            )
            .await
            .map(|_| ())
        };
        if let Err(error) = &result {
            tracing::warn!(app = %record.name, connection = connection.id.get(), %error, "background refresh failed");
        }
        result
    }

    async fn warn_expiring_authorizations(
        &self,
        all: &[Connection],
        apps: &[records::WebApplication],
        now: i64,
        config: &SchedulerConfig,
        warned: &Arc<Mutex<HashSet<(ConnectionId, i64)>>>,
    ) {
        let window =
            i64::try_from(config.warn_before_authorization_ends.as_secs()).unwrap_or(2_592_000);
        for connection in all.iter().filter(|c| c.status() != Status::Disconnected) {
            let Some(ends) = connection
                .authorization_expires_at
                .filter(|at| at - now <= window)
            else {
                continue;
            };
            // One warning per connection and day.
            let fresh = warned
                .lock()
                .map(|mut set| set.insert((connection.id, now / 86_400)))
                .unwrap_or(false);
            if !fresh {
                continue;
            }
            let name = apps
                .iter()
                .find(|r| r.id == connection.web_application_id)
                .map_or("a web application", |r| r.name.as_str());
            let days = (ends - now).max(0) / 86_400;
            let detail = format!(
                "the authorization of {name} ends on {} (in {days} days): authorize again with Get authorization code before then",
                emsg_store::format_utc(ends)
            );
            tracing::warn!(connection = connection.id.get(), "{detail}");
            let entry =
                NewAuditEntry::ok(Actor::System, AuditAction::AuthorizationExpiring, detail)
                    .on_web_application(connection.web_application_id)
                    .on_connection(connection.id);
            self.audit(entry, &Ok::<(), EngineError>(())).await;
        }
    }
}
