//! Processings: list them with the fields a message starts with, start a message, show its
//! timeline (every request and answer, secrets redacted) and attachments, and a person's
//! decisions (confirm, was received, send again, retry, cancel). Finance users and
//! administrators.

use emsg_messages::Processor;
pub use emsg_messages::{StartRequest, Started};
use emsg_store::exchanges;
/// One request of a message's timeline, and its answer.
pub use emsg_store::exchanges::Exchange;
use emsg_store::processings;
/// A person's decision on a message that waits for one.
pub use emsg_store::runs::Decision;
use emsg_store::web_services;
pub use emsg_webapps::FieldSpec;
use emsg_webapps::{Action, ProcessingSpec};
use serde::Serialize;

use crate::messages::{MessageId, MessageStatus, Origin, SendError, message_with_events};
use crate::{Actor, Context, UseCaseError};

/// A processing as the pages and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessingView {
    pub name: String,
    pub description: String,
    pub steps: Vec<StepView>,
    /// What a message of it starts with.
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub name: String,
    /// `request`, `poll` or `confirm`.
    pub kind: &'static str,
    /// The web service it calls, if any.
    pub service: Option<String>,
    /// For a confirm step: the declaration a person agrees to.
    pub declaration: Option<String>,
}

fn view(spec: &ProcessingSpec, services: &[emsg_webapps::WebServiceSpec]) -> ProcessingView {
    ProcessingView {
        name: spec.name.clone(),
        description: spec.description.clone(),
        steps: spec
            .steps
            .iter()
            .map(|step| StepView {
                name: step.name.clone(),
                kind: match step.action {
                    Action::Request(_) => "request",
                    Action::Poll(..) => "poll",
                    Action::Confirm(_) => "confirm",
                },
                service: step.call().map(|c| c.service.clone()),
                declaration: match &step.action {
                    Action::Confirm(confirm) => Some(confirm.declaration.clone()),
                    _ => None,
                },
            })
            .collect(),
        fields: spec.inputs(services).into_iter().cloned().collect(),
    }
}

/// Every processing, with its steps and fields.
pub async fn list(ctx: &Context, actor: &Actor) -> Result<Vec<ProcessingView>, UseCaseError> {
    actor.require_actions()?;
    ctx.run(|conn| {
        let services: Vec<_> = web_services::list(conn)?
            .into_iter()
            .map(|s| s.spec)
            .collect();
        Ok(processings::list(conn)?
            .iter()
            .map(|p| view(&p.spec, &services))
            .collect())
    })
    .await
}

fn processor(ctx: &Context) -> Result<Processor, UseCaseError> {
    // Starting and deciding take no lease: any node's processor does them.
    Ok(Processor::new(ctx.messenger()?.clone(), "use-case"))
}

/// Starts a message of a processing as `actor`; its steps run on whichever node takes them.
pub async fn start(
    ctx: &Context,
    actor: &Actor,
    request: StartRequest,
) -> Result<Result<Started, SendError>, UseCaseError> {
    actor.require_actions()?;
    Ok(processor(ctx)?.start(request).await)
}

/// The processing a message runs, as the message keeps it (a later import does not change it);
/// `None` for a message sent with a web service.
pub async fn of_message(
    ctx: &Context,
    id: MessageId,
) -> Result<Option<ProcessingView>, UseCaseError> {
    ctx.run(move |conn| {
        let Some(state) = emsg_store::runs::state(conn, id)? else {
            return Ok::<_, UseCaseError>(None);
        };
        let spec = processings::read_spec(&state.processing, &state.spec)?;
        let services: Vec<_> = web_services::list(conn)?
            .into_iter()
            .map(|s| s.spec)
            .collect();
        Ok(Some(view(&spec, &services)))
    })
    .await
}

/// A message's timeline: every request its steps sent and each answer.
pub async fn timeline(ctx: &Context, id: MessageId) -> Result<Vec<Exchange>, UseCaseError> {
    message_with_events(ctx, id).await?;
    ctx.run(move |conn| Ok::<_, UseCaseError>(exchanges::of_message(conn, id)?))
        .await
}

/// An answer kept as an attachment: its file name, content type and bytes.
pub async fn attachment(
    ctx: &Context,
    id: MessageId,
    exchange: i64,
) -> Result<(String, String, Vec<u8>), UseCaseError> {
    message_with_events(ctx, id).await?;
    let found = ctx
        .run(move |conn| Ok::<_, UseCaseError>(exchanges::get(conn, id, exchange)?))
        .await?;
    let missing = || {
        UseCaseError::NotFound(format!(
            "message {id} has no attachment {exchange}; its page lists the attachments"
        ))
    };
    let found = found.ok_or_else(missing)?;
    let name = found.attachment.clone().ok_or_else(missing)?;
    let content_type = found
        .response_headers
        .as_deref()
        .and_then(|h| serde_json::from_str::<Vec<(String, String)>>(h).ok())
        .and_then(|headers| {
            headers
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v)
        })
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    Ok((name, content_type, found.response_body.unwrap_or_default()))
}

/// The decisions a message allows now, for the page's buttons.
pub fn decisions(status: MessageStatus, is_processing: bool) -> Vec<Decision> {
    if !is_processing {
        return Vec::new();
    }
    match status {
        MessageStatus::AwaitingConfirmation => vec![Decision::Confirm, Decision::Cancel],
        MessageStatus::OutcomeUnknown => {
            vec![Decision::WasReceived, Decision::SendAgain, Decision::Cancel]
        }
        MessageStatus::TechnicalError => vec![Decision::Retry, Decision::Cancel],
        MessageStatus::InProgress => vec![Decision::Cancel],
        _ => Vec::new(),
    }
}

/// Reads a decision as the page and the API write it.
pub fn parse_decision(word: &str) -> Result<Decision, UseCaseError> {
    let all = [
        Decision::Confirm,
        Decision::WasReceived,
        Decision::SendAgain,
        Decision::Retry,
        Decision::Cancel,
    ];
    all.into_iter()
        .find(|d| decision_word(*d) == word)
        .ok_or_else(|| {
            UseCaseError::Invalid(format!(
                "`{word}` is not a decision; use one of: {}",
                all.map(decision_word).join(", ")
            ))
        })
}

pub fn decision_word(decision: Decision) -> &'static str {
    match decision {
        Decision::Confirm => "confirm",
        Decision::WasReceived => "was_received",
        Decision::SendAgain => "send_again",
        Decision::Retry => "retry",
        Decision::Cancel => "cancel",
    }
}

/// A person's decision on message `id` at `step` (the step they saw), from `origin` (which the
/// next steps carry in HMRC's fraud-prevention headers). Confirming records the declaration they
/// agreed to, with their name, in the message's history.
pub async fn decide(
    ctx: &Context,
    actor: &Actor,
    id: MessageId,
    step: i32,
    decision: Decision,
    origin: Origin,
) -> Result<MessageStatus, UseCaseError> {
    actor.require_actions()?;
    let (message, _) = message_with_events(ctx, id).await?;
    let name = message.processing.clone().ok_or_else(|| {
        UseCaseError::Invalid(format!(
            "message {id} was sent with a web service, not a processing: it has no steps to \
             decide on; re-send it if it failed"
        ))
    })?;
    let declaration = ctx
        .run(move |conn| {
            let spec = emsg_store::runs::state(conn, id)?
                .map(|state| processings::read_spec(&name, &state.spec))
                .transpose()?;
            Ok::<_, UseCaseError>(spec.and_then(|spec| {
                let step = spec.steps.get(usize::try_from(step).ok()?)?;
                match &step.action {
                    Action::Confirm(confirm) => Some(confirm.declaration.clone()),
                    _ => None,
                }
            }))
        })
        .await?;
    let detail = match (decision, declaration) {
        (Decision::Confirm, Some(text)) => {
            format!("{} reviewed the message and agreed: “{text}”", actor.name)
        }
        (decision, _) => format!("{}: {}", actor.name, decision.as_str()),
    };
    processor(ctx)?
        .decide(id, step, decision, (actor.user_id(), &origin), detail)
        .await
        .map_err(|e| match e {
            SendError::Store(emsg_store::StoreError::Invalid(message)) => {
                UseCaseError::Invalid(message)
            }
            other => UseCaseError::Internal(other.to_string()),
        })
}
