//! Running processings: a message starts with its first step due; every `serve` node takes due
//! steps from the database ([`emsg_store::next_steps`]) and runs them; a step's outcome moves
//! the message on, makes the same step due later (a poll's next look, a back-off), or leaves it
//! waiting for a person. Nothing waits in memory: a node killed mid-step leaves the step to be
//! taken again when its lease ends, and an unsafe step whose request may have left is
//! reconciled, never sent again blindly (see [`step`]).

mod call;
mod start;
mod step;
mod values;

use std::time::Duration;

use emsg_store::MessageId;
use emsg_store::next_steps::{self, Taken};
use emsg_store::runs::{self, Decision};
use emsg_store::{StoreError, processings};

use crate::fraud::Origin;
use crate::send::{Messenger, SendError};

pub use start::{StartRequest, Started};

/// How long a node holds a step it took before another node may take it: longer than any step
/// takes (a request's timeout, a rate-limit wait of at most a minute).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// How many due steps a node takes at once.
const BATCH: i64 = 16;

/// Runs processings' steps; one per node, cheap to clone.
#[derive(Clone)]
pub struct Processor {
    messenger: Messenger,
    /// This node's name in leases (host and process).
    node: String,
    lease: Duration,
}

impl Processor {
    pub fn new(messenger: Messenger, node: impl Into<String>) -> Self {
        Self {
            messenger,
            node: node.into(),
            lease: DEFAULT_LEASE,
        }
    }

    /// A shorter lease, for tests that kill a node and wait for another to take over.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Takes the steps due now and runs them side by side; returns how many were taken.
    pub async fn run_due(&self) -> Result<usize, SendError> {
        let (owner, lease_ms) = (self.node.clone(), millis(self.lease));
        let taken = self
            .messenger
            .db(move |conn| next_steps::take_due(conn, &owner, now_ms(), lease_ms, BATCH))
            .await?;
        let count = taken.len();
        let runs = taken.into_iter().map(|taken| {
            let this = self.clone();
            tokio::spawn(async move { this.run_taken(taken).await })
        });
        for run in futures_join(runs).await {
            if let Err(error) = run {
                tracing::error!("a step's task ended abnormally: {error}");
            }
        }
        Ok(count)
    }

    /// Runs due steps until `stop` resolves; between empty takes waits `idle` (a step that
    /// becomes due waits at most that long).
    pub async fn run(&self, idle: Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let taken = match self.run_due().await {
                Ok(taken) => taken,
                Err(error) => {
                    tracing::warn!("taking due steps failed: {error}");
                    0
                }
            };
            if taken > 0 {
                continue;
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(idle) => {}
            }
        }
    }

    async fn run_taken(&self, taken: Taken) {
        let message = taken.message;
        let outcome = step::run(self, &taken).await;
        if let Err(error) = outcome {
            // The step could not even be recorded: leave it to its lease's end and say why.
            tracing::error!(%message, step = taken.step, "the step could not be run: {error}");
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

/// Awaits every task (they run side by side already).
async fn futures_join<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut results = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        results.push(handle.await);
    }
    results
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
