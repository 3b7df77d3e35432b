//! Electronic messages in the JSON API: `GET /api/v1/messages` (the list's filters as the query),
//! `GET /api/v1/messages/{id}` (with its history), `POST /api/v1/messages` (send),
//! `POST /api/v1/messages/{id}/resend` and `GET /api/v1/web-services`. Same session and
//! anti-forgery rules as the rest of the API; a send carries the caller's browser data like the
//! page does.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use emsg_use_cases::StoreError;
use emsg_use_cases::messages::{
    self as use_cases, ListQuery, Message, MessageEvent, MessageId, Origin, SendError, SendRequest,
    Sent, check_key,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{ApiUser, csrf_header};
use crate::error::WebError;
use crate::respond::with_query;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/messages", web::get().to(list))
        .route("/api/v1/messages", web::post().to(send))
        .route("/api/v1/messages/{id}", web::get().to(show))
        .route("/api/v1/messages/{id}/resend", web::post().to(resend))
        .route("/api/v1/web-services", web::get().to(services));
}

/// A message as the API shows it; `events` only on the single message.
fn message_json(
    message: &Message,
    names: &HashMap<i64, String>,
    events: Option<&[MessageEvent]>,
) -> Value {
    let status = message.status();
    let fields: Value = serde_json::from_str(&message.fields).unwrap_or_else(|_| json!({}));
    let mut out = json!({
        "id": message.id,
        "service": message.service_name,
        "status": status.as_str(),
        "status_label": status.label(),
        "company": message.company,
        "user": message.user_id.and_then(|id| names.get(&id).cloned()),
        "connection_method": message.connection_method,
        "fields": fields,
        "created_at": message.created_at,
        "updated_at": message.updated_at,
        "resent_from": message.resent_from,
        "resent_as": message.resent_as,
        "can_resend": status.can_resend() && message.resent_as.is_none(),
        "request": message.request_method.as_ref().map(|method| json!({
            "method": method,
            "url": message.request_url,
            "headers": use_cases::header_pairs(message.request_headers.as_deref()),
            "body": message.request_body,
        })),
        "response": message.response_status.map(|status| json!({
            "status": status,
            "headers": use_cases::header_pairs(message.response_headers.as_deref()),
            "body": message.response_body,
        })),
        "error": (message.error_code.is_some() || message.error_message.is_some()).then(|| json!({
            "code": message.error_code,
            "message": message.error_message,
        })),
        "processing": message.processing,
        "step": message.step.map(|step| step + 1),
        "extracted": serde_json::from_str::<Value>(&message.extracted).unwrap_or_else(|_| json!({})),
        "decisions": emsg_use_cases::processings::decisions(status, message.processing.is_some())
            .into_iter()
            .map(emsg_use_cases::processings::decision_word)
            .collect::<Vec<_>>(),
    });
    if let (Some(events), Some(object)) = (events, out.as_object_mut()) {
        object.insert(
            "events".to_owned(),
            events
                .iter()
                .map(|e| json!({ "status": e.status, "detail": e.detail, "at": e.at }))
                .collect(),
        );
    }
    out
}

async fn list(
    state: web::Data<AppState>,
    ApiUser(user): ApiUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    user.require_actions()?;
    let found = use_cases::search(&state.ctx, &query).await?;
    let names = use_cases::user_names(&state.ctx).await?;
    Ok(HttpResponse::Ok().json(json!({
        "messages": found.messages.iter().map(|m| message_json(m, &names, None)).collect::<Vec<_>>(),
        "next_before": found.next_before,
        "next": found.next_before.map(|before| with_query("/api/v1/messages", &query.page_before(before))),
    })))
}

pub(super) async fn one(state: &AppState, id: i64) -> Result<Value, WebError> {
    let (message, events) = use_cases::message_with_events(&state.ctx, MessageId::new(id)).await?;
    let names = use_cases::user_names(&state.ctx).await?;
    Ok(message_json(&message, &names, Some(&events)))
}

async fn show(
    state: web::Data<AppState>,
    ApiUser(user): ApiUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    user.require_actions()?;
    Ok(HttpResponse::Ok().json(one(&state, id.into_inner()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    service: String,
    #[serde(default)]
    fields: BTreeMap<String, Value>,
    /// What the page script reports (`static/fraud-prevention.js`), as an object.
    #[serde(default)]
    browser_data: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ResendBody {
    #[serde(default)]
    browser_data: Option<Value>,
}

fn read_body<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
    allow_empty: bool,
) -> Result<T, WebError> {
    if allow_empty && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        WebError::BadRequest(format!(
            "the request body is not the expected JSON object: {e}"
        ))
    })
}

/// A JSON object's field values as text, each as [`field_text`] reads it.
pub(super) fn fields_text(
    fields: BTreeMap<String, Value>,
) -> Result<BTreeMap<String, String>, WebError> {
    fields
        .into_iter()
        .map(|(name, value)| field_text(&name, value).map(|text| (name, text)))
        .collect()
}

/// Field values as text: strings as they are, numbers and booleans written out.
fn field_text(name: &str, value: Value) -> Result<String, WebError> {
    match value {
        Value::String(text) => Ok(text),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok(String::new()),
        _ => Err(WebError::BadRequest(format!(
            "field `{name}` must be a string, number or boolean"
        ))),
    }
}

pub(super) fn origin(
    req: &HttpRequest,
    user: &crate::session::SessionUser,
    browser: Option<Value>,
) -> Result<Origin, WebError> {
    let text = browser.map(|b| b.to_string());
    let browser = crate::origin::browser_data(text.as_deref())
        .map_err(|e| WebError::BadRequest(format!("browser_data: {e}")))?;
    Ok(crate::origin::web_origin(req, user, browser))
}

/// A send that stored nothing: bad fields (422, each named) or a refusal.
pub(super) fn send_error(error: SendError) -> Result<HttpResponse, WebError> {
    let status = match &error {
        SendError::Fields(errors) => {
            return Ok(HttpResponse::UnprocessableEntity()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(json!({
                    "error": "invalid_fields",
                    "message": error.to_string(),
                    "fields": errors.0,
                })));
        }
        SendError::Setup(_) | SendError::Refused(_) => StatusCode::CONFLICT,
        SendError::IdempotencyKeyReused(_) => StatusCode::UNPROCESSABLE_ENTITY,
        SendError::Store(StoreError::UnknownWebService(_)) => StatusCode::NOT_FOUND,
        SendError::Store(_) | SendError::Internal(_) => {
            return Err(WebError::from_send(error));
        }
    };
    tracing::info!(code = error.code(), "message refused: {error}");
    Ok(HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": error.code(), "message": error.to_string() })))
}

/// The `Idempotency-Key` header, checked; none when absent.
pub(super) fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, WebError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| {
        WebError::BadRequest("the Idempotency-Key header must be visible ASCII".to_owned())
    })?;
    check_key(key).map_err(WebError::BadRequest)?;
    Ok(Some(key.to_owned()))
}

/// A retry under an `Idempotency-Key` whose message is stored: 200 with that message as it is
/// now, marked as a replay.
async fn replayed(state: &AppState, sent: &Sent) -> Result<HttpResponse, WebError> {
    let mut body = one(state, sent.message_id).await?;
    if let Some(object) = body.as_object_mut() {
        object.insert("summary".to_owned(), json!(sent.summary));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Idempotent-Replayed", "true"))
        .insert_header((
            header::LOCATION,
            format!("/api/v1/messages/{}", sent.message_id),
        ))
        .json(body))
}

async fn created(state: &AppState, sent: &Sent) -> Result<HttpResponse, WebError> {
    let mut body = one(state, sent.message_id).await?;
    if let Some(object) = body.as_object_mut() {
        object.insert("summary".to_owned(), json!(sent.summary));
    }
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/messages/{}", sent.message_id),
        ))
        .json(body))
}

async fn send(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiUser(user): ApiUser,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    user.check_csrf(csrf_header(&req))?;
    user.require_actions()?;
    let body: SendBody = serde_json::from_slice(&body).map_err(|e| {
        WebError::BadRequest(format!(
            "the request body must be {{\"service\": NAME, \"fields\": {{…}}, \"browser_data\"?: {{…}}}}: {e}"
        ))
    })?;
    let request = SendRequest {
        service: body.service,
        fields: fields_text(body.fields)?,
        company: None,
        user: Some(user.id),
        origin: origin(&req, &user, body.browser_data)?,
        idempotency_key: idempotency_key(&req)?,
    };
    match use_cases::send(&state.ctx, &user.actor(), request).await? {
        Ok(sent) if sent.replayed => replayed(&state, &sent).await,
        Ok(sent) => created(&state, &sent).await,
        Err(error) => send_error(error),
    }
}

async fn resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiUser(user): ApiUser,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    user.check_csrf(csrf_header(&req))?;
    user.require_actions()?;
    let body: ResendBody = read_body(&body, true)?;
    let id = id.into_inner();
    let origin = origin(&req, &user, body.browser_data)?;
    match use_cases::resend(&state.ctx, &user.actor(), MessageId::new(id), origin).await? {
        Ok(sent) => created(&state, &sent).await,
        Err(error) => send_error(error),
    }
}

async fn services(
    state: web::Data<AppState>,
    ApiUser(user): ApiUser,
) -> Result<HttpResponse, WebError> {
    let all = use_cases::services(&state.ctx, &user.actor()).await?;
    let rows: Vec<Value> = all
        .iter()
        .map(|s| {
            let spec = &s.spec;
            json!({
                "name": s.name,
                "description": spec.description,
                "web_application": spec.web_application,
                "method": spec.method.as_str(),
                "url": spec.url,
                "response_type": spec.response_type.as_str(),
                "success_statuses": spec.success_statuses,
                "fraud_prevention": spec.fraud_prevention.map(|f| f.as_str()),
                "fields": spec.fields,
                "checks": spec.checks,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "web_services": rows })))
}
