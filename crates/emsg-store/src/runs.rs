//! A processing's message as it runs: started with its first step due, moved on by the node
//! that ran a step (only while that node's lease still holds: the fence decides), and moved by a
//! person's action (confirm, decide an unknown outcome, retry, cancel). Each change of the
//! message and of its next step is one transaction, so the two never disagree.

use diesel::prelude::*;

use crate::clock::now;
use crate::db::{DbConnection, write_transaction};
use crate::error::{Result, StoreError};
use crate::exchanges;
use crate::ids::{MessageId, UserId, WebApplicationId};
use crate::messages::{Idempotency, MessageStatus, event, insert_error};
use crate::next_steps::{self, Taken, Then};
use crate::schema::{message_files, messages, next_steps as next_steps_table};

/// A processing's message about to start.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub processing: &'a str,
    /// The processing as it is now (JSON, as the file wrote it): the message keeps this copy.
    pub spec: &'a str,
    /// The web application of the first step that calls one (the list shows it).
    pub web_application_id: WebApplicationId,
    pub company: &'a str,
    pub user_id: Option<UserId>,
    pub connection_method: Option<&'a str>,
    pub fields: &'a str,
    pub idempotency: Option<Idempotency<'a>>,
    /// The fraud-prevention origin of whoever starts it (JSON; never a secret).
    pub origin: Option<&'a str>,
    /// Files it is started with, by name (sent as steps' bodies).
    pub files: &'a [(String, Vec<u8>)],
    pub now_ms: i64,
}

/// Stores the message (In progress, at step 0) and makes its first step due now.
pub fn start(conn: &mut DbConnection, new: &NewRun<'_>) -> Result<MessageId> {
    write_transaction(conn, |conn| {
        let at = now();
        let id: i64 = diesel::insert_into(messages::table)
            .values((
                messages::service_name.eq(new.processing),
                messages::processing.eq(new.processing),
                messages::processing_spec.eq(new.spec),
                messages::web_application_id.eq(new.web_application_id),
                messages::company.eq(new.company),
                messages::user_id.eq(new.user_id),
                messages::acting_user_id.eq(new.user_id),
                messages::origin.eq(new.origin),
                messages::connection_method.eq(new.connection_method),
                messages::fields.eq(new.fields),
                messages::status.eq(MessageStatus::InProgress.as_str()),
                messages::step.eq(0),
                messages::step_since_ms.eq(new.now_ms),
                messages::extracted.eq("{}"),
                messages::created_at.eq(at),
                messages::updated_at.eq(at),
                messages::idempotency_key.eq(new.idempotency.map(|i| i.key)),
                messages::request_hash.eq(new.idempotency.map(|i| i.request_hash)),
            ))
            .returning(messages::id)
            .get_result(conn)
            .map_err(|error| insert_error(error, new.idempotency.is_some()))?;
        let message = MessageId::new(id);
        for (name, body) in new.files {
            diesel::insert_into(message_files::table)
                .values((
                    message_files::message_id.eq(message),
                    message_files::name.eq(name),
                    message_files::body.eq(body),
                ))
                .execute(conn)?;
        }
        event(
            conn,
            id,
            MessageStatus::InProgress,
            &format!("started: processing {}", new.processing),
            at,
        )?;
        next_steps::schedule(conn, message, 0, new.now_ms)?;
        Ok(message)
    })
}

/// A file the message was started with.
pub fn file(conn: &mut DbConnection, message: MessageId, name: &str) -> Result<Option<Vec<u8>>> {
    Ok(message_files::table
        .find((message, name))
        .select(message_files::body)
        .first(conn)
        .optional()?)
}

/// The copy of the processing a message runs, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunState {
    pub processing: String,
    pub spec: String,
    pub status: MessageStatus,
    pub step: i32,
    pub step_since_ms: i64,
    pub extracted: String,
}

/// processing, spec, status, step, step since, extracted.
type StateRow = (
    Option<String>,
    Option<String>,
    String,
    Option<i32>,
    Option<i64>,
    String,
);

pub fn state(conn: &mut DbConnection, message: MessageId) -> Result<Option<RunState>> {
    let row: Option<StateRow> = messages::table
        .find(message)
        .select((
            messages::processing,
            messages::processing_spec,
            messages::status,
            messages::step,
            messages::step_since_ms,
            messages::extracted,
        ))
        .first(conn)
        .optional()?;
    Ok(
        row.and_then(|(processing, spec, status, step, since, extracted)| {
            Some(RunState {
                processing: processing?,
                spec: spec?,
                status: status.parse().ok()?,
                step: step?,
                step_since_ms: since?,
                extracted,
            })
        }),
    )
}

/// What a step's run changes.
#[derive(Debug, Clone)]
pub struct Advance<'a> {
    pub status: MessageStatus,
    /// The step the message is at afterwards; a different one restarts `step_since_ms`.
    pub step: i32,
    pub extracted: &'a str,
    pub error: Option<(&'a str, &'a str)>,
    /// The history's entry; `None` writes none (a poll's look that changed nothing).
    pub detail: Option<&'a str>,
    pub then: Then,
    /// With a next step due now: keep it for this node, leased until this time (ms), and run it
    /// at once.
    pub keep_until_ms: Option<i64>,
    pub now_ms: i64,
}

/// What became of a step's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Another node has taken the step since, or a person moved the message on: nothing was
    /// changed.
    Lost,
    Recorded,
    /// Recorded, and the next step is this node's to run now.
    Continue(Taken),
}

/// Records what `taken`'s run changes, if the lease still holds.
pub fn advance(conn: &mut DbConnection, taken: &Taken, advance: &Advance<'_>) -> Result<Recorded> {
    write_transaction(conn, |conn| {
        let kept = match (advance.then, advance.keep_until_ms) {
            (Then::Next { step, due_at_ms }, Some(until)) if due_at_ms <= advance.now_ms => {
                match next_steps::continue_with(conn, taken, step, until)? {
                    Some(next) => Some(next),
                    None => return Ok(Recorded::Lost),
                }
            }
            _ => {
                if !next_steps::finish(conn, taken, advance.then)? {
                    return Ok(Recorded::Lost);
                }
                None
            }
        };
        let at = now();
        let current: Option<i32> = messages::table
            .find(taken.message)
            .select(messages::step)
            .first(conn)?;
        let moved = current != Some(advance.step);
        diesel::update(messages::table.find(taken.message))
            .set((
                messages::status.eq(advance.status.as_str()),
                messages::step.eq(advance.step),
                messages::extracted.eq(advance.extracted),
                messages::error_code.eq(advance.error.map(|e| e.0)),
                messages::error_message.eq(advance.error.map(|e| e.1)),
                messages::updated_at.eq(at),
            ))
            .execute(conn)?;
        if moved {
            diesel::update(messages::table.find(taken.message))
                .set(messages::step_since_ms.eq(advance.now_ms))
                .execute(conn)?;
        }
        if let Some(detail) = advance.detail {
            event(conn, taken.message.get(), advance.status, detail, at)?;
        }
        Ok(kept.map_or(Recorded::Recorded, Recorded::Continue))
    })
}

/// Whether `taken` still holds its step (before an unsafe request leaves).
pub fn holds(conn: &mut DbConnection, taken: &Taken) -> Result<bool> {
    Ok(next_steps_table::table
        .filter(next_steps_table::message_id.eq(taken.message))
        .filter(next_steps_table::fence.eq(taken.fence))
        .count()
        .get_result::<i64>(conn)?
        == 1)
}

/// A person's action on a message that waits for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Agrees to the confirm step's declaration: the next step runs.
    Confirm,
    /// The unsafe step's request did reach the provider: go on after it.
    WasReceived,
    /// It did not: send the step's request again.
    SendAgain,
    /// Run the failed step again (a technical error).
    Retry,
    /// Stop the message; nothing more is sent.
    Cancel,
}

impl Decision {
    fn allowed_from(self) -> &'static [MessageStatus] {
        match self {
            Self::Confirm => &[MessageStatus::AwaitingConfirmation],
            Self::WasReceived | Self::SendAgain => &[MessageStatus::OutcomeUnknown],
            Self::Retry => &[MessageStatus::TechnicalError],
            Self::Cancel => &[
                MessageStatus::InProgress,
                MessageStatus::AwaitingConfirmation,
                MessageStatus::OutcomeUnknown,
                MessageStatus::TechnicalError,
            ],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::WasReceived => "was received",
            Self::SendAgain => "send again",
            Self::Retry => "retry",
            Self::Cancel => "cancel",
        }
    }
}

/// Who decides: their fraud-prevention origin goes with the message's next steps; with
/// `hand_over` (the processing allows it) their own connection is used from then on.
#[derive(Debug, Clone, Copy)]
pub struct Decider<'a> {
    pub user: Option<UserId>,
    pub origin: Option<&'a str>,
    pub hand_over: bool,
}

/// A person's decision at `step` (the step the page showed, so that two people acting at once
/// cannot both move the message). `last_step` is the processing's last step index; `detail` is
/// the history's entry (who, and for Confirm the declaration agreed to).
#[derive(Debug, Clone, Copy)]
pub struct Decided<'a> {
    pub step: i32,
    pub last_step: i32,
    pub decision: Decision,
    pub decider: Decider<'a>,
    pub detail: &'a str,
    pub now_ms: i64,
}

/// Applies a person's decision; returns the message's status afterwards.
pub fn decide(
    conn: &mut DbConnection,
    message: MessageId,
    decided: &Decided<'_>,
) -> Result<MessageStatus> {
    let Decided {
        step,
        last_step,
        decision,
        decider,
        detail,
        now_ms,
    } = *decided;
    write_transaction(conn, |conn| {
        let (status, current): (String, Option<i32>) = messages::table
            .find(message)
            .select((messages::status, messages::step))
            .first(conn)
            .optional()?
            .ok_or_else(|| StoreError::Invalid(format!("there is no message {message}")))?;
        let status: MessageStatus = status.parse()?;
        if current != Some(step) || !decision.allowed_from().contains(&status) {
            return Err(StoreError::Invalid(format!(
                "message {message} is {} at step {}; `{}` is not possible now (reload the page \
                 to see what it allows)",
                status.label(),
                current.map_or(0, |s| s + 1),
                decision.as_str()
            )));
        }
        let (next_status, next_step) = match decision {
            Decision::Cancel => (MessageStatus::Cancelled, None),
            Decision::Retry | Decision::SendAgain => (MessageStatus::InProgress, Some(step)),
            Decision::Confirm | Decision::WasReceived if step >= last_step => {
                (MessageStatus::Completed, None)
            }
            Decision::Confirm | Decision::WasReceived => {
                (MessageStatus::InProgress, Some(step + 1))
            }
        };
        if matches!(decision, Decision::WasReceived | Decision::SendAgain) {
            exchanges::settle(conn, message, step, detail)?;
        }
        let at = now();
        diesel::update(messages::table.find(message))
            .set((
                messages::status.eq(next_status.as_str()),
                messages::step.eq(next_step.unwrap_or(step)),
                messages::step_since_ms.eq(now_ms),
                messages::error_code.eq(None::<String>),
                messages::error_message.eq(None::<String>),
                messages::updated_at.eq(at),
            ))
            .execute(conn)?;
        if let Some(origin) = decider.origin {
            diesel::update(messages::table.find(message))
                .set(messages::origin.eq(origin))
                .execute(conn)?;
        }
        if let (true, Some(user)) = (decider.hand_over, decider.user) {
            diesel::update(messages::table.find(message))
                .set(messages::acting_user_id.eq(user))
                .execute(conn)?;
        }
        match next_step {
            Some(next) => next_steps::schedule(conn, message, next, now_ms)?,
            None => {
                diesel::delete(
                    next_steps_table::table.filter(next_steps_table::message_id.eq(message)),
                )
                .execute(conn)?;
            }
        }
        event(conn, message.get(), next_status, detail, at)?;
        Ok(next_status)
    })
}
