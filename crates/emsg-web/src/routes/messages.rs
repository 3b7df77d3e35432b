//! `/messages`: the electronic-messages log (newest first, with filters), one message with its
//! status history, the request as sent and the response, Re-send of a failed one, and the send
//! form generated from a web service's fields. Finance users and administrators.
//!
//! Messages sent from these pages carry HMRC's `WEB_APP_VIA_SERVER` fraud-prevention data: what
//! the browser reported (`static/fraud-prevention.js` fills the hidden `browser_data` field and
//! keeps the `emsg_device_id` cookie) and what the server saw of the connection.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use emsg_messages::fraud::{BrowserData, Hop, WebClient, is_device_id};
use emsg_messages::{FieldError, Origin, SendError, SendRequest, Sent};
use emsg_store::messages::{self, Message, MessageEvent, MessageFilter, MessageStatus};
use emsg_store::web_services::{self, WebService};
use emsg_store::{format_utc, users, web_applications as records};
use emsg_webapps::{FieldKind, FieldSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{html, render, see_other};
use crate::auth::{self, PageUser};
use crate::client_address::client_chain;
use crate::error::{PageError, WebError};
use crate::session::{Flash, SessionUser};
use crate::state::AppState;

/// The cookie `static/fraud-prevention.js` keeps the browser's device ID in.
pub(crate) const DEVICE_COOKIE: &str = "emsg_device_id";
/// Messages per page of the list.
const PAGE_SIZE: i64 = 50;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/messages", web::get().to(list_page))
        .route("/messages/new", web::get().to(new_page))
        .route("/messages/new", web::post().to(send_page))
        .route("/messages/{id}", web::get().to(show_page))
        .route("/messages/{id}/resend", web::post().to(resend_page));
    super::messages_api::config(cfg);
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

/// What the browser reported, read from the `browser_data` JSON; empty is "nothing reported".
pub(crate) fn browser_data(text: Option<&str>) -> Result<BrowserData, String> {
    match text.map(str::trim).filter(|d| !d.is_empty()) {
        Some(text) => BrowserData::from_json(text),
        None => Ok(BrowserData::default()),
    }
}

/// What the server saw of the finance user's request, with what their browser reported, for
/// the `WEB_APP_VIA_SERVER` headers: the client's address (and port, when it connected
/// directly), the device-ID cookie, the hops from the client to this server's listening address
/// (through trusted proxies, `--trusted-proxy`), and the user's name.
pub(crate) fn web_origin(req: &HttpRequest, user: &SessionUser, browser: BrowserData) -> Origin {
    let local = req.app_config().local_addr();
    let peer = req.peer_addr().unwrap_or(local);
    let peer_ip = peer.ip().to_canonical();
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.trusted_proxies.clone())
        .unwrap_or_default();
    let chain = client_chain(req, &trusted, peer_ip);
    let public_ip = chain[0];
    let mut forwarded: Vec<Hop> = chain
        .windows(2)
        .map(|pair| Hop {
            by: pair[1],
            for_: pair[0],
        })
        .collect();
    forwarded.push(Hop {
        by: local.ip().to_canonical(),
        for_: peer_ip,
    });
    let ip_seen_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Origin::WebAppViaServer(WebClient {
        browser,
        device_id: auth::cookie(req, DEVICE_COOKIE).filter(|id| is_device_id(id)),
        public_ip,
        // A proxy does not pass the client's port on.
        public_port: (chain.len() == 1).then_some(peer.port()),
        ip_seen_at_ms,
        forwarded,
        user_name: user.name.clone(),
    })
}

/// The origin for a page: unreadable browser data is logged and left out (the message history
/// then names the headers that are missing).
fn page_origin(req: &HttpRequest, user: &SessionUser, text: Option<&str>) -> Origin {
    let browser = browser_data(text).unwrap_or_else(|problem| {
        tracing::info!("the page's browser data was not used: {problem}");
        BrowserData::default()
    });
    web_origin(req, user, browser)
}

/// The web service named `name`, or a 404 naming where the services are listed.
pub(crate) async fn service(state: &AppState, name: String) -> Result<WebService, WebError> {
    state
        .with_conn(move |conn| {
            web_services::find(conn, &name)?.ok_or_else(|| {
                WebError::NotFound(format!(
                    "there is no web service named `{name}`; /messages/new lists them"
                ))
            })
        })
        .await
}

/// A message of this server's company, with its history.
pub(crate) async fn message_with_events(
    state: &AppState,
    id: i64,
) -> Result<(Message, Vec<MessageEvent>), WebError> {
    let company = state.engine.config().default_company.clone();
    state
        .with_conn(move |conn| {
            let message = messages::get(conn, id)?
                .filter(|m| m.company == company)
                .ok_or_else(|| {
                    WebError::NotFound(format!(
                        "there is no message {id}; /messages lists the messages"
                    ))
                })?;
            let events = messages::events(conn, id)?;
            Ok((message, events))
        })
        .await
}

/// User names by id, for showing who sent what.
pub(crate) async fn user_names(state: &AppState) -> Result<HashMap<i64, String>, WebError> {
    state
        .with_conn(|conn| {
            Ok(users::list(conn)?
                .into_iter()
                .map(|u| (u.id, u.name))
                .collect())
        })
        .await
}

/// The list's filters, as the GET form and the API's query string give them. Empty means
/// "any".
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub limit: Option<String>,
}

fn given(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// One page of messages: the rows, and the id to page on from when there are more.
pub(crate) struct Found {
    pub messages: Vec<Message>,
    pub next_before: Option<i64>,
}

/// Runs the filters. A user name that no one has finds nothing rather than everything.
pub(crate) async fn search(state: &AppState, query: &ListQuery) -> Result<Found, WebError> {
    let status = given(query.status.as_ref())
        .map(|s| {
            s.parse::<MessageStatus>()
                .map_err(|e| WebError::BadRequest(e.to_string()))
        })
        .transpose()?;
    let number = |name: &str, value: Option<&String>| -> Result<Option<i64>, WebError> {
        given(value)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    WebError::BadRequest(format!("`{name}` must be a whole number, not `{v}`"))
                })
            })
            .transpose()
    };
    let before = number("before", query.before.as_ref())?;
    let limit = number("limit", query.limit.as_ref())?
        .unwrap_or(PAGE_SIZE)
        .clamp(1, 500);
    let service = given(query.service.as_ref());
    let user = given(query.user.as_ref());
    let company = state.engine.config().default_company.clone();
    state
        .with_conn(move |conn| {
            let user_id = match &user {
                Some(name) => match users::find(conn, name)? {
                    Some(u) => Some(u.id),
                    None => {
                        return Ok(Found {
                            messages: Vec::new(),
                            next_before: None,
                        });
                    }
                },
                None => None,
            };
            let mut messages = messages::search(
                conn,
                &MessageFilter {
                    service,
                    status,
                    user_id,
                    company: Some(company),
                    before,
                    limit: limit + 1,
                },
            )?;
            let more = messages.len() > usize::try_from(limit).unwrap_or(usize::MAX);
            messages.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            let next_before = more.then(|| messages.last().map(|m| m.id)).flatten();
            Ok(Found {
                messages,
                next_before,
            })
        })
        .await
}

async fn list_page(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    user.require_actions()?;
    let query = query.into_inner();
    let found = search(&state, &query).await?;
    let names = user_names(&state).await?;
    let services = state
        .with_conn(|conn| Ok(web_services::list(conn)?))
        .await?;
    let (service, status, user_filter) = (
        given(query.service.as_ref()).unwrap_or_default(),
        given(query.status.as_ref()).unwrap_or_default(),
        given(query.user.as_ref()).unwrap_or_default(),
    );
    let rows: Vec<Value> = found
        .messages
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "href": message_href(m.id),
                "service": m.service_name,
                "status": m.status().as_str(),
                "status_label": m.status().label(),
                "sent_by": m.user_id.and_then(|id| names.get(&id).cloned()),
                "created": format_utc(m.created_at),
                "resent_as": m.resent_as,
            })
        })
        .collect();
    let next = found.next_before.map(|before| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("service", &service),
            ("status", &status),
            ("user", &user_filter),
        ] {
            if !value.is_empty() {
                pairs.append_pair(key, value);
            }
        }
        if let Some(limit) = given(query.limit.as_ref()) {
            pairs.append_pair("limit", &limit);
        }
        pairs.append_pair("before", &before.to_string());
        format!("/messages?{}", pairs.finish())
    });
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
            "services": services.iter().map(|s| json!({
                "name": s.name, "selected": s.name == service,
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

/// `[name, value]` pairs as stored.
pub(crate) fn header_pairs(json: Option<&str>) -> Vec<(String, String)> {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
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
    let (message, events) = message_with_events(&state, id).await?;
    let names = user_names(&state).await?;
    let (service_name, app_id) = (message.service_name.clone(), message.web_application_id);
    let (spec, app) = state
        .with_conn(move |conn| {
            Ok((
                web_services::find(conn, &service_name)?.map(|s| s.spec),
                records::by_id(conn, app_id)?.map(|r| r.name),
            ))
        })
        .await?;
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
            "headers": header_pairs(message.request_headers.as_deref()),
            "body": message.request_body.as_deref().map(pretty),
        })
    });
    let response = message.response_status.map(|status| {
        json!({
            "status": status,
            "headers": header_pairs(message.response_headers.as_deref()),
            "body": message.response_body.as_deref().map(pretty),
        })
    });
    let error = (message.error_code.is_some() || message.error_message.is_some()).then(|| {
        json!({
            "code": message.error_code,
            "message": message.error_message,
        })
    });
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
            "web_application_href": format!("/web-applications/{}", super::encode_segment(&app)),
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
            let service = service(&state, name).await?;
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
            let all = state
                .with_conn(|conn| Ok(web_services::list(conn)?))
                .await?;
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

/// A send error for a page: the user's mistakes as 4xx pages, the rest as they are.
pub(crate) fn page_send_error(error: SendError) -> WebError {
    match error {
        SendError::Store(emsg_store::StoreError::UnknownWebService(name)) => WebError::NotFound(
            format!("there is no web service named `{name}`; /messages/new lists them"),
        ),
        SendError::Store(e) => WebError::Store(e),
        SendError::Internal(e) => WebError::Internal(e),
        e @ (SendError::Fields(_) | SendError::Setup(_) | SendError::Refused(_)) => {
            WebError::BadRequest(e.to_string())
        }
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
    let service = service(&state, name).await?;
    let request = SendRequest {
        service: service.name.clone(),
        fields: form.fields.clone(),
        company: None,
        user: Some(user.id),
        origin: page_origin(&req, &user, form.browser_data.as_deref()),
    };
    match state.messenger()?.send(request).await {
        Ok(sent) => Ok(to_message(&state, &user, &sent, "Sent").await),
        Err(SendError::Fields(errors)) => form_page(
            &state,
            &user,
            &service,
            &form.fields,
            &errors.0,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(page_send_error(e).into()),
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
    // Only this company's messages; a 404 otherwise.
    message_with_events(&state, id).await?;
    let origin = page_origin(&req, &user, form.browser_data.as_deref());
    match state.messenger()?.resend(id, Some(user.id), origin).await {
        Ok(sent) => Ok(to_message(&state, &user, &sent, "Re-sent as").await),
        Err(SendError::Refused(why) | SendError::Setup(why)) => {
            state
                .sessions
                .set_flash(&user.session_id, Flash::error(why))
                .await;
            Ok(see_other(&message_href(id)))
        }
        Err(e) => Err(page_send_error(e).into()),
    }
}
