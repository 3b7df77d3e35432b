//! An unsafe step whose outcome is unknown (its request left and no answer came back, or a
//! 5xx): never sent again blindly. Its declared reconcile request settles it: processed (the
//! step counts as done, its values read from the reconcile answer), not processed (the step is
//! sent again), or unknown still (a person decides).

use emsg_store::exchanges::{self, Purpose};
use emsg_store::messages::MessageStatus;
use emsg_store::next_steps::{Taken, Then};
use emsg_webapps::{Call, Step};

use super::call::{Called, What, call};
use super::outcome::{
    Outcome, RETRY_BASE_MS, SAFE_ATTEMPTS, backoff, failed, lease_lost, next, same, step_text,
};
use super::step::{Run, service_spec};
use super::values;
use super::{Processor, now_ms};
use crate::send::SendError;

/// The unsafe step's outcome is unknown: reconcile it on the next run (soon), or wait for a
/// person when there is nothing to reconcile with.
pub(super) fn unknown_then_reconcile(run: &Run, taken: &Taken, step: &Step, what: &str) -> Outcome {
    Outcome {
        detail: Some(step_text(
            taken,
            step,
            &format!(
                "{what}: the provider may or may not have processed the request, so it is not sent again; checking"
            ),
        )),
        then: Then::Again {
            due_at_ms: now_ms() + RETRY_BASE_MS,
        },
        ..same(run, taken)
    }
}

/// Settles an unknown outcome with the declared reconcile request.
pub(super) async fn reconcile(
    processor: &Processor,
    taken: &Taken,
    run: &Run,
    step: &Step,
    call_spec: &Call,
) -> Result<Outcome, SendError> {
    let Some(reconcile) = &call_spec.reconcile else {
        return Ok(Outcome {
            status: MessageStatus::OutcomeUnknown,
            error: Some((
                "outcome_unknown",
                step_text(
                    taken,
                    step,
                    "the request may or may not have reached the provider, and the processing \
                     declares no reconcile request to find out; check at the provider, then \
                     choose `Was received` or `Send again` on the message's page",
                ),
            )),
            detail: None,
            then: Then::Done,
            ..same(run, taken)
        });
    };
    let called = call(
        processor,
        taken,
        &run.party,
        &run.known,
        What {
            service: &service_spec(processor, &reconcile.request).await?,
            purpose: Purpose::Reconcile,
            guarded: false,
            body_file: None,
            url: None,
        },
    )
    .await?;
    let (message, at) = (taken.message, taken.step);
    match called {
        Called::LeaseLost => Ok(lease_lost()),
        Called::Answered { answer, exchange } if values::holds(&reconcile.done_when, &answer) => {
            let read = match values::read_and_split(call_spec, &reconcile.extract, &answer) {
                Ok(read) => read,
                Err(reason) => {
                    return Ok(failed(
                        run,
                        "missing_value",
                        step_text(taken, step, &reason),
                    ));
                }
            };
            let note = format!(
                "reconciled: the provider had processed the request{}",
                if read.is_empty() {
                    String::new()
                } else {
                    format!("; read {}", values::listed(&read))
                }
            );
            processor
                .messenger()
                .db(move |conn| {
                    exchanges::describe(conn, exchange, &note, None)?;
                    exchanges::settle(conn, message, at, &note)
                })
                .await?;
            Ok(next(
                run,
                taken,
                step,
                read,
                "reconciled (the provider had processed the request)",
            ))
        }
        Called::Answered { answer, exchange } if answer.status < 500 && answer.status != 429 => {
            let note = format!(
                "reconciled: the provider has not processed the request (the reconcile request \
                 answered {}), so it is sent again",
                answer.status
            );
            let detail = step_text(taken, step, &note);
            processor
                .messenger()
                .db(move |conn| {
                    exchanges::describe(conn, exchange, &note, None)?;
                    exchanges::settle(conn, message, at, &note)
                })
                .await?;
            Ok(Outcome {
                detail: Some(detail),
                then: Then::Again {
                    due_at_ms: now_ms(),
                },
                ..same(run, taken)
            })
        }
        // No answer to the reconcile request either: look again later, then ask a person.
        _ if taken.attempts >= SAFE_ATTEMPTS => Ok(Outcome {
            status: MessageStatus::OutcomeUnknown,
            error: Some((
                "outcome_unknown",
                step_text(
                    taken,
                    step,
                    &format!(
                        "the request may or may not have reached the provider, and the reconcile \
                         request `{}` did not settle it in {SAFE_ATTEMPTS} tries; check at the \
                         provider, then choose `Was received` or `Send again`",
                        reconcile.request
                    ),
                ),
            )),
            detail: None,
            then: Then::Done,
            ..same(run, taken)
        }),
        _ => Ok(Outcome {
            detail: None,
            then: Then::Again {
                due_at_ms: now_ms() + backoff(taken.attempts),
            },
            ..same(run, taken)
        }),
    }
}
