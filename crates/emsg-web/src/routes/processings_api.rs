//! Processings in the JSON API: `GET /api/v1/processings` (each with its steps and the fields a
//! message starts with), `POST /api/v1/processings/{name}/messages` (start one; an
//! `Idempotency-Key` makes a retry find the first), `GET /api/v1/messages/{id}/timeline` (every
//! request and answer), `GET /api/v1/messages/{id}/attachments/{exchange}` (an answer kept byte
//! for byte) and `POST /api/v1/messages/{id}/decisions` (confirm, was received, send again,
//! retry, cancel).

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use emsg_use_cases::messages::MessageId;
use emsg_use_cases::processings::{self as use_cases, Exchange, StartRequest};
use serde::Deserialize;
use serde_json::{Value, json};

use super::messages_api::{fields_text, idempotency_key, one, origin, send_error};
use crate::auth::{ApiUser, csrf_header};
use crate::error::WebError;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/processings", web::get().to(list))
        .route("/api/v1/processings/{name}/messages", web::post().to(start))
        .route("/api/v1/messages/{id}/timeline", web::get().to(timeline))
        .route(
            "/api/v1/messages/{id}/attachments/{exchange}",
            web::get().to(attachment),
        )
        .route("/api/v1/messages/{id}/decisions", web::post().to(decide));
}

async fn list(
    state: web::Data<AppState>,
    ApiUser(user): ApiUser,
) -> Result<HttpResponse, WebError> {
    let all = use_cases::list(&state.ctx, &user.actor()).await?;
    Ok(HttpResponse::Ok().json(json!({ "processings": all })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    #[serde(default)]
    fields: BTreeMap<String, Value>,
    /// Files the steps send as bodies, by name, as text (an ERP's XML).
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    browser_data: Option<Value>,
}

async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiUser(user): ApiUser,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    user.check_csrf(csrf_header(&req))?;
    let body: StartBody = serde_json::from_slice(&body).map_err(|e| {
        WebError::BadRequest(format!(
            "the request body must be {{\"fields\": {{…}}, \"files\"?: {{name: text}}, \"browser_data\"?: {{…}}}}: {e}"
        ))
    })?;
    let request = StartRequest {
        processing: name.into_inner(),
        fields: fields_text(body.fields)?,
        company: None,
        user: Some(user.id),
        origin: origin(&req, &user, body.browser_data)?,
        idempotency_key: idempotency_key(&req)?,
        files: body
            .files
            .into_iter()
            .map(|(name, text)| (name, text.into_bytes()))
            .collect(),
    };
    let started = match use_cases::start(&state.ctx, &user.actor(), request).await? {
        Ok(started) => started,
        Err(error) => return send_error(error),
    };
    let body = one(&state, started.message_id).await?;
    let location = format!("/api/v1/messages/{}", started.message_id);
    let mut response = if started.replayed {
        let mut response = HttpResponse::Ok();
        response.insert_header(("Idempotent-Replayed", "true"));
        response
    } else {
        // Accepted: its steps run on whichever node takes them; poll the message.
        HttpResponse::Accepted()
    };
    Ok(response
        .insert_header((header::LOCATION, location))
        .json(body))
}

/// One exchange as the API shows it: text bodies as text, others by their size and a link.
fn exchange_json(message: i64, exchange: &Exchange) -> Value {
    let body = exchange.response_body.as_deref().map(|bytes| {
        match (exchange.attachment.as_ref(), std::str::from_utf8(bytes)) {
            (None, Ok(text)) => json!(text),
            _ => json!({
                "bytes": bytes.len(),
                "download": format!("/api/v1/messages/{message}/attachments/{}", exchange.id),
            }),
        }
    });
    json!({
        "id": exchange.id,
        "step": exchange.step + 1,
        "purpose": exchange.purpose,
        "state": exchange.state,
        "request": {
            "method": exchange.request_method,
            "url": exchange.request_url,
            "headers": emsg_use_cases::messages::header_pairs(Some(&exchange.request_headers)),
            "body": exchange.request_body,
        },
        "response": exchange.response_status.map(|status| json!({
            "status": status,
            "headers": emsg_use_cases::messages::header_pairs(exchange.response_headers.as_deref()),
            "body": body,
        })),
        "attachment": exchange.attachment,
        "note": exchange.note,
        "started_at_ms": exchange.started_at_ms,
        "ended_at_ms": exchange.ended_at_ms,
    })
}

async fn timeline(
    state: web::Data<AppState>,
    ApiUser(user): ApiUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    user.require_actions()?;
    let id = id.into_inner();
    let exchanges = use_cases::timeline(&state.ctx, MessageId::new(id)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "message": id,
        "exchanges": exchanges.iter().map(|e| exchange_json(id, e)).collect::<Vec<_>>(),
    })))
}

async fn attachment(
    state: web::Data<AppState>,
    ApiUser(user): ApiUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, WebError> {
    user.require_actions()?;
    let (id, exchange) = path.into_inner();
    let (name, content_type, bytes) =
        use_cases::attachment(&state.ctx, MessageId::new(id), exchange).await?;
    Ok(download(&name, &content_type, bytes))
}

/// The bytes as a download: never rendered by the browser, whatever the provider said.
pub(crate) fn download(name: &str, content_type: &str, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type.to_owned()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    /// The step the caller saw (1-based, as the timeline shows it).
    step: i32,
    decision: String,
    /// What the page script reports, as for a send: the next steps carry it.
    #[serde(default)]
    browser_data: Option<Value>,
}

async fn decide(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiUser(user): ApiUser,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    user.check_csrf(csrf_header(&req))?;
    let body: DecisionBody = serde_json::from_slice(&body).map_err(|e| {
        WebError::BadRequest(format!(
            "the request body must be {{\"step\": N, \"decision\": \"confirm\" | \
             \"was_received\" | \"send_again\" | \"retry\" | \"cancel\"}}: {e}"
        ))
    })?;
    let decision = use_cases::parse_decision(&body.decision)?;
    let id = id.into_inner();
    let origin = origin(&req, &user, body.browser_data)?;
    use_cases::decide(
        &state.ctx,
        &user.actor(),
        MessageId::new(id),
        body.step - 1,
        decision,
        origin,
    )
    .await?;
    Ok(HttpResponse::Ok().json(one(&state, id).await?))
}
