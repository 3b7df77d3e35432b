//! What a step's run decided, before it is recorded: the message's status and step after it,
//! its values, an error, the history's entry, and what follows (the next step, the same step
//! later, or nothing until a person acts).

use emsg_store::messages::MessageStatus;
use emsg_store::next_steps::{Taken, Then};
use emsg_webapps::Step;

use super::now_ms;
use super::step::Run;
use super::values::{self, Known};

/// How many times a safe request is tried when the provider does not answer or answers 5xx.
pub(super) const SAFE_ATTEMPTS: i32 = 5;
/// The first wait after such a failure; doubled each time.
pub(super) const RETRY_BASE_MS: i64 = 2_000;

/// What a run decided, before it is recorded.
pub(super) struct Outcome {
    pub(super) record: Record,
    pub(super) status: MessageStatus,
    pub(super) step: i32,
    pub(super) extracted: Known,
    pub(super) error: Option<(&'static str, String)>,
    pub(super) detail: Option<String>,
    pub(super) then: Then,
}

/// What of an outcome is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Record {
    /// The message and its next step.
    Message,
    /// Only the step row goes: the message no longer runs (cancelled, or moved on by a person).
    RowOnly,
    /// Nothing: another node holds the step now.
    Nothing,
}

/// The message moves past `step` with `read` added to its values.
pub(super) fn next(run: &Run, taken: &Taken, step: &Step, read: Known, how: &str) -> Outcome {
    let mut extracted = run.extracted.clone();
    let listed = values::listed(&read);
    extracted.extend(read);
    let last = i32::try_from(run.spec.steps.len()).unwrap_or(i32::MAX) - 1;
    let detail = format!(
        "step {} ({}) {how}{}",
        taken.step + 1,
        step.name,
        if listed.is_empty() {
            String::new()
        } else {
            format!(": {listed}")
        }
    );
    if taken.step >= last {
        Outcome {
            record: Record::Message,
            status: MessageStatus::Completed,
            step: taken.step,
            extracted,
            error: None,
            detail: Some(detail),
            then: Then::Done,
        }
    } else {
        Outcome {
            record: Record::Message,
            status: MessageStatus::InProgress,
            step: taken.step + 1,
            extracted,
            error: None,
            detail: Some(detail),
            then: Then::Next {
                step: taken.step + 1,
                due_at_ms: now_ms(),
            },
        }
    }
}

/// A safe request failed without an answer (or 5xx): again later, up to [`SAFE_ATTEMPTS`].
pub(super) fn retry_or_fail(run: &Run, taken: &Taken, step: &Step, reason: &str) -> Outcome {
    if taken.attempts >= SAFE_ATTEMPTS {
        return failed(
            run,
            "no_response",
            step_text(
                taken,
                step,
                &format!(
                    "{reason}, {SAFE_ATTEMPTS} times; retry the step when the provider works again"
                ),
            ),
        );
    }
    let wait = backoff(taken.attempts);
    Outcome {
        detail: Some(step_text(
            taken,
            step,
            &format!(
                "{reason}; it only reads, so it is sent again in {}s (try {} of {SAFE_ATTEMPTS})",
                wait / 1000,
                taken.attempts + 1
            ),
        )),
        then: Then::Again {
            due_at_ms: now_ms() + wait,
        },
        ..same(run, taken)
    }
}

pub(super) fn backoff(attempts: i32) -> i64 {
    RETRY_BASE_MS << attempts.clamp(0, 8)
}

/// Stays at the step, changing nothing.
pub(super) fn same(run: &Run, taken: &Taken) -> Outcome {
    Outcome {
        record: Record::Message,
        status: MessageStatus::InProgress,
        step: taken.step,
        extracted: run.extracted.clone(),
        error: None,
        detail: None,
        then: Then::Done,
    }
}

pub(super) fn failed(run: &Run, code: &'static str, reason: String) -> Outcome {
    Outcome {
        record: Record::Message,
        status: MessageStatus::TechnicalError,
        error: Some((code, reason)),
        detail: None,
        then: Then::Done,
        step: run.state.step,
        extracted: run.extracted.clone(),
    }
}

/// The step row of a message that no longer runs (cancelled, or moved on by a person).
pub(super) fn stray(taken: &Taken) -> Outcome {
    Outcome {
        record: Record::RowOnly,
        status: MessageStatus::InProgress,
        step: taken.step,
        extracted: Known::new(),
        error: None,
        detail: None,
        then: Then::Done,
    }
}

/// Nothing to record: another node holds the step now.
pub(super) fn lease_lost() -> Outcome {
    Outcome {
        record: Record::Nothing,
        status: MessageStatus::InProgress,
        step: 0,
        extracted: Known::new(),
        error: None,
        detail: None,
        then: Then::Done,
    }
}

pub(super) fn step_text(taken: &Taken, step: &Step, what: &str) -> String {
    format!("step {} ({}): {what}", taken.step + 1, step.name)
}
