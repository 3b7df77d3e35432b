//! `/messages`: the electronic-messages log (newest first, with filters), one message with its
//! status history, the request as sent and the response, Re-send of a failed one, and the send
//! form generated from a web service's fields. Finance users and administrators.
//!
//! Messages sent from these pages carry HMRC's `WEB_APP_VIA_SERVER` fraud-prevention data: what
//! the browser reported (`static/fraud-prevention.js` fills the hidden `browser_data` field and
//! keeps the `emsg_device_id` cookie) and what the server saw of the connection.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use emsg_use_cases::messages::{
    self as use_cases, FieldError, ListQuery, Message, MessageId, MessageStatus, SendError,
    SendRequest, Sent, WebService, given,
};
use emsg_use_cases::time::format_utc;
use emsg_webapps::{FieldKind, FieldSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::respond::{html, see_other, with_query};
use crate::session::{Flash, SessionUser};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/messages", web::get().to(list_page))
        .route("/messages/new", web::get().to(new_page))
        .route("/messages/new", web::post().to(send_page))
        .route("/messages/{id}", web::get().to(show_page))
        .route("/messages/{id}/resend", web::post().to(resend_page));
}

pub(crate) fn message_href(id: i64) -> String {
    format!("/messages/{id}")
}

fn new_href(service: &str) -> String {
    format!(
        "/messages/new?service={}",
        url::form_urlencoded::byte_serialize(service.as_bytes()).collect::<String>()
    )
}

async fn list_page(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let query = query.into_inner();
    let use_cases::ListPage {
        found,
        user_names: names,
        services,
    } = use_cases::list_page(&state.ctx, &user.actor(), &query).await?;
    let (service, status, user_filter) = (
        given(query.service.as_ref()).unwrap_or_default(),
        given(query.status.as_ref()).unwrap_or_default(),
        given(query.user.as_ref()).unwrap_or_default(),
    );
    // The rows are the bulk of the page: written here, escaped as the templates escape, rather
    // than by a Handlebars loop over a JSON array (as the Web applications list does).
    let mut rows = String::with_capacity(found.messages.len() * 320);
    for m in &found.messages {
        let status = m.status();
        let resent = m
            .resent_as
            .map(|id| format!(" (re-sent as {id})"))
            .unwrap_or_default();
        let sent_by = m
            .user_id
            .and_then(|id| names.get(&id))
            .map_or("-", String::as_str);
        rows.push_str(&format!(
            "  <tr><td><a href=\"{href}\">{id}</a></td><td>{created}</td><td>{service}</td>\
             <td class=\"message-status status-{status}\">{label}{resent}</td><td>{sent_by}</td></tr>\n",
            href = message_href(m.id),
            id = m.id,
            created = format_utc(m.created_at),
            service = handlebars::html_escape(&m.service_name),
            status = status.as_str(),
            label = status.label(),
            sent_by = handlebars::html_escape(sent_by),
        ));
    }
    let next = found
        .next_before
        .map(|before| with_query("/messages", &query.page_before(before)));
    let mut user_names: Vec<&String> = names.values().collect();
    user_names.sort();
    let body = render(
        &state,
        "messages",
        "Messages",
        Some(&user),
        json!({
            "messages": rows,
            "next": next,
            "paged": given(query.before.as_ref()).is_some(),
            "filtered": !(service.is_empty() && status.is_empty() && user_filter.is_empty()),
            "services": services.iter().map(|name| json!({
                "name": name, "selected": *name == service,
            })).collect::<Vec<_>>(),
            "statuses": MessageStatus::ALL.iter().map(|s| json!({
                "value": s.as_str(), "label": s.label(), "selected": s.as_str() == status,
            })).collect::<Vec<_>>(),
            "users": user_names.iter().map(|n| json!({
                "name": n, "selected": **n == user_filter,
            })).collect::<Vec<_>>(),
        }),
    )?;
    Ok(html(StatusCode::OK, body))
}

/// A JSON body indented for reading; anything else as it came.
fn pretty(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_owned())
}

/// What the user can do about a message that did not get through.
fn what_to_do(message: &Message, app: &str) -> Option<String> {
    let connection_problem = matches!(
        message.error_code.as_deref(),
        Some(
            "not_connected"
                | "not_configured"
                | "reauthorization_required"
                | "invalid_grant"
                | "refresh_failing"
                | "user_mismatch"
        )
    );
    match message.status() {
        MessageStatus::BusinessError => Some(
            "The provider refused the message. Correct what its answer names and send a new \
             message; re-sending the same fields gets the same answer."
                .to_owned(),
        ),
        MessageStatus::TechnicalError if connection_problem => Some(format!(
            "The connection of {app} is not usable: open it on the Web applications page \
             (Get authorization code, Obtain access token), then Re-send."
        )),
        MessageStatus::TechnicalError => Some(
            "The message was not processed. Re-send it once the cause is fixed (a provider \
             that was down usually answers again within minutes)."
                .to_owned(),
        ),
        _ => None,
    }
}

async fn show_page(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    user.require_actions()?;
    let id = id.into_inner();
    let use_cases::ShownMessage {
        message,
        events,
        spec,
        web_application: app,
    } = use_cases::show(&state.ctx, &user.actor(), MessageId::new(id)).await?;
    let names = use_cases::user_names(&state.ctx).await?;
    let app = app.unwrap_or_else(|| "its web application".to_owned());
    let fields: BTreeMap<String, String> =
        serde_json::from_str(&message.fields).unwrap_or_default();
    let label = |name: &str| {
        spec.as_ref()
            .and_then(|s| s.field(name))
            .map(|f| f.label.clone())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| name.to_owned())
    };
    let status = message.status();
    let request = message.request_method.as_ref().map(|method| {
        json!({
            "method": method,
            "url": message.request_url,
            "headers": use_cases::header_pairs(message.request_headers.as_deref()),
            "body": message.request_body.as_deref().map(pretty),
        })
    });
    let response = message.response_status.map(|status| {
        json!({
            "status": status,
            "headers": use_cases::header_pairs(message.response_headers.as_deref()),
            "body": message.response_body.as_deref().map(pretty),
        })
    });
    let error = (message.error_code.is_some() || message.error_message.is_some()).then(|| {
        json!({
            "code": message.error_code,
            "message": message.error_message,
        })
    });
    let processing = super::message_steps::page_json(&state, &message).await?;
    let body = render(
        &state,
        "message",
        &format!("Message {id}"),
        Some(&user),
        json!({
            "id": id,
            "service": message.service_name,
            "new_href": spec.as_ref().map(|_| new_href(&message.service_name)),
            "web_application": app,
            "web_application_href": format!("/web-applications/{}", crate::respond::encode_segment(&app)),
            "status": status.as_str(),
            "status_label": status.label(),
            "sent_by": message.user_id.and_then(|id| names.get(&id).cloned()),
            "connection_method": message.connection_method,
            "created": format_utc(message.created_at),
            "updated": format_utc(message.updated_at),
            "fields": fields.iter().map(|(name, value)| json!({
                "name": name, "label": label(name), "value": value,
            })).collect::<Vec<_>>(),
            "events": events.iter().map(|e| json!({
                "at": format_utc(e.at),
                "status": e.status,
                "status_label": e.status.parse::<MessageStatus>().map_or("", |s| s.label()),
                "detail": e.detail,
            })).collect::<Vec<_>>(),
            "request": request,
            "response": response,
            "error": error,
            "what_to_do": what_to_do(&message, &app),
            "resent_from": message.resent_from.map(|id| json!({"id": id, "href": message_href(id)})),
            "resent_as": message.resent_as.map(|id| json!({"id": id, "href": message_href(id)})),
            "can_resend": status.can_resend() && message.resent_as.is_none(),
            "resend_action": format!("/messages/{id}/resend"),
            "processing": processing,
        }),
    )?;
    Ok(html(StatusCode::OK, body))
}

/// The name of a field's input in the send form: `fields[vrn]`, so that it never meets the
/// form's own `csrf`, `service` and `browser_data`.
fn input_name(field: &str) -> String {
    format!("fields[{field}]")
}

/// The send form's inputs, generated from the service's fields.
fn field_views(
    fields: &[FieldSpec],
    values: &BTreeMap<String, String>,
    errors: &[FieldError],
) -> Vec<Value> {
    fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let value = values.get(&field.name).cloned().unwrap_or_default();
            let error: Vec<&str> = errors
                .iter()
                .filter(|e| e.field == field.name)
                .map(|e| e.message.as_str())
                .collect();
            let (input, step, min, max, hint, max_chars) = match &field.kind {
                FieldKind::Text { max_chars } => {
                    ("text", None, None, None, None, Some(*max_chars))
                }
                FieldKind::OneOf { .. } => ("select", None, None, None, None, None),
                FieldKind::Date => ("date", None, None, None, None, None),
                FieldKind::Vrn => ("text", None, None, None, Some("9 digits"), None),
                FieldKind::Nino => ("text", None, None, None, Some("e.g. AB 12 34 56 C"), None),
                FieldKind::OrganisationNumber => ("text", None, None, None, Some("9 digits"), None),
                FieldKind::PeriodKey => ("text", None, None, None, Some("e.g. 18A1"), None),
                FieldKind::Amount {
                    min,
                    max,
                    whole_pounds,
                } => (
                    "number",
                    Some(if *whole_pounds { "1" } else { "0.01" }),
                    Some(min.to_string()),
                    Some(max.to_string()),
                    whole_pounds.then_some("whole pounds"),
                    None,
                ),
                FieldKind::Boolean { .. } => ("checkbox", None, None, None, None, None),
            };
            let options: Vec<Value> = match &field.kind {
                FieldKind::OneOf { values } => values
                    .iter()
                    .map(|v| json!({ "value": v, "selected": *v == value }))
                    .collect(),
                _ => Vec::new(),
            };
            let checked = matches!(field.kind, FieldKind::Boolean { .. })
                && matches!(
                    value.trim().to_ascii_lowercase().as_str(),
                    "true" | "yes" | "on"
                );
            json!({
                "id": format!("field-{index}"),
                "name": field.name,
                "input_name": input_name(&field.name),
                "label": if field.label.is_empty() { field.name.clone() } else { field.label.clone() },
                "input": input,
                "is_select": input == "select",
                "is_checkbox": input == "checkbox",
                "step": step,
                "min": min,
                "max": max,
                "max_chars": max_chars,
                "hint": hint,
                "required": field.required,
                "value": value,
                "checked": checked,
                "options": options,
                "error": (!error.is_empty()).then(|| error.join("; ")),
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default)]
    service: Option<String>,
}

async fn new_page(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, PageError> {
    user.require_actions()?;
    match given(query.service.as_ref()) {
        Some(name) => {
            let service = use_cases::service(&state.ctx, name).await?;
            form_page(
                &state,
                &user,
                &service,
                &BTreeMap::new(),
                &[],
                StatusCode::OK,
            )
        }
        None => {
            let all = use_cases::services(&state.ctx, &user.actor()).await?;
            let rows: Vec<Value> = all
                .iter()
                .map(|s| {
                    json!({
                        "name": s.name,
                        "href": new_href(&s.name),
                        "description": s.spec.description,
                        "web_application": s.spec.web_application,
                        "method": s.spec.method.as_str(),
                    })
                })
                .collect();
            let body = render(
                &state,
                "message_new",
                "New message",
                Some(&user),
                json!({ "services": rows, "service": Value::Null }),
            )?;
            Ok(html(StatusCode::OK, body))
        }
    }
}

fn form_page(
    state: &AppState,
    user: &SessionUser,
    service: &WebService,
    values: &BTreeMap<String, String>,
    errors: &[FieldError],
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let known: Vec<&str> = service
        .spec
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let other_errors: Vec<String> = errors
        .iter()
        .filter(|e| !known.contains(&e.field.as_str()))
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    let body = render(
        state,
        "message_new",
        &format!("New message: {}", service.name),
        Some(user),
        json!({
            "services": Value::Null,
            "service": {
                "name": service.name,
                "description": service.spec.description,
                "web_application": service.spec.web_application,
                "method": service.spec.method.as_str(),
                "fraud_prevention": service.spec.fraud_prevention.is_some(),
            },
            "fields": field_views(&service.spec.fields, values, errors),
            "has_errors": !errors.is_empty(),
            "error_count": errors.len(),
            "other_errors": other_errors,
        }),
    )?;
    Ok(html(status, body))
}

/// The send form as submitted: its own inputs and the service's fields.
#[derive(Default)]
struct SendForm {
    csrf: Option<String>,
    service: Option<String>,
    browser_data: Option<String>,
    fields: BTreeMap<String, String>,
}

impl SendForm {
    fn parse(body: &[u8]) -> Self {
        let mut form = SendForm::default();
        for (key, value) in url::form_urlencoded::parse(body) {
            match key.as_ref() {
                "csrf" => form.csrf = Some(value.into_owned()),
                "service" => form.service = Some(value.into_owned()),
                "browser_data" => form.browser_data = Some(value.into_owned()),
                other => {
                    if let Some(name) = other
                        .strip_prefix("fields[")
                        .and_then(|rest| rest.strip_suffix(']'))
                    {
                        form.fields.insert(name.to_owned(), value.into_owned());
                    }
                }
            }
        }
        form
    }
}

/// After a send: the message's page, with how it ended on top.
async fn to_message(state: &AppState, user: &SessionUser, sent: &Sent, what: &str) -> HttpResponse {
    let text = format!(
        "{what} message {}: {} — {}",
        sent.message_id,
        sent.status.label(),
        sent.summary
    );
    let flash = if sent.status == MessageStatus::ResponseReceived {
        Flash::success(text)
    } else {
        Flash::error(text)
    };
    state.sessions.set_flash(&user.session_id, flash).await;
    see_other(&message_href(sent.message_id))
}

async fn send_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = SendForm::parse(&body);
    user.check_csrf(form.csrf.as_deref())?;
    user.require_actions()?;
    let name = form
        .service
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            WebError::BadRequest("the form names no web service; start from /messages/new".into())
        })?;
    let service = use_cases::service(&state.ctx, name).await?;
    let request = SendRequest {
        service: service.name.clone(),
        fields: form.fields.clone(),
        company: None,
        user: Some(user.id),
        origin: crate::origin::page_origin(&req, &user, form.browser_data.as_deref()),
        idempotency_key: None,
    };
    match use_cases::send(&state.ctx, &user.actor(), request).await? {
        Ok(sent) => Ok(to_message(&state, &user, &sent, "Sent").await),
        Err(SendError::Fields(errors)) => form_page(
            &state,
            &user,
            &service,
            &form.fields,
            &errors.0,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(WebError::from_send(e).into()),
    }
}

async fn resend_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = SendForm::parse(&body);
    user.check_csrf(form.csrf.as_deref())?;
    user.require_actions()?;
    let id = id.into_inner();
    let origin = crate::origin::page_origin(&req, &user, form.browser_data.as_deref());
    match use_cases::resend(&state.ctx, &user.actor(), MessageId::new(id), origin).await? {
        Ok(sent) => Ok(to_message(&state, &user, &sent, "Re-sent as").await),
        Err(SendError::Refused(why) | SendError::Setup(why)) => {
            state
                .sessions
                .set_flash(&user.session_id, Flash::error(why))
                .await;
            Ok(see_other(&message_href(id)))
        }
        Err(e) => Err(WebError::from_send(e).into()),
    }
}
