//! Running processings: a message starts with its first step due; every `serve` node takes due
//! steps from the database ([`emsg_store::next_steps`]) and runs them; a step's outcome moves
//! the message on, makes the same step due later (a poll's next look, a back-off), or leaves it
//! waiting for a person. Nothing waits in memory: a node killed mid-step leaves the step to be
//! taken again when its lease ends, and an unsafe step whose request may have left is
//! reconciled, never sent again blindly (see [`step`]).

mod call;
mod outcome;
mod reconcile;
mod schedule;
mod start;
mod step;
mod values;

use std::time::Duration;

use emsg_store::MessageId;
use emsg_store::next_steps::{self, Taken};
use emsg_store::runs::{self, Decision};
use emsg_store::{StoreError, processings};

pub(crate) use crate::clock::{millis, now_ms};
use crate::fraud::Origin;
use crate::send::{Messenger, SendError};

pub use start::{StartRequest, Started};

/// How long a node holds a step it took before another node may take it: longer than any step
/// takes (a request's timeout, a rate-limit wait of at most a minute).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// How often a node looks for scheduled processings that are due.
const SCHEDULES_EVERY: Duration = Duration::from_secs(5);

/// How many steps a node runs at once by default.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// Runs processings' steps; one per node, cheap to clone.
#[derive(Clone)]
pub struct Processor {
    messenger: Messenger,
    /// This node's name in leases (host and process).
    node: String,
    lease: Duration,
    concurrency: usize,
}

impl Processor {
    pub fn new(messenger: Messenger, node: impl Into<String>) -> Self {
        Self {
            messenger,
            node: node.into(),
            lease: DEFAULT_LEASE,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// A shorter lease, for tests that kill a node and wait for another to take over.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How many steps this node runs at once (at least one).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    pub(crate) fn lease(&self) -> Duration {
        self.lease
    }

    async fn take(&self, limit: usize) -> Result<Vec<Taken>, SendError> {
        let (owner, lease_ms) = (self.node.clone(), millis(self.lease));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.messenger
            .db(move |conn| next_steps::take_due(conn, &owner, now_ms(), lease_ms, limit))
            .await
    }

    /// Takes the steps due now (as many as this node runs at once) and runs them side by side,
    /// each message on to its next step while that is due at once; returns how many were taken.
    pub async fn run_due(&self) -> Result<usize, SendError> {
        let taken = self.take(self.concurrency).await?;
        let count = taken.len();
        let mut running = tokio::task::JoinSet::new();
        for taken in taken {
            let this = self.clone();
            running.spawn(async move { this.run_taken(taken).await });
        }
        while let Some(done) = running.join_next().await {
            if let Err(error) = done {
                tracing::error!("a step's task ended abnormally: {error}");
            }
        }
        Ok(count)
    }

    /// Runs due steps until `stop` resolves, up to the node's concurrency at a time, taking more
    /// as runs end; with nothing due it looks again after `idle` (a step that becomes due waits
    /// at most that long). Runs under way finish before it returns.
    pub async fn run(&self, idle: Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut running = tokio::task::JoinSet::new();
        let mut schedules_looked = std::time::Instant::now() - SCHEDULES_EVERY;
        loop {
            if schedules_looked.elapsed() >= SCHEDULES_EVERY {
                schedules_looked = std::time::Instant::now();
                if let Err(error) = self.fire_schedules().await {
                    tracing::warn!("starting scheduled processings failed: {error}");
                }
            }
            let room = self.concurrency.saturating_sub(running.len());
            let taken = if room > 0 {
                self.take(room).await.unwrap_or_else(|error| {
                    tracing::warn!("taking due steps failed: {error}");
                    Vec::new()
                })
            } else {
                Vec::new()
            };
            let took = !taken.is_empty();
            for taken in taken {
                let this = self.clone();
                running.spawn(async move { this.run_taken(taken).await });
            }
            if took && running.len() < self.concurrency {
                continue;
            }
            tokio::select! {
                () = &mut stop => break,
                Some(done) = running.join_next(), if !running.is_empty() => {
                    if let Err(error) = done {
                        tracing::error!("a step's task ended abnormally: {error}");
                    }
                }
                () = tokio::time::sleep(idle), if running.is_empty() => {}
            }
        }
        while running.join_next().await.is_some() {}
    }

    /// Runs a taken step, and the message's next ones while this node keeps them.
    async fn run_taken(&self, taken: Taken) {
        let mut current = Some(taken);
        while let Some(taken) = current.take() {
            let message = taken.message;
            let started = std::time::Instant::now();
            let ran = step::run(self, &taken).await;
            self.messenger.metrics().record_step(started.elapsed());
            match ran {
                Ok(next) => current = next,
                // The step could not even be recorded: leave it to its lease's end, say why.
                Err(error) => {
                    tracing::error!(%message, step = taken.step, "the step could not be run: {error}");
                }
            }
        }
    }

    /// A person's decision on a message that waits for one (see [`Decision`]); `step` is the
    /// step the person saw; `by` is who decides and from where (their origin goes with the next
    /// steps). Returns the message's status afterwards.
    pub async fn decide(
        &self,
        message: MessageId,
        step: i32,
        decision: Decision,
        by: (Option<emsg_store::UserId>, &Origin),
        detail: String,
    ) -> Result<emsg_store::messages::MessageStatus, SendError> {
        let (user, origin) = by;
        let origin =
            serde_json::to_string(origin).map_err(|e| SendError::Internal(e.to_string()))?;
        let (last_step, hand_over) = self
            .messenger
            .db(move |conn| {
                let state = runs::state(conn, message)?.ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "message {message} is not a processing's message; only those have steps"
                    ))
                })?;
                let spec = processings::read_spec(&state.processing, &state.spec)?;
                Ok((
                    i32::try_from(spec.steps.len()).unwrap_or(i32::MAX) - 1,
                    spec.hand_over,
                ))
            })
            .await?;
        let now = now_ms();
        self.messenger
            .db(move |conn| {
                runs::decide(
                    conn,
                    message,
                    &runs::Decided {
                        step,
                        last_step,
                        decision,
                        decider: runs::Decider {
                            user,
                            origin: Some(&origin),
                            hand_over,
                        },
                        detail: &detail,
                        now_ms: now,
                    },
                )
            })
            .await
    }

    pub(crate) fn messenger(&self) -> &Messenger {
        &self.messenger
    }
}
