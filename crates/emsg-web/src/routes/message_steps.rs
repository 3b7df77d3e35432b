//! A processing's message on its page: the steps (done, current, to come) with the decisions the
//! message allows now (confirm with the declaration, was received, send again, retry, cancel),
//! and the timeline of every request and answer, attachments to download.
//! `POST /messages/{id}/decisions` and `GET /messages/{id}/attachments/{exchange}`.

use actix_web::{HttpRequest, HttpResponse, web};
use emsg_use_cases::messages::{Message, MessageId};
use emsg_use_cases::processings as use_cases;
use serde::Deserialize;
use serde_json::{Value, json};

use super::processings_api::download;
use crate::auth::PageUser;
use crate::error::PageError;
use crate::respond::see_other;
use crate::session::Flash;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/messages/{id}/decisions", web::post().to(decide))
        .route(
            "/messages/{id}/attachments/{exchange}",
            web::get().to(attachment),
        );
}

/// What the message page shows of a processing: `null` for a message sent with a web service.
pub(crate) async fn page_json(state: &AppState, message: &Message) -> Result<Value, PageError> {
    let id = MessageId::new(message.id);
    let Some(processing) = use_cases::of_message(&state.ctx, id).await? else {
        return Ok(Value::Null);
    };
    let status = message.status();
    let current = message.step.unwrap_or(0);
    let decisions = use_cases::decisions(status, true);
    let extracted: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&message.extracted).unwrap_or_default();
    let fields: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&message.fields).unwrap_or_default();
    let steps: Vec<Value> = processing
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let index = i32::try_from(index).unwrap_or(i32::MAX);
            let state = if index < current
                || status == emsg_use_cases::messages::MessageStatus::Completed
            {
                "done"
            } else if index == current {
                "current"
            } else {
                "to come"
            };
            json!({
                "number": index + 1,
                "name": step.name,
                "kind": step.kind,
                "service": step.service,
                "state": state,
                "declaration": (index == current).then(|| step.declaration.clone()).flatten(),
            })
        })
        .collect();
    let shown: Vec<Value> = processing
        .steps
        .get(usize::try_from(current).unwrap_or(0))
        .filter(|step| step.kind == "confirm")
        .map(|_| {
            fields
                .iter()
                .chain(extracted.iter())
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect()
        })
        .unwrap_or_default();
    let exchanges = use_cases::timeline(&state.ctx, id).await?;
    let timeline: Vec<Value> = exchanges
        .iter()
        .map(|e| {
            json!({
                "step": e.step + 1,
                "purpose": e.purpose,
                "request": format!("{} {}", e.request_method, e.request_url),
                "status": e.response_status,
                "state": e.state,
                "note": e.note,
                "at": emsg_use_cases::time::format_utc(e.started_at_ms / 1000),
                "attachment": e.attachment.as_ref().map(|name| json!({
                    "name": name,
                    "href": format!("/messages/{}/attachments/{}", message.id, e.id),
                    "bytes": e.response_body.as_ref().map_or(0, Vec::len),
                })),
            })
        })
        .collect();
    Ok(json!({
        "name": processing.name,
        "steps": steps,
        "current": current + 1,
        "shown": shown,
        "extracted": extracted.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        "decisions": decisions.into_iter().map(|d| json!({
            "word": use_cases::decision_word(d),
            "label": match d {
                use_cases::Decision::Confirm => "I agree: continue",
                use_cases::Decision::WasReceived => "It was received: continue",
                use_cases::Decision::SendAgain => "It was not received: send again",
                use_cases::Decision::Retry => "Retry the step",
                use_cases::Decision::Cancel => "Cancel the message",
            },
        })).collect::<Vec<_>>(),
        "decide_action": format!("/messages/{}/decisions", message.id),
        "timeline": timeline,
    }))
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf: Option<String>,
    step: i32,
    decision: String,
    /// What the page script reports (`static/fraud-prevention.js`): the next steps carry it.
    browser_data: Option<String>,
}

async fn decide(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    id: web::Path<i64>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(form.csrf.as_deref())?;
    let id = id.into_inner();
    let decision = use_cases::parse_decision(&form.decision)?;
    let origin = crate::origin::page_origin(&req, &user, form.browser_data.as_deref());
    let flash = match use_cases::decide(
        &state.ctx,
        &user.actor(),
        MessageId::new(id),
        form.step - 1,
        decision,
        origin,
    )
    .await
    {
        Ok(status) => Flash::success(format!("Message {id} is {}.", status.label())),
        Err(emsg_use_cases::UseCaseError::Invalid(why)) => Flash::error(why),
        Err(other) => return Err(other.into()),
    };
    state.sessions.set_flash(&user.session_id, flash).await;
    Ok(see_other(&format!("/messages/{id}")))
}

async fn attachment(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, PageError> {
    user.require_actions()?;
    let (id, exchange) = path.into_inner();
    let (name, content_type, bytes) =
        use_cases::attachment(&state.ctx, MessageId::new(id), exchange).await?;
    Ok(download(&name, &content_type, bytes))
}
