//! Running one taken step and recording what follows, under the step's fence.
//!
//! - *request*: sent once; its answer is judged (status, then a declared verdict), values are
//!   extracted, the message moves to the next step. A request that changes something (not GET)
//!   and got no answer, or a 5xx, has an *unknown outcome*: it is never sent again blindly. The
//!   next run of the step sends the declared *reconcile* request instead: if its answer shows
//!   the request was processed, the step counts as done (with the values read from it); if it
//!   shows it was not, the step is sent again; with no reconcile declared, the message waits
//!   for a person (Outcome unknown).
//! - *poll*: sent until its condition holds; each look that does not is a later due time.
//! - *confirm*: the message waits for a person (Awaiting confirmation).

use emsg_processing::Judgement;
use emsg_store::exchanges::{self, Purpose};
use emsg_store::messages::{self, MessageStatus};
use emsg_store::next_steps::{Taken, Then};
use emsg_store::runs::{self, Advance, Recorded, RunState};
use emsg_store::{StoreError, processings};
use emsg_webapps::{Action, Call, ProcessingSpec, Step};

use super::call::{Called, Party, What, call};
use super::outcome::{
    Outcome, Record, failed, lease_lost, next, retry_or_fail, same, step_text, stray,
};
use super::reconcile::{reconcile, unknown_then_reconcile};
use super::values::{self, Known};
use super::{Processor, now_ms};
use crate::send::SendError;

/// The message's state as a step sees it.
pub(super) struct Run {
    pub(super) state: RunState,
    pub(super) spec: ProcessingSpec,
    pub(super) party: Party,
    pub(super) known: Known,
    pub(super) extracted: Known,
}

/// Runs `taken`; `Some` is the message's next step when this node keeps it to run at once.
pub(super) async fn run(processor: &Processor, taken: &Taken) -> Result<Option<Taken>, SendError> {
    let message = taken.message;
    let loaded = processor
        .messenger()
        .db(move |conn| {
            let Some(state) = runs::state(conn, message)? else {
                return Ok(None);
            };
            let row = messages::get(conn, message.get())?
                .ok_or_else(|| StoreError::Invalid(format!("message {message} is gone")))?;
            Ok(Some((state, row)))
        })
        .await?;
    let Some((state, row)) = loaded else {
        // Not a processing's message (or gone): nothing to run.
        return finish(processor, taken, stray(taken)).await;
    };
    if state.status != MessageStatus::InProgress || state.step != taken.step {
        return finish(processor, taken, stray(taken)).await;
    }
    let spec = processings::read_spec(&state.processing, &state.spec)?;
    let extracted: Known = serde_json::from_str(&state.extracted).unwrap_or_default();
    let known = values::known(&row.fields, &state.extracted).map_err(SendError::Internal)?;
    let run = Run {
        party: Party {
            company: row.company.clone(),
            user: row
                .acting_user_id
                .or(row.user_id)
                .map(emsg_store::UserId::new),
            origin: row
                .origin
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or_else(|| {
                    crate::fraud::Origin::BatchProcessDirect(crate::fraud::this_machine(
                        String::new(),
                        None,
                        now_ms(),
                    ))
                }),
        },
        state,
        spec,
        known,
        extracted,
    };
    let Some(step) = usize::try_from(taken.step)
        .ok()
        .and_then(|i| run.spec.steps.get(i))
    else {
        let outcome = failed(
            &run,
            "no_such_step",
            format!(
                "the processing has no step {}; the message cannot go on",
                taken.step + 1
            ),
        );
        return finish(processor, taken, outcome).await;
    };
    let outcome = match &step.action {
        Action::Confirm(confirm) => Outcome {
            record: Record::Message,
            status: MessageStatus::AwaitingConfirmation,
            step: taken.step,
            extracted: run.extracted.clone(),
            error: None,
            detail: Some(format!(
                "step {} ({}): waits for a person to review {} and agree to the declaration",
                taken.step + 1,
                step.name,
                if confirm.show.is_empty() {
                    "the message".to_owned()
                } else {
                    confirm.show.join(", ")
                }
            )),
            then: Then::Done,
        },
        Action::Request(call) => request(processor, taken, &run, step, call).await?,
        Action::Poll(call, poll) => {
            let deadline = run.state.step_since_ms
                + i64::try_from(poll.deadline.as_secs() * 1000).unwrap_or(i64::MAX);
            if now_ms() > deadline {
                failed(
                    &run,
                    "poll_deadline",
                    format!(
                        "step {} ({}): the condition did not hold within {}s; retry the step to \
                         look again",
                        taken.step + 1,
                        step.name,
                        poll.deadline.as_secs()
                    ),
                )
            } else {
                look(processor, taken, &run, step, call, poll).await?
            }
        }
    };
    finish(processor, taken, outcome).await
}

/// A step's request, or its reconcile when an earlier send's outcome is unknown.
async fn request(
    processor: &Processor,
    taken: &Taken,
    run: &Run,
    step: &Step,
    call_spec: &Call,
) -> Result<Outcome, SendError> {
    let service = service_spec(processor, &call_spec.service).await?;
    // Anything but GET changes something at the provider: never sent twice blindly.
    let unsafe_step = service.method != emsg_webapps::Method::Get;
    if unsafe_step {
        let (message, at) = (taken.message, taken.step);
        let last = processor
            .messenger()
            .db(move |conn| exchanges::last_request(conn, message, at))
            .await?;
        match last {
            Some(exchange) if exchange.outcome_unknown() => {
                return reconcile(processor, taken, run, step, call_spec).await;
            }
            // The provider accepted it and the node that sent it stopped before moving the
            // message on: the recorded answer counts, the request is not sent again.
            Some(exchange) if accepted_before(&exchange, &service) => {
                let answer = recorded(&exchange);
                return accepted(processor, taken, run, step, call_spec, &answer, exchange.id)
                    .await;
            }
            _ => {}
        }
    }
    let called = call(
        processor,
        taken,
        &run.party,
        &run.known,
        What {
            service: &service,
            purpose: Purpose::Request,
            guarded: unsafe_step,
            body_file: call_spec.body_file.as_deref(),
            url: followed(run, call_spec),
        },
    )
    .await?;
    match called {
        Called::LeaseLost => Ok(lease_lost()),
        Called::NotSent { code, reason } => Ok(failed(run, code, step_text(taken, step, &reason))),
        Called::NoAnswer { reason } if unsafe_step => Ok(unknown_then_reconcile(
            run,
            taken,
            step,
            &format!("no answer ({reason})"),
        )),
        Called::NoAnswer { reason } => Ok(retry_or_fail(run, taken, step, &reason)),
        Called::Answered { answer, exchange } => {
            if answer.status == 429 {
                let wait = crate::rate_limit::retry_after(&answer.headers);
                return Ok(Outcome {
                    detail: Some(step_text(
                        taken,
                        step,
                        &format!(
                            "the provider answered 429 (too many requests): the step waits {wait}s, as asked, and is sent again"
                        ),
                    )),
                    then: Then::Again {
                        due_at_ms: now_ms() + i64::try_from(wait).unwrap_or(60) * 1000,
                    },
                    ..same(run, taken)
                });
            }
            if answer.status >= 500 && unsafe_step {
                return Ok(unknown_then_reconcile(
                    run,
                    taken,
                    step,
                    &format!("the provider answered {}", answer.status),
                ));
            }
            if answer.status >= 500 {
                return Ok(retry_or_fail(
                    run,
                    taken,
                    step,
                    &format!("the provider answered {}", answer.status),
                ));
            }
            if !service.success_statuses.contains(&answer.status) {
                let verdict = crate::response::classify(
                    answer.status,
                    &service.success_statuses,
                    service.response_type,
                    &answer.text(),
                );
                let reason = match (verdict.code, verdict.message) {
                    (Some(code), Some(text)) => format!("{code}: {text}"),
                    (Some(one), None) | (None, Some(one)) => one,
                    (None, None) => "no details".to_owned(),
                };
                return Ok(Outcome {
                    status: verdict.status,
                    error: Some((
                        "provider_refused",
                        step_text(
                            taken,
                            step,
                            &format!("the provider answered {} ({reason})", answer.status),
                        ),
                    )),
                    detail: None,
                    then: Then::Done,
                    ..same(run, taken)
                });
            }
            accepted(processor, taken, run, step, call_spec, &answer, exchange).await
        }
    }
}

/// A poll's look: the condition holds (the step is done), or the next look is due later.
async fn look(
    processor: &Processor,
    taken: &Taken,
    run: &Run,
    step: &Step,
    call_spec: &Call,
    poll: &emsg_webapps::Poll,
) -> Result<Outcome, SendError> {
    let called = call(
        processor,
        taken,
        &run.party,
        &run.known,
        What {
            service: &service_spec(processor, &call_spec.service).await?,
            purpose: Purpose::Poll,
            guarded: false,
            body_file: None,
            url: followed(run, call_spec),
        },
    )
    .await?;
    let looks = u32::try_from(taken.attempts).unwrap_or(1);
    let next_look = now_ms() + super::millis(poll.wait_after(looks));
    match called {
        Called::LeaseLost => Ok(lease_lost()),
        Called::NotSent { code, reason } => Ok(failed(run, code, step_text(taken, step, &reason))),
        Called::Answered { answer, exchange } if values::holds(&poll.until, &answer) => {
            accepted(processor, taken, run, step, call_spec, &answer, exchange).await
        }
        // Not yet (or no answer, or a 5xx: a poll only reads, so it just looks again).
        _ => Ok(Outcome {
            detail: None,
            then: Then::Again {
                due_at_ms: next_look,
            },
            ..same(run, taken)
        }),
    }
}

/// An accepted answer: its verdict, its values, its attachment; then the next step.
async fn accepted(
    processor: &Processor,
    taken: &Taken,
    run: &Run,
    step: &Step,
    call_spec: &Call,
    answer: &crate::send::Answer,
    exchange: i64,
) -> Result<Outcome, SendError> {
    let mut note = Vec::new();
    match values::judge(call_spec, answer) {
        None => {}
        Some(Err(reason)) => {
            return Ok(failed(run, "no_verdict", step_text(taken, step, &reason)));
        }
        Some(Ok(Judgement::Refused { value, details })) => {
            let reasons = if details.is_empty() {
                String::new()
            } else {
                format!(": {}", details.join("; "))
            };
            return Ok(Outcome {
                status: MessageStatus::BusinessError,
                error: Some((
                    "refused",
                    step_text(
                        taken,
                        step,
                        &format!("the provider's verdict is `{value}`{reasons}"),
                    ),
                )),
                detail: None,
                then: Then::Done,
                ..same(run, taken)
            });
        }
        Some(Ok(Judgement::AcceptedWithWarnings { value, details })) => {
            note.push(format!(
                "verdict `{value}` with warnings: {}",
                details.join("; ")
            ));
        }
        Some(Ok(Judgement::Accepted { value })) => note.push(format!("verdict `{value}`")),
    }
    if answer.truncated && call_spec.attachment.is_some() {
        return Ok(failed(
            run,
            "answer_too_large",
            step_text(
                taken,
                step,
                "the answer is larger than 1 MiB, so it could not be kept whole as an attachment",
            ),
        ));
    }
    let read = match values::read_and_split(call_spec, &call_spec.extract, answer) {
        Ok(read) => read,
        Err(reason) => {
            return Ok(failed(
                run,
                "missing_value",
                step_text(taken, step, &reason),
            ));
        }
    };
    if !read.is_empty() {
        note.push(format!("read {}", values::listed(&read)));
    }
    let attachment = call_spec.attachment.clone();
    if let Some(file) = &attachment {
        note.push(format!("kept the answer as {file}"));
    }
    let text = note.join("; ");
    processor
        .messenger()
        .db(move |conn| exchanges::describe(conn, exchange, &text, attachment.as_deref()))
        .await?;
    Ok(next(run, taken, step, read, "done"))
}

/// The URL the call follows instead of its web service's, read by an earlier step.
fn followed<'a>(run: &'a Run, call: &Call) -> Option<&'a str> {
    call.url_from
        .as_ref()
        .and_then(|name| run.known.get(name))
        .map(String::as_str)
}

/// Whether the exchange is an answer the provider accepted the request with.
fn accepted_before(
    exchange: &emsg_store::exchanges::Exchange,
    service: &emsg_webapps::WebServiceSpec,
) -> bool {
    exchange.state == "answered"
        && exchange
            .response_status
            .and_then(|s| u16::try_from(s).ok())
            .is_some_and(|s| service.success_statuses.contains(&s))
}

/// A recorded answer, as the step reads it.
fn recorded(exchange: &emsg_store::exchanges::Exchange) -> crate::send::Answer {
    crate::send::Answer {
        status: exchange
            .response_status
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(0),
        headers: exchange
            .response_headers
            .as_deref()
            .and_then(|h| serde_json::from_str(h).ok())
            .unwrap_or_default(),
        body: exchange.response_body.clone().unwrap_or_default(),
        truncated: false,
    }
}

pub(super) async fn service_spec(
    processor: &Processor,
    name: &str,
) -> Result<emsg_webapps::WebServiceSpec, SendError> {
    let name = name.to_owned();
    Ok(processor
        .messenger()
        .db(move |conn| emsg_store::web_services::get(conn, &name))
        .await?
        .spec)
}

/// Records the outcome if the step's fence still holds (else another node's run counts); a
/// next step due now stays with this node.
async fn finish(
    processor: &Processor,
    taken: &Taken,
    outcome: Outcome,
) -> Result<Option<Taken>, SendError> {
    let taken_now = taken.clone();
    if outcome.record == Record::Nothing {
        return Ok(None);
    }
    if outcome.record == Record::RowOnly {
        // Only the step row goes: the message is not this run's to change.
        processor
            .messenger()
            .db(move |conn| emsg_store::next_steps::finish(conn, &taken_now, Then::Done))
            .await?;
        return Ok(None);
    }
    let keep_until_ms = Some(now_ms() + super::millis(processor.lease()));
    let extracted = serde_json::to_string(&outcome.extracted)
        .map_err(|e| SendError::Internal(e.to_string()))?;
    let detail = outcome
        .detail
        .clone()
        .or_else(|| outcome.error.as_ref().map(|(_, reason)| reason.clone()));
    let recorded = processor
        .messenger()
        .db(move |conn| {
            runs::advance(
                conn,
                &taken_now,
                &Advance {
                    status: outcome.status,
                    step: outcome.step,
                    extracted: &extracted,
                    error: outcome
                        .error
                        .as_ref()
                        .map(|(code, reason)| (*code, reason.as_str())),
                    detail: detail.as_deref(),
                    then: outcome.then,
                    keep_until_ms,
                    now_ms: now_ms(),
                },
            )
        })
        .await?;
    Ok(match recorded {
        Recorded::Lost => {
            tracing::warn!(
                message = %taken.message,
                step = taken.step,
                "the step's lease ended before its result was recorded; another node's run counts"
            );
            None
        }
        Recorded::Recorded => None,
        Recorded::Continue(next) => Some(next),
    })
}
